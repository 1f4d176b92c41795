"""On-device SSL augmentations: pure per-example functions, vmapped over a batch (BYOL).

Every transform is a pure function `(image, key, **params) -> image` of one float32 image in [0, 1],
layout HWC with C = 1 (grayscale, e.g. Fashion-MNIST) or C = 3 (RGB). `augment` chains them in
BYOL's order (crop, flip, colour jitter, grayscale, blur, solarize, normalize) from a plain config
dict, `augment_batch` vmaps it over a batch with one key per image, and `two_views` draws the two
views of an SSL pair with independent keys.

Probabilities. A transform with probability p draws u ~ U[0, 1) and returns
`jnp.where(u < p, f(x), x)` (a Bernoulli(p) choice). Under `vmap` a `lax.cond` on a per-example
predicate becomes a select that evaluates both branches anyway (BYOL's reference code pays that),
so `where` costs the same and is simpler. A p that is a Python number 0 (or 1) short-circuits at
trace time: the transform (or the select) is not traced at all. Likewise a jitter strength of 0
removes that operation statically, so it is exactly the identity.

Randomness. Each transform `f(image, key)` makes one call `uniform(key, (n_f,))` (n_f fixed per
transform, `_DRAWS`), and `augment` makes one call for all its stages and hands each stage its
slice: every threefry call site costs XLA:CPU seconds of compile time under vmap, so one per view
keeps `jax.jit(two_views)` quick to build. Hence `augment(x, key, {"flip": ...})` is deterministic
in `key` but not equal to `horizontal_flip(x, key)`.

Speed. Resampling (crop + resize) and blurring are products with small dense matrices built from
the per-example parameters (out×H and out×W; H×H and W×W), applied with einsum: fixed shapes, no
gathers, batched matmuls under `vmap`. Matmuls run at `Precision.HIGHEST` so that identities stay
exact to float32 rounding on GPUs that would otherwise use TF32.

Configs are plain dicts of floats and tuples (they fit in an `ml_collections.ConfigDict`); they are
static, so close over them when jitting, or pass a preset's name:

  step = jax.jit(lambda x, k: two_views(x, k, FMNIST_VIEW1, FMNIST_VIEW2))
  step = jax.jit(two_views, static_argnames=("config1", "config2"))  # with config1="fmnist_view1"

Semantics are torchvision's (not the TensorFlow ops of BYOL's own code: see `color_jitter`): every
deterministic primitive matches `torchvision.transforms.v2.functional` to float32 rounding, and
`resized_crop` reads only its box (`crop_window`), as torchvision's crop-then-resize; the table of
differences is in docs/api/augment.md and printed by tests/test_augment_torchvision.py.

References: Grill et al. 2020, "Bootstrap your own latent", arXiv:2006.07733 (augmentations in
App. B); torchvision.transforms (RandomResizedCrop, ColorJitter, GaussianBlur, RandomSolarize) for
the exact semantics.
"""
import copy
import inspect
from collections.abc import Mapping, Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

_HIGHEST = jax.lax.Precision.HIGHEST

# ITU-R 601-2 luma, as torchvision's rgb_to_grayscale and BYOL.
LUMA_WEIGHTS = (0.2989, 0.587, 0.114)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)

_CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop tries 10 boxes before its fallback
_JITTER_OPS = ("brightness", "contrast", "saturation", "hue")
# Uniform draws per transform: crop (area, log-aspect, top, left) × attempts; jitter: apply, one
# factor per op, 3 sort keys for the order of the blend ops, the hue's position; blur: apply, σ.
_DRAWS = dict(crop=4 * _CROP_ATTEMPTS, flip=1, color_jitter=1 + 4 + 3 + 1, grayscale=1, blur=2,
              solarize=1)


# ------------------------------------------------------------------------------------------------
# Checks and helpers.


