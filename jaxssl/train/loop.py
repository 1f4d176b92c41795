"""`pretrain(config, workdir)`: the training loop, wiring data, model, objective, step and logging.

Auto-resume is the default (big_vision style): an existing checkpoint in `workdir/checkpoints` is
restored and training continues at its step. The data order is a pure function of (seed, epoch) and
each step's PRNG key is fold_in(rng, step), so a resumed run is bit-identical to an uninterrupted one
on the CPU. SIGTERM/SIGINT save a checkpoint at the current step and return cleanly.
"""
import dataclasses
import inspect
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import jax
import ml_collections
import optax
from tqdm.auto import tqdm

from jaxssl import objectives
from jaxssl.augment import device_views
from jaxssl import run_dir
from jaxssl.errors import ConfigError
from jaxssl.run_dir import to_json_dict
from jaxssl.data.input_pipeline import grain_input, memory_input
from jaxssl.evaluate.online_diagnostics import make_diagnostics_fn
from jaxssl.io import atomic_write_json
from jaxssl.models import SSLModel, build_model
from jaxssl.train import checkpoint as ckpt
from jaxssl.train.distributed import any_process, maybe_initialize
from jaxssl.parallel.mesh import (batch_sharded, check_batch_divisible, make_mesh, replicated,
                               state_sharding)
from jaxssl.train.metrics_log import MetricsWriter, write_pretrain_summary
from jaxssl.train import optim
from jaxssl.train.optim import learning_rate_schedule, make_optimizer
from jaxssl.train.state import TrainState, create_train_state
from jaxssl.train.step import make_train_step
from jaxssl.platform import compiler_options
from jaxssl.errors import JaxsslError

log = logging.getLogger(__name__)


class TrainingDivergedError(JaxsslError, RuntimeError):
  """Too many consecutive steps with a non-finite loss or gradient."""


@dataclasses.dataclass
class PretrainResult:
  state: TrainState
  model: SSLModel
  steps_per_epoch: int
  total_steps: int
  interrupted: bool
  wall_seconds: float
  images_per_second: float
  skipped_steps: int = 0  # steps not applied by the non-finite guard (state.skipped_steps)

  @property
  def steps_done(self) -> int:
    return int(self.state.step)

  @property
  def mostly_skipped(self) -> bool:
    """More than `SKIPPED_WARN_FRACTION` of the steps run were skipped: not a successful run."""
    return self.skipped_steps > SKIPPED_WARN_FRACTION * max(self.steps_done, 1)


# A run that skipped more than this fraction of its steps (non-finite loss or gradient) warns
# loudly, and `jaxssl pretrain` exits non-zero: its encoder is mostly the initial one.
SKIPPED_WARN_FRACTION = 0.1


def objective_kwargs(objective, config: ml_collections.ConfigDict) -> dict:
  """The config's objective kwargs, checked against the objective's keyword parameters."""
  kwargs = dict(config.objective.kwargs)
  params = inspect.signature(objective.fn).parameters
  engine_passes = ('axis_name', 'key') if objective.takes_key else ('axis_name',)
  valid = [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY and n not in engine_passes]
  unknown = sorted(set(kwargs) - set(valid))
  if unknown:
    raise ConfigError(f'Unknown objective.kwargs {unknown} for objective '
                      f'{config.objective.name!r}; valid: {valid}.')
  return kwargs


class _StopSignal:
  """Records SIGTERM/SIGINT so the loop can checkpoint and exit at a step boundary."""

  def __init__(self):
    self.received = None
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGTERM, signal.SIGINT):
      try:
        self._previous[sig] = signal.signal(sig, self._handle)
      except ValueError:  # not the main thread
        pass
    return self

  def _handle(self, signum, frame):
    del frame
    self.received = signal.Signals(signum).name

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    return False


@dataclasses.dataclass
class TrainingParts:
  """What `setup` builds for the training loop (also used by benchmarks, studies and tests).

  Attributes:
    mesh: the device mesh.
    model: the `SSLModel`.
    objective: the registered objective (`jaxssl.objectives.get`).
    state: the initial `TrainState`, placed on the mesh.
    step: the jitted train step, `step(state, batch) -> (state, metrics)` (donates `state`).
    total_steps: the run's number of steps.
    views: the two augmentation views the step applies on the device.
    image_shape, num_examples, steps_per_epoch, batches, gather, host_crop: the training input's
      (`jaxssl.data.input_pipeline.TrainInput`).
  """
  mesh: jax.sharding.Mesh
  model: SSLModel
  objective: Any
  state: TrainState
  step: Callable
  total_steps: int
  views: tuple[dict, dict]
  image_shape: tuple
  num_examples: int
  steps_per_epoch: int
  batches: Callable
  gather: Callable | None
  host_crop: bool


