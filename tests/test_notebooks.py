"""Every notebook in colab/ runs top to bottom in tiny mode (JAXSSL_TINY=1) on the CPU.

Each notebook is executed with nbclient in a fresh kernel of this interpreter (the venv), with a
temporary directory as its working directory, one CPU device and JAXSSL_TINY=1 (a 2k-image subset of
Fashion-MNIST, a tiny encoder, a few steps; each notebook ≤ 45 s on 2 cores). A cell that raises
fails the test with the cell's source and the error. The notebooks are stored without outputs.
"""
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

COLAB = Path(__file__).resolve().parent.parent / 'colab'
NOTEBOOKS = sorted(COLAB.glob('*.ipynb'))
KERNEL = 'jaxssl-test-venv'
TIMEOUT_S = 300  # per cell; a tiny notebook takes well under a minute


def test_the_four_notebooks_exist():
  assert [p.name for p in NOTEBOOKS] == ['01_quickstart.ipynb', '02_objectives.ipynb',
                                         '03_estimators.ipynb', '04_seed_studies.ipynb']


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
  nb = nbformat.read(path, as_version=4)
  nbformat.validate(nb)
  code = [c for c in nb.cells if c.cell_type == 'code']
  assert code, f'{path.name} has no code cells'
  dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
  assert not dirty, f'{path.name}: code cells {dirty} hold outputs; strip them before committing.'
  tiny = [c for c in code if "os.environ.get('JAXSSL_TINY'" in c.source]
  assert len(tiny) == 1, f'{path.name} must have exactly one tiny-switch cell, found {len(tiny)}.'


def _kernel_spec(tmp_path: Path) -> Path:
  """A kernelspec running ipykernel in this interpreter, so the notebooks see the venv."""
  spec = tmp_path / 'jupyter' / 'kernels' / KERNEL
  spec.mkdir(parents=True)
  (spec / 'kernel.json').write_text(json.dumps({
      'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      'display_name': 'jaxssl test venv', 'language': 'python'}))
  return spec.parent.parent


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_tiny_mode(path, tmp_path, monkeypatch, fashion_mnist_data_dir):
  monkeypatch.setenv('JUPYTER_PATH', str(_kernel_spec(tmp_path)))
  monkeypatch.setenv('JAXSSL_TINY', '1')
  monkeypatch.setenv('JAX_PLATFORMS', 'cpu')
  monkeypatch.setenv('XLA_FLAGS', '')  # one CPU device, not the 8 of tests/conftest.py
  monkeypatch.setenv('MPLBACKEND', 'Agg')
  workdir = tmp_path / 'cwd'
  workdir.mkdir()
  nb = nbformat.read(path, as_version=4)
  client = NotebookClient(nb, kernel_name=KERNEL, timeout=TIMEOUT_S,
                          resources={'metadata': {'path': str(workdir)}})
  start = time.perf_counter()
  try:
    client.execute()
  except CellExecutionError as error:
    pytest.fail(f'{path.name} failed in tiny mode:\n{error}', pytrace=False)
  print(f'{path.name}: {time.perf_counter() - start:.1f} s')
  errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs
            if o.output_type == 'error']
  assert not errors
