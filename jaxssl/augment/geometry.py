"""Geometry: the random resized crop (its box, its resampling matrices) and the horizontal flip."""
from collections.abc import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.augment._common import (_CROP_ATTEMPTS, _DRAWS, _HIGHEST, _apply_with_prob,
                                    _check_image, _pair, _uniform)


def _crop_box(u, height, width, scale, ratio):
  """The box of `sample_crop_box` from u, 4·_CROP_ATTEMPTS uniforms."""
  s_lo, s_hi = _pair(scale, "scale")
  r_lo, r_hi = _pair(ratio, "ratio")
  if not 0.0 < s_lo <= s_hi <= 1.0:
    raise ValueError(f"crop scale must satisfy 0 < lo <= hi <= 1, got {scale!r}.")
  if not 0.0 < r_lo <= r_hi:
    raise ValueError(f"crop ratio must satisfy 0 < lo <= hi, got {ratio!r}.")
  u = u.reshape(4, _CROP_ATTEMPTS)
  area = (s_lo + (s_hi - s_lo) * u[0]) * (height * width)
  aspect = jnp.exp(np.log(r_lo) + (np.log(r_hi) - np.log(r_lo)) * u[1])
  # A candidate fits when it does rounded to pixels, as in torchvision (h < H + ½), and is then
  # clipped to the image (torchvision's rounding does the same to h ∈ [H, H + ½)).
  h_all = jnp.sqrt(area / aspect)
  w_all = jnp.sqrt(area * aspect)
  valid = (h_all < height + 0.5) & (w_all < width + 0.5)
  h_all, w_all = jnp.minimum(h_all, height), jnp.minimum(w_all, width)
  # torchvision's fallback when no candidate fits: the whole image with its aspect clamped to the
  # ratio range, centred (static numbers). Then the first valid candidate, by scalar selects from
  # the last to the first (no argmax, no gather).
  in_ratio = width / height
  if in_ratio < r_lo:
    h, w = width / r_lo, float(width)
  elif in_ratio > r_hi:
    h, w = float(height), height * r_hi
  else:
    h, w = float(height), float(width)
  uy = ux = 0.5
  for t in reversed(range(_CROP_ATTEMPTS)):
    h, w = jnp.where(valid[t], h_all[t], h), jnp.where(valid[t], w_all[t], w)
    uy, ux = jnp.where(valid[t], u[2, t], uy), jnp.where(valid[t], u[3, t], ux)
  top = uy * jnp.maximum(height - h, 0.0)
  left = ux * jnp.maximum(width - w, 0.0)
  return jnp.stack([top, left, h, w]).astype(jnp.float32)


def sample_crop_box(key: jax.Array, height: int, width: int, *, scale=(0.08, 1.0),
                    ratio=(3 / 4, 4 / 3)) -> jax.Array:
  """Samples a crop box as torchvision's RandomResizedCrop.get_params, without integer rounding.

  For each of 10 candidates: area a ~ U(scale)·H·W, aspect r = exp(U(log ratio)),
  (h, w) = (√(a/r), √(a·r)); the first candidate that fits once rounded to pixels, as torchvision
  checks it (h < H + ½, w < W + ½), is kept, clipped to the image (h ← min(h, H)), its top-left
  corner uniform over the positions that keep it inside the image. If none fits, the fallback is
  torchvision's: the central crop of the whole image with its aspect clamped to `ratio`. The box is
  continuous (not rounded to pixels, as torchvision does): `resized_crop` reads its pixels
  (`crop_window`) at the box's exact sub-pixel sample positions.

  Args:
    key: a PRNG key.
    height, width: the image size H, W (static ints).
    scale: range of the crop's area as a fraction of H·W, 0 < lo ≤ hi ≤ 1.
    ratio: range of the crop's aspect ratio w/h (sampled log-uniformly).

  Returns:
    float32 array (top, left, h, w), with 0 ≤ top, top + h ≤ H, 0 ≤ left, left + w ≤ W.
  """
  return _crop_box(_uniform(key, _DRAWS["crop"]), height, width, scale, ratio)


