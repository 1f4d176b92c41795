"""jaxssl.io: atomic writes leave no partial file and get the usual permissions; JSON is strict."""
import json
import math
import os

import numpy as np
import pytest

from jaxssl import io
from jaxssl.run_dir import read_metrics
from jaxssl.train.metrics_log import MetricsWriter


def test_atomic_write_has_the_umask_permissions_and_leaves_no_temporary(tmp_path):
  old = os.umask(0o022)
  try:
    path = io.atomic_write_text(tmp_path / 'a' / 'out.txt', 'hello')
  finally:
    os.umask(old)
  assert path.read_text() == 'hello'
  assert (path.stat().st_mode & 0o777) == 0o644  # mkstemp alone gives 0600
  assert sorted(p.name for p in path.parent.iterdir()) == ['out.txt']


def test_a_failed_write_keeps_the_old_file(tmp_path):
  path = io.atomic_write_text(tmp_path / 'out.json', 'old')
  with pytest.raises(TypeError):
    io.atomic_write_json(path, {'a': object()})  # not serialisable: fails before the rename
  assert path.read_text() == 'old' and len(list(tmp_path.iterdir())) == 1


def test_json_is_strict_and_metrics_read_back_as_nan(tmp_path):
  obj = {'nan': math.nan, 'inf': -np.inf, 'f32': np.float32(1.5), 'i64': np.int64(3),
         'zero_d': np.array(2.0), 'nested': [1.0, {'x': np.float64('nan')}], 'flag': True}
  text = io.dumps_strict(obj)
  refuse = lambda token: pytest.fail(f'non-JSON token {token}')
  assert json.loads(text, parse_constant=refuse) == {
      'nan': None, 'inf': None, 'f32': 1.5, 'i64': 3, 'zero_d': 2.0,
      'nested': [1.0, {'x': None}], 'flag': True}
  writer = MetricsWriter(tmp_path, resume_step=0)
  writer.write(1, {'loss': math.nan, 'lr': 0.1})
  writer.close()
  line = (tmp_path / 'metrics.jsonl').read_text().strip()
  assert json.loads(line, parse_constant=refuse) == {'step': 1, 'loss': None, 'lr': 0.1}
  (record,) = read_metrics(tmp_path / 'metrics.jsonl')
  assert math.isnan(record['loss']) and record['lr'] == 0.1
