"""Multi-process training: 2 processes x 4 CPU devices on localhost == 1 process x 8 devices.

Each worker joins through `config.distributed` (so `pretrain` calls `jax.distributed.initialize`),
trains 2 steps, is stopped (checkpoint written by both processes together), then resumes to the end
of the epoch. The losses and parameters must match a straight single-process run on 8 devices.
"""
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER_TIMEOUT_S = 900  # only guards a hang: compiles on a busy machine can take minutes


def _worker(port: int, process_id: int, workdir: str, out: str) -> None:
  import jax
  from jaxssl.io import atomic_write_bytes
  from jaxssl.train import pretrain
  from helpers import tiny_arrays, tiny_config

  coordinator = f'127.0.0.1:{port}'
  # A long heartbeat timeout (default 100 s) tolerates a busy machine that pauses test processes;
  # pretrain's maybe_initialize then finds the runtime up and leaves it.
  jax.distributed.initialize(coordinator, 2, process_id, heartbeat_timeout_seconds=900)
  config = tiny_config('optimizer.name="sgd"', f'distributed.coordinator_address="{coordinator}"',
                       'distributed.num_processes=2', f'distributed.process_id={process_id}')
  first = pretrain(config, workdir, train_arrays=tiny_arrays(), stop_after_steps=2)
  assert first.interrupted and int(first.state.step) == 2, 'the first call stops at step 2'
  assert jax.process_count() == 2 and jax.device_count() == 8 and jax.local_device_count() == 4
  result = pretrain(config, workdir, train_arrays=tiny_arrays())
  leaves = [np.asarray(x) for x in jax.tree.leaves(result.state.params)]
  buffer = io.BytesIO()
  np.savez(buffer, step=int(result.state.step), *leaves)
  atomic_write_bytes(Path(out) / f'params-{process_id}.npz', buffer.getvalue())


def _grain_worker(port: int, process_id: int, data_dir: str, out: str) -> None:
  """Streams the first global batch through grain (`input_pipeline='grain'`) and saves it."""
  import jax
  from jax.experimental import multihost_utils
  from jaxssl.io import atomic_write_bytes
  from jaxssl.train import setup
  from helpers import tiny_config

  jax.distributed.initialize(f'127.0.0.1:{port}', 2, process_id, heartbeat_timeout_seconds=900)
  parts = setup(tiny_config('input_pipeline="grain"', f'data_dir="{data_dir}"'))
  batch = next(parts.batches(0))
  assert len(batch['label'].sharding.device_set) == 8 and batch['label'].shape == (16,)
  labels, images = (np.asarray(multihost_utils.process_allgather(batch[k], tiled=True))
                    for k in ('label', 'image'))
  buffer = io.BytesIO()
  np.savez(buffer, labels=labels, images=images)
  atomic_write_bytes(Path(out) / f'grain-{process_id}.npz', buffer.getvalue())