def _check_image(image, name="image"):
  """Raises one ValueError unless `image` is a floating (H, W, C) array with C in {1, 3}."""
  shape = getattr(image, "shape", None)
  dtype = getattr(image, "dtype", None)
  if shape is None or len(shape) != 3 or shape[-1] not in (1, 3):
    raise ValueError(
        f"{name} must have shape (H, W, C) with C = 1 (grayscale) or 3 (RGB), got shape {shape}. "
        "For a batch use augment_batch; for a 2-D grayscale image add a channel axis: "
        "x[..., None].")
  if not jnp.issubdtype(dtype, jnp.floating):
    raise ValueError(
        f"{name} must be a float array with values in [0, 1], got dtype {dtype}. Convert uint8 "
        "with x.astype(jnp.float32) / 255, or use augment / augment_batch, which accept uint8.")


def _to_float_image(image, name="image"):
  """uint8 → float32 / 255; float → float32. Checks the shape (H, W, C), C ∈ {1, 3}."""
  image = jnp.asarray(image)
  if image.dtype == jnp.uint8:
    image = image.astype(jnp.float32) / 255.0
  elif jnp.issubdtype(image.dtype, jnp.floating):
    image = image.astype(jnp.float32)
  _check_image(image, name)
  return image


def _check_prob(p, name="p"):
  if isinstance(p, (int, float)) and not 0.0 <= p <= 1.0:
    raise ValueError(f"{name} must be a probability in [0, 1], got {p}.")


def _apply_with_prob(u, p, fn, image):
  """fn(image) if u < p, else image, for u ~ U[0, 1): a Bernoulli(p) draw and `jnp.where`."""
  _check_prob(p)
  if isinstance(p, (int, float)) and p <= 0.0:
    return image
  if isinstance(p, (int, float)) and p >= 1.0:
    return fn(image)
  return jnp.where(u < p, fn(image), image)


def _uniform(key, n):
  """n draws from U[0, 1), one threefry call (1-D: XLA:CPU compiles 2-D shapes slower)."""
  return jax.random.uniform(key, (n,), jnp.float32)


def _pair(value, name):
  if isinstance(value, (int, float)):
    return float(value), float(value)
  if len(value) != 2:
    raise ValueError(f"{name} must be a number or a pair (lo, hi), got {value!r}.")
  lo, hi = float(value[0]), float(value[1])
  if lo > hi:
    raise ValueError(f"{name} must satisfy lo <= hi, got {value!r}.")
  return lo, hi


# ------------------------------------------------------------------------------------------------
# Random resized crop.


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


# ------------------------------------------------------------------------------------------------
# Colour.


def rgb_to_grayscale(image: jax.Array) -> jax.Array:
  """Luma Y = 0.2989 R + 0.587 G + 0.114 B, shape (H, W, 1); identity for C = 1."""
  _check_image(image)
  if image.shape[-1] == 1:
    return image
  wr, wg, wb = LUMA_WEIGHTS  # explicit sum: XLA:CPU reduces a minor axis of 3 slowly
  return wr * image[..., 0:1] + wg * image[..., 1:2] + wb * image[..., 2:3]


def adjust_brightness(image: jax.Array, factor) -> jax.Array:
  """clip(f·x, 0, 1): blend with black (torchvision adjust_brightness). f = 1 is the identity."""
  _check_image(image)
  return jnp.clip(factor * image, 0.0, 1.0)


def adjust_contrast(image: jax.Array, factor) -> jax.Array:
  """clip(f·x + (1−f)·m, 0, 1), m the mean gray level of the image (torchvision adjust_contrast)."""
  _check_image(image)
  mean = jnp.mean(rgb_to_grayscale(image))
  return jnp.clip(factor * image + (1.0 - factor) * mean, 0.0, 1.0)


def adjust_saturation(image: jax.Array, factor) -> jax.Array:
  """clip(f·x + (1−f)·gray(x), 0, 1) (torchvision adjust_saturation); identity for C = 1."""
  _check_image(image)
  if image.shape[-1] == 1:
    return image
  return jnp.clip(factor * image + (1.0 - factor) * rgb_to_grayscale(image), 0.0, 1.0)


