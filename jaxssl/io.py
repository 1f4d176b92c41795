"""Atomic file writes (write to a temporary name in the same directory, then rename), strict JSON."""
import json
import math
import numbers
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
  try:
    os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes it private (0600): as open() would instead
    with os.fdopen(fd, 'wb') as f:
      f.write(payload)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise
  return path


def umask() -> int:
  """The process's file-mode creation mask (read without changing it)."""
  mask = os.umask(0)
  os.umask(mask)
  return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
  return atomic_write_bytes(path, text.encode())


def finite_or_null(obj):
  """`obj` with every non-finite float (NaN, ±inf) replaced by None, recursively.

  Python's json writes NaN / Infinity, which are not JSON: jq, JavaScript and strict parsers reject
  them. jaxssl's JSON files (metrics.jsonl, summary.json, results.json) write null instead; the
  readers (`jaxssl.run_dir.read_metrics`) turn a null metric back into NaN.
  """
  if isinstance(obj, bool) or obj is None or isinstance(obj, str):
    return obj
  if getattr(obj, 'ndim', None) == 0:  # NumPy / JAX 0-d arrays
    return finite_or_null(obj.item())
  if isinstance(obj, numbers.Integral):  # NumPy integers too
    return int(obj)
  if isinstance(obj, numbers.Real):  # float and NumPy floats
    return float(obj) if math.isfinite(obj) else None
  if isinstance(obj, dict):
    return {k: finite_or_null(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [finite_or_null(v) for v in obj]
  return obj


def dumps_strict(obj, **kwargs) -> str:
  """`json.dumps` of `finite_or_null(obj)`: strict JSON (no NaN / Infinity tokens)."""
  return json.dumps(finite_or_null(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: str | Path, obj) -> Path:
  return atomic_write_text(path, dumps_strict(obj, indent=2, sort_keys=True) + '\n')
