"""The command line as a user meets it: a mistake gives one line and exit 2, never a traceback; a run
that skips most of its steps says so and does not exit 0; the files it writes are strict JSON."""
import json
import os
import subprocess
import sys

import pytest

from helpers import TINY_OVERRIDES


def _jaxssl(*args, timeout=600):
  env = {**os.environ, 'XLA_FLAGS': '--xla_backend_optimization_level=0'}  # one CPU device
  return subprocess.run([sys.executable, '-m', 'jaxssl.cli', *args], capture_output=True,
                        text=True, timeout=timeout, env=env)


def _strict_json(text):
  """json.loads that refuses NaN / Infinity (what jq, JavaScript and pandas' strict mode do)."""
  def refuse(token):
    raise ValueError(f'non-JSON token {token}')
  return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize('args, expected', [
    (('--config.objective.name=vicregg',), "Unknown objective.name 'vicregg'; valid names: "),
    (('--config.batch_size=-5',), 'Bad value for batch_size: expected a whole number >= 1, got -5'),
    (('--config', 'README.md'), 'is not a Python file: expected a .py file defining get_config()'),
    (('--config.optimizer.lr=0',), 'Bad value for optimizer.lr: expected a number > 0'),
], ids=['objective', 'batch_size', 'not_python', 'lr'])
def test_a_user_mistake_is_one_line_and_exit_2(tmp_path, args, expected):
  done = _jaxssl('pretrain', '--workdir', str(tmp_path / 'run'), *args)
  assert done.returncode == 2, done.stderr
  assert 'Traceback' not in done.stderr
  errors = [line for line in done.stderr.splitlines() if line.startswith('jaxssl pretrain: error:')]
  assert len(errors) == 1 and expected in errors[0], done.stderr
  assert not (tmp_path / 'run').exists()  # refused before anything was written


def test_a_run_that_skips_most_steps_says_so_and_fails(tmp_path, fashion_mnist_data_dir):
  workdir = tmp_path / 'run'
  overrides = [f'--config.{o}' for o in TINY_OVERRIDES] + [
      '--config.batch_size=64', '--config.epochs=0.02', '--config.checkpoint_every=100',
      '--config.optimizer.lr=1e9', f'--config.data_dir={fashion_mnist_data_dir}']
  done = _jaxssl('pretrain', '--workdir', str(workdir), *overrides)
  assert done.returncode == 3, done.stderr[-3000:]
  summary = _strict_json((workdir / 'summary.json').read_text())
  steps = summary['total_steps']  # ceil(0.02 * 60000 / 64) = 19
  assert summary['steps'] == steps == 19
  assert summary['mostly_skipped'] and summary['skipped_steps'] > 0.1 * steps
  last = done.stdout.strip().splitlines()[-1]
  assert last.startswith(f"Pretrained {steps} of {steps} steps ({summary['skipped_steps']} "
                         'skipped'), last
  assert 'SKIPPED (non-finite loss or gradient)' in done.stderr
  assert 'SLASCL' not in done.stderr and 'illegal value' not in done.stderr  # no LAPACK noise
  records = [_strict_json(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  assert len(records) == steps  # log_every=1
  assert any(value is None for r in records for value in r.values())  # NaN grad_norm -> null


def test_the_lejepa_config_pretrains_from_the_command_line(tmp_path, fashion_mnist_data_dir):
  """`jaxssl pretrain --config experiments/configs/fmnist.py:lejepa` for 0.05 epochs (the small
  ConvNet of the tests, batch 256: 12 steps), each step finite; SIGReg's term is logged."""
  workdir = tmp_path / 'lejepa'
  overrides = [f'--config.{o}' for o in TINY_OVERRIDES] + [
      '--config.batch_size=256', '--config.epochs=0.05', '--config.checkpoint_every=100',
      f'--config.data_dir={fashion_mnist_data_dir}']
  done = _jaxssl('pretrain', '--config', 'experiments/configs/fmnist.py:lejepa', '--workdir',
                 str(workdir), *overrides)
  assert done.returncode == 0, done.stderr[-3000:]
  assert done.stdout.strip().endswith(f'workdir {workdir}')
  records = [_strict_json(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  assert len(records) == 12 and all(r['finite'] == 1.0 for r in records)
  assert all(r['objective/sigreg'] > 0 for r in records)
