"""Optional PyTorch / torchvision for tests that compare jaxssl with them (installed by `make test`).

The work is in `experiments/torchvision_compat.py` (pytest-free, so the benchmarks use it too): it
imports torchvision 0.28's CUDA-built wheel beside the CPU build of torch 2.13 by defining the two
operator schemas (`torchvision::nms`, `qnms`) that torchvision's import expects. Here a missing
package skips the test, with how to install it.
"""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    'torchvision_compat', Path(__file__).resolve().parents[1] / 'experiments' / 'torchvision_compat.py')
_compat = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_compat)


def import_torch():
  """`torch`, or skip the test with how to install it."""
  return pytest.importorskip('torch', reason=f'PyTorch not installed: {_compat.TORCH_HINT}')


def import_torchvision():
  """`torchvision` importable beside a CPU-only torch, or skip the test with how to install it."""
  import_torch()
  if not _compat.torchvision_installed():  # (importorskip would import it too early)
    pytest.skip(f'torchvision not installed: {_compat.TORCHVISION_HINT}')
  return _compat.import_torchvision()
