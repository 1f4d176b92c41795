"""A restricted unpickler for data files (the CIFAR python pickles): no code runs on load.

Only plain containers (built by pickle opcodes, never by `find_class`), str/bytes, numbers and NumPy
arrays/dtypes/scalars are admitted; any other global a pickle names -- `os.system`, `builtins.eval`,
a class of yours -- raises `UnsafePickleError` before it is looked up, let alone called.
"""
import codecs
import io
import pickle

import numpy as np
from numpy._core import multiarray as _multiarray
from numpy._core import numeric as _numeric

from jaxssl.errors import JaxsslError


class UnsafePickleError(JaxsslError, pickle.UnpicklingError):
  """A pickle referenced a global that is not on the allow-list."""


def _latin1_encode(obj, encoding="latin1"):
  # Python 3 writes bytes at protocol <= 2 as `_codecs.encode(str, 'latin1')`; admit only that.
  if encoding not in ("latin1", "latin-1") or not isinstance(obj, str):
    raise UnsafePickleError(f"_codecs.encode admitted only for latin1 strings, got {encoding!r}.")
  return codecs.encode(obj, "latin1")


_ALLOWED = {}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
  _ALLOWED[(_module, "_reconstruct")] = _multiarray._reconstruct
  _ALLOWED[(_module, "scalar")] = _multiarray.scalar
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
  _ALLOWED[(_module, "_frombuffer")] = _numeric._frombuffer
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = _latin1_encode
for _module in ("builtins", "__builtin__"):
  _ALLOWED[(_module, "set")] = set
  _ALLOWED[(_module, "frozenset")] = frozenset
del _module


class RestrictedUnpickler(pickle.Unpickler):
  """`pickle.Unpickler` whose `find_class` admits only the allow-listed NumPy/codec globals."""

  def find_class(self, module, name):
    obj = _ALLOWED.get((module, name))
    if obj is None:
      raise UnsafePickleError(
          f"refusing to load global {module}.{name} from a pickle: only plain containers, "
          "str/bytes, numbers and NumPy arrays are allowed (nothing read from disk runs code).")
    return obj

  def persistent_load(self, pid):
    raise UnsafePickleError("refusing persistent id in pickle.")


def safe_load(file, *, encoding: str = "bytes"):
  """Loads a pickle from a binary file object with `RestrictedUnpickler`.

  `encoding="bytes"` (the default) reads Python-2 pickles such as CIFAR's, whose dict keys come
  back as bytes (b"data", b"labels").
  """
  return RestrictedUnpickler(file, encoding=encoding).load()


def safe_loads(data: bytes, *, encoding: str = "bytes"):
  """Loads a pickle from bytes with `RestrictedUnpickler`."""
  return safe_load(io.BytesIO(data), encoding=encoding)
