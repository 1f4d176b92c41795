"""Writing an export directory: `export(workdir, out)` (the `jaxssl export` command), `write_export`.

The directory is written atomically: into a temporary directory beside `out`, renamed when complete
(an earlier export at `out` is replaced). The format is in `jaxssl.export`'s docstring.
"""
import shutil
import tempfile
from pathlib import Path

from jaxssl.errors import ExportTargetError
from jaxssl.export.spec import FORMAT, FORMAT_VERSION, SPEC_FILE, WEIGHTS_FILE, flatten, sha256
from jaxssl.export.torch_layout import check_torch, to_torch
from jaxssl.export.workdir import read_workdir
from jaxssl.io import umask


def _share(directory: Path) -> None:
  """The usual permissions under the umask (mkdtemp / mkstemp create 0700 / 0600)."""
  mask = umask()
  directory.chmod(0o777 & ~mask)
  for path in directory.iterdir():
    path.chmod(0o666 & ~mask)


def _replace_dir(tmp: Path, out: Path) -> None:
  """Renames `tmp` to `out`; an existing export (or empty directory) at `out` is replaced."""
  if out.exists():
    if not (out / SPEC_FILE).exists() and any(out.iterdir()):
      raise ExportTargetError(f'{out} exists and is not a jaxssl export: pick another --out.')
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f'.{out.name}.old-'))
    out.rename(old / out.name)
    tmp.rename(out)
    shutil.rmtree(old)
  else:
    tmp.rename(out)


def write_export(out: str | Path, spec: dict, variables: dict, *, format: str = 'jax') -> Path:
  """Writes `spec` + `variables` (the `read_workdir` layout) as an export directory at `out`."""
  from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
  from jaxssl.io import atomic_write_json  # pylint: disable=import-outside-toplevel
  if format not in ('jax', 'torch'):
    raise ValueError(f"format must be 'jax' or 'torch', got {format!r}.")
  out = Path(out).absolute()
  spec = dict(spec, weights_format=format)
  flat = flatten(variables)
  if format == 'torch':
    flat = to_torch(spec, flat)
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f'.{out.name}.tmp-'))
  try:
    weights = tmp / WEIGHTS_FILE
    # One metadata entry: safetensors writes a map's entries in no fixed order (same input,
    # other bytes).
    save_file(flat, weights, metadata={'jaxssl': f'{FORMAT} {FORMAT_VERSION}, {format} layout'})
    spec['files'] = {WEIGHTS_FILE: {'bytes': weights.stat().st_size, 'sha256': sha256(weights)}}
    atomic_write_json(tmp / SPEC_FILE, spec)
    _share(tmp)
    _replace_dir(tmp, out)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return out


def export(workdir: str | Path, out: str | Path, *, which: str = 'online', format: str = 'jax',
           head: bool = False, image_shape=None) -> Path:
  """Exports the encoder of `workdir`'s latest checkpoint to the directory `out`; returns its path.

  Example:
    >>> jaxssl.export.export('runs/demo', 'exports/demo')             # doctest: +SKIP
    >>> encoder = jaxssl.load_encoder('exports/demo')                 # doctest: +SKIP

  Args:
    workdir: a `jaxssl pretrain` workdir.
    out: the export directory (created; an earlier export there is replaced).
    which: 'online' (the trained network) or 'target' (the EMA target of BYOL / MoCo v3).
    format: 'jax' (Flax variables) or 'torch' (torchvision `resnet18` / `resnet50` state_dict).
    head: also export the projector (format 'jax'; `Encoder.project`).
    image_shape: (H, W, C) to record; default: read from the run's data set when it is prepared.

  Raises:
    FileNotFoundError: the workdir has no (readable) checkpoint.
    NoTorchCounterpartError: `format='torch'` of an encoder torchvision does not define.
  """
  spec, variables = read_workdir(workdir, which=which, head=head,
                                 image_shape=list(image_shape) if image_shape else None)
  if format == 'torch':
    check_torch(spec)  # before writing anything
  return write_export(out, spec, variables, format=format)