def _rgb_to_hsv(rgb):
  """(…, 3) RGB in [0, 1] → (h, s, v), h in [0, 1) (torchvision's _rgb2hsv)."""
  r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
  maxc = jnp.maximum(jnp.maximum(r, g), b)
  minc = jnp.minimum(jnp.minimum(r, g), b)
  eqc = maxc == minc
  cr = maxc - minc
  s = cr / jnp.where(eqc, 1.0, maxc)
  cr_div = jnp.where(eqc, 1.0, cr)
  rc = (maxc - r) / cr_div
  gc = (maxc - g) / cr_div
  bc = (maxc - b) / cr_div
  is_r = maxc == r
  is_g = (maxc == g) & ~is_r
  h = jnp.where(is_r, bc - gc, jnp.where(is_g, 2.0 + rc - bc, 4.0 + gc - rc)) / 6.0  # in [−⅙, ⅚]
  return jnp.where(h < 0.0, h + 1.0, h), s, maxc


def _hsv_to_rgb(h, s, v):
  """Inverse of `_rgb_to_hsv` for any real h (taken mod 1); returns (…, 3).

  Branch-free form of torchvision's _hsv2rgb: channel n = 5, 3, 1 for R, G, B,
  k = (n + 6h) mod 6, value v − v·s·clip(min(k, 4 − k), 0, 1).
  """
  k = jnp.asarray([5.0, 3.0, 1.0], jnp.float32) + 6.0 * h[..., None]
  k = k - 6.0 * jnp.floor(k / 6.0)
  return v[..., None] * (1.0 - s[..., None] * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0))


def adjust_hue(image: jax.Array, delta) -> jax.Array:
  """Rotates the hue by `delta` turns (h → (h + δ) mod 1 in HSV), δ ∈ [−½, ½]; identity for C = 1.

  torchvision adjust_hue / BYOL: RGB → HSV, shift h, HSV → RGB.
  """
  _check_image(image)
  if image.shape[-1] == 1:
    return image
  h, s, v = _rgb_to_hsv(image)
  return jnp.clip(_hsv_to_rgb(h + delta, s, v), 0.0, 1.0)


def _jitter_range(name, value):
  """Factor range of one jitter op: a strength v → [max(0, 1−v), 1+v] (hue: [−v, v]), or (lo, hi).

  Returns (lo, hi, is_identity).
  """
  center = 0.0 if name == "hue" else 1.0
  if isinstance(value, (int, float)):
    if value < 0:
      raise ValueError(f"color_jitter {name} must be >= 0, got {value}.")
    lo, hi = center - value, center + value
    if name != "hue":
      lo = max(0.0, lo)
  else:
    lo, hi = _pair(value, name)
  if name == "hue" and not -0.5 <= lo <= hi <= 0.5:
    raise ValueError(f"color_jitter hue must lie in [-0.5, 0.5], got {value!r}.")
  if name != "hue" and lo < 0:
    raise ValueError(f"color_jitter {name} factors must be >= 0, got {value!r}.")
  return lo, hi, (lo == hi == center)


