"""The export format: `encoder.json` (what rebuilds the module), its checks, the flat weights layout.

Shared by the writer (`jaxssl.export.writer`), the reader of a pretraining run
(`jaxssl.export.workdir`), the torchvision layout (`jaxssl.export.torch_layout`) and the loader
(`jaxssl.export.loader`); it imports none of them.
"""
import hashlib
import json
from pathlib import Path

import jax
import numpy as np

from jaxssl.errors import JaxsslError

FORMAT = 'jaxssl-encoder'
FORMAT_VERSION = 1
SPEC_FILE = 'encoder.json'
WEIGHTS_FILE = 'variables.safetensors'


class ExportFormatError(JaxsslError, ValueError):
  """An export directory that cannot be read: another format version, a damaged or missing file."""


def _tuples(value):
  """JSON lists back to the tuples a config holds (Flax module fields must be hashable)."""
  if isinstance(value, (list, tuple)):
    return tuple(_tuples(v) for v in value)
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  return value


def build_modules(spec: dict):
  """(encoder module, projector module or None) from an export's `encoder.json` dict."""
  # pylint: disable-next=import-outside-toplevel
  from jaxssl.models import MLPHead, get_dtype, make_encoder
  module = make_encoder(spec['encoder'], dtype=spec['dtype'], **_tuples(spec['encoder_kwargs']))
  head = spec.get('head')
  projector = None
  if head:
    projector = MLPHead(tuple(head['widths']), last_bn=head['last_bn'],
                        dtype=get_dtype(spec['dtype']))
  return module, projector


def input_sizes(encoder_name: str) -> str:
  """Which image sizes an encoder takes: 'any' (convolutional: any H x W, as torchvision's) or
  'image_shape' (a ViT: the patch grid it was trained on, fixed by its position embeddings)."""
  return 'image_shape' if encoder_name.startswith('vit') else 'any'


def sha256(path: Path) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def read_spec(directory: str | Path) -> dict:
  """An export's `encoder.json`, checked: the format and its version, the weights file intact."""
  directory = Path(directory)
  path = directory / SPEC_FILE
  try:
    spec = json.loads(path.read_text())
  except json.JSONDecodeError as error:
    raise ExportFormatError(f'{path} is not valid JSON ({error}): the export is damaged; export '
                            'again with `jaxssl export`.') from None
  if not isinstance(spec, dict) or spec.get('format') != FORMAT:
    raise ExportFormatError(f'{path} is not a jaxssl encoder export (no "format": "{FORMAT}").')
  if spec.get('format_version') != FORMAT_VERSION:
    raise ExportFormatError(
        f'{directory} is a jaxssl encoder export of format version {spec.get("format_version")} '
        f'(written by jaxssl {spec.get("jaxssl_version")}); this jaxssl reads version '
        f'{FORMAT_VERSION}. Export again from the workdir with this version: `jaxssl export '
        f'--workdir W --out {directory}`.')
  weights = directory / WEIGHTS_FILE
  expected = spec['files'][WEIGHTS_FILE]
  if not weights.exists():
    raise ExportFormatError(f'{weights} is missing: the export is incomplete.')
  size = weights.stat().st_size
  if size != expected['bytes'] or sha256(weights) != expected['sha256']:
    raise ExportFormatError(
        f'{weights} is damaged: {size} bytes, sha256 differs from encoder.json '
        f'({expected["bytes"]} bytes expected; truncated or modified). Export again.')
  return spec


def unflatten(flat: dict) -> dict:
  """{'params/Conv_0/kernel': array} -> {'params': {'Conv_0': {'kernel': array}}}."""
  tree: dict = {}
  for key, value in flat.items():
    node = tree
    *parents, leaf = key.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return tree


def flatten(variables: dict) -> dict:
  """{'params': {'Conv_0': {'kernel': a}}} -> {'params/Conv_0/kernel': a} (NumPy arrays)."""
  leaves = jax.tree_util.tree_flatten_with_path(variables)[0]
  return {'/'.join(str(k.key) for k in path): np.asarray(leaf) for path, leaf in leaves}
