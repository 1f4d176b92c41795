"""Vision Transformer (Dosovitskiy et al. 2021); ViT-S/16 by default. Returns the [CLS] feature."""
from typing import Any

import flax.linen as nn
import jax
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


def resample_pos_embedding(pos: jax.Array, new_grid: tuple[int, int], *,
                           num_prefix_tokens: int = 1) -> jax.Array:
  """Position embeddings (1, T + g_h·g_w, C) resampled to a patch grid of `new_grid` = (h, w).

  The semantics of timm's `resample_abs_pos_embed`: the first `num_prefix_tokens` ([CLS]) are kept,
  the (g_h, g_w) grid of the others is resized bicubically (antialiased when shrinking) to (h, w).
  The old grid is taken square (g_h = g_w), as every jaxssl ViT trains on square crops. The
  bicubic kernel is JAX's (Keys, a = −0.5) where PyTorch's is a = −0.75: the two resample alike
  but not to the bit. A ViT taking images of another size than it was trained on, for a
  transfer at higher resolution, needs this; `jaxssl.load_encoder(DIR, image_size=(H, W))` does it.
  """
  prefix, grid = pos[:, :num_prefix_tokens], pos[:, num_prefix_tokens:]
  side = int(round(grid.shape[1] ** 0.5))
  if side * side != grid.shape[1]:
    raise ValueError(f'Position embeddings of {grid.shape[1]} patch tokens are not a square grid.')
  c = grid.shape[-1]
  grid = grid.reshape(side, side, c).astype(jnp.float32)
  resized = jax.image.resize(grid, (*new_grid, c), method='bicubic', antialias=True)
  resized = resized.reshape(1, new_grid[0] * new_grid[1], c).astype(pos.dtype)
  return jnp.concatenate([prefix, resized], axis=1)