def _color_jitter(image, u, *, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, p=0.8):
  _check_image(image)
  _check_prob(p)
  ranges = {}
  for name, value in zip(_JITTER_OPS, (brightness, contrast, saturation, hue)):
    lo, hi, identity = _jitter_range(name, value)
    if not identity and (image.shape[-1] == 3 or name in ("brightness", "contrast")):
      ranges[name] = (lo, hi)
  if not ranges or (isinstance(p, (int, float)) and p <= 0.0):
    return image
  ops = tuple(ranges)  # in _JITTER_OPS order, hue last
  blend_ops = tuple(o for o in ops if o != "hue")
  nb = len(blend_ops)
  u_apply, u_order, u_hue = u[0], u[5:5 + nb], u[8]
  u_factor = jnp.stack([u[1 + _JITTER_OPS.index(o)] for o in ops])
  lo = np.array([ranges[o][0] for o in ops], np.float32)
  hi = np.array([ranges[o][1] for o in ops], np.float32)
  factors = lo + (hi - lo) * u_factor
  # Slot s of the blend chain runs blend op order[s], with its factor f and its degenerate image
  # a·gray + b·mean(gray) (brightness: a = b = 0, contrast: b = 1, saturation: a = 1).
  order = jnp.argsort(u_order) if nb > 1 else jnp.zeros((nb,), jnp.int32)  # uniform permutation
  onehot = order[:, None] == jnp.arange(nb)[None, :]  # (slot, op)
  per_slot = lambda per_op: jnp.sum(jnp.where(onehot, per_op, 0.0), axis=1)
  f_slot = per_slot(factors[:nb])
  a_slot = per_slot(np.array([o == "saturation" for o in blend_ops], np.float32))
  b_slot = per_slot(np.array([o == "contrast" for o in blend_ops], np.float32))
  use_gray = "saturation" in blend_ops or "contrast" in blend_ops

  def blend(x, params):
    # x ← clip(f·x + (1 − f)·(a·gray + b·mean(gray))); f = 1 (inactive slot) gives exactly x.
    f, a, b = params
    degenerate = 0.0
    if use_gray:
      gray = rgb_to_grayscale(x)
      degenerate = a * gray + b * jnp.mean(gray)
    return jnp.clip(f * x + (1.0 - f) * degenerate, 0.0, 1.0), None

  def chain(x, f):
    # A scan, not a Python loop: its carry is materialised between slots. Unrolled, XLA:CPU fuses
    # each slot's mean and blend with the whole chain before it and recomputes it (3-5× slower).
    return jax.lax.scan(blend, x, (f, a_slot, b_slot))[0]

  def jitter(x):
    if "hue" not in ops:
      return chain(x, f_slot)
    # The hue shift goes after the first hue_at blend slots (inactive slots have f = 1).
    hue_at = jnp.minimum(jnp.floor(u_hue * (nb + 1)), nb)
    before = jnp.arange(nb) < hue_at
    x = chain(x, jnp.where(before, f_slot, 1.0))
    x = adjust_hue(x, factors[nb])
    return chain(x, jnp.where(before, 1.0, f_slot))

  return _apply_with_prob(u_apply, p, jitter, image)


def color_jitter(image: jax.Array, key: jax.Array, *, brightness=0.4, contrast=0.4, saturation=0.2,
                 hue=0.1, p: float = 0.8) -> jax.Array:
  """With probability p, jitters brightness, contrast, saturation and hue in a random order.

  torchvision's ColorJitter (BYOL's strengths and p): factors f_b, f_c, f_s ~ U[max(0, 1−v), 1+v]
  and hue shift δ ~ U[−v, v] (or an explicit (lo, hi) range each), then in a uniformly random order:
    brightness x ← clip(f_b·x),  contrast x ← clip(f_c·x + (1−f_c)·mean(gray(x))),
    saturation x ← clip(f_s·x + (1−f_s)·gray(x)),  hue h ← (h + δ) mod 1 in HSV.
  For C = 1, saturation and hue are the identity and are dropped. An operation of strength 0 (or a
  range (1, 1), hue (0, 0)) is removed statically, so all strengths 0 give exactly the identity.

  torchvision's ops, not BYOL's own code: deepmind-research byol/utils/augmentations.py uses
  TensorFlow's (brightness adds δ ~ U[−v, v] instead of scaling; contrast blends each channel with
  its own mean, not with the luma mean; saturation scales S in HSV, clip(f·s), instead of blending
  with the luma; its blur pads with zeros, darkening the border, where `gaussian_blur` reflects, as
  torchvision). jaxssl follows torchvision because the PyTorch recipes it reproduces and the peers
  it is measured against (VICReg, Barlow Twins, solo-learn, lightly, the PyTorch re-implementations
  of BYOL) use it, and because torchvision is an oracle every primitive here is tested against
  (tests/test_augment_torchvision.py). The TF variant is not offered: nothing here shows the
  difference matters for the learned representation (it was not measured).

  The order is drawn as a random order of the blend ops (brightness, contrast, saturation) and a
  uniform position of hue among them, which is uniform over all orders; under vmap each blend slot
  is one blend with per-example (f, degenerate), and the costly HSV round trip runs once.

  Args:
    image: float32 (H, W, C) in [0, 1].
    key: a PRNG key.
    brightness, contrast, saturation: strength v ≥ 0, or a factor range (lo, hi).
    hue: strength v ∈ [0, ½], or a shift range (lo, hi) ⊂ [−½, ½] (in turns of the hue circle).
    p: probability of applying the jitter.

  Returns:
    float32 (H, W, C) in [0, 1].
  """
  return _color_jitter(image, _uniform(key, _DRAWS["color_jitter"]), brightness=brightness,
                       contrast=contrast, saturation=saturation, hue=hue, p=p)


