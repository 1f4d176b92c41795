"""Configs are Python files with `get_config()` returning an `ml_collections.ConfigDict`.

`load_config(path, overrides)` applies `--config.a.b=value` overrides with the type of the existing
field; an unknown key raises one error listing the valid keys; `check_config` then checks the values
every run relies on (positive sizes, known names), so a bad value fails before anything is built.
"""
import ast
import importlib.util
from pathlib import Path
from typing import Iterable

import ml_collections

from jaxssl.errors import ConfigError


def _flat_keys(config, prefix=''):
  keys = []
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      keys += _flat_keys(value, f'{prefix}{key}.')
    else:
      keys.append(f'{prefix}{key}')
  return keys


def load_config_module(path: str | Path):
  """Imports a config file as a module (config files import their siblings with it)."""
  path = Path(path)
  if not path.exists():
    raise ConfigError(f'Config file {path} does not exist; see experiments/configs/ for examples.')
  if path.suffix != '.py' or not path.is_file():
    raise ConfigError(f'Config file {path} is not a Python file: expected a .py file defining '
                      'get_config(), e.g. experiments/configs/fmnist.py:vicreg.')
  spec = importlib.util.spec_from_file_location(f'jaxssl_config_{path.stem}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_config_file(path: str | Path) -> ml_collections.ConfigDict:
  """Runs `get_config()` of a config file; `file.py:ARG` calls `get_config('ARG')`."""
  path, _, arg = str(path).partition(':')
  path = Path(path)
  module = load_config_module(path)
  if not hasattr(module, 'get_config'):
    raise ConfigError(f'{path} must define get_config() returning an ml_collections.ConfigDict.')
  try:
    return module.get_config(arg) if arg else module.get_config()
  except (ValueError, KeyError, TypeError) as error:  # e.g. a name the file does not define
    what = f"get_config({arg!r})" if arg else 'get_config()'
    raise ConfigError(f'{path}: {what} failed: {error}') from None


def _parse_value(text: str, current):
  if isinstance(current, str):
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in '"\''
    return text[1:-1] if quoted else text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    value = text
  if isinstance(current, bool):
    if isinstance(value, str) and value.lower() in ('true', 'false'):
      return value.lower() == 'true'
    if not isinstance(value, bool):
      raise ConfigError(f'expected true/false, got {text!r}')
  elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  elif isinstance(current, (tuple, list)) and isinstance(value, (int, float)):
    value = (value,)
  elif current is not None and not isinstance(value, type(current)):
    raise ConfigError(f'expected {type(current).__name__}, got {text!r}')
  return tuple(value) if isinstance(value, list) else value


# Sub-dicts that accept new keys (free-form keyword arguments, checked where they are used).
OPEN_SECTIONS = ('objective.kwargs', 'model.encoder_kwargs', 'model.decoder_kwargs')


def apply_overrides(config: ml_collections.ConfigDict, overrides: Iterable[str]):
  """Applies 'a.b=value' strings in place; returns config."""
  valid = _flat_keys(config)
  for item in overrides:
    key, sep, text = item.partition('=')
    if not sep:
      raise ConfigError(f'Override {item!r} must look like key=value, e.g. batch_size=512.')
    parent_key, _, leaf = key.rpartition('.')
    parent = config
    for part in parent_key.split('.') if parent_key else []:
      if part not in parent or not isinstance(parent[part], ml_collections.ConfigDict):
        parent = None
        break
      parent = parent[part]
    if parent is None or (leaf not in parent and parent_key not in OPEN_SECTIONS):
      raise ConfigError(f'Unknown config key {key!r}. Valid keys:\n  ' + '\n  '.join(valid))
    try:
      value = _parse_value(text, parent[leaf] if leaf in parent else None)
    except ConfigError as error:
      raise ConfigError(f'Bad value for {key}: {error}') from None
    with parent.unlocked() if hasattr(parent, 'unlocked') else _null():
      parent[leaf] = value
  return config


class _null:
  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> ml_collections.ConfigDict:
  """The config at `path` (the embedded default when None) with overrides applied and checked."""
  if path is None:
    from jaxssl.default_config import get_config
    config = get_config()
  else:
    config = load_config_file(path)
  return check_config(apply_overrides(config, overrides))


# (field, test, what is expected): the values every run uses. Fields a config does not have are
# not checked (a config file may be for something else, e.g. an estimator study).
_POSITIVE_INT = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                 'a whole number >= 1')
_RULES = (
    ('batch_size', *_POSITIVE_INT),
    ('epochs', lambda v: isinstance(v, (int, float)) and v > 0, 'a number > 0'),
    ('optimizer.lr', lambda v: isinstance(v, (int, float)) and v > 0, 'a number > 0'),
    ('optimizer.warmup_epochs', lambda v: isinstance(v, (int, float)) and v >= 0, 'a number >= 0'),
    ('optimizer.grad_clip', lambda v: isinstance(v, (int, float)) and v >= 0,
     'a number >= 0 (0 = no clipping)'),
    ('log_every', *_POSITIVE_INT),
    ('checkpoint_every', *_POSITIVE_INT),
    ('keep_checkpoints', *_POSITIVE_INT),
    ('max_bad_steps', *_POSITIVE_INT),
    ('diagnostics_every', lambda v: isinstance(v, int) and v >= 0,
     'a whole number >= 0 (0 = off)'),
    ('eval.batch_size', *_POSITIVE_INT),
)


def _get(config, dotted: str):
  node = config
  for part in dotted.split('.'):
    if not hasattr(node, 'keys') or part not in node:
      return _MISSING
    node = node[part]
  return node


_MISSING = object()


def check_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Raises one `ConfigError` for the first out-of-range field or unknown name; returns config.

  Checks the sizes and counts in `_RULES`, `objective.name` against `jaxssl.objectives.names()`,
  `model.encoder` against `jaxssl.models.ENCODERS` and `optimizer.name`; the message names the
  field, what was expected and how to set it.
  """
  for key, test, expected in _RULES:
    value = _get(config, key)
    if value is not _MISSING and not test(value):
      raise ConfigError(f'Bad value for {key}: expected {expected}, got {value!r}. Set it with '
                        f'--config.{key}=VALUE.')
  from jaxssl import objectives  # pylint: disable=import-outside-toplevel (jax is slow to import)
  from jaxssl.models import ENCODERS  # pylint: disable=import-outside-toplevel
  from jaxssl.train.optim import OPTIMIZERS  # pylint: disable=import-outside-toplevel
  for key, valid in (('objective.name', objectives.names()), ('model.encoder', sorted(ENCODERS)),
                     ('optimizer.name', OPTIMIZERS)):
    value = _get(config, key)
    if value is not _MISSING and value not in valid:
      raise ConfigError(f'Unknown {key} {value!r}; valid names: {", ".join(valid)}. Set it with '
                        f'--config.{key}=NAME.')
  return config
