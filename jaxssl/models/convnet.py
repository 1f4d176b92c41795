"""A small ConvNet for 28x28 images (Fashion-MNIST, MNIST): the demo encoder."""
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp


class ConvNet(nn.Module):
  """3x3 conv + BN + ReLU stages, each given as (channels, stride), then global average pooling.

  Default: 32-64-128-256 with strides 1-2-2-2 (28 -> 28 -> 14 -> 7 -> 4), 256 features.
  """
  stages: Sequence[Sequence[int]] = ((32, 1), (64, 2), (128, 2), (256, 2))
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = x.astype(self.dtype)
    for channels, stride in self.stages:
      x = nn.Conv(channels, (3, 3), strides=stride, padding=1, use_bias=False, dtype=self.dtype,
                  param_dtype=self.param_dtype)(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype,
                       param_dtype=self.param_dtype)(x)
      x = nn.relu(x)
    return jnp.mean(x, axis=(1, 2))