def _to_grayscale(image, u, *, p=0.2):
  _check_image(image)
  _check_prob(p)
  if image.shape[-1] == 1:
    return image
  gray = lambda x: jnp.broadcast_to(rgb_to_grayscale(x), x.shape)
  return _apply_with_prob(u[0], p, gray, image)


def to_grayscale(image: jax.Array, key: jax.Array, *, p: float = 0.2) -> jax.Array:
  """With probability p, replaces every channel by the luma 0.2989 R + 0.587 G + 0.114 B.

  Keeps the channel count (torchvision RandomGrayscale); identity for C = 1.

  Args:
    image: float (H, W, C).
    key: a PRNG key.
    p: probability of converting.

  Returns:
    Same shape and dtype as `image`.
  """
  return _to_grayscale(image, _uniform(key, _DRAWS["grayscale"]), p=p)


# ------------------------------------------------------------------------------------------------
# Blur and solarize.


def default_kernel_size(side: int) -> int:
  """Odd kernel size ≈ 10% of the image side, at least 3 (BYOL: 23 at 224, 3 at 32 and 28)."""
  return 2 * max(1, int(side / 10 / 2)) + 1


def _reflect_tap_masks(n: int, radius: int) -> np.ndarray:
  """Static (r + 1, n, n) counts M_d[i, j] = #{taps t = ±d : reflect(i + t) = j}, d = 0..r.

  Reflect padding without the edge (torchvision/NumPy "reflect": x[−1] = x[1]) folds the taps that
  fall off the image back inside. Needs r ≤ n − 1.
  """
  masks = np.zeros((radius + 1, n, n), np.float32)
  rows = np.arange(n)
  for t in range(-radius, radius + 1):
    j = rows + t
    j = np.where(j < 0, -j, j)
    j = np.where(j > n - 1, 2 * (n - 1) - j, j)
    np.add.at(masks, (abs(t), rows, j), 1.0)
  return masks


def _blur_matrix(n: int, sigma, radius: int):
  """(n, n) matrix B: (B x)_i = Σ_{|t|≤r} g(t) x[reflect(i + t)], g ∝ exp(−t²/2σ²), Σ_t g(t) = 1.

  B = Σ_d g(d)·M_d with the static masks of `_reflect_tap_masks`: r + 1 exps per σ, then one small
  matrix product (batched over images under vmap). Rows sum to 1.
  """
  d = np.arange(radius + 1, dtype=np.float32)
  g = jnp.exp(-0.5 * (d / sigma) ** 2)
  g = g / (2.0 * jnp.sum(g) - g[0])  # normalise over the taps −r..r
  return jnp.einsum("d,dij->ij", g, _reflect_tap_masks(n, radius), precision=_HIGHEST)


def _blur_radius(kernel_size, height, width):
  """r = K // 2 of an odd kernel size K ≥ 3 that reflect padding can serve (r < min(H, W))."""
  kernel_size = int(kernel_size)
  radius = kernel_size // 2
  if kernel_size % 2 != 1 or kernel_size < 3 or radius >= min(height, width):
    raise ValueError(f"blur kernel_size must be odd, >= 3 and with kernel_size // 2 < min(H, W) = "
                     f"{min(height, width)}, got {kernel_size}.")
  return radius


