"""A run config's views: the augmentation dicts of `config.augment`, the ones the train step applies
on the device, and the un-augmented input normalisation that evaluation and `load_encoder` share."""
import jax
import jax.numpy as jnp

from jaxssl.augment.presets import get_preset


def view_config(spec) -> dict:
  """An augmentation view: a preset name from `jaxssl.augment` or a full dict."""
  if isinstance(spec, str):
    return get_preset(spec)
  return dict(spec)


def device_views(config, host_crop: bool) -> tuple[dict, dict]:
  """The two views the train step applies on the device: the config's, minus the crop stage when
  the host already cropped (encoded images)."""
  views = view_config(config.augment.view1), view_config(config.augment.view2)
  return tuple(dict(v, crop=None) for v in views) if host_crop else views


def normalize_batch(images: jax.Array, view: dict) -> jax.Array:
  """uint8 -> [0, 1] float32, then the view's `normalize` stage (no random transforms).

  One definition for the evaluation's features and `jaxssl.load_encoder`.
  """
  x = images.astype(jnp.float32)
  if images.dtype == jnp.uint8:
    x = x / 255.0
  norm = view.get('normalize')
  if norm:
    x = (x - jnp.asarray(norm['mean'], jnp.float32)) / jnp.asarray(norm['std'], jnp.float32)
  return x
