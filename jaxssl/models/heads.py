"""MLP heads: the projector (encoder features -> embeddings the objective sees) and the predictor."""
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp


class MLPHead(nn.Module):
  """Dense layers of the given widths with BN + ReLU between them.

  `widths=(2048, 2048, 2048)` is VICReg's CIFAR projector; CorInfoMax uses `(2048, 2048, 64)` with
  `last_bn=False`. BYOL/SimSiam predictors are `(hidden, out)`. `batch_norm=False` gives a plain MLP.
  """
  widths: Sequence[int]
  batch_norm: bool = True
  last_bn: bool = False
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype,
                                param_dtype=self.param_dtype)
    for i, width in enumerate(self.widths):
      last = i == len(self.widths) - 1
      x = nn.Dense(width, use_bias=last or not self.batch_norm, dtype=self.dtype,
                   param_dtype=self.param_dtype)(x)
      if not last:
        if self.batch_norm:
          x = norm()(x)
        x = nn.relu(x)
      elif self.last_bn:
        x = norm()(x)
    return x