def _gaussian_blur(image, u, *, p=0.5, sigma=(0.1, 2.0), kernel_size=None):
  _check_image(image)
  height, width, _ = image.shape
  s_lo, s_hi = _pair(sigma, "sigma")
  if not 0.0 < s_lo:
    raise ValueError(f"blur sigma must be > 0, got {sigma!r}.")
  kernel_size = default_kernel_size(max(height, width)) if kernel_size is None else kernel_size
  radius = _blur_radius(kernel_size, height, width)
  sigma_u = s_lo + (s_hi - s_lo) * u[1]
  return _apply_with_prob(u[0], p, lambda x: _blur(x, sigma_u, radius), image)


def _blur(image, sigma, radius):
  height, width, _ = image.shape
  rows = _blur_matrix(height, sigma, radius)
  cols = rows if width == height else _blur_matrix(width, sigma, radius)
  return _separable(rows, image, cols)


def blur(image: jax.Array, sigma, kernel_size: int) -> jax.Array:
  """Gaussian blur of a given σ: torchvision's `gaussian_blur(x, [K, K], [σ, σ])`, reflect padding.

  The deterministic core of `gaussian_blur`: separable taps g(t) ∝ exp(−t²/2σ²), |t| ≤ K // 2,
  summing to 1, applied as B_H · x · B_Wᵀ with the reflect padding folded into B.

  Args:
    image: float32 (H, W, C).
    sigma: σ > 0 in pixels (may be traced).
    kernel_size: odd K ≥ 3 with K // 2 < min(H, W) (static).

  Returns:
    float32 (H, W, C).
  """
  _check_image(image)
  return _blur(image, sigma, _blur_radius(kernel_size, *image.shape[:2]))


def gaussian_blur(image: jax.Array, key: jax.Array, *, p: float = 0.5, sigma=(0.1, 2.0),
                  kernel_size: int | None = None) -> jax.Array:
  """With probability p, a separable Gaussian blur with σ ~ U(sigma), reflect padding.

  Kernel g(t) ∝ exp(−t²/2σ²), t ∈ [−r, r], K = 2r + 1 taps (default `default_kernel_size` of
  max(H, W), as BYOL: ≈ 10% of the side, odd, ≥ 3). Applied as out = B_H · x · B_Wᵀ with the banded
  matrices of `_blur_matrix` (reflect padding folded in, as torchvision's GaussianBlur): fixed
  shapes, O(H²W + HW²) per channel, cheap at SSL image sizes. A constant image stays constant; the
  mean is kept up to border effects.

  Args:
    image: float32 (H, W, C).
    key: a PRNG key.
    p: probability of blurring (BYOL: 1.0 for view 1, 0.1 for view 2).
    sigma: (σ_min, σ_max) in pixels, or a number for a fixed σ.
    kernel_size: odd K ≥ 3 with K // 2 < min(H, W), or None for the default.

  Returns:
    float32 (H, W, C).
  """
  return _gaussian_blur(image, _uniform(key, _DRAWS["blur"]), p=p, sigma=sigma,
                        kernel_size=kernel_size)


def _solarize(image, u, *, p=0.2, threshold=0.5):
  _check_image(image)
  return _apply_with_prob(u[0], p, lambda x: jnp.where(x >= threshold, 1.0 - x, x), image)


def solarize(image: jax.Array, key: jax.Array, *, p: float = 0.2,
             threshold: float = 0.5) -> jax.Array:
  """With probability p, x ← 1 − x where x ≥ threshold (torchvision RandomSolarize, BYOL).

  Args:
    image: float (H, W, C) in [0, 1].
    key: a PRNG key.
    p: probability of solarizing (BYOL: 0 for view 1, 0.2 for view 2).
    threshold: pixels at or above it are inverted.

  Returns:
    Same shape and dtype, in [0, 1].
  """
  return _solarize(image, _uniform(key, _DRAWS["solarize"]), p=p, threshold=threshold)


