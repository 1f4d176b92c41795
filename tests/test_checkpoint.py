"""Checkpoints: a corrupt latest checkpoint falls back to the previous one; config mismatches."""
import logging

import jax
import numpy as np
import pytest

from jaxssl.train import checkpoint as ckpt
from jaxssl.train import pretrain
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def test_corrupt_latest_checkpoint_resumes_from_previous_with_warning(tmp_path, caplog):
  config = tiny_config()
  arrays = tiny_arrays()
  straight = pretrain(config, tmp_path / 'straight', train_arrays=arrays, mesh=make_mesh(1))
  workdir = tmp_path / 'run'
  pretrain(config, workdir, train_arrays=arrays, mesh=make_mesh(1))
  steps = sorted(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit())
  assert steps == [2, 4]
  # Truncate every data file of the latest checkpoint's state.
  files = [p for p in (workdir / 'checkpoints' / '4' / 'state').rglob('*') if p.is_file()
           and p.stat().st_size > 0]
  assert files
  for path in files:
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])
  with caplog.at_level(logging.WARNING):
    resumed = pretrain(config, workdir, train_arrays=arrays, mesh=make_mesh(1))
  assert 'Checkpoint at step 4 is corrupt' in caplog.text
  assert int(resumed.state.step) == 4
  for a, b in zip(jax.tree.leaves(resumed.state), jax.tree.leaves(straight.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_of_a_different_config_names_the_fields(tmp_path):
  arrays = tiny_arrays()
  pretrain(tiny_config(), tmp_path, train_arrays=arrays, mesh=make_mesh(1))
  with pytest.raises(ckpt.CheckpointMismatchError, match='model.projector: checkpoint has'):
    pretrain(tiny_config('model.projector=(16, 16)'), tmp_path, train_arrays=arrays,
             mesh=make_mesh(1))
