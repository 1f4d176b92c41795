"""A pretrained encoder, loaded in one line: `jaxssl.load_encoder(DIR) -> Encoder`.

`DIR` is what `jaxssl export` writes (see `jaxssl.export`): `encoder.json`, which rebuilds the Flax
module (encoder name and kwargs, compute dtype, the input normalisation and image shape of
pretraining, the format version), and `variables.safetensors` (parameters and batch statistics;
in torchvision's layout for `--format torch`). A pretraining workdir works too: its latest
checkpoint is read (that path imports the training engine, which reads orbax checkpoints of the
whole TrainState).
Loading an export imports Flax and the encoder definitions only: no optax, no training loop.

    encoder = jaxssl.load_encoder('exports/vicreg')
    features = encoder.apply(images)          # uint8 or float (N, H, W, C) -> float32 (N, D)
    encoder.module, encoder.variables         # to compose the encoder in your own Flax model
"""
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import run_dir
from jaxssl.augment import normalize_batch
from jaxssl.errors import MissingRunError
from jaxssl.export.spec import (SPEC_FILE, WEIGHTS_FILE, ExportFormatError, build_modules,
                                input_sizes, read_spec, unflatten)
from jaxssl.export.torch_layout import from_torch


def _resampled(spec: dict, variables: dict, image_size) -> tuple[dict, dict]:
  """(spec, variables) of a ViT taking images of `image_size` (H, W): position embeddings
  resampled to the new patch grid (`jaxssl.models.vit.resample_pos_embedding`)."""
  # pylint: disable-next=import-outside-toplevel
  from jaxssl.models.vit import resample_pos_embedding
  h, w = (int(n) for n in image_size)
  patch = int(spec['encoder_kwargs'].get('patch_size', 16))
  if h % patch or w % patch:
    raise ValueError(f'image_size {(h, w)} must be a multiple of the patch size {patch} of '
                     f'{spec["encoder"]!r}.')
  params = dict(variables['params'])
  params['pos_embedding'] = resample_pos_embedding(jnp.asarray(params['pos_embedding']),
                                                   (h // patch, w // patch))
  channels = (spec.get('image_shape') or [None, None, 3])[-1]
  spec = dict(spec, image_shape=[h, w, channels], eval_image_shape=[h, w, channels])
  return spec, dict(variables, params=params)


class Encoder:
  """A pretrained encoder: `apply(images) -> features`, jitted, inputs normalised as at pretraining.

  Attributes:
    module: the Flax encoder (`jaxssl.models`); `module.apply(variables, x, train=False)` on
      normalised float images gives the features.
    variables: `{'params': ..., 'batch_stats': ...}` of the encoder.
    spec: the export's `encoder.json` as a dict (encoder name and kwargs, dtype, `normalize`,
      `image_shape`, `feature_dim`, provenance).
    head, head_variables: the projector and its variables when exported with `--head`, else None.
  """

  def __init__(self, spec: dict, variables: dict, head_variables: dict | None = None):
    self.spec = spec
    self.module, self.head = build_modules(spec)
    self.variables = variables
    self.head_variables = head_variables
    self._view = {'normalize': spec.get('normalize')}
    self._forward = jax.jit(self._features)
    self._project = jax.jit(lambda v, hv, x: self.head.apply(hv, self._features(v, x), train=False))

  def normalize(self, images) -> jax.Array:
    """Images as the encoder saw them at pretraining: uint8 -> [0, 1], then the run's mean / std."""
    return normalize_batch(jnp.asarray(images), self._view)

  def _features(self, variables, images):
    x = normalize_batch(images, self._view)
    return self.module.apply(variables, x, train=False).astype(jnp.float32)

  def _check(self, images):
    """A convolutional encoder takes any H x W with the trained channel count; a ViT its trained
    (H, W) (`load_encoder(..., image_size=(H, W))` resamples it for another)."""
    shape = self.spec.get('image_shape')
    any_size = input_sizes(self.spec['encoder']) == 'any'
    if shape and any_size:
      expected, wanted = f'(N, H, W, {shape[-1]})', (shape[-1],)
      got = tuple(np.shape(images)[3:])
    elif shape:
      expected, wanted = f'(N, {", ".join(map(str, shape))})', tuple(shape)
      got = tuple(np.shape(images)[1:])
    else:
      expected, wanted, got = '(N, H, W, C)', None, None
    if np.ndim(images) != 4 or (wanted is not None and got != wanted):
      fix = ('' if any_size or not shape else
             f'; for another size load it with jaxssl.load_encoder(DIR, image_size=(H, W)), '
             'which resamples the position embeddings')
      raise ValueError(f'Encoder {self.spec["encoder"]!r} takes images of shape {expected} '
                       f'(NHWC, uint8 in [0, 255] or float in [0, 1]), got '
                       f'{tuple(np.shape(images))}{fix}.')

  def apply(self, images, *, batch_size: int = 1000) -> jax.Array:
    """Features (N, feature_dim) float32 of images (N, H, W, C): uint8, or float in [0, 1].

    More than `batch_size` images go through in batches of `batch_size` (the last one padded, so
    that one compilation serves them all), as in the evaluation's `extract_features`.
    """
    return self._batched(lambda x: self._forward(self.variables, x), images, batch_size)

  def project(self, images, *, batch_size: int = 1000) -> jax.Array:
    """Projector outputs z (the embeddings the objective saw); needs an export with `--head`."""
    if self.head is None:
      raise ValueError('This export has no projector: export it with `jaxssl export --head`.')
    return self._batched(lambda x: self._project(self.variables, self.head_variables, x), images,
                         batch_size)

  def _batched(self, forward, images, batch_size: int) -> jax.Array:
    self._check(images)
    if len(images) <= batch_size:
      return forward(jnp.asarray(images))
    outputs = []
    for start in range(0, len(images), batch_size):
      chunk = np.asarray(images[start:start + batch_size])
      pad = batch_size - len(chunk)
      if pad:
        chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
      outputs.append(forward(chunk)[:batch_size - pad])
    return jnp.concatenate(outputs)

  def __repr__(self):
    return (f'Encoder({self.spec["encoder"]}, {self.spec.get("feature_dim")} features, '
            f'step {self.spec.get("step")}, {self.spec.get("which", "online")} network)')


def load_export(directory: str | Path, *, image_size=None) -> Encoder:
  """The Encoder in an export directory (jax or torch weights format)."""
  from safetensors import SafetensorError  # pylint: disable=import-outside-toplevel
  from safetensors.numpy import load_file  # pylint: disable=import-outside-toplevel
  spec = read_spec(directory)
  try:
    flat = load_file(Path(directory) / WEIGHTS_FILE)
  except SafetensorError as error:
    raise ExportFormatError(f'{Path(directory) / WEIGHTS_FILE} is unreadable ({error}).') from None
  if spec['weights_format'] == 'torch':
    flat = from_torch(spec, flat)
  return _encoder(spec, unflatten(flat), image_size)


def _encoder(spec: dict, tree: dict, image_size=None) -> Encoder:
  """The Encoder of an SSLModel's variables `tree` ({'params': {'encoder': ...}, ...})."""
  tree = jax.tree.map(jnp.asarray, tree)
  pick = lambda part: {k: tree.get(k, {}).get(part, {}) for k in ('params', 'batch_stats')}
  variables = pick('encoder')
  if image_size is not None and input_sizes(spec['encoder']) == 'image_shape':
    spec, variables = _resampled(spec, variables, image_size)
  return Encoder(spec, variables, pick('projector') if spec.get('head') else None)


def load_encoder(path: str | Path, *, which: str = 'online', image_size=None) -> Encoder:
  """The pretrained encoder in `path`: an export directory, or a pretraining workdir.

  Example:
    >>> encoder = jaxssl.load_encoder('exports/vicreg')         # doctest: +SKIP
    >>> features = encoder.apply(test_images)                  # doctest: +SKIP

  Args:
    path: a directory written by `jaxssl export` (holds `encoder.json`), or a workdir of `jaxssl
      pretrain` (its latest readable checkpoint is used).
    which: for a workdir, 'online' (the trained network) or 'target' (the EMA target of BYOL /
      MoCo v3 runs). An export holds the one it was exported with.
    image_size: (H, W) for a ViT to take instead of its trained size: its position embeddings are
      resampled to the new patch grid (bicubic, timm's `resample_abs_pos_embed` semantics). The
      convolutional encoders take any size as they are (`spec['input_sizes'] == 'any'`); for
      them it changes nothing.

  Returns:
    An `Encoder`: `.apply(images)` gives the features the evaluation protocol uses (un-augmented
    images normalised as in the run's first view), on the CPU bit for bit those of `jaxssl
    evaluate`.

  Raises:
    FileNotFoundError: `path` is neither an export nor a workdir with a checkpoint.
    ExportFormatError: an export of another format version, or a damaged / truncated file.
  """
  path = Path(path)
  if (path / SPEC_FILE).exists():
    return load_export(path, image_size=image_size)
  if run_dir.is_run(path):
    # pylint: disable-next=import-outside-toplevel
    from jaxssl.export.workdir import read_workdir  # orbax, read only for a workdir
    return _encoder(*read_workdir(path, which=which), image_size)
  raise MissingRunError(f'{path} holds neither {SPEC_FILE} (an export of `jaxssl export`) nor a '
                          'pretraining checkpoint (a `jaxssl pretrain --workdir`).')