def normalize(image: jax.Array, mean, std) -> jax.Array:
  """(x − mean) / std per channel; mean, std scalars or length-C sequences.

  Args:
    image: float (H, W, C).
    mean: channel means, a number or C numbers.
    std: channel standard deviations (> 0), a number or C numbers.

  Returns:
    float32 (H, W, C).
  """
  _check_image(image)
  channels = image.shape[-1]
  mean = jnp.asarray(mean, jnp.float32).reshape(-1)
  std = jnp.asarray(std, jnp.float32).reshape(-1)
  for name, v in (("mean", mean), ("std", std)):
    if v.shape[0] not in (1, channels):
      raise ValueError(f"normalize {name} must have 1 or C = {channels} entries, got {v.shape[0]}.")
  return (image.astype(jnp.float32) - mean) / std


# ------------------------------------------------------------------------------------------------
# Pipeline.

# (config key, public function (its keyword arguments are the config's), function of uniforms).
_STAGES = (
    ("crop", random_resized_crop, _random_resized_crop),
    ("flip", horizontal_flip, _horizontal_flip),
    ("color_jitter", color_jitter, _color_jitter),
    ("grayscale", to_grayscale, _to_grayscale),
    ("blur", gaussian_blur, _gaussian_blur),
    ("solarize", solarize, _solarize),
)
_STAGE_NAMES = tuple(name for name, _, _ in _STAGES) + ("normalize",)


def _stage_params(config, name, fn):
  """The stage's keyword arguments from the config, checked against `fn`'s signature."""
  params = dict(config[name])
  valid = [k for k in inspect.signature(fn).parameters if k not in ("image", "key")]
  unknown = sorted(set(params) - set(valid))
  if unknown:
    raise ValueError(f"augment config[{name!r}] has unknown keys {unknown}; valid keys: {valid}.")
  return params


def _resolve_config(config):
  if isinstance(config, str):
    return get_preset(config)
  if not isinstance(config, Mapping) and not hasattr(config, "keys"):
    raise ValueError(f"augment config must be a dict (or ConfigDict) or a preset name from "
                     f"{list(PRESET_NAMES)}, got {type(config).__name__}.")
  unknown = sorted(set(config.keys()) - set(_STAGE_NAMES))
  if unknown:
    raise ValueError(f"augment config has unknown keys {unknown}; valid keys: {list(_STAGE_NAMES)} "
                     "(each a dict of that transform's keyword arguments, or None to skip it).")
  return config


def augment(image: jax.Array, key: jax.Array, config) -> jax.Array:
  """One augmented view: crop, flip, colour jitter, grayscale, blur, solarize, normalize (BYOL).

  `config` maps stage names to that transform's keyword arguments (a missing or None stage is
  skipped); see BYOL_VIEW1. One uniform draw per call feeds every stage, each from its own fixed
  slice, so adding or removing a stage does not change the others' draws.

  Args:
    image: (H, W, C), uint8 (scaled by 1/255) or float in [0, 1]; C ∈ {1, 3}.
    key: a PRNG key.
    config: a dict / ConfigDict of stages (static), or a preset name (see `get_preset`).

  Returns:
    float32 (out_h, out_w, C): in [0, 1], then normalized if the config has `normalize`.
  """
  config = _resolve_config(config)
  x = _to_float_image(image)
  u = _uniform(key, sum(_DRAWS.values()))
  start = 0
  for name, public, fn in _STAGES:
    n = _DRAWS[name]
    if config.get(name) is not None:
      x = fn(x, u[start:start + n], **_stage_params(config, name, public))
    start += n
  if config.get("normalize") is not None:
    x = normalize(x, **_stage_params(config, "normalize", normalize))
  return x


