"""Preemption safety: SIGKILL / SIGTERM at random steps, restart, and the result is bit-identical.

Runs `jaxssl pretrain` as a subprocess on a tiny Fashion-MNIST-format data set generated here.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxssl.train import checkpoint as ckpt
from jaxssl.train.loop import setup
from jaxssl.parallel.mesh import make_mesh

from helpers import TINY_OVERRIDES, tiny_config, write_tiny_fashion_idx


@pytest.fixture(scope='module')
def tiny_dataset(tmp_path_factory):
  """A 128-image Fashion-MNIST-format IDX set prepared as array_record."""
  root = tmp_path_factory.mktemp('tiny_fmnist')
  source = write_tiny_fashion_idx(root / 'idx')
  data_dir = root / 'tfds'
  _cli('prepare', 'fashion_mnist_idx', '--data-dir', str(data_dir), '--source-dir', str(source))
  return data_dir


def _env():
  env = dict(os.environ)
  env['XLA_FLAGS'] = ''  # one CPU device in the subprocesses
  return env


def _cli(*args):
  subprocess.run([sys.executable, '-m', 'jaxssl.cli', *args], check=True, env=_env(),
                 capture_output=True, timeout=600)


def _pretrain_args(workdir, data_dir):
  overrides = [o for o in TINY_OVERRIDES if not o.startswith(('epochs', 'checkpoint_every'))]
  return ['pretrain', '--workdir', str(workdir), f'--config.data_dir={data_dir}',
          '--config.epochs=2.0', '--config.checkpoint_every=3',
          *[f'--config.{o}' for o in overrides]]


def _last_logged_step(workdir):
  path = Path(workdir) / 'metrics.jsonl'
  if not path.exists():
    return 0
  lines = [l for l in path.read_text().splitlines() if l.endswith('}')]
  return int(lines[-1].split('"step": ')[1].split(',')[0].rstrip('}')) if lines else 0


def _run_and_interrupt(workdir, data_dir, at_step, sig):
  """Starts a pretraining run, sends `sig` once it has logged `at_step`; returns the exit code."""
  proc = subprocess.Popen([sys.executable, '-m', 'jaxssl.cli', *_pretrain_args(workdir, data_dir)],
                          env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while proc.poll() is None and time.time() < deadline:
    if _last_logged_step(workdir) >= at_step:
      proc.send_signal(sig)
      break
    time.sleep(0.05)
  return proc.wait(timeout=300)


def _final_state(workdir, data_dir):
  config = tiny_config(f'data_dir="{data_dir}"', 'epochs=2.0', 'checkpoint_every=3')
  template = setup(config, mesh=make_mesh(1)).state
  manager = ckpt.make_manager(workdir)
  state, step = ckpt.restore_latest(manager, template, __import__('json').loads(config.to_json()))
  manager.close()
  return state, step


def _assert_same(state_a, state_b):
  for a, b in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture(scope='module')
def uninterrupted(tiny_dataset, tmp_path_factory):
  workdir = tmp_path_factory.mktemp('straight')
  _cli(*_pretrain_args(workdir, tiny_dataset))
  return _final_state(workdir, tiny_dataset)


def test_sigkill_at_random_steps_then_restart_is_bit_identical(tiny_dataset, uninterrupted,
                                                               tmp_path):
  rng = np.random.default_rng(1234)
  kill_steps = sorted(rng.choice(np.arange(2, 15), size=2, replace=False))
  for at_step in kill_steps:
    code = _run_and_interrupt(tmp_path, tiny_dataset, int(at_step), signal.SIGKILL)
    assert code == -signal.SIGKILL
  _cli(*_pretrain_args(tmp_path, tiny_dataset))
  state, step = _final_state(tmp_path, tiny_dataset)
  assert step == uninterrupted[1] == 16
  _assert_same(state, uninterrupted[0])


def test_sigterm_checkpoints_exits_cleanly_and_resumes_bit_identical(tiny_dataset, uninterrupted,
                                                                      tmp_path):
  code = _run_and_interrupt(tmp_path, tiny_dataset, 5, signal.SIGTERM)
  assert code == 0
  # SIGTERM saved a checkpoint at the step it stopped, not only at a multiple of checkpoint_every.
  interrupted_at = max(int(p.name) for p in (tmp_path / 'checkpoints').iterdir() if p.name.isdigit())
  assert interrupted_at >= 5
  _cli(*_pretrain_args(tmp_path, tiny_dataset))
  state, step = _final_state(tmp_path, tiny_dataset)
  assert step == 16
  _assert_same(state, uninterrupted[0])
