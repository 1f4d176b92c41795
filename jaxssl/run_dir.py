"""A run directory (`--workdir`): the name of every file jaxssl writes there, and its format marker.

    WORKDIR/
      config.json          CONFIG       the run's config, stamped with `run_format` (see below)
      checkpoints/         CHECKPOINTS  orbax checkpoints (TrainState + the config), one per step
      metrics.jsonl        METRICS      one strict-JSON line of training metrics per log step
      tensorboard/         TENSORBOARD  the same metrics for TensorBoard
      summary.json         SUMMARY      pretraining's and the evaluation's numbers
      report.md            REPORT       the evaluation's Markdown report, linking the plots
      *.png                PLOTS        the evaluation's plots (`PLOTS`: name -> file)

Every module that reads or writes a run directory names its files from here.

The run-format marker: the version of a run's saved config (`config.json` and each checkpoint's
copy). A run's config is saved with `run_format` = RUN_FORMAT. When a default that changes what a
saved config means moves, RUN_FORMAT goes up and `upgrade` rewrites older configs to what they
meant when they were trained, so evaluating, exporting or resuming an old run builds the network
it trained:

  1 (no `run_format` key): runs saved before the marker existed (before 2026-12); ResNet
     convolutions padded as Flax 'SAME'.
  2: ResNet's default `padding` is 'symmetric' (torchvision's k // 2 on each side), so a ResNet run
     of format 1 without an explicit `model.encoder_kwargs.padding` gets 'SAME'.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

from jaxssl.errors import JaxsslError

RUN_FORMAT = 2
KEY = 'run_format'
log = logging.getLogger(__name__)

CONFIG = 'config.json'
SUMMARY = 'summary.json'
METRICS = 'metrics.jsonl'
CHECKPOINTS = 'checkpoints'
TENSORBOARD = 'tensorboard'
REPORT = 'report.md'
PLOTS = {'loss_terms': 'loss_terms.png', 'probe_accuracy': 'probe_accuracy.png',
         'online_diagnostics': 'online_diagnostics.png', 'eigenspectrum': 'eigenspectrum.png',
         'embedding_2d': 'embedding_2d.png'}


def is_run(path) -> bool:
  """Whether `path` looks like a pretraining run directory (a checkpoint or a saved config)."""
  path = Path(path)
  return (path / CHECKPOINTS).is_dir() or (path / CONFIG).exists()


def to_json_dict(config) -> dict:
  """A run config (`ml_collections.ConfigDict`) as a JSON-safe dict (tuples become lists), as
  `config.json` and the checkpoints hold it."""
  return json.loads(config.to_json())


def read_metrics(metrics) -> list[dict]:
  """A list of metric dicts from a list of dicts or from a JSON-lines file.

  A truncated last line (a writer still appending) is skipped; any other bad line raises. A `null`
  value (how jaxssl writes a non-finite metric: strict JSON) is read back as NaN.
  """
  if isinstance(metrics, (str, os.PathLike)):
    if not os.path.exists(metrics):
      raise FileNotFoundError(f"No metrics file at {metrics}; pass the run's metrics.jsonl.")
    with open(metrics) as f:
      lines = [line for line in f.read().splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
      try:
        records.append({k: math.nan if v is None else v for k, v in json.loads(line).items()})
      except json.JSONDecodeError as e:
        if i == len(lines) - 1:
          break
        raise ValueError(f"{metrics}, line {i + 1}: not a JSON object ({e}).") from e
    return records
  records = list(metrics)
  if not all(isinstance(r, Mapping) for r in records):
    raise TypeError("metrics must be a path to a .jsonl file or a sequence of dicts.")
  return [dict(r) for r in records]


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
