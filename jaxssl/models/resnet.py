"""ResNet-18/50 (He et al. 2016) with a CIFAR stem (3x3 conv, no max-pool) or the ImageNet stem."""
from functools import partial
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp


class BasicBlock(nn.Module):
  channels: int
  stride: int
  conv: Any
  norm: Any

  @nn.compact
  def __call__(self, x):
    residual = x
    y = self.norm()(self.conv(self.channels, (3, 3), self.stride)(x))
    y = nn.relu(y)
    y = self.norm(scale_init=nn.initializers.zeros)(self.conv(self.channels, (3, 3))(y))
    if residual.shape != y.shape:
      residual = self.norm()(self.conv(self.channels, (1, 1), self.stride)(residual))
    return nn.relu(y + residual)


class Bottleneck(nn.Module):
  channels: int
  stride: int
  conv: Any
  norm: Any

  @nn.compact
  def __call__(self, x):
    residual = x
    y = nn.relu(self.norm()(self.conv(self.channels, (1, 1))(x)))
    y = nn.relu(self.norm()(self.conv(self.channels, (3, 3), self.stride)(y)))
    y = self.norm(scale_init=nn.initializers.zeros)(self.conv(self.channels * 4, (1, 1))(y))
    if residual.shape != y.shape:
      residual = self.norm()(self.conv(self.channels * 4, (1, 1), self.stride)(residual))
    return nn.relu(y + residual)


class ResNet(nn.Module):
  """ResNet backbone returning globally pooled features (512 for R18, 2048 for R50).

  `stem='cifar'`: 3x3 stride-1 conv, no max-pool (solo-learn / CorInfoMax CIFAR setting; also right
  for 28x28 inputs). `stem='imagenet'`: 7x7 stride-2 conv + 3x3 max-pool.
  `padding='symmetric'` (default) pads every k x k conv with k // 2 zeros on each side and the
  max-pool with one -inf pixel on each side, as torchvision does, so that a torch export
  (`jaxssl export --format torch`) computes the same features. `padding='SAME'` is Flax's (and
  jaxssl's before the torch export): a stride-2 layer on an even size pads one pixel at the
  bottom/right only, a one-pixel shift of the sampling grid relative to torchvision's.
  """
  stage_sizes: Sequence[int]
  block: str = 'basic'
  stem: str = 'cifar'
  width: int = 64
  padding: str = 'symmetric'
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    if self.padding not in ('symmetric', 'SAME'):
      raise ValueError(f"padding must be 'symmetric' or 'SAME', got {self.padding!r}.")
    symmetric = self.padding == 'symmetric'

    def conv(features, kernel_size, strides=1):
      return nn.Conv(features, kernel_size, strides, use_bias=False, dtype=self.dtype,
                     padding=kernel_size[0] // 2 if symmetric else 'SAME',
                     param_dtype=self.param_dtype)

    norm = partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5,
                   dtype=self.dtype, param_dtype=self.param_dtype)
    x = x.astype(self.dtype)
    if self.stem == 'cifar':
      x = nn.relu(norm()(conv(self.width, (3, 3))(x)))
    elif self.stem == 'imagenet':
      x = nn.relu(norm()(conv(self.width, (7, 7), (2, 2))(x)))
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)) if symmetric else 'SAME')
    else:
      raise ValueError(f"stem must be 'cifar' or 'imagenet', got {self.stem!r}.")
    block = {'basic': BasicBlock, 'bottleneck': Bottleneck}[self.block]
    for i, num_blocks in enumerate(self.stage_sizes):
      for j in range(num_blocks):
        stride = 2 if i > 0 and j == 0 else 1
        x = block(self.width * 2**i, stride, conv=conv, norm=norm)(x)
    return jnp.mean(x, axis=(1, 2)).astype(jnp.float32)


ResNet18 = partial(ResNet, stage_sizes=(2, 2, 2, 2), block='basic')
ResNet50 = partial(ResNet, stage_sizes=(3, 4, 6, 3), block='bottleneck')
