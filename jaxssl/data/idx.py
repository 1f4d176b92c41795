"""Reader for the IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/)."""
import gzip
import os
import zlib

import numpy as np

from jaxssl.errors import JaxsslError

# Third byte of the magic number -> big-endian element type.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(JaxsslError, ValueError):
  """An IDX file is corrupt, truncated or not of the expected shape/type."""


def parse_idx(data: bytes, *, name: str = "<bytes>") -> np.ndarray:
  """Parses the bytes of an (uncompressed) IDX file into a native-endian array."""
  if len(data) < 4:
    raise IdxFormatError(f"{name}: {len(data)} bytes, too short for an IDX header (4 bytes).")
  zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
  if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
    raise IdxFormatError(
        f"{name}: bad IDX magic number 0x{data[:4].hex()}; expected 0x0000TTNN with type TT in "
        f"{{{', '.join(f'{c:02x}' for c in _IDX_DTYPES)}}} and NN >= 1 dimensions. "
        "Is this an IDX file (e.g. train-images-idx3-ubyte)?")
  header = 4 + 4 * ndim
  if len(data) < header:
    raise IdxFormatError(
        f"{name}: truncated header ({len(data)} bytes; {ndim} dimensions need {header}).")
  shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
  dtype = _IDX_DTYPES[code]
  expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  if len(data) - header != expected:
    raise IdxFormatError(
        f"{name}: header says shape {shape} of {dtype.name} ({expected} bytes of data) but the "
        f"file holds {len(data) - header} bytes after the header; the file is corrupt or "
        "truncated.")
  array = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=header).reshape(shape)
  return array.astype(dtype.newbyteorder("="))


def read_idx(path, *, dtype=None, ndim: int | None = None) -> np.ndarray:
  """Reads an IDX file (gzip'ed if its name ends in `.gz`), checking dtype and rank if given."""
  path = os.fspath(path)
  try:
    if path.endswith(".gz"):
      with gzip.open(path, "rb") as f:
        data = f.read()
    else:
      with open(path, "rb") as f:
        data = f.read()
  except (gzip.BadGzipFile, EOFError, zlib.error) as e:
    raise IdxFormatError(f"{path}: corrupt gzip stream ({e}).") from e
  array = parse_idx(data, name=path)
  if dtype is not None and array.dtype != np.dtype(dtype):
    raise IdxFormatError(f"{path}: expected elements of type {np.dtype(dtype)}, got {array.dtype}.")
  if ndim is not None and array.ndim != ndim:
    raise IdxFormatError(f"{path}: expected {ndim} dimensions, got shape {array.shape}.")
  return array


def write_idx(path, array: np.ndarray) -> None:
  """Writes `array` as an IDX file (gzip'ed if `path` ends in `.gz`); used to make test data."""
  array = np.asarray(array)
  codes = {dt.newbyteorder("="): c for c, dt in _IDX_DTYPES.items()}
  code = codes.get(array.dtype.newbyteorder("="))
  if code is None:
    raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(map(str, codes))}.")
  header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
  data = header + array.astype(_IDX_DTYPES[code]).tobytes()
  opener = gzip.open if os.fspath(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(data)
