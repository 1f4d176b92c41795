"""The stage pipeline: `augment` chains the stages in BYOL's order from a config dict,
`augment_batch` vmaps it, `two_views` draws an SSL pair; `normalize` is the last stage."""
import inspect
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxssl.augment._common import _DRAWS, _check_image, _to_float_image, _uniform
from jaxssl.augment.colour import _color_jitter, _to_grayscale, color_jitter, to_grayscale
from jaxssl.augment.filters import _gaussian_blur, _solarize, gaussian_blur, solarize
from jaxssl.augment.geometry import (_horizontal_flip, _random_resized_crop, horizontal_flip,
                                     random_resized_crop)
from jaxssl.augment.presets import PRESET_NAMES, get_preset


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
