"""Every bad input in the table of docs/reliability.md gives one clear error (the rest are tested
beside their modules: data sets in test_data_builders.py, objectives in test_objectives.py,
checkpoints in test_checkpoint.py, batch/objective kwargs in test_train.py)."""
import subprocess
import sys

import numpy as np
import pytest

from jaxssl.config import load_config
from jaxssl.errors import ConfigError
from jaxssl.train import pretrain, setup
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def test_unknown_config_key_lists_the_valid_keys():
  with pytest.raises(ConfigError, match=r"Unknown config key 'optimizer.lrate'(.|\n)*optimizer.lr"):
    load_config(None, ['optimizer.lrate=0.1'])


def test_wrong_value_type_says_what_was_expected():
  with pytest.raises(ConfigError, match='Bad value for batch_size: expected int'):
    load_config(None, ['batch_size=big'])


def test_missing_config_file():
  with pytest.raises(ConfigError, match='does not exist'):
    load_config('no/such/config.py')


def test_unknown_objective_lists_valid_names():
  with pytest.raises(ValueError, match='valid names: .*vicreg'):
    setup(tiny_config('objective.name="vicregg"'), mesh=make_mesh(1), train_arrays=tiny_arrays())


def test_images_with_wrong_channels_are_refused():
  images, labels = tiny_arrays()
  bad = np.repeat(images, 2, axis=-1)  # 2 channels
  with pytest.raises(ConfigError, match=r'expected \(height, width, 1 or 3\)'):
    setup(tiny_config(), mesh=make_mesh(1), train_arrays=(bad, labels))


def test_workdir_that_cannot_be_written(tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('not a directory')
  with pytest.raises(ConfigError, match='Cannot write to workdir'):
    pretrain(tiny_config(), blocker / 'run', train_arrays=tiny_arrays(), mesh=make_mesh(1))


def test_cli_reports_a_config_typo_in_one_line_without_a_traceback(tmp_path):
  out = subprocess.run([sys.executable, '-m', 'jaxssl.cli', 'pretrain', '--workdir',
                        str(tmp_path), '--config.batchsize=3'], capture_output=True, text=True,
                       timeout=300)
  assert out.returncode == 2
  assert "Unknown config key 'batchsize'" in out.stderr
  assert 'Traceback' not in out.stderr
