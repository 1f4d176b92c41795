"""Every registered objective runs in the training engine: finite loss, the state advances.

Tiny settings (stated): ConvNet (8, 16), projector/predictor widths 32, batch 16 of 28x28 synthetic
images, 2 steps. That the objectives *learn* is shown by experiments/method_comparison.py.
"""
import numpy as np
import pytest

from jaxssl import objectives
from jaxssl.train import setup
from jaxssl.data.input_pipeline import batch_indices
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config

TRAINABLE = [n for n in objectives.names() if objectives.get(n).kind != 'reconstruction']


@pytest.mark.parametrize('name', TRAINABLE)
def test_objective_trains_in_the_engine(name):
  overrides = [f'objective.name="{name}"', 'model.projector=(32, 32)']
  if objectives.get(name).kind.startswith('predictor'):
    overrides.append('model.predictor=(32, 32)')
  if name == 'w_mse':
    overrides += ['objective.kwargs.w_size=16', 'model.projector=(32, 8)']
  config = tiny_config(*overrides)
  parts = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays())
  order = batch_indices(config.seed, 0, parts.num_examples, config.batch_size)
  state = parts.state
  before = np.asarray(state.params['encoder']['Conv_0']['kernel'])
  for i in range(2):
    state, metrics = parts.step(state, parts.gather(order[i]))
    assert float(metrics['finite']) == 1.0, (name, metrics)
  assert int(state.step) == 2 and int(state.skipped_steps) == 0
  assert not np.array_equal(before, np.asarray(state.params['encoder']['Conv_0']['kernel']))
  objective_terms = [k for k in metrics if k.startswith('objective/')]
  assert objective_terms, f'{name} logged no terms'
  if objectives.get(name).kind == 'predictor_target':
    assert not np.array_equal(np.asarray(state.target_params['encoder']['Conv_0']['kernel']),
                              before)
  if objectives.get(name).kind == 'stateful':
    assert state.objective_state is not None


def test_objective_needing_a_predictor_says_so():
  from jaxssl.errors import ConfigError
  with pytest.raises(ConfigError, match='needs a predictor head'):
    setup(tiny_config('objective.name="byol"'), mesh=make_mesh(1), train_arrays=tiny_arrays())