def setup(config: ml_collections.ConfigDict, *, mesh=None, train_arrays=None) -> TrainingParts:
  """Builds everything the loop needs; also used by benchmarks and tests."""
  mesh = mesh or make_mesh(fsdp=config.mesh.fsdp if 'mesh' in config else 1)
  check_batch_divisible(config.batch_size, mesh)
  pipeline = config.get('input_pipeline', 'memory')
  if pipeline == 'memory' or train_arrays is not None:
    inputs = memory_input(config, mesh, train_arrays)
  elif pipeline == 'grain':
    inputs = grain_input(config, mesh)
  else:
    raise ConfigError(f"input_pipeline must be 'memory' or 'grain', got {pipeline!r}.")
  objective = objectives.get(config.objective.name)
  kwargs = objective_kwargs(objective, config)
  if objective.kind in ('predictor_target', 'predictor_stopgrad') and not config.model.predictor:
    raise ConfigError(f'Objective {config.objective.name!r} needs a predictor head: set '
                      '--config.model.predictor="(512, 512)" (hidden, output widths).')
  reconstruct = config.objective.get('reconstruct', 'clean')
  if inputs.host_crop and objective.kind == 'reconstruction' and reconstruct == 'clean':
    raise ConfigError(f'Objective {config.objective.name!r} reconstructs the clean image, which a '
                      'host-cropped (encoded-image) stream does not carry: set '
                      '--config.objective.reconstruct=other_view.')
  if (objective.kind == 'reconstruction') != bool(config.model.get('decoder')):
    raise ConfigError(
        f'Objective {config.objective.name!r} ' + (
            'needs a decoder: set --config.model.decoder=image (or mlp with '
            '--config.model.decoder_kwargs.out_shape="(28, 28, 1)").'
            if objective.kind == 'reconstruction' else
            "does not use a decoder: set --config.model.decoder=''."))
  if reconstruct not in ('clean', 'other_view'):
    raise ConfigError(f'objective.reconstruct must be "clean" or "other_view", got '
                      f'{reconstruct!r}.')
  model = build_model(config.model)
  steps_per_epoch = inputs.steps_per_epoch
  total_steps = optim.total_steps(config.epochs, steps_per_epoch)
  tx = make_optimizer(config, steps_per_epoch)
  probe_tx = optax.adam(config.probe_lr)
  state = create_train_state(jax.random.PRNGKey(config.seed), model, tx, probe_tx, objective,
                             image_shape=inputs.image_shape, num_classes=config.num_classes)
  shardings = state_sharding(state, mesh)  # replicated, or large arrays split over 'fsdp'
  state = jax.device_put(state, shardings)
  views = device_views(config, inputs.host_crop)  # the host cropped encoded images
  step_fn = make_train_step(
      model, objective, tx, probe_tx, view1=views[0], view2=views[1], objective_kwargs=kwargs,
      schedule=learning_rate_schedule(config, steps_per_epoch), total_steps=total_steps,
      ema_base=config.ema_base, reconstruct=reconstruct,
      nan_at_steps=tuple(config.faults.nan_at_steps))
  jit_step = jax.jit(step_fn, in_shardings=(shardings, batch_sharded(mesh)),
                     out_shardings=(shardings, replicated(mesh)), donate_argnums=0,
                     compiler_options=compiler_options(config.get('xla_cpu_tuning', True)))
  return TrainingParts(mesh=mesh, model=model, objective=objective, state=state, step=jit_step,
                       total_steps=total_steps, views=views,
                       **{f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)})


def check_writable(workdir: Path) -> None:
  """Raises one ConfigError unless `workdir` is, or can be created as, a writable directory.

  Writes nothing: a mistake found later (a data set not prepared, a bad config) must leave no
  empty workdir behind.
  """
  existing = workdir
  while not existing.exists() and existing != existing.parent:
    existing = existing.parent
  if not existing.is_dir():
    why = 'it is a file' if existing == workdir else f'{existing} is a file'
  elif not os.access(existing, os.W_OK | os.X_OK):
    why = f'{existing} is not writable'
  else:
    return
  raise ConfigError(f'Cannot write to workdir {workdir}: {why}. Pick a writable --workdir.')


