"""Orbax checkpoints of the TrainState (no pickle), atomic, with fall-back past a corrupt latest one.

Each checkpoint holds two items: `state` (every array of the TrainState) and `config` (the run's
config as JSON, to refuse a checkpoint written by a different config). Orbax writes into a temporary
directory and renames it when complete, so a killed run never leaves a half-written checkpoint that
looks finished; a checkpoint damaged later (truncated file) is detected on restore, reported, and the
previous one is used.
"""
import logging
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxssl import run_dir
from jaxssl.errors import JaxsslError

log = logging.getLogger(__name__)

# Fields that may differ between the run that wrote a checkpoint and the one resuming from it.
RESUMABLE_DIFFERENCES = ('epochs', 'log_every', 'checkpoint_every', 'keep_checkpoints',
                         'eval', 'diagnostics', 'diagnostics_every', 'progress', 'faults',
                         'data_dir', 'mesh', 'distributed')  # orbax restores onto this run's devices and shardings


class CheckpointMismatchError(JaxsslError, ValueError):
  """A checkpoint in the workdir was written with a different config."""


def make_manager(workdir: str | Path, *, keep: int = 3,
                 async_save: bool = True) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=async_save)
  return ocp.CheckpointManager(Path(workdir).absolute() / run_dir.CHECKPOINTS, options=options,
                               item_names=('state', 'config'))


def save(manager: ocp.CheckpointManager, step: int, state: Any, config_json: dict) -> None:
  manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                             config=ocp.args.JsonSave(config_json)), force=True)


def _config_diff(saved: dict, current: dict, prefix: str = '') -> list[str]:
  diffs = []
  for key in sorted(set(saved) | set(current)):
    if not prefix and key in RESUMABLE_DIFFERENCES:
      continue
    a, b = saved.get(key, '<missing>'), current.get(key, '<missing>')
    if isinstance(a, dict) and isinstance(b, dict):
      diffs += _config_diff(a, b, f'{prefix}{key}.')
    elif a != b:
      diffs.append(f'{prefix}{key}: checkpoint has {a!r}, this run has {b!r}')
  return diffs


def _move_aside(manager: ocp.CheckpointManager, step: int) -> None:
  """Renames a damaged checkpoint to `STEP.corrupt-N` (kept for inspection, ignored by orbax)."""
  path = Path(manager.directory) / str(step)
  n = 0
  while (target := path.with_name(f'{step}.corrupt-{n}')).exists():
    n += 1
  path.rename(target)
  manager.reload()


def restore_latest(manager: ocp.CheckpointManager, abstract_state: Any,
                   config_json: dict, *, partial: bool = False) -> tuple[Any, int] | None:
  """Restores the newest readable checkpoint; returns (state, step), or None if there is none.

  A checkpoint that fails to read (e.g. a truncated file) is skipped with a warning and the previous
  one is tried. A checkpoint whose config differs in fields that matter raises
  CheckpointMismatchError naming those fields. `partial`: `abstract_state` is a dict of some of
  the TrainState's fields (e.g. params and batch_stats, for evaluation), and only those are read.
  """
  steps = sorted(manager.all_steps(), reverse=True)
  for step in steps:
    try:
      saved_config = manager.restore(step, args=ocp.args.Composite(
          config=ocp.args.JsonRestore()))['config']
    except Exception as error:  # noqa: BLE001 -- any read failure means "unusable checkpoint"
      log.warning('Checkpoint at step %d is unreadable (%s); moved aside, trying the previous one.',
                  step, type(error).__name__)
      _move_aside(manager, step)
      continue
    diffs = _config_diff(run_dir.upgrade(saved_config, where=f'The checkpoint at step {step}'),
                         run_dir.stamp(config_json))
    if diffs:
      raise CheckpointMismatchError(
          f'The workdir {manager.directory.parent} holds checkpoints of a different config:\n  '
          + '\n  '.join(diffs) + '\nUse a new --workdir, or the same config to resume.')
    try:
      if partial:
        item = ocp.args.PyTreeRestore(
            abstract_state, partial_restore=True,
            restore_args=ocp.checkpoint_utils.construct_restore_args(abstract_state))
      else:
        item = ocp.args.StandardRestore(abstract_state)
      restored = manager.restore(step, args=ocp.args.Composite(state=item))['state']
      jax.block_until_ready(restored)
      return restored, step
    except Exception as error:  # noqa: BLE001
      log.warning('Checkpoint at step %d is corrupt (%s: %s); moved aside, trying the previous '
                  'one.', step, type(error).__name__, str(error)[:200])
      _move_aside(manager, step)
  if steps:
    log.warning('No readable checkpoint in %s; starting from scratch.', manager.directory)
  return None
