"""Feature extraction for evaluation: the jitted, batch-sharded forward pass in inference mode."""
import json

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.augment import normalize_batch  # one definition for evaluation and `load_encoder`
from jaxssl.parallel.mesh import batch_sharded, make_mesh, replicated


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


def stream_features(model, variables, batches, *, num_examples: int, view: dict, mesh,
                    keep_images: int = 0) -> dict:
  """Features of a streamed split: h, z, labels (and the first `keep_images` images), float32.

  `batches` yields global batches {'image' uint8 NHWC, 'label', 'index'} sharded over `mesh`
  (`jaxssl.data.input_pipeline.eval_stream`: each process reads its own shard, rows with index -1
  are padding). Each batch goes through the same jitted, batch-sharded forward pass as
  `extract_features` (data-parallel over every device of every process); the features are gathered
  to every process and put back in data-set order, so each host holds num_examples x D float32
  features and no images (for the linear probe and kNN, which then run on every host alike).
  """
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  variables = jax.device_put(variables, replicated(mesh))
  forward = _forward(model, view)
  gather = lambda x: np.asarray(multihost_utils.process_allgather(x, tiled=True))
  h_all = z_all = None
  labels = np.full((num_examples,), -1, np.int32)
  kept = []
  for batch in batches:
    h, z = forward(variables, batch['image'])
    index = gather(batch['index'])
    valid = index >= 0
    h, z = gather(h), gather(z)
    if h_all is None:
      h_all = np.zeros((num_examples, h.shape[1]), np.float32)
      z_all = np.zeros((num_examples, z.shape[1]), np.float32)
    h_all[index[valid]], z_all[index[valid]] = h[valid], z[valid]
    labels[index[valid]] = gather(batch['label'])[valid]
    if sum(len(k) for k in kept) < keep_images:
      kept.append(gather(batch['image'])[valid])
  if h_all is None or np.any(labels < 0):
    raise ValueError(f'The stream did not cover all {num_examples} examples.')
  images = np.concatenate(kept)[:keep_images] if kept else None
  return dict(h=h_all, z=z_all, label=labels, images=images)