def pretrain(config: ml_collections.ConfigDict, workdir: str | Path, *,
             train_arrays=None, mesh=None, checkpoints: bool = True,
             stop_after_steps: int | None = None) -> PretrainResult:
  """Pretrains `config` in `workdir`, resuming from its latest checkpoint if there is one.

  `train_arrays` (images, labels) replaces the config's data set (tests, notebooks);
  `stop_after_steps` ends this call after that many steps (checkpointed), as a preemption would.
  """
  start_time = time.perf_counter()
  maybe_initialize(config)  # joins a multi-process run when the config or environment asks
  is_main = jax.process_index() == 0  # the one process that logs, writes metrics and plots
  workdir = Path(workdir)
  check_writable(workdir)  # before the data and the model are built; creates nothing
  parts = setup(config, mesh=mesh, train_arrays=train_arrays)
  try:
    workdir.mkdir(parents=True, exist_ok=True)
  except OSError as error:
    raise ConfigError(f'Cannot write to workdir {workdir}: {error}. Pick a writable --workdir.')
  diagnose = make_diagnostics_fn(config, parts)  # {} except every config.diagnostics_every steps
  state, total_steps = parts.state, parts.total_steps
  config_json = run_dir.stamp(to_json_dict(config))
  manager = ckpt.make_manager(workdir, keep=config.keep_checkpoints) if checkpoints else None
  if manager is not None:
    restored = ckpt.restore_latest(manager, state, config_json)
    if restored is not None:
      state, start = restored
      if is_main:
        log.info('Resumed from step %d in %s.', start, workdir)
  start = int(state.step)
  if is_main:
    atomic_write_json(workdir / run_dir.CONFIG, config_json)
  writer = MetricsWriter(workdir, resume_step=start, enabled=is_main)
  spe = parts.steps_per_epoch
  bar = tqdm(total=total_steps, initial=start, disable=not (config.progress and is_main),
             desc=f'pretrain {config.objective.name}', unit='step', dynamic_ncols=True)
  stream = parts.batches(start)
  interrupted = False
  last_good_saved = start
  timer_step, timer = start, time.perf_counter()
  images_per_second = 0.0
  try:
    with _StopSignal() as stop:
      step = start
      while step < total_steps:
        batch = next(stream)
        state, metrics = parts.step(state, batch)
        step += 1
        bar.update(1)
        if step % config.log_every == 0 or step == total_steps:
          metrics = jax.device_get(metrics)
          now = time.perf_counter()
          images_per_second = (step - timer_step) * config.batch_size / max(now - timer, 1e-9)
          timer_step, timer = step, now
          metrics['images_per_second'] = images_per_second
          metrics['skipped_steps'] = int(state.skipped_steps)
          metrics.update(diagnose(step, state, batch))
          timer += metrics.get('diag/seconds', 0.0)  # not part of the training throughput
          writer.write(step, metrics)
          bar.set_postfix(loss=f"{metrics['loss']:.3f}", probe=f"{metrics['probe_acc']:.1f}%")
          if int(state.bad_streak) >= config.max_bad_steps:
            raise TrainingDivergedError(
                f'{int(state.bad_streak)} consecutive steps had a non-finite loss or gradient (up '
                f'to step {step}); they were skipped. Lower --config.optimizer.lr, set '
                '--config.optimizer.grad_clip, or use --config.model.dtype=float32. The last good '
                f'checkpoint (step {last_good_saved}) is kept in {workdir}/checkpoints.')
        signalled = stop.received is not None
        if jax.process_count() > 1:  # all processes must stop at the same step: agree at log steps
          signalled = step % config.log_every == 0 and any_process(signalled)
        stopping = signalled or (stop_after_steps is not None and step - start >= stop_after_steps)
        if manager is not None and (step % config.checkpoint_every == 0 or step == total_steps
                                    or stopping):
          if int(state.bad_streak) == 0:
            ckpt.save(manager, step, state, config_json)
            last_good_saved = step
        if stopping:
          interrupted = True
          if is_main:
            log.warning('Stopped (%s): checkpoint saved at step %d; rerun the same command to '
                        'resume.', stop.received or 'stop_after_steps', step)
          break
  finally:  # every exit, a divergence or an interrupt included: the saves in flight land
    stream.close()  # the input's worker processes and their shared-memory batches
    if manager is not None:
      manager.wait_until_finished()
      manager.close()
    bar.close()
    writer.close()
  result = PretrainResult(state=state, model=parts.model, steps_per_epoch=spe,
                          total_steps=total_steps, interrupted=interrupted,
                          wall_seconds=time.perf_counter() - start_time,
                          images_per_second=images_per_second,
                          skipped_steps=int(state.skipped_steps))
  if is_main:
    write_pretrain_summary(workdir, result)
    if result.mostly_skipped:
      log.warning('%d of %d steps were SKIPPED (non-finite loss or gradient): the encoder barely '
                  'trained. Lower --config.optimizer.lr, set --config.optimizer.grad_clip, or use '
                  '--config.model.dtype=float32.', result.skipped_steps, result.steps_done)
  return result

