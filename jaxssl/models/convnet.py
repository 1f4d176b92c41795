"""A small ConvNet for 28x28 images (Fashion-MNIST, MNIST): the demo encoder."""
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.models.batch_norm_relu import BatchNormReLU
from jaxssl.models.cpu_conv import conv_general_dilated_matmul_grads


def space_to_depth(x, s: int, pad: bool = False):
  """(N, H, W, C) -> (N, H/s, W/s, s*s*C): each s x s pixel block folded into channels."""
  n, h, w, c = x.shape
  if pad and (h % s or w % s):
    x = jnp.pad(x, ((0, 0), (0, -h % s), (0, -w % s), (0, 0)))
    h, w = x.shape[1:3]
  if h % s or w % s:
    raise ValueError(f'space_to_depth={s} needs height and width divisible by {s}, got {h}x{w}.')
  x = x.reshape(n, h // s, s, w // s, s, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, h // s, w // s, s * s * c)


class ConvNet(nn.Module):
  """3x3 conv + BN + ReLU stages, each given as (channels, stride), then global average pooling.

  Default: 32-64-128-256 with strides 1-2-2-2 (28 -> 28 -> 14 -> 7 -> 4), 256 features.
  `space_to_depth=s` first folds s x s pixel blocks into channels (28x28x1 -> 14x14x4 for s=2): a
  lossless, free reshape that lets the first conv run at a lower resolution.
  `pool_grid=g` average-pools the last feature map to a g x g grid and flattens it (g=1: global
  average pooling), keeping coarse spatial layout in the features (g*g*channels of them).
  `matmul_grads` computes the convolutions' input gradients as matrix products (`cpu_conv.py`;
  same values, faster on XLA:CPU); None (default) turns it on when the default backend is the CPU.
  `downsample='patch'` makes each strided stage an s x s, stride-s convolution (space-to-depth, then
  a dense layer: non-overlapping patches; odd sizes padded with zeros at the bottom/right) instead of
  a 3x3 one: its gradients are plain matrix products, which XLA:CPU runs fast.
  `closed_form_bn` runs BN + ReLU with a closed-form backward pass (`batch_norm_relu.py`; same
  values and parameter names as flax's `BatchNorm` + `relu`).
  """
  stages: Sequence[Sequence[int]] = ((32, 1), (64, 2), (128, 2), (256, 2))
  space_to_depth: int = 1
  pool_grid: int = 1
  matmul_grads: bool | None = None
  closed_form_bn: bool = True
  downsample: str = 'conv'
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = x.astype(self.dtype)
    if self.space_to_depth > 1:
      x = space_to_depth(x, self.space_to_depth)
    if self.downsample not in ('conv', 'patch'):
      raise ValueError(f"downsample must be 'conv' or 'patch', got {self.downsample!r}.")
    matmul_grads = self.matmul_grads
    if matmul_grads is None:
      matmul_grads = jax.default_backend() == 'cpu'
    conv_fn = conv_general_dilated_matmul_grads if matmul_grads else None
    for index, (channels, stride) in enumerate(self.stages):
      if stride > 1 and self.downsample == 'patch':
        x = nn.Dense(channels, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype,
                     name=f'Conv_{index}')(space_to_depth(x, stride, pad=True))
      else:
        x = nn.Conv(channels, (3, 3), strides=stride, padding=1, use_bias=False, dtype=self.dtype,
                    param_dtype=self.param_dtype, conv_general_dilated=conv_fn,
                    name=f'Conv_{index}')(x)
      if self.closed_form_bn:
        x = BatchNormReLU(momentum=0.9, dtype=self.dtype, param_dtype=self.param_dtype,
                          name=f'BatchNorm_{index}')(x, use_running_average=not train)
      else:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype,
                         param_dtype=self.param_dtype, name=f'BatchNorm_{index}')(x)
        x = nn.relu(x)
    g = self.pool_grid
    if g == 1:
      return jnp.mean(x, axis=(1, 2))
    n, h, w, c = x.shape
    if h % g or w % g:
      raise ValueError(f'pool_grid={g} needs the last feature map ({h}x{w}) divisible by {g}.')
    x = x.reshape(n, g, h // g, g, w // g, c).mean(axis=(2, 4))
    return x.reshape(n, g * g * c)
