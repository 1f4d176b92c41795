"""`jaxssl export`: the pretrained encoder out of a workdir, for JAX (Flax) or PyTorch.

    jaxssl export --workdir runs/demo --out exports/demo                     # `jaxssl.load_encoder`
    jaxssl export --workdir runs/r50 --out exports/r50_torch --format torch  # torchvision ResNet

An export is a directory of two files, written atomically (into a temporary directory beside
`--out`, renamed when complete):

* `encoder.json`: what rebuilds the module -- `encoder` (a `jaxssl.models.ENCODERS` name),
  `encoder_kwargs`, `dtype`, `normalize` (mean / std applied after uint8 -> [0, 1], those of the
  run's first view; null for none), `image_shape` (H, W, C of the images the encoder was trained
  on: the views' crop size for an image folder, whatever its files' sizes; null when the data set
  is not prepared where the export runs), `eval_image_shape` (the evaluation crop's), `input_sizes`
  ('any' for the convolutional encoders, which take any H x W as torchvision's do; 'image_shape'
  for a ViT, whose position embeddings fix the patch grid: `load_encoder(DIR, image_size=(H, W))`
  resamples them for another size), `feature_dim`, the provenance (`step`, `which`,
  `objective`, `dataset`, `jaxssl_version`), `format_version`, and the weights file's size and
  sha256.
* `variables.safetensors`: the encoder's parameters and batch statistics (`--head`: the projector's
  too). `--format jax`: the Flax variables tree flattened with '/'-joined keys
  (`params/encoder/Conv_0/kernel`, `batch_stats/encoder/BatchNorm_0/mean`). `--format torch`: a
  `state_dict` with torchvision's keys and layouts for `resnet18` / `resnet50` (conv weights OIHW;
  BatchNorm `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`; no `fc`): how a
  PyTorch user loads it, the CIFAR stem's one-line change included, is in docs/api/export.md. The
  ConvNet and the ViTs have no torchvision counterpart: `--format torch` refuses them.

`jaxssl.load_encoder(DIR)` reads either format.
"""
import logging
import shutil
import tempfile
from pathlib import Path

import jax
import numpy as np

from jaxssl import __version__, run_dir
from jaxssl.config import ConfigError
from jaxssl.errors import ExportTargetError, MissingRunError
from jaxssl.io import umask
from jaxssl.encoder import (FORMAT, FORMAT_VERSION, SPEC_FILE, WEIGHTS_FILE, Encoder,
                            ExportFormatError, build_modules, input_sizes, sha256, unflatten)

log = logging.getLogger(__name__)

# Flax block name, convs per block counting the shortcut's, blocks per stage.
TORCHVISION = {'resnet18': ('BasicBlock', 3, (2, 2, 2, 2)),
               'resnet50': ('Bottleneck', 4, (3, 4, 6, 3))}
_TORCH_KWARGS = {'stem': ('cifar', 'imagenet'), 'padding': ('symmetric',), 'width': (64,)}


class NoTorchCounterpartError(ConfigError):
  """`--format torch` of an encoder that torchvision does not define (or not with these kwargs)."""


# -- The workdir side ------------------------------------------------------------------------------

def _no_checkpoint(workdir: Path, what: str = 'No checkpoint') -> MissingRunError:
  return MissingRunError(f'{what} in {workdir / run_dir.CHECKPOINTS}: run `jaxssl pretrain '
                           f'--workdir {workdir}` first, or point --workdir at a run that has one.')


def _unreadable(workdir: Path, step: int, error: Exception) -> None:
  log.warning('Checkpoint at step %d of %s is unreadable (%s: %s); trying the previous one.',
              step, workdir, type(error).__name__, str(error)[:200])


def _image_shapes(config: dict):
  """(training, evaluation) input shapes (H, W, C) of the run, or (None, None) when its data set
  is not prepared where the export runs (for encoded images: the crop sizes, not the files')."""
  # pylint: disable-next=import-outside-toplevel
  import ml_collections
  # pylint: disable-next=import-outside-toplevel
  from jaxssl.data.input_pipeline import encoder_input_shapes
  try:
    train, evaluation = encoder_input_shapes(ml_collections.ConfigDict(config))
    return list(train), list(evaluation)
  except (FileNotFoundError, ModuleNotFoundError) as error:
    log.info('Image shape not recorded (%s: %s).', type(error).__name__, str(error)[:120])
    return None, None


