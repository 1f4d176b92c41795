"""Optional PyTorch / torchvision for tests that compare jaxssl with them (installed by `make test`).

torchvision 0.28's wheel (the one matching torch 2.13) is built against CUDA: its `_C.so` extension
does not load beside the CPU build of torch, torchvision then runs without its custom ops (fine for
`torchvision.models` and `transforms`, which need none), but its `_meta_registrations` still
registers fake kernels for `torchvision::nms` / `qnms` at import, and fails because those operators
were never defined ("operator torchvision::nms does not exist"). `import_torchvision()` defines the
two schemas (as torchvision's C++ does) when they are missing, then imports the real package: the
model and transform code is torchvision's own, unmodified. Calling `nms` itself would still fail.
"""
import importlib.util

import pytest

_SCHEMAS = ('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
            'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
_LIBRARY = []  # keeps the torch.library.Library alive (its definitions die with it)


def import_torch():
  """`torch`, or skip the test with how to install it."""
  return pytest.importorskip('torch', reason='PyTorch not installed: pip install torch==2.13.0 '
                             '(make test installs it)')


def import_torchvision():
  """`torchvision` importable beside a CPU-only torch, or skip the test with how to install it."""
  torch = import_torch()
  if importlib.util.find_spec('torchvision') is None:  # (importorskip would import it too early)
    pytest.skip('torchvision not installed: pip install torchvision==0.28.0 (make test installs it)')
  if not _LIBRARY:
    library = torch.library.Library('torchvision', 'FRAGMENT')
    for schema in _SCHEMAS:
      name = schema.split('(')[0]
      if not torch._C._dispatch_has_kernel(f'torchvision::{name}') and not _has_schema(name):
        library.define(schema)
    _LIBRARY.append(library)
  import torchvision  # pylint: disable=import-outside-toplevel
  return torchvision


def _has_schema(name):
  import torch  # pylint: disable=import-outside-toplevel
  try:
    torch._C._get_schema(f'torchvision::{name}', '')
    return True
  except RuntimeError:
    return False
