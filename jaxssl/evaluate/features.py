"""Feature extraction for evaluation: the jitted, batch-sharded forward pass in inference mode."""
import json

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.train.mesh import batch_sharded, make_mesh, replicated


def normalize_batch(images: jax.Array, view: dict) -> jax.Array:
  """uint8 -> [0, 1] float32, then the view's `normalize` stage (no random transforms)."""
  x = images.astype(jnp.float32)
  if images.dtype == jnp.uint8:
    x = x / 255.0
  norm = view.get('normalize')
  if norm:
    x = (x - jnp.asarray(norm['mean'], jnp.float32)) / jnp.asarray(norm['std'], jnp.float32)
  return x


def extract_features(model, variables, images: np.ndarray, *, view: dict, batch_size: int = 1000,
                     mesh=None, projector: bool = False) -> np.ndarray | tuple:
  """Encoder features h (and projector outputs z when `projector`) for every image, float32.

  Images are only converted and normalised as in `view` (no random augmentation: the standard
  evaluation protocol); `view=None` feeds them as they are (already augmented float views). The
  batch is padded to a multiple of the device count and sharded; batches are dispatched
  asynchronously and copied to the host at the end.
  """
  mesh = mesh or make_mesh()
  n_dev = mesh.devices.size
  batch_size = max(n_dev, batch_size - batch_size % n_dev)
  variables = jax.device_put(variables, replicated(mesh))
  forward = _forward(model, view)
  hs, zs = [], []
  for start in range(0, len(images), batch_size):
    chunk = images[start:start + batch_size]
    pad = batch_size - len(chunk)
    if pad:
      chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
    h, z = forward(variables, jax.device_put(chunk, batch_sharded(mesh)))
    hs.append(h[:batch_size - pad])
    zs.append(z[:batch_size - pad] if projector else None)
  h = np.concatenate([np.asarray(x) for x in hs])
  return (h, np.concatenate([np.asarray(x) for x in zs])) if projector else h


_FORWARDS: dict = {}


def _forward(model, view: dict | None):
  """One jitted inference forward per (model, view): repeated extractions reuse its compilation."""
  plain = lambda o: o.to_dict() if hasattr(o, 'to_dict') else repr(o)  # ConfigDict views
  cache_key = (repr(model), json.dumps(view, sort_keys=True, default=plain))
  if cache_key not in _FORWARDS:
    @jax.jit
    def forward(variables, x):
      x = x.astype(jnp.float32) if view is None else normalize_batch(x, view)
      h, z, _ = model.apply(variables, x, train=False)
      return h, z

    if len(_FORWARDS) >= 16:
      _FORWARDS.pop(next(iter(_FORWARDS)))
    _FORWARDS[cache_key] = forward
  return _FORWARDS[cache_key]