def spec_from_config(config: dict, *, step: int, which: str, head: bool,
                     image_shape=None, eval_image_shape=None) -> dict:
  """The `encoder.json` dict of a run's config (the checkpoint's copy of it).

  `image_shape` is the (H, W, C) the encoder was trained on, `eval_image_shape` the evaluation
  crop's (the training one when None); `input_sizes` says which sizes the encoder takes ('any':
  a convolutional encoder; 'image_shape': a ViT, whose position embeddings fix its patch grid).
  """
  from jaxssl.train.loop import view_config  # pylint: disable=import-outside-toplevel
  model = config['model']
  norm = view_config(config['augment']['view1']).get('normalize')
  if norm:
    norm = {k: [float(v) for v in np.ravel(norm[k])] for k in ('mean', 'std')}
  spec = dict(format=FORMAT, format_version=FORMAT_VERSION, jaxssl_version=__version__,
              weights_format='jax', encoder=model['encoder'],
              encoder_kwargs=dict(model.get('encoder_kwargs') or {}), dtype=model['dtype'],
              normalize=norm or None, image_shape=image_shape,
              eval_image_shape=eval_image_shape or image_shape,
              input_sizes=input_sizes(model['encoder']), feature_dim=None, which=which,
              step=int(step), objective=config['objective']['name'], dataset=config['dataset'],
              head={'widths': list(model['projector']),
                    'last_bn': bool(model.get('projector_last_bn', False))} if head else None)
  if image_shape:
    module, _ = build_modules(spec)
    out = jax.eval_shape(lambda x: module.init_with_output(jax.random.PRNGKey(0), x,
                                                           train=False)[0],
                         jax.ShapeDtypeStruct((1, *image_shape), np.float32))
    spec['feature_dim'] = int(out.shape[-1])
  return spec


def read_workdir(workdir: str | Path, *, which: str = 'online', head: bool = False,
                 image_shape=None) -> tuple[dict, dict]:
  """(spec, variables) of a workdir's latest readable checkpoint, restoring only the encoder.

  `variables` is `{'params': {'encoder': ..., ['projector': ...]}, 'batch_stats': {...}}` of NumPy
  arrays; `which='target'` reads the EMA target network (BYOL, MoCo v3). A checkpoint that fails to
  read is skipped with a warning (the workdir is left as it is) and the previous one is tried.
  """
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  from jaxssl.train import checkpoint as ckpt  # pylint: disable=import-outside-toplevel
  if which not in ('online', 'target'):
    raise ValueError(f"which must be 'online' or 'target', got {which!r}.")
  workdir = Path(workdir)
  if not (workdir / run_dir.CHECKPOINTS).is_dir():
    raise _no_checkpoint(workdir)
  manager = ckpt.make_manager(workdir, async_save=False)
  keys = ('params', 'batch_stats') if which == 'online' else ('target_params',
                                                               'target_batch_stats')
  parts = ('encoder', 'projector') if head else ('encoder',)
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  try:
    steps = sorted(manager.all_steps(), reverse=True)
    for step in steps:
      try:
        config = manager.restore(step, args=ocp.args.Composite(
            config=ocp.args.JsonRestore()))['config']
        config = run_dir.upgrade(config, where=f'{workdir} (step {step})')
        # The item's own tree metadata (the handler's, not a Checkpointer's: that one also looks
        # for a step-level metadata file inside the item directory and logs its absence).
        meta = ocp.PyTreeCheckpointHandler().metadata(
            Path(manager.directory) / str(step) / 'state').tree
        abstract = {key: {part: jax.tree.map(
            lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
            (meta[key] or {}).get(part, {})) for part in parts} for key in keys}
      except Exception as error:  # noqa: BLE001 -- any read failure: try the previous checkpoint
        _unreadable(workdir, step, error)
        continue
      if which == 'target' and not meta.get('target_params'):
        raise ConfigError(f'The run in {workdir} (objective {config["objective"]["name"]!r}) has '
                          'no EMA target network; export --which online.')
      try:
        state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore(
            abstract, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
            partial_restore=True)))['state']
      except Exception as error:  # noqa: BLE001
        _unreadable(workdir, step, error)
        continue
      variables = {name: jax.tree.map(np.asarray, state.get(key) or {})
                   for name, key in zip(('params', 'batch_stats'), keys)}
      train_shape, eval_shape = _image_shapes(config) if image_shape is None else (image_shape,
                                                                                    None)
      return spec_from_config(config, step=step, which=which, head=head, image_shape=train_shape,
                              eval_image_shape=eval_shape), variables
  finally:
    manager.close()
  raise _no_checkpoint(workdir, 'No readable checkpoint' if steps else 'No checkpoint')


