"""The streaming input path (`input_pipeline='grain'`): batches read from disk through grain, each
process its own shard, assembled into global batches; exact resume from any step."""
import jax
import numpy as np
import pytest

from jaxssl import data
from jaxssl.errors import ConfigError
from jaxssl.train import pretrain, setup
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_config, write_tiny_fashion_idx


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp('stream')
  data.prepare('fashion_mnist_idx', data_dir=root / 'tfds',
               source_dir=write_tiny_fashion_idx(root / 'idx'))
  return root / 'tfds'


def _config(data_dir, *overrides):
  return tiny_config('input_pipeline="grain"', f'data_dir="{data_dir}"', *overrides)


def test_grain_batches_cover_the_epoch_once_and_start_anywhere(data_dir):
  parts = setup(_config(data_dir), mesh=make_mesh(8))
  assert parts.steps_per_epoch == 128 // 16 and parts.image_shape == (28, 28, 1)
  stream = parts.batches(0)
  epoch = [next(stream) for _ in range(parts.steps_per_epoch)]
  batch = epoch[0]
  assert batch['image'].shape == (16, 28, 28, 1) and batch['image'].dtype == np.uint8
  assert len(batch['image'].sharding.device_set) == 8  # split over the 8 devices
  # Every training image exactly once in the epoch (128 = 8 full batches of 16).
  seen = np.concatenate([np.asarray(b['image']) for b in epoch]).reshape(128, -1)
  images, labels = data.load_arrays('fashion_mnist_idx', 'train', data_dir=data_dir)
  key = lambda a: sorted(map(bytes, a))
  assert key(seen) == key(images.reshape(128, -1))
  # Batch k of a stream started at k equals batch k of the stream from 0 (how a resume starts).
  later = next(parts.batches(3))
  np.testing.assert_array_equal(np.asarray(later['image']), np.asarray(epoch[3]['image']))
  np.testing.assert_array_equal(np.asarray(later['label']), np.asarray(epoch[3]['label']))
  # The next epoch is a different permutation of the same images.
  following = np.asarray(next(stream)['image'])
  assert not np.array_equal(following, np.asarray(epoch[0]['image']))


def test_grain_pretraining_resumes_bit_identical(data_dir, tmp_path):
  config = _config(data_dir, 'epochs=2.0', 'checkpoint_every=3')
  straight = pretrain(config, tmp_path / 'straight', mesh=make_mesh(1))
  assert straight.total_steps == 16 and int(straight.state.skipped_steps) == 0
  first = pretrain(config, tmp_path / 'resumed', mesh=make_mesh(1), stop_after_steps=5)
  assert int(first.state.step) == 5
  second = pretrain(config, tmp_path / 'resumed', mesh=make_mesh(1))
  for a, b in zip(jax.tree.leaves(second.state), jax.tree.leaves(straight.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_unknown_input_pipeline_is_refused(data_dir):
  with pytest.raises(ConfigError, match="'memory' or 'grain'"):
    setup(tiny_config('input_pipeline="tfdata"'), mesh=make_mesh(1))
