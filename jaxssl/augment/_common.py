"""What every transform shares: the image checks, Bernoulli(p) application, the uniform draws."""
import jax
import jax.numpy as jnp

_HIGHEST = jax.lax.Precision.HIGHEST

_CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop tries 10 boxes before its fallback
# Uniform draws per transform: crop (area, log-aspect, top, left) × attempts; jitter: apply, one
# factor per op, 3 sort keys for the order of the blend ops, the hue's position; blur: apply, σ.
_DRAWS = dict(crop=4 * _CROP_ATTEMPTS, flip=1, color_jitter=1 + 4 + 3 + 1, grayscale=1, blur=2,
              solarize=1)



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