def augment_batch(images: jax.Array, key: jax.Array, config) -> jax.Array:
  """`augment` vmapped over a batch, with one split key per image.

  Jit with the config closed over, `jax.jit(lambda x, k: augment_batch(x, k, cfg))`, or as a
  static preset name, `jax.jit(augment_batch, static_argnames="config")`.

  Args:
    images: (N, H, W, C), uint8 or float in [0, 1]; C ∈ {1, 3}.
    key: a PRNG key.
    config: stages dict (static) or preset name.

  Returns:
    float32 (N, out_h, out_w, C); image i is augment(images[i], split(key, N)[i], config).
  """
  images = jnp.asarray(images)
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"images must be a batch of shape (N, H, W, C) with C = 1 or 3, got shape "
                     f"{images.shape}. For a single image use augment.")
  config = _resolve_config(config)
  keys = jax.random.split(key, images.shape[0])
  return jax.vmap(lambda x, k: augment(x, k, config))(images, keys)


def two_views(images: jax.Array, key: jax.Array, config1, config2) -> tuple[jax.Array, jax.Array]:
  """Two augmented views of a batch: augment_batch(images, k1, config1), …(images, k2, config2).

  k1, k2 = split(key): the views are drawn independently (BYOL's view 1 / view 2 presets differ).

  Args:
    images: (N, H, W, C), uint8 or float in [0, 1].
    key: a PRNG key.
    config1, config2: stages dicts (static) or preset names.

  Returns:
    (view1, view2), each float32 (N, out_h, out_w, C).
  """
  k1, k2 = jax.random.split(key)
  return augment_batch(images, k1, config1), augment_batch(images, k2, config2)


# ------------------------------------------------------------------------------------------------
# Presets: plain dicts, view 1 and view 2 side by side.

BYOL_VIEW1 = dict(
    crop=dict(out_size=(224, 224), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=1.0, sigma=(0.1, 2.0)),  # kernel 23 at 224
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=IMAGENET_MEAN, std=IMAGENET_STD),
)
BYOL_VIEW2 = dict(
    crop=dict(out_size=(224, 224), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.1, sigma=(0.1, 2.0)),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=IMAGENET_MEAN, std=IMAGENET_STD),
)

# CIFAR-10/100 at 32×32 (solo-learn's BYOL CIFAR recipe): no blur, solarize on view 2 only.
CIFAR_VIEW1 = dict(
    crop=dict(out_size=(32, 32), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.0),
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=CIFAR10_MEAN, std=CIFAR10_STD),
)
CIFAR_VIEW2 = dict(
    crop=dict(out_size=(32, 32), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.0),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=CIFAR10_MEAN, std=CIFAR10_STD),
)

# Fashion-MNIST, 28×28 grayscale: milder crops (a garment fills the frame; 8% of 28² is an 8×8
# patch), brightness/contrast only (saturation, hue and grayscale are identities for C = 1), a light
# blur (3-tap kernel) and BYOL's asymmetric blur/solarize between the views. Training-set mean/std.
FMNIST_VIEW1 = dict(
    crop=dict(out_size=(28, 28), scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.0, hue=0.0),
    blur=dict(p=0.2, sigma=(0.1, 2.0)),
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=FMNIST_MEAN, std=FMNIST_STD),
)
FMNIST_VIEW2 = dict(
    crop=dict(out_size=(28, 28), scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.0, hue=0.0),
    blur=dict(p=0.1, sigma=(0.1, 2.0)),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=FMNIST_MEAN, std=FMNIST_STD),
)

_PRESETS = {
    "byol_view1": BYOL_VIEW1,
    "byol_view2": BYOL_VIEW2,
    "cifar_view1": CIFAR_VIEW1,
    "cifar_view2": CIFAR_VIEW2,
    "fmnist_view1": FMNIST_VIEW1,
    "fmnist_view2": FMNIST_VIEW2,
}
PRESET_NAMES = tuple(_PRESETS)


def get_preset(name: str) -> dict:
  """A deep copy of the preset named `name` (case-insensitive), one of PRESET_NAMES."""
  key = str(name).lower()
  if key not in _PRESETS:
    raise ValueError(f"Unknown augmentation preset {name!r}; valid names: {list(PRESET_NAMES)}.")
  return copy.deepcopy(_PRESETS[key])