# -- The torchvision layout ------------------------------------------------------------------------

def _check_torch(spec: dict) -> tuple:
  name = spec['encoder']
  if name not in TORCHVISION:
    why = (" (jaxssl's ViT uses the tanh-approximate GELU and separate q/k/v projections, timm's "
           'the exact GELU and a fused qkv)' if name.startswith('vit') else '')
    raise NoTorchCounterpartError(
        f'Encoder {name!r} has no torch counterpart{why}: --format torch exports torchvision '
        f'{sorted(TORCHVISION)}. Export it with --format jax and load it with '
        '`jaxssl.load_encoder`.')
  for key, value in spec['encoder_kwargs'].items():
    if value not in _TORCH_KWARGS.get(key, ()):
      raise NoTorchCounterpartError(
          f'{name} with encoder_kwargs.{key}={value!r} has no torchvision counterpart (torch '
          f'export takes {_TORCH_KWARGS}; padding "SAME" shifts the stride-2 sampling grid by a '
          'pixel relative to torchvision). Export it with --format jax.')
  if spec.get('head'):
    raise NoTorchCounterpartError('--head exports the projector with --format jax only '
                                  '(torchvision has no projector).')
  return TORCHVISION[name]


def _torch_modules(spec: dict, has_downsample) -> list[tuple[str, str, str]]:
  """(kind, flax module path under the encoder, torchvision module name), in network order."""
  block, convs, stages = _check_torch(spec)
  modules = [('conv', 'Conv_0', 'conv1'), ('bn', 'BatchNorm_0', 'bn1')]
  index = 0
  for stage, blocks in enumerate(stages):
    for j in range(blocks):
      flax_block, torch_block = f'{block}_{index}', f'layer{stage + 1}.{j}'
      for c in range(convs - 1):
        modules += [('conv', f'{flax_block}/Conv_{c}', f'{torch_block}.conv{c + 1}'),
                    ('bn', f'{flax_block}/BatchNorm_{c}', f'{torch_block}.bn{c + 1}')]
      if has_downsample(flax_block, torch_block, convs - 1):
        modules += [('conv', f'{flax_block}/Conv_{convs - 1}', f'{torch_block}.downsample.0'),
                    ('bn', f'{flax_block}/BatchNorm_{convs - 1}', f'{torch_block}.downsample.1')]
      index += 1
  return modules


_BN = (('params', 'scale', 'weight'), ('params', 'bias', 'bias'),
       ('batch_stats', 'mean', 'running_mean'), ('batch_stats', 'var', 'running_var'))


def _key_pairs(spec: dict, has_downsample):
  """(jax key, torch key, whether a conv kernel) of every array torchvision's ResNet holds."""
  for kind, path, name in _torch_modules(spec, has_downsample):
    if kind == 'conv':
      yield f'params/encoder/{path}/kernel', f'{name}.weight', True
    else:
      for collection, flax_name, torch_name in _BN:
        yield f'{collection}/encoder/{path}/{flax_name}', f'{name}.{torch_name}', False


def to_torch(spec: dict, flat: dict) -> dict:
  """A flat jax-format dict (see `flatten`) -> torchvision's `state_dict` (NumPy arrays)."""
  has = lambda fb, _, c: f'params/encoder/{fb}/Conv_{c}/kernel' in flat
  out = {}
  for jax_key, torch_key, kernel in _key_pairs(spec, has):  # kernels HWIO -> OIHW
    out[torch_key] = np.ascontiguousarray(flat[jax_key].transpose(3, 2, 0, 1) if kernel
                                          else flat[jax_key])
    if torch_key.endswith('.running_var'):  # torchvision's BatchNorm2d buffer (unused in eval)
      out[torch_key.replace('running_var', 'num_batches_tracked')] = np.zeros((), np.int64)
  return out


