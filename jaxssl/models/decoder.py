"""Decoders for reconstruction objectives, and the input corruption of denoising / masked AEs.

`ImageDecoder` maps an embedding to a size×size×C image (28: Fashion-MNIST, 32: CIFAR) with a Dense
layer and two stride-2 transposed convolutions (7 → 14 → 28); `MLPDecoder` maps it to any shape.
Both output the mean x̂(z) of the Gaussian decoder of `jaxssl.objectives.reconstruction`. `corrupt`
masks square patches and/or adds Gaussian noise so that the encoder sees a corrupted view while the
loss compares x̂ with the clean image (a denoising or masked autoencoder).
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ImageDecoder(nn.Module):
  """Embedding (N, D) → image (N, size, size, channels) via Dense + 2 stride-2 ConvTranspose.

  Attributes:
    channels: output channels C.
    size: output height and width, a multiple of 4 (28 for Fashion-MNIST, 32 for CIFAR).
    width: channels of the (size/4)² feature map (halved at size/2).
    dtype: computation dtype (params stay float32).
  """
  channels: int = 1
  size: int = 28
  width: int = 64
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    if z.ndim != 2:
      raise ValueError(f"ImageDecoder expects embeddings of shape (batch, dim), got {z.shape}.")
    if self.size % 4:
      raise ValueError(f"ImageDecoder size must be a multiple of 4 (two 2x upsamplings), got "
                       f"{self.size}.")
    s = self.size // 4
    x = nn.Dense(s * s * self.width, dtype=self.dtype)(z)
    x = nn.relu(x).reshape(z.shape[0], s, s, self.width)
    x = nn.ConvTranspose(self.width // 2, (4, 4), strides=(2, 2), padding="SAME",
                         dtype=self.dtype)(x)
    x = nn.relu(x)
    x = nn.ConvTranspose(self.channels, (4, 4), strides=(2, 2), padding="SAME",
                         dtype=self.dtype)(x)
    return x


class MLPDecoder(nn.Module):
  """Embedding (N, D) → array (N, *out_shape) via an MLP with ReLU hidden layers.

  Attributes:
    out_shape: shape of one decoded example, e.g. (28, 28, 1).
    hidden: widths of the hidden layers.
    dtype: computation dtype (params stay float32).
  """
  out_shape: Sequence[int]
  hidden: Sequence[int] = (512,)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    if z.ndim != 2:
      raise ValueError(f"MLPDecoder expects embeddings of shape (batch, dim), got {z.shape}.")
    x = z
    for width in self.hidden:
      x = nn.relu(nn.Dense(width, dtype=self.dtype)(x))
    size = 1
    for s in self.out_shape:
      size *= s
    return nn.Dense(size, dtype=self.dtype)(x).reshape(z.shape[0], *self.out_shape)


def corrupt(
    key: jax.Array,
    images: jax.Array,
    *,
    mask_ratio: float = 0.0,
    patch_size: int = 4,
    noise_std: float = 0.0,
    fill_value: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
  """Masks random square patches and adds Gaussian noise: the input of a masked / denoising AE.

  Each image (H, W, C) is cut into (H/p)×(W/p) patches of p×p pixels; exactly
  round(mask_ratio · #patches) of them, drawn independently per image, are set to `fill_value`;
  then N(0, noise_std²) noise is added to every pixel. Pure: the same key gives the same output.

  Args:
    key: a `jax.random` key.
    images: float array (N, H, W, C), H and W multiples of `patch_size`.
    mask_ratio: fraction of patches masked, in [0, 1].
    patch_size: p, side of the square patches in pixels.
    noise_std: standard deviation of the additive Gaussian noise.
    fill_value: value written into masked patches.

  Returns:
    `(corrupted, mask)`: the corrupted images, same shape and dtype, and a boolean (N, H, W, 1)
    array that is True on masked pixels (to restrict a loss to them, as in MAE).
  """
  if images.ndim != 4 or not jnp.issubdtype(images.dtype, jnp.floating):
    raise ValueError(f"corrupt expects float images of shape (N, H, W, C), got {images.shape} "
                     f"{images.dtype}.")
  n, h, w, _ = images.shape
  if h % patch_size or w % patch_size:
    raise ValueError(f"corrupt: image size {h}x{w} is not a multiple of patch_size={patch_size}.")
  if not 0.0 <= mask_ratio <= 1.0:
    raise ValueError(f"corrupt: mask_ratio must be in [0, 1], got {mask_ratio}.")
  mask_key, noise_key = jax.random.split(key)
  gh, gw = h // patch_size, w // patch_size
  num_masked = int(round(mask_ratio * gh * gw))
  # Rank random scores per image: the num_masked lowest are masked (exact count per image).
  scores = jax.random.uniform(mask_key, (n, gh * gw))
  ranks = jnp.argsort(jnp.argsort(scores, axis=1), axis=1)
  patch_mask = (ranks < num_masked).reshape(n, gh, gw)
  mask = jnp.repeat(jnp.repeat(patch_mask, patch_size, axis=1), patch_size, axis=2)[..., None]
  out = jnp.where(mask, jnp.asarray(fill_value, images.dtype), images)
  if noise_std > 0.0:
    out = out + noise_std * jax.random.normal(noise_key, images.shape, images.dtype)
  return out, mask
