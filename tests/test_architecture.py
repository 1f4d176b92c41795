"""The architecture as a test: the import contracts of `.importlinter` hold, and they bite.

`lint-imports` (import-linter) checks the layers (front ends over the engine over the libraries),
that objectives and estimators import no engine, network or data, that data and augmentations
import no models, that evaluation imports no training loop, that models import no objectives, and
that no subpackages import each other in a circle. docs/architecture.md draws them.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name('lint-imports')

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(),
                                reason='import-linter is not installed (pip install -e .[dev])')


def _lint(cwd: Path) -> subprocess.CompletedProcess:
  # The package in `cwd` is the one analysed (lint-imports puts the working directory first on
  # the path); its cache stays out of the repository.
  env = dict(os.environ, PYTHONPATH=str(cwd))
  return subprocess.run([str(LINT_IMPORTS), '--config', str(cwd / '.importlinter'), '--no-cache'],
                        cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
  out = _lint(ROOT)
  assert out.returncode == 0, out.stdout + out.stderr
  assert ' broken' in out.stdout and '0 broken' in out.stdout


@pytest.mark.parametrize('module, violation, contract', [
    ('jaxssl/objectives/_vicreg.py', 'import jaxssl.train', 'Objectives import no engine'),
    ('jaxssl/data/input_pipeline.py', 'import jaxssl.models', 'Data and augmentations import no'),
    ('jaxssl/evaluate/run.py', 'import jaxssl.train.loop', 'Evaluation imports no training loop'),
    ('jaxssl/parallel/collectives.py', 'import jaxssl.objectives', 'No import cycles'),
])
def test_a_violating_import_breaks_its_contract(tmp_path, module, violation, contract):
  """A copy of the package with one forbidden import added fails `lint-imports`."""
  shutil.copytree(ROOT / 'jaxssl', tmp_path / 'jaxssl',
                  ignore=shutil.ignore_patterns('__pycache__'))
  shutil.copy(ROOT / '.importlinter', tmp_path / '.importlinter')
  path = tmp_path / module
  path.write_text(path.read_text() + f'\n{violation}  # a deliberate violation\n')
  out = _lint(tmp_path)
  assert out.returncode != 0, out.stdout
  broken = out.stdout.split('Broken contracts')[-1]
  assert contract in broken, out.stdout
