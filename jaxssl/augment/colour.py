"""Colour: grayscale, brightness, contrast, saturation, hue, and the random colour jitter."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.augment._common import (_DRAWS, _apply_with_prob, _check_image, _check_prob, _pair,
                                    _uniform)

# ITU-R 601-2 luma, as torchvision's rgb_to_grayscale and BYOL.
LUMA_WEIGHTS = (0.2989, 0.587, 0.114)
_JITTER_OPS = ("brightness", "contrast", "saturation", "hue")


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
