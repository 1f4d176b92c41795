"""Vision Transformer (Dosovitskiy et al. 2021); ViT-S/16 by default. Returns the [CLS] feature."""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class EncoderBlock(nn.Module):
  num_heads: int
  mlp_dim: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    y = nn.LayerNorm(**kw)(x)
    y = nn.MultiHeadDotProductAttention(num_heads=self.num_heads, **kw)(y, y)
    x = x + y
    y = nn.LayerNorm(**kw)(x)
    y = nn.Dense(self.mlp_dim, **kw)(y)
    y = nn.Dense(x.shape[-1], **kw)(nn.gelu(y))
    return x + y


class ViT(nn.Module):
  patch_size: int = 16
  hidden: int = 384
  depth: int = 12
  num_heads: int = 6
  mlp_dim: int = 1536
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    del train  # no batch statistics in a ViT
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    p = self.patch_size
    x = nn.Conv(self.hidden, (p, p), strides=(p, p), padding='VALID', **kw)(x.astype(self.dtype))
    n, h, w, c = x.shape
    x = x.reshape(n, h * w, c)
    cls = self.param('cls', nn.initializers.zeros, (1, 1, c), self.param_dtype)
    x = jnp.concatenate([jnp.broadcast_to(cls, (n, 1, c)).astype(x.dtype), x], axis=1)
    pos = self.param('pos_embedding', nn.initializers.normal(0.02), (1, h * w + 1, c),
                     self.param_dtype)
    x = x + pos.astype(x.dtype)
    for _ in range(self.depth):
      x = EncoderBlock(self.num_heads, self.mlp_dim, **kw)(x)
    return nn.LayerNorm(**kw)(x)[:, 0].astype(jnp.float32)
