"""FSDP: large TrainState arrays split over the 'fsdp' mesh axis train like replicated ones."""
import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from jaxssl.errors import ConfigError
from jaxssl.run_dir import read_metrics
from jaxssl.train import pretrain
from jaxssl.parallel.mesh import FSDP_AXIS, FSDP_MIN_SIZE, fsdp_spec, make_mesh

from helpers import tiny_arrays, tiny_config

# A 128-wide projector: its 128x128 kernel (16384 elements) is over FSDP_MIN_SIZE, the rest is not.
FSDP_OVERRIDES = ('optimizer.name="sgd"', 'model.projector=(128, 128)')


def test_fsdp_spec_splits_the_largest_divisible_dimension_of_large_arrays():
  assert fsdp_spec((3, 3, 64, 128), 2) == P(None, None, None, FSDP_AXIS)
  assert fsdp_spec((1024, 512), 4) == P(FSDP_AXIS)
  assert fsdp_spec((512, 512), 2) == P(None, FSDP_AXIS)      # ties: the last dimension
  assert fsdp_spec((4097,), 2) == P()                          # no dimension divisible
  assert fsdp_spec((128,), 2) == P()                           # small: replicated
  assert fsdp_spec((1024, 512), 1) == P()                      # fsdp = 1: replicated
  assert fsdp_spec((), 2) == P()


def test_make_mesh_has_data_and_fsdp_axes_and_rejects_a_non_divisor():
  assert dict(make_mesh(fsdp=2).shape) == {'data': 4, 'fsdp': 2}
  assert dict(make_mesh().shape) == {'data': 8, 'fsdp': 1}
  with pytest.raises(ConfigError, match=r'mesh.fsdp=3 .*dividing the 8 devices.*\[1, 2, 4, 8\]'):
    make_mesh(fsdp=3)


def test_fsdp_run_with_checkpoint_and_resume_matches_the_replicated_run(tmp_path):
  assert jax.device_count() == 8
  arrays = tiny_arrays()
  replicated = pretrain(tiny_config(*FSDP_OVERRIDES), tmp_path / 'replicated', train_arrays=arrays)
  fsdp_config = tiny_config(*FSDP_OVERRIDES, 'mesh.fsdp=2')
  first = pretrain(fsdp_config, tmp_path / 'fsdp', train_arrays=arrays, stop_after_steps=2)
  assert int(first.state.step) == 2
  fsdp = pretrain(fsdp_config, tmp_path / 'fsdp', train_arrays=arrays)  # restored from step 2
  assert int(fsdp.state.step) == replicated.total_steps == 4

  kernel = fsdp.state.params['projector']['Dense_1']['kernel']
  assert kernel.shape == (128, 128) and kernel.sharding.spec == P(None, FSDP_AXIS)
  assert kernel.addressable_shards[0].data.shape == (128, 64)   # each device holds half
  # SGD's momentum follows its parameter; small arrays stay replicated.
  momentum = fsdp.state.opt_state
  assert any(x.shape == (128, 128) and x.sharding.spec == P(None, FSDP_AXIS)
             for x in jax.tree.leaves(momentum))
  small = fsdp.state.params['encoder']['Conv_0']['kernel']
  assert small.size < FSDP_MIN_SIZE and small.sharding.spec == P()

  # float32: reduce-scatter + all-gather sum in another order than one all-reduce; 1e-5 relative.
  for a, b in zip(jax.tree.leaves(fsdp.state.params), jax.tree.leaves(replicated.state.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
  losses = [r['loss'] for r in read_metrics(tmp_path / 'fsdp' / 'metrics.jsonl')]
  expected = [r['loss'] for r in read_metrics(tmp_path / 'replicated' / 'metrics.jsonl')]
  assert len(losses) == 4
  np.testing.assert_allclose(losses, expected, rtol=1e-5)
