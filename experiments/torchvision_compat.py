"""PyTorch and torchvision for the side-by-side benchmarks and tests, without pytest.

torchvision 0.28's wheel (the one matching torch 2.13) is built against CUDA: its `_C.so` extension
does not load beside the CPU build of torch, torchvision then runs without its custom ops (fine for
`torchvision.models`, `datasets` and `transforms`, which need none), but its `_meta_registrations`
still registers fake kernels for `torchvision::nms` / `qnms` at import, and fails because those
operators were never defined ("operator torchvision::nms does not exist"). `import_torchvision()`
defines the two schemas (as torchvision's C++ does) when they are missing, then imports the real
package: the model, data-set and transform code is torchvision's own, unmodified. Calling `nms`
itself would still fail.

Used by `experiments/bench_input.py` (needs torch and torchvision only) and, through
`tests/torch_compat.py` (which turns a missing package into a skipped test), by the tests.
"""
import importlib.util

TORCH_HINT = 'pip install torch==2.13.0 (make test installs it)'
TORCHVISION_HINT = 'pip install torchvision==0.28.0 (make test installs it)'
_SCHEMAS = ('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
            'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
_LIBRARY = []  # keeps the torch.library.Library alive (its definitions die with it)


def import_torch():
  """`torch`, or ImportError with how to install it."""
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(f'PyTorch not installed: {TORCH_HINT}') from e
  return torch


def torchvision_installed() -> bool:
  """Whether torchvision can be found (without importing it: the import needs `import_torchvision`)."""
  return importlib.util.find_spec('torchvision') is not None


def import_torchvision():
  """`torchvision` importable beside a CPU-only torch, or ImportError with how to install it."""
  torch = import_torch()
  if not torchvision_installed():
    raise ImportError(f'torchvision not installed: {TORCHVISION_HINT}')
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
