"""A run's Markdown report: its config, its numbers and its plots, in `workdir/report.md`."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence

from jaxssl import run_dir
from jaxssl.io import atomic_write_text


def _format_value(v) -> str:
  if isinstance(v, bool) or v is None:
    return str(v)
  if isinstance(v, (list, tuple)):
    return ", ".join(_format_value(x) for x in v)
  if isinstance(v, int):
    return str(v)
  try:
    x = float(v)
  except (TypeError, ValueError):
    return str(v).replace("|", "\\|").replace("\n", " ")
  if math.isnan(x) or math.isinf(x):
    return str(x)
  return f"{x:.4g}" if (x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5)) else f"{x:.4f}".rstrip(
      "0").rstrip(".")


def describe(name: str, value, diag: Mapping):
  """`value` of diagnostic `name` for a person: "singular covariance (rank r of D)" for a NaN
  `gaussian_entropy` beside its `gaussian_rank` and `dim` in `diag` (keys may carry a common
  prefix such as `diag/`); else `value` unchanged."""
  if not name.endswith("gaussian_entropy") or not (isinstance(value, float) and math.isnan(value)):
    return value
  prefix = name[:-len("gaussian_entropy")]
  rank, dim = diag.get(prefix + "gaussian_rank"), diag.get(prefix + "dim")
  if rank is None or dim is None or not math.isfinite(rank) or rank >= dim:
    return value
  return f"singular covariance (rank {int(rank)} of {int(dim)})"


def _to_plain(obj):
  """Config (dict, ml_collections.ConfigDict, ...) as JSON-serialisable nested dicts."""
  if hasattr(obj, "to_dict"):
    obj = obj.to_dict()
  if isinstance(obj, Mapping):
    return {str(k): _to_plain(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [_to_plain(v) for v in obj]
  if isinstance(obj, (str, int, float, bool)) or obj is None:
    return obj
  return str(obj)


def write_report(workdir, config_dict, summary: Mapping[str, object],
                 plots: Sequence = (), *, title: str = "jaxssl run report") -> str:
  """Writes `workdir/report.md` (atomically) and returns its path.

  Sections: the config as a JSON block, a `| metric | value |` table of `summary` (floats to 4
  significant digits; accuracies are %, information quantities nats), and each plot embedded as
  `![name](path relative to workdir)`.

  Args:
    workdir: the run directory (created if missing).
    config_dict: the run's config (a dict or anything with `to_dict()`, e.g. a ConfigDict).
    summary: metric name -> number (or short string).
    plots: paths of PNG files; missing files raise FileNotFoundError.
  """
  workdir = os.fspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  for p in plots:
    if not os.path.isfile(p):
      raise FileNotFoundError(f"Plot {p} does not exist; write the plots before the report.")
  lines = [f"# {title}", "", "## Results", "", "| metric | value |", "|---|---|"]
  lines += [f"| {k} | {_format_value(describe(k, v, summary))} |" for k, v in summary.items()]
  if plots:
    lines += ["", "## Plots", ""]
    for p in plots:
      rel = os.path.relpath(os.path.abspath(p), os.path.abspath(workdir)).replace(os.sep, "/")
      name = os.path.splitext(os.path.basename(p))[0]
      lines += [f"![{name}]({rel})", ""]
  lines += ["", "## Config", "", "```json",
            json.dumps(_to_plain(config_dict), indent=2, sort_keys=True), "```", ""]
  path = os.path.join(workdir, run_dir.REPORT)
  atomic_write_text(path, "\n".join(lines))
  return path
