"""The version of a pretraining run's saved config (`config.json` and each checkpoint's copy).

A run's config is saved with `run_format` = RUN_FORMAT. When a default that changes what a saved
config means moves, RUN_FORMAT goes up and `upgrade` rewrites older configs to what they meant
when they were trained, so evaluating, exporting or resuming an old run builds the network it
trained:

  1 (no `run_format` key): runs saved before the marker existed (before 2026-12); ResNet
     convolutions padded as Flax 'SAME'.
  2: ResNet's default `padding` is 'symmetric' (torchvision's k // 2 on each side), so a ResNet run
     of format 1 without an explicit `model.encoder_kwargs.padding` gets 'SAME'.
"""
from __future__ import annotations

import copy
import logging

from jaxssl.errors import JaxsslError

RUN_FORMAT = 2
KEY = 'run_format'
log = logging.getLogger(__name__)


class RunFormatError(JaxsslError, ValueError):
  """A run saved by a newer jaxssl than this one."""


def stamp(config_json: dict) -> dict:
  """`config_json` (a run config as a JSON dict) marked with this version's RUN_FORMAT."""
  return {**config_json, KEY: RUN_FORMAT}


def upgrade(config_json: dict, *, where: str = 'the run') -> dict:
  """A saved run config rewritten to the current format (a copy), with a warning if it changed.

  Raises:
    RunFormatError: the config is of a newer format than this jaxssl reads.
  """
  version = config_json.get(KEY, 1)
  if not isinstance(version, int) or version > RUN_FORMAT:
    raise RunFormatError(f'{where} was saved with run_format {version!r}; this jaxssl reads up to '
                         f'{RUN_FORMAT}. Upgrade jaxssl (pip install -U jaxssl) to read it.')
  config = copy.deepcopy(dict(config_json))
  model = config.get('model') or {}
  if version < 2 and str(model.get('encoder', '')).startswith('resnet'):
    kwargs = model.setdefault('encoder_kwargs', {})
    if 'padding' not in kwargs:
      kwargs['padding'] = 'SAME'
      log.warning("%s predates run_format 2: its ResNet was trained with padding='SAME' (the "
                  "default then), which is kept; new runs default to 'symmetric'. To resume it, "
                  'pass --config.model.encoder_kwargs.padding=SAME.', where)
  return stamp(config)
