"""The documentation site builds with `mkdocs build --strict`: any warning (a broken link, a
docstring mkdocstrings cannot parse, a module that does not import statically) fails the test."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_build_strict(tmp_path):
  site = tmp_path / 'site'
  result = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir',
                           str(site)], cwd=ROOT, capture_output=True, text=True, timeout=300)
  log = result.stdout + result.stderr
  assert result.returncode == 0, f'mkdocs build --strict failed:\n{log}'
  assert 'WARNING' not in log, log
  for page in ('index.html', 'concepts/index.html', 'notebooks/index.html',
               'architecture/index.html', 'data/index.html', 'scaling/index.html',
               'reliability/index.html', 'performance/index.html', 'estimators/index.html',
               'api/objectives/index.html', 'api/estimators/index.html'):
    assert (site / page).exists(), f'{page} missing from the built site'
  api = (site / 'api' / 'objectives' / 'index.html').read_text()
  assert 'id="jaxssl.objectives.vicreg"' in api and 'id="jaxssl.objectives.register"' in api
  estimators = (site / 'api' / 'estimators' / 'index.html').read_text()
  assert 'id="jaxssl.estimators.ksg_mi"' in estimators
  assert 'id="jaxssl.estimators.tasks.correlated_gaussian"' in estimators


def test_home_page_python_example_runs(capsys):
  """The Python example of the site's home page runs as written (the README's is in test_readme)."""
  block, = re.findall(r'```python\n(.*?)```', (ROOT / 'docs' / 'index.md').read_text(), re.S)
  namespace = {}
  exec(compile(block, 'docs/index.md', 'exec'), namespace)  # noqa: S102 -- our own docs
  assert set(namespace['terms']) >= {'invariance', 'variance', 'covariance'}
  estimate, truth = (float(v) for v in capsys.readouterr().out.split())
  assert abs(estimate - truth) < 0.1 * truth