def _image_worker(port: int, process_id: int, data_dir: str, out: str) -> None:
  """Streams an image folder (host-cropped views): a straight run, and one stopped at step 2 and
  resumed, in two workdirs; saves both final states."""
  import jax
  from jaxssl.io import atomic_write_bytes
  from jaxssl.train import pretrain
  from image_tree import image_config

  coordinator = f'127.0.0.1:{port}'
  # The three runs compile the same step: XLA's persistent cache compiles it once (a third of the
  # test's time on 2 cores).
  jax.config.update('jax_compilation_cache_dir', str(Path(out) / 'xla-cache'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  jax.distributed.initialize(coordinator, 2, process_id, heartbeat_timeout_seconds=900)
  config = image_config(data_dir, 'epochs=2.0', 'optimizer.name="sgd"', 'diagnostics_every=0',
                        f'distributed.coordinator_address="{coordinator}"',
                        'distributed.num_processes=2', f'distributed.process_id={process_id}')
  straight = pretrain(config, Path(out) / 'straight')
  first = pretrain(config, Path(out) / 'resumed', stop_after_steps=2)
  assert first.interrupted and int(first.state.step) == 2, 'the first call stops at step 2'
  resumed = pretrain(config, Path(out) / 'resumed')
  assert straight.total_steps == 4 and int(resumed.state.step) == 4
  for name, result in (('straight', straight), ('resumed', resumed)):
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(x) for x in jax.tree.leaves(result.state)])
    atomic_write_bytes(Path(out) / f'{name}-{process_id}.npz', buffer.getvalue())


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _launch(workdir: Path, out: Path, mode: str = 'train') -> None:
  port = _free_port()
  env = dict(os.environ, JAX_PLATFORMS='cpu',
             XLA_FLAGS='--xla_force_host_platform_device_count=4',
             PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                         str(Path(__file__).parent)]))
  procs = [subprocess.Popen([sys.executable, __file__, str(port), str(i), str(workdir), str(out),
                             mode],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
           for i in range(2)]
  logs = []
  try:
    for p in procs:
      logs.append(p.communicate(timeout=WORKER_TIMEOUT_S)[0])
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for i, (p, text) in enumerate(zip(procs, logs)):
    assert p.returncode == 0, f'process {i} failed (rc {p.returncode}):\n{text[-4000:]}'


def test_two_processes_match_one_process_with_checkpoint_and_resume(tmp_path):
  import jax
  from jaxssl.run_dir import read_metrics
  from jaxssl.train import pretrain
  from jaxssl.train.loop import setup
  from helpers import tiny_arrays, tiny_config

  _launch(tmp_path / 'multi', tmp_path)
  assert jax.device_count() == 8
  single = pretrain(tiny_config('optimizer.name="sgd"'), tmp_path / 'single',
                    train_arrays=tiny_arrays())
  assert single.total_steps == 4
  expected = [np.asarray(x) for x in jax.tree.leaves(single.state.params)]
  init = [np.asarray(x) for x in jax.tree.leaves(
      setup(tiny_config('optimizer.name="sgd"'), train_arrays=tiny_arrays()).state.params)]
  for i in range(2):
    saved = np.load(tmp_path / f'params-{i}.npz')
    assert int(saved['step']) == 4
    got = [saved[f'arr_{k}'] for k in range(len(expected))]
    # The 4 updates agree to 2 % of each leaf's largest update (1e-6 floor). float32: the
    # 2-process all-reduce (gloo) sums in another order, and BatchNorm's backward pass (sums of
    # near-cancelling terms) magnifies that: measured 0.1-0.5 % of the update on the Zen 4 CI
    # machine (up to 2e-5 absolute); a wrong shard or batch would differ by ~100 %.
    for a, b, b0 in zip(got, expected, init):
      update = np.abs(b - b0).max()
      np.testing.assert_allclose(a - b0, b - b0, rtol=0, atol=max(0.02 * update, 1e-6))
  # Only process 0 writes the metrics log; steps 1-2 come from the first call, 3-4 after resume.
  multi = read_metrics(tmp_path / 'multi' / 'metrics.jsonl')
  straight = read_metrics(tmp_path / 'single' / 'metrics.jsonl')
  assert [r['step'] for r in multi] == [1, 2, 3, 4]
  np.testing.assert_allclose([r['loss'] for r in multi], [r['loss'] for r in straight], rtol=1e-5)
  assert sorted(p.name for p in (tmp_path / 'multi' / 'checkpoints').iterdir()) == ['2', '4']


def test_gather_reads_each_devices_rows_locally_without_collectives():
  """Each process holds the whole small data set; the compiled gather of a 64-row global batch on 8
  devices takes 8 rows per device from the local copy and moves nothing between devices/hosts."""
  from jaxssl.train import setup
  from jaxssl.data.input_pipeline import batch_indices
  from helpers import tiny_arrays, tiny_config

  config = tiny_config('batch_size=64')
  parts = setup(config, train_arrays=tiny_arrays(128))
  order = np.asarray(batch_indices(config.seed, 0, parts.num_examples, config.batch_size))
  hlo = parts.gather.lower(order[0]).compile().as_text()
  gathers = [line for line in hlo.splitlines() if ' gather(' in line]
  assert len(gathers) == 2 and all(re.search(r'= \w+\[8[,\]]', g) for g in gathers), gathers
  for op in ('all-gather', 'all-reduce', 'all-to-all', 'collective-permute', 'reduce-scatter'):
    assert op not in hlo
  batch = parts.gather(order[0])
  images, labels = tiny_arrays(128)
  np.testing.assert_array_equal(np.asarray(batch['image']), images[order[0]])
  np.testing.assert_array_equal(np.asarray(batch['label']), labels[order[0]])


class _FakeInitialize:
  def __init__(self):
    self.calls = []

  def __call__(self, *args, **kwargs):
    self.calls.append((args, kwargs))


@pytest.fixture
def fake_initialize(monkeypatch):
  import jax
  fake = _FakeInitialize()
  monkeypatch.setattr(jax.distributed, 'initialize', fake)
  monkeypatch.setattr(jax.distributed, 'is_initialized', lambda: False)
  return fake


def test_maybe_initialize_follows_the_config_then_the_environment(fake_initialize):
  from jaxssl.errors import ConfigError
  from jaxssl.train.distributed import maybe_initialize
  from helpers import tiny_config

  assert not maybe_initialize(tiny_config(), environ={})   # single process: nothing
  assert not maybe_initialize(tiny_config(), environ={'SLURM_NTASKS': '1', 'SLURM_JOB_ID': '7',
                                                      'SLURM_STEP_NODELIST': 'n1'})
  assert fake_initialize.calls == []
  config = tiny_config('distributed.coordinator_address="10.0.0.1:1234"',
                       'distributed.num_processes=4', 'distributed.process_id=3')
  assert maybe_initialize(config, environ={})
  assert fake_initialize.calls[-1] == (('10.0.0.1:1234',), {'num_processes': 4, 'process_id': 3,
                                                            'local_device_ids': None})
  for environ in ({'JAXSSL_DISTRIBUTED': '1'}, {'TPU_WORKER_HOSTNAMES': 'a,b,c,d'},
                  {'SLURM_NTASKS': '2', 'SLURM_STEP_NODELIST': 'n[1-2]'}):
    assert maybe_initialize(tiny_config('distributed.local_device_ids=(0, 1)'), environ=environ)
    assert fake_initialize.calls[-1] == ((), {'local_device_ids': [0, 1]})
  with pytest.raises(ConfigError, match=r'needs num_processes >= 1 and 0 <= process_id'):
    maybe_initialize(tiny_config('distributed.coordinator_address="10.0.0.1:1234"'), environ={})


def test_two_processes_stream_their_own_shards_into_one_global_batch(tmp_path):
  """input_pipeline='grain': process p reads shard p of the data set; the global batch is process
  0's local batch followed by process 1's, on all 8 devices of the 2 processes."""
  from jaxssl import data
  from helpers import write_tiny_fashion_idx

  data_dir = tmp_path / 'tfds'
  data.prepare('fashion_mnist_idx', data_dir=data_dir,
               source_dir=write_tiny_fashion_idx(tmp_path / 'idx'))
  _launch(data_dir, tmp_path, mode='grain')
  source = data.load_source('fashion_mnist_idx', 'train', data_dir=data_dir)
  expected = [next(iter(data.make_loader(source, global_batch_size=16, seed=0, process_index=p,
                                         process_count=2))) for p in range(2)]
  for i in range(2):
    saved = np.load(tmp_path / f'grain-{i}.npz')
    np.testing.assert_array_equal(saved['labels'], np.concatenate([e['label'] for e in expected]))
    np.testing.assert_array_equal(saved['images'], np.concatenate([e['image'] for e in expected]))


def test_two_processes_stream_an_image_folder_and_resume_bit_identically(tmp_path):
  """input_pipeline='grain' on JPEG/PNG files: each process decodes and crops its own shard on the
  host; stopped at step 2 and resumed, the 2-process run ends bit-identical to a straight one."""
  from jaxssl import data
  from image_tree import write_image_tree

  write_image_tree(tmp_path / 'images')  # 18 train images: 9 per process, 2 steps of 8 per epoch
  data.prepare('image_folder', data_dir=tmp_path / 'tfds', source_dir=tmp_path / 'images',
               dataset_name='tiny_tree')
  _launch(tmp_path / 'tfds', tmp_path, mode='images')
  for i in range(2):
    straight, resumed = (np.load(tmp_path / f'{name}-{i}.npz') for name in ('straight', 'resumed'))
    assert len(straight.files) == len(resumed.files) > 10
    for key in straight.files:
      np.testing.assert_array_equal(resumed[key], straight[key])
  np.testing.assert_array_equal(np.load(tmp_path / 'straight-0.npz')['arr_0'],
                                np.load(tmp_path / 'straight-1.npz')['arr_0'])


if __name__ == '__main__':
  worker = {'train': _worker, 'grain': _grain_worker, 'images': _image_worker}[sys.argv[5]]
  worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
