"""The README's Python example runs as written and its numbers are what it says."""
import re
from pathlib import Path

import numpy as np

from jaxssl import objectives

README = Path(__file__).resolve().parents[1] / 'README.md'


def test_readme_python_example_runs(capsys):
  block = re.search(r'```python\n(.*?)```', README.read_text(), re.S).group(1)
  namespace = {}
  try:
    exec(compile(block, 'README.md', 'exec'), namespace)  # noqa: S102 -- our own README
    assert np.isfinite(float(namespace['loss']))
    assert set(namespace['terms']) >= {'invariance'}
    estimate, truth = (float(v) for v in capsys.readouterr().out.split())
    assert abs(estimate - truth) < 0.1 * truth  # KSG on 5000 samples, d = 1: within 10%
  finally:
    objectives._registry._REGISTRY.pop('my_objective', None)
