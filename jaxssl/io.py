"""Atomic file writes: write to a temporary name in the same directory, then rename."""
import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
  try:
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


def atomic_write_text(path: str | Path, text: str) -> Path:
  return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj) -> Path:
  return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')