def _separable(rows, image, cols):
  """rows · x_c · colsᵀ for every channel c: (o, H), (H, W, C), (p, W) → (o, p, C).

  Two matmuls on the (C, H, W) planes: under vmap, XLA:CPU runs these ~1.6× faster than the
  equivalent three-operand einsum on HWC.
  """
  planes = jnp.moveaxis(image, -1, 0)
  out = jnp.matmul(jnp.matmul(rows, planes, precision=_HIGHEST), cols.T, precision=_HIGHEST)
  return jnp.moveaxis(out, 0, -1)


def crop_window(box, height: int, width: int):
  """The pixels `resized_crop` reads for `box`: integer (top, left, h, w), rows top … top + h − 1.

  The box (top, left, h, w) covers [top, top + h) × [left, left + w) of the image plane, pixel
  (i, j) covering [i, i + 1) × [j, j + 1). Its window is the box with each edge rounded to the
  nearest pixel edge, halves up: rows ⌊top + ½⌋ … ⌊top + h + ½⌋ − 1, the pixels whose centres lie
  in (top, top + h]; likewise the columns. An integer box is its own window. At least one pixel is
  kept per axis, and the window is clipped to the image. Host code can decode only the window (a
  JPEG crop): `resized_crop` of the window's pixels, with the box shifted by the window's
  (−top, −left), equals `resized_crop` of the whole image.

  Args:
    box: (top, left, h, w), floats in pixels: a NumPy array (computed in NumPy, for host code) or a
      jax array (traced or not).
    height, width: the image size H, W.

  Returns:
    int32 (top, left, h, w), same array kind as `box`, with 0 ≤ top, top + h ≤ H, 1 ≤ h (and w).
  """
  xp = np if isinstance(box, (np.ndarray, list, tuple)) else jnp
  box = xp.asarray(box, xp.float32)
  rows = _pixel_range(box[0], box[2], height, xp)
  cols = _pixel_range(box[1], box[3], width, xp)
  return xp.stack([rows[0], cols[0], rows[1] - rows[0], cols[1] - cols[0]]).astype(xp.int32)


def _pixel_range(start, length, size, xp=jnp):
  """[first, stop) of the pixels whose centres lie in (start, start + length]; ≥ 1, in [0, size]."""
  first = xp.clip(xp.floor(start + 0.5), 0, size - 1)
  stop = xp.clip(xp.floor(start + length + 0.5), first + 1, size)
  return first, stop


def resize_matrix(in_size: int, out_size: int, start, length, *, antialias: bool = True):
  """(out_size, in_size) bilinear resampling matrix of the box [start, start + length) of an axis.

  Half-pixel centres, as torchvision/PyTorch (align_corners=False): output pixel o samples the input
  at s_o = start + (o + ½)·k − ½ (pixel-index units), k = length/out_size. Weight of input pixel j:
  tent((s_o − j)/a) with a = max(1, k) when antialiasing (a tent k wide when downsampling, as
  torchvision's and PIL's antialias) else a = 1, zero outside the box's pixels (`crop_window`: the
  pixels whose centres lie in (start, start + length]), each row then normalised to sum to 1,
  which clamps samples near the box's edge onto its edge pixels. For an integer box this is
  torchvision's crop-then-resize, `resized_crop(x, top, left, h, w, size, BILINEAR, antialias)`.
  The weights never reach outside the box, so the result depends only on the box's pixels.

  Args:
    in_size: the axis length of the image (static).
    out_size: the output length (static).
    start, length: the box along this axis, in pixels (floats, may be traced).
    antialias: widen the tent when downsampling (torchvision's default).

  Returns:
    float32 (out_size, in_size); rows are convex weights.
  """
  step = length / out_size
  s = start + (jnp.arange(out_size, dtype=jnp.float32) + 0.5) * step - 0.5
  inv_a = 1.0 / jnp.maximum(step, 1.0) if antialias else 1.0
  j = jnp.arange(in_size, dtype=jnp.float32)
  first, stop = _pixel_range(start, length, in_size)
  inside = (j >= first) & (j < stop)
  weights = jnp.where(inside, jnp.maximum(0.0, 1.0 - jnp.abs(s[:, None] - j) * inv_a), 0.0)
  return weights / jnp.sum(weights, axis=1, keepdims=True)


