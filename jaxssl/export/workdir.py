"""A pretraining run's encoder, read from its latest readable checkpoint: (spec, variables).

`read_workdir` restores only the encoder (and, with `head`, the projector) of a `jaxssl pretrain`
workdir's checkpoint, without building the optimizer or the training step; `spec_from_config`
gives the `encoder.json` dict of the run's config. Used by `jaxssl export` and by
`jaxssl.load_encoder(WORKDIR)`.
"""
import logging
from pathlib import Path

import jax
import numpy as np

from jaxssl import __version__, augment, run_dir
from jaxssl.errors import ConfigError
from jaxssl.errors import MissingRunError
from jaxssl.export.spec import FORMAT, FORMAT_VERSION, build_modules, input_sizes

log = logging.getLogger(__name__)


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
  model = config['model']
  norm = augment.view_config(config['augment']['view1']).get('normalize')
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
