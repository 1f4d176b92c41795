"""The training engine: compile once, sharded == single device, exact resume, non-finite guard."""
import jax
import numpy as np
import pytest

from jaxssl.config import ConfigError
from jaxssl.train import TrainingDivergedError, pretrain, setup
from jaxssl.train.loop import batch_indices
from jaxssl.train.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def _run_steps(parts, config, num_steps):
  state = parts['state']
  order = batch_indices(config.seed, 0, parts['num_examples'], config.batch_size)
  losses = []
  for i in range(num_steps):
    state, metrics = parts['step'](state, parts['gather'](order[i]))
    losses.append(float(metrics['loss']))
  return state, losses


def test_train_step_compiles_once_across_steps():
  config = tiny_config()
  parts = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays())
  state, losses = _run_steps(parts, config, 3)
  assert parts['step']._cache_size() == 1
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
  order = batch_indices(config.seed, 0, parts['num_examples'], config.batch_size)
  state = parts['state']
  state, _ = parts['step'](state, parts['gather'](order[0]))
  before = jax.tree.map(np.asarray, state.params)
  state, metrics = parts['step'](state, parts['gather'](order[1]))
  assert float(metrics['finite']) == 0.0
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(before)):
    np.testing.assert_array_equal(np.asarray(a), b)
  state, _ = parts['step'](state, parts['gather'](order[2]))
  state, metrics = parts['step'](state, parts['gather'](order[3]))
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
