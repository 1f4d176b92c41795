"""The training engine: compile once, sharded == single device, exact resume, non-finite guard."""
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxssl.errors import ConfigError
from jaxssl.train import TrainingDivergedError, pretrain, setup
from jaxssl.data.input_pipeline import batch_indices
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def _run_steps(parts, config, num_steps):
  state = parts.state
  order = batch_indices(config.seed, 0, parts.num_examples, config.batch_size)
  losses = []
  for i in range(num_steps):
    state, metrics = parts.step(state, parts.gather(order[i]))
    losses.append(float(metrics['loss']))
  return state, losses


def test_train_step_compiles_once_across_steps():
  config = tiny_config()
  parts = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays())
  state, losses = _run_steps(parts, config, 3)
  assert parts.step._cache_size() == 1
  assert int(state.step) == 3
  assert np.all(np.isfinite(losses))


def test_sharded_step_on_8_devices_equals_one_device():
  assert jax.device_count() == 8
  # SGD, not Adam: Adam's first update is ~sign(g), which turns float32 noise in gradients that are
  # ~0 (e.g. the last bias under VICReg's shift invariance) into full-size steps.
  config = tiny_config('optimizer.name="sgd"')
  arrays = tiny_arrays()
  one = setup(config, mesh=make_mesh(1), train_arrays=arrays)
  eight = setup(config, mesh=make_mesh(8), train_arrays=arrays)
  state1, losses1 = _run_steps(one, config, 2)
  state8, losses8 = _run_steps(eight, config, 2)
  assert len(state8.params['encoder']['Conv_0']['kernel'].sharding.device_set) == 8
  # float32: different reduction orders across devices; 1e-4 relative.
  np.testing.assert_allclose(losses8, losses1, rtol=1e-4)
  for a, b in zip(jax.tree.leaves(state8.params), jax.tree.leaves(state1.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


def test_resume_continues_at_the_right_step_with_the_same_state(tmp_path):
  config = tiny_config()
  arrays = tiny_arrays()
  straight = pretrain(config, tmp_path / 'straight', train_arrays=arrays, mesh=make_mesh(1))
  assert straight.total_steps == 4
  first = pretrain(config, tmp_path / 'resumed', train_arrays=arrays, mesh=make_mesh(1),
                   stop_after_steps=3)
  assert int(first.state.step) == 3
  second = pretrain(config, tmp_path / 'resumed', train_arrays=arrays, mesh=make_mesh(1))
  assert int(second.state.step) == 4
  for a, b in zip(jax.tree.leaves(second.state), jax.tree.leaves(straight.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_non_finite_steps_are_skipped_and_counted(tmp_path):
  config = tiny_config('faults.nan_at_steps=(1, 2)')
  parts = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays())
  order = batch_indices(config.seed, 0, parts.num_examples, config.batch_size)
  state = parts.state
  state, _ = parts.step(state, parts.gather(order[0]))
  before = jax.tree.map(np.asarray, state.params)
  state, metrics = parts.step(state, parts.gather(order[1]))
  assert float(metrics['finite']) == 0.0
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(before)):
    np.testing.assert_array_equal(np.asarray(a), b)
  state, _ = parts.step(state, parts.gather(order[2]))
  state, metrics = parts.step(state, parts.gather(order[3]))
  assert float(metrics['finite']) == 1.0
  assert int(state.skipped_steps) == 2 and int(state.bad_streak) == 0 and int(state.step) == 4


def test_run_stops_after_too_many_bad_steps(tmp_path):
  config = tiny_config('faults.nan_at_steps=(0, 1, 2)', 'max_bad_steps=2')
  with pytest.raises(TrainingDivergedError, match='consecutive steps had a non-finite loss'):
    pretrain(config, tmp_path, train_arrays=tiny_arrays(), mesh=make_mesh(1))


@pytest.mark.parametrize('override, message', [
    ('objective.kwargs.simcoeff=3.0', "Unknown objective.kwargs \\['simcoeff'\\]"),
    ('batch_size=12', 'not divisible by the 8 devices'),
    ('batch_size=128', 'fewer than batch_size=128'),
])
def test_bad_configs_give_one_clear_error(override, message):
  with pytest.raises(ConfigError, match=message):
    setup(tiny_config(override), mesh=make_mesh(8), train_arrays=tiny_arrays())


@pytest.mark.parametrize('epochs, steps_per_epoch', [(2.75, 234), (1.375, 4), (0.37, 7), (3.5, 3),
                                                     (1.0, 10)])
def test_the_schedule_spans_exactly_the_steps_the_loop_runs(epochs, steps_per_epoch):
  """The demo's 2.75 epochs of 234 steps are 643.5 steps: the loop runs 644, and the schedule must
  not reach 0 before the last of them (index 643)."""
  from jaxssl.train.optim import learning_rate_schedule, total_steps
  config = tiny_config(f'epochs={epochs}', 'optimizer.warmup_epochs=0.5')
  total = total_steps(epochs, steps_per_epoch)
  assert total == max(round(epochs * steps_per_epoch), 1)
  schedule = learning_rate_schedule(config, steps_per_epoch)
  assert float(schedule(total - 1)) > 0
  assert float(schedule(total)) == 0.0


def test_the_loop_runs_the_schedules_steps_and_its_last_learning_rate_is_above_zero(tmp_path):
  """64 images in batches of 16 for 1.375 epochs: 5.5 steps, run as 6 (`int` would say 5)."""
  config = tiny_config('epochs=1.375', 'log_every=1')
  result = pretrain(config, tmp_path, train_arrays=tiny_arrays(), mesh=make_mesh(1),
                    checkpoints=False)
  assert result.total_steps == result.steps_done == 6
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [r['step'] for r in records] == [1, 2, 3, 4, 5, 6]
  assert records[-1]['lr'] > 0


_RESTORE = """
import sys
sys.path.insert(0, {tests!r})
import jax, numpy as np
from jaxssl.run_dir import to_json_dict
from jaxssl.train import checkpoint as ckpt, pretrain, setup
from jaxssl.parallel.mesh import make_mesh
from helpers import tiny_arrays, tiny_config
config = tiny_config({overrides})
state = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays()).state
manager = ckpt.make_manager({workdir!r})
restored, step = ckpt.restore_latest(manager, state, to_json_dict(config))
manager.close()
leaves = lambda tree: [np.asarray(x) for x in jax.tree.leaves(tree)]
# The same run without the faults, stopped after 2 and after 3 steps, compiled as the diverged one.
runs = {{n: leaves(pretrain(tiny_config('epochs=2.0'), {workdir!r} + f'_{{n}}',
                            train_arrays=tiny_arrays(), mesh=make_mesh(1), stop_after_steps=n,
                            checkpoints=False).state.params) for n in (2, 3)}}
got = leaves(restored.params)
print(step, all(np.array_equal(a, b) for a, b in zip(got, runs[3])),
      any(not np.array_equal(a, b) for a, b in zip(got, runs[2])))
"""

_DIVERGE = """
import os, sys
sys.path.insert(0, {tests!r})
from jaxssl.train import TrainingDivergedError, pretrain
from jaxssl.parallel.mesh import make_mesh
from helpers import tiny_arrays, tiny_config
config = tiny_config({overrides})
try:
  pretrain(config, {workdir!r}, train_arrays=tiny_arrays(), mesh=make_mesh(1))
except TrainingDivergedError as error:
  print(error, flush=True)
  os._exit(0)  # at once, as a scheduler ends a failed job: nothing left in flight gets to finish
os._exit(1)
"""


def test_a_diverged_run_keeps_its_last_good_checkpoint_for_a_fresh_process(tmp_path):
  """Asynchronous checkpoints, a save at every step, steps 4-5 non-finite: the run stops at step 5
  and its message promises step 3. A process that exits right after the error must find step 3
  complete, and a fresh process restores the parameters of an uninterrupted 3-step run (run in
  that process: the same compilation, so bit for bit)."""
  tests = str(Path(__file__).parent)
  overrides = ', '.join(map(repr, ('faults.nan_at_steps=(3, 4, 5)', 'max_bad_steps=2',
                                   'checkpoint_every=1', 'epochs=2.0')))
  workdir = tmp_path / 'diverged'
  env = {**os.environ, 'XLA_FLAGS': '--xla_backend_optimization_level=0'}
  done = subprocess.run([sys.executable, '-c', _DIVERGE.format(
      tests=tests, workdir=str(workdir), overrides=overrides)],
                        capture_output=True, text=True, timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-3000:]
  assert 'The last good checkpoint (step 3) is kept' in done.stdout, done.stdout
  done = subprocess.run([sys.executable, '-c', _RESTORE.format(
      tests=tests, workdir=str(workdir), overrides=overrides)],
                        capture_output=True, text=True, timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-3000:]
  # restored step, equal to the 3-step run's parameters, different from the 2-step run's
  assert done.stdout.split() == ['3', 'True', 'True'], done.stdout