def from_torch(spec: dict, state_dict: dict) -> dict:
  """torchvision's `state_dict` -> the flat jax-format dict (the inverse of `to_torch`)."""
  has = lambda _, tb, __: f'{tb}.downsample.0.weight' in state_dict
  flat = {}
  try:
    for jax_key, torch_key, kernel in _key_pairs(spec, has):  # kernels OIHW -> HWIO
      value = state_dict[torch_key]
      flat[jax_key] = np.ascontiguousarray(value.transpose(2, 3, 1, 0) if kernel else value)
  except KeyError as error:
    raise ExportFormatError(f'The torch state_dict lacks {error} for {spec["encoder"]}: not an '
                            'export of this encoder.') from None
  return flat


# -- Writing ---------------------------------------------------------------------------------------

def flatten(variables: dict) -> dict:
  """{'params': {'Conv_0': {'kernel': a}}} -> {'params/Conv_0/kernel': a} (NumPy arrays)."""
  leaves = jax.tree_util.tree_flatten_with_path(variables)[0]
  return {'/'.join(str(k.key) for k in path): np.asarray(leaf) for path, leaf in leaves}


def _share(directory: Path) -> None:
  """The usual permissions under the umask (mkdtemp / mkstemp create 0700 / 0600)."""
  mask = umask()
  directory.chmod(0o777 & ~mask)
  for path in directory.iterdir():
    path.chmod(0o666 & ~mask)


def _replace_dir(tmp: Path, out: Path) -> None:
  """Renames `tmp` to `out`; an existing export (or empty directory) at `out` is replaced."""
  if out.exists():
    if not (out / SPEC_FILE).exists() and any(out.iterdir()):
      raise ExportTargetError(f'{out} exists and is not a jaxssl export: pick another --out.')
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f'.{out.name}.old-'))
    out.rename(old / out.name)
    tmp.rename(out)
    shutil.rmtree(old)
  else:
    tmp.rename(out)


def write_export(out: str | Path, spec: dict, variables: dict, *, format: str = 'jax') -> Path:
  """Writes `spec` + `variables` (the `read_workdir` layout) as an export directory at `out`."""
  from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
  from jaxssl.io import atomic_write_json  # pylint: disable=import-outside-toplevel
  if format not in ('jax', 'torch'):
    raise ValueError(f"format must be 'jax' or 'torch', got {format!r}.")
  out = Path(out).absolute()
  spec = dict(spec, weights_format=format)
  flat = flatten(variables)
  if format == 'torch':
    flat = to_torch(spec, flat)
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f'.{out.name}.tmp-'))
  try:
    weights = tmp / WEIGHTS_FILE
    # One metadata entry: safetensors writes a map's entries in no fixed order (same input,
    # other bytes).
    save_file(flat, weights, metadata={'jaxssl': f'{FORMAT} {FORMAT_VERSION}, {format} layout'})
    spec['files'] = {WEIGHTS_FILE: {'bytes': weights.stat().st_size, 'sha256': sha256(weights)}}
    atomic_write_json(tmp / SPEC_FILE, spec)
    _share(tmp)
    _replace_dir(tmp, out)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return out


def export(workdir: str | Path, out: str | Path, *, which: str = 'online', format: str = 'jax',
           head: bool = False, image_shape=None) -> Path:
  """Exports the encoder of `workdir`'s latest checkpoint to the directory `out`; returns its path.

  Example:
    >>> jaxssl.export.export('runs/demo', 'exports/demo')             # doctest: +SKIP
    >>> encoder = jaxssl.load_encoder('exports/demo')                 # doctest: +SKIP

  Args:
    workdir: a `jaxssl pretrain` workdir.
    out: the export directory (created; an earlier export there is replaced).
    which: 'online' (the trained network) or 'target' (the EMA target of BYOL / MoCo v3).
    format: 'jax' (Flax variables) or 'torch' (torchvision `resnet18` / `resnet50` state_dict).
    head: also export the projector (format 'jax'; `Encoder.project`).
    image_shape: (H, W, C) to record; default: read from the run's data set when it is prepared.

  Raises:
    FileNotFoundError: the workdir has no (readable) checkpoint.
    NoTorchCounterpartError: `format='torch'` of an encoder torchvision does not define.
  """
  spec, variables = read_workdir(workdir, which=which, head=head,
                                 image_shape=list(image_shape) if image_shape else None)
  if format == 'torch':
    _check_torch(spec)  # before writing anything
  return write_export(out, spec, variables, format=format)


__all__ = ['Encoder', 'ExportFormatError', 'NoTorchCounterpartError', 'export', 'read_workdir',
           'write_export', 'to_torch', 'from_torch', 'flatten', 'unflatten', 'spec_from_config']