def resized_crop(image: jax.Array, box, out_size: Sequence[int], *,
                 antialias: bool = True) -> jax.Array:
  """Crops the box (top, left, h, w) (floats, pixels) and resizes it bilinearly to `out_size`.

  out = R_y · image · R_xᵀ per channel, with R_y (out_h×H) and R_x (out_w×W) from `resize_matrix`.
  Only the box's pixels are read (`crop_window`: its edges rounded to pixel edges); rows of R are
  convex weights, so the output stays in the box's range. On integer boxes this is torchvision's
  `transforms.v2.functional.resized_crop(x, top, left, h, w, out_size)` (bilinear, antialias=True),
  to float32 rounding; a fractional box is sampled at its exact sub-pixel positions.

  Args:
    image: float array (H, W, C), C ∈ {1, 3}.
    box: (top, left, h, w), the box inside the image, in pixels (may be fractional, traced).
    out_size: (out_h, out_w), static ints.
    antialias: widen the tent when downsampling (torchvision's default `antialias=True`).

  Returns:
    float32 array (out_h, out_w, C).
  """
  _check_image(image)
  height, width, channels = image.shape
  out_h, out_w = (int(v) for v in out_size)
  box = jnp.asarray(box, jnp.float32)
  rows = resize_matrix(height, out_h, box[0], box[2], antialias=antialias)
  cols = resize_matrix(width, out_w, box[1], box[3], antialias=antialias)
  out = _separable(rows, image.astype(jnp.float32), cols)
  chex.assert_shape(out, (out_h, out_w, channels))
  return out


def _random_resized_crop(image, u, *, out_size=None, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                         antialias=True):
  _check_image(image)
  height, width, _ = image.shape
  out_size = (height, width) if out_size is None else out_size
  box = _crop_box(u, height, width, scale, ratio)
  return jnp.clip(resized_crop(image, box, out_size, antialias=antialias), 0.0, 1.0)


def random_resized_crop(image: jax.Array, key: jax.Array, *, out_size: Sequence[int] | None = None,
                        scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                        antialias: bool = True) -> jax.Array:
  """Random crop of random area and aspect, resized to a fixed size (torchvision/BYOL semantics).

  Box from `sample_crop_box` (area fraction ~ U(scale), aspect ~ logU(ratio), inside the image),
  then `resized_crop` (bilinear, two small interpolation matrices). Always applied (no p).

  Args:
    image: float32 (H, W, C) in [0, 1], C ∈ {1, 3}.
    key: a PRNG key.
    out_size: (out_h, out_w); None keeps (H, W).
    scale: range of the crop's area as a fraction of the image's.
    ratio: range of the crop's aspect ratio w/h.
    antialias: widen the interpolation kernel when downsampling.

  Returns:
    float32 (out_h, out_w, C) in [0, 1].
  """
  return _random_resized_crop(image, _uniform(key, _DRAWS["crop"]), out_size=out_size, scale=scale,
                              ratio=ratio, antialias=antialias)


# ------------------------------------------------------------------------------------------------
# Flip.


def _horizontal_flip(image, u, *, p=0.5):
  _check_image(image)
  return _apply_with_prob(u[0], p, lambda x: x[:, ::-1], image)


def horizontal_flip(image: jax.Array, key: jax.Array, *, p: float = 0.5) -> jax.Array:
  """Mirrors the image left↔right (x[:, ::-1]) with probability p.

  Args:
    image: float (H, W, C).
    key: a PRNG key.
    p: probability of flipping.

  Returns:
    The image, flipped or not, same shape and dtype.
  """
  return _horizontal_flip(image, _uniform(key, _DRAWS["flip"]), p=p)
