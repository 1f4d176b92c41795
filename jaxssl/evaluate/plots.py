"""Training and evaluation plots (matplotlib Agg, PNG), one file per function, written atomically.

Each function renders into a `matplotlib.figure.Figure` (no pyplot global state, no display needed),
saves it to a temporary file in the target directory and renames it over the target with
`os.replace`, so a reader never sees a half-written PNG. Metric histories are a list of dicts or a
`metrics.jsonl` file (one JSON object per line, each with a `step` key and scalar metrics); a key
missing from a record is simply not plotted at that step.
"""
from __future__ import annotations

import math
import io
import os
import re
from collections.abc import Mapping, Sequence

import numpy as np

from jaxssl.io import atomic_write_bytes
from jaxssl.run_dir import read_metrics

LOSS_KEYS = re.compile(r"loss|^objective/")
ACCURACY_KEYS = re.compile(r"top1|top5|acc|knn")
INFORMATION_KEYS = re.compile(r"entropy|infonce|ksg|(^|[_/])mi($|[_/])|rank|lidar|alpha_req")
_BOOKKEEPING = {"step", "epoch", "time", "wall_time", "elapsed", "finite", "skipped_steps",
                "images_per_second"}


def _figure(nrows=1, ncols=1, width=5.0, height=3.2):
  from matplotlib.figure import Figure  # imported here: matplotlib is slow to import
  fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
  axes = fig.subplots(nrows, ncols, squeeze=False)
  return fig, axes.ravel()


def _save(fig, path) -> str:
  """Writes `fig` as PNG atomically (temporary file beside `path`, then rename)."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=100)
  atomic_write_bytes(path, buffer.getvalue())
  return os.fspath(path)


def _is_number(v) -> bool:
  return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def _numeric_keys(records, step_key) -> list[str]:
  keys = {}
  for r in records:
    for k, v in r.items():
      if k != step_key and k not in _BOOKKEEPING and _is_number(v):
        keys[k] = None
  return list(keys)


def _series(records, key, step_key):
  pts = [(r.get(step_key, i), float(r[key])) for i, r in enumerate(records)
         if key in r and _is_number(r[key])]
  return np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)


def plot_metrics(metrics, path, *, keys: Sequence[str] | None = None, step_key: str = "step",
                 title: str | None = None, ncols: int = 3) -> str:
  """One subplot per metric key against `step_key`; returns `path`.

  Args:
    metrics: list of dicts or path to a metrics.jsonl file.
    path: the PNG to write.
    keys: metrics to draw (default: every numeric key but step and bookkeeping such as
      `images_per_second`).
  """
  records = read_metrics(metrics)
  keys = list(keys) if keys is not None else _numeric_keys(records, step_key)
  if not keys:
    raise ValueError(f"No metric to plot: pass `keys` from "
                     f"{sorted(_numeric_keys(records, step_key))}.")
  ncols = min(ncols, len(keys))
  fig, axes = _figure(math.ceil(len(keys) / ncols), ncols)
  for ax, key in zip(axes, keys):
    steps, values = _series(records, key, step_key)
    ax.plot(steps, values, marker="." if len(steps) < 50 else None)
    ax.set_title(key)
    ax.set_xlabel(step_key)
    ax.grid(alpha=0.3)
  for ax in axes[len(keys):]:
    ax.set_visible(False)
  if title:
    fig.suptitle(title)
  return _save(fig, path)


def plot_loss_terms(metrics, path, *, keys: Sequence[str] | None = None,
                    step_key: str = "step", title: str | None = "training loss terms") -> str:
  """Loss terms over steps, one subplot per term.

  Default keys: those containing `loss` or starting with `objective/` (the trainer's per-term
  names, e.g. `objective/invariance`); if there are none, every numeric key that is neither an
  accuracy nor an information diagnostic.
  """
  records = read_metrics(metrics)
  if keys is None:
    numeric = _numeric_keys(records, step_key)
    keys = [k for k in numeric if LOSS_KEYS.search(k)] or [
        k for k in numeric if not ACCURACY_KEYS.search(k) and not INFORMATION_KEYS.search(k)]
  return plot_metrics(records, path, keys=keys, step_key=step_key, title=title)


def plot_accuracy(metrics, path, *, keys: Sequence[str] | None = None, step_key: str = "step",
                  final: Mapping[str, float] | None = None,
                  title: str | None = "accuracy (%)") -> str:
  """Online (and offline) accuracies over steps on one axis; `final` adds a dashed horizontal line
  per entry (e.g. {"offline linear": 85.4}). Default keys: those with top1/top5/acc/knn."""
  records = read_metrics(metrics)
  keys = list(keys) if keys is not None else [k for k in _numeric_keys(records, step_key)
                                              if ACCURACY_KEYS.search(k)]
  if not keys and not final:
    raise ValueError(f"No accuracy to plot: pass `keys` from "
                     f"{sorted(_numeric_keys(records, step_key))}.")
  fig, (ax,) = _figure(width=6.0, height=4.0)
  for key in keys:
    steps, values = _series(records, key, step_key)
    ax.plot(steps, values, marker="o" if len(steps) < 50 else None, label=key)
  for i, (label, value) in enumerate((final or {}).items()):
    ax.axhline(float(value), linestyle="--", color=f"C{len(keys) + i}",
               label=f"{label} ({float(value):.2f})")
  ax.set_xlabel(step_key)
  ax.set_ylabel("accuracy (%)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize="small")
  if title:
    ax.set_title(title)
  return _save(fig, path)


def plot_information(metrics, path, *, keys: Sequence[str] | None = None, step_key: str = "step",
                     title: str | None = "entropy and mutual information (nats), rank") -> str:
  """Entropy / MI / rank diagnostics over training, one subplot each (default keys: entropy,
  infonce, ksg, mi, rank, lidar, alpha_req)."""
  records = read_metrics(metrics)
  if keys is None:
    keys = [k for k in _numeric_keys(records, step_key) if INFORMATION_KEYS.search(k)]
  return plot_metrics(records, path, keys=keys, step_key=step_key, title=title)


# RankMe's row: the two other rank/spectrum readings of representation quality beside it, LiDAR
# (smooth rank of the between- over within-image covariance) and α-ReQ (eigenspectrum decay).
ONLINE_DIAGNOSTICS = ("rankme", "lidar", "alpha_req", "effective_rank", "logdet_entropy",
                      "pairwise_kl_excess_entropy", "pairwise_bd_excess_entropy", "infonce_mi",
                      "alignment", "uniformity")


def plot_online_diagnostics(metrics, path, *, names: Sequence[str] = ONLINE_DIAGNOSTICS,
                            step_key: str = "step",
                            title: str | None = "online diagnostics (nats; ranks)") -> str:
  """Rank, entropy and MI over training from the `diag/<space>/<name>` keys that
  `jaxssl.evaluate.online_diagnostics` logs: one subplot per name, one line per space (backbone,
  projector), and the steps where `diag/collapse_warning` fired marked with red crosses."""
  records = read_metrics(metrics)
  spaces = list(dict.fromkeys(k.split("/")[1] for r in records for k in r
                              if k.startswith("diag/") and k.count("/") == 2))
  names = [n for n in names if any(f"diag/{s}/{n}" in r for r in records for s in spaces)]
  if not names:
    raise ValueError("No online diagnostics (diag/<space>/<name> keys) to plot: pretrain with "
                     "--config.diagnostics_every > 0.")
  ncols = min(3, len(names))
  fig, axes = _figure(math.ceil(len(names) / ncols), ncols)
  warned = [r[step_key] for r in records if r.get("diag/collapse_warning", 0) > 0]
  for ax, name in zip(axes, names):
    for space in spaces:
      steps, values = _series(records, f"diag/{space}/{name}", step_key)
      if steps.size:
        ax.plot(steps, values, marker="." if len(steps) < 50 else None, label=space)
    for step in warned:
      ax.axvline(step, color="red", alpha=0.2)
    ax.set_title(name)
    ax.set_xlabel(step_key)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
  for ax in axes[len(names):]:
    ax.set_visible(False)
  if title:
    fig.suptitle(title + (" (red: collapse_warning)" if warned else ""))
  return _save(fig, path)


def _covariance_eigenvalues(z) -> np.ndarray:
  z = np.asarray(z, np.float64)
  return np.linalg.eigvalsh(np.cov(z, rowvar=False, bias=True).reshape(z.shape[1], z.shape[1]))


def plot_eigenspectrum(spectra, path, *, title: str | None = "covariance eigenspectrum",
                       normalise: bool = False) -> str:
  """Eigenvalues (descending) against their index, log scale.

  `spectra` is one array or a dict label -> array (e.g. {"projector": z, "backbone": h}); a 1-D
  array is taken as eigenvalues, a 2-D (N, D) array as embeddings whose centred covariance
  eigenvalues are plotted. `normalise` divides each spectrum by its sum (fraction of variance), to
  compare spaces of different scale. Zeros are clipped to 1e-12 of the largest value.
  """
  if not isinstance(spectra, Mapping):
    spectra = {None: spectra}
  fig, (ax,) = _figure(width=6.0, height=4.0)
  for label, values in spectra.items():
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[0] >= 2:
      values = _covariance_eigenvalues(values)
    elif values.ndim != 1:
      raise ValueError(f"Spectrum {label!r} must be eigenvalues (D,) or embeddings (N >= 2, D), "
                       f"found shape {values.shape}.")
    lam = np.sort(values.astype(np.float64))[::-1]
    if lam.size == 0 or not np.all(np.isfinite(lam)):
      raise ValueError(f"Spectrum {label!r} must be non-empty and finite.")
    if normalise:
      lam = lam / max(lam.sum(), 1e-300)
    floor = max(lam[0], 1e-300) * 1e-12
    ax.plot(np.arange(1, lam.size + 1), np.maximum(lam, floor), label=label)
  ax.set_yscale("log")
  ax.set_xlabel("index")
  ax.set_ylabel("eigenvalue / total" if normalise else "eigenvalue")
  ax.grid(alpha=0.3, which="both")
  if any(label is not None for label in spectra):
    ax.legend(fontsize="small")
  if title:
    ax.set_title(title)
  return _save(fig, path)


def pca_2d(features) -> np.ndarray:
  """The features' projection on their top two principal components, shape (N, 2)."""
  x = np.asarray(features, np.float64)
  x = x - x.mean(axis=0)
  _, _, vt = np.linalg.svd(x, full_matrices=False)
  return x @ vt[:2].T


def plot_embedding_2d(features, labels, path, *, max_points: int = 5000, seed: int = 0,
                      class_names: Sequence[str] | None = None,
                      title: str | None = "test features, PCA") -> str:
  """Scatter of the features' first two principal components, coloured by class.

  Args:
    features: (N, D) features; labels: (N,) integer classes.
    max_points: a random subset of at most this many points is drawn (seeded by `seed`).
  """
  features, labels = np.asarray(features), np.asarray(labels)
  if features.ndim != 2 or labels.shape != (features.shape[0],):
    raise ValueError(f"Need features (N, D) and labels (N,), found {features.shape} and "
                     f"{labels.shape}.")
  if features.shape[0] > max_points:
    idx = np.random.default_rng(seed).choice(features.shape[0], max_points, replace=False)
    features, labels = features[idx], labels[idx]
  xy = pca_2d(features) if features.shape[1] >= 2 else np.c_[features, np.zeros(len(features))]
  classes = np.unique(labels)
  fig, (ax,) = _figure(width=6.0, height=5.0)
  from matplotlib import colormaps
  cmap = colormaps["tab10" if len(classes) <= 10 else "tab20" if len(classes) <= 20 else "turbo"]
  for i, c in enumerate(classes):
    sel = labels == c
    name = class_names[int(c)] if class_names is not None else str(c)
    color = cmap(i / max(len(classes) - 1, 1)) if len(classes) > 20 else cmap(i)
    ax.scatter(xy[sel, 0], xy[sel, 1], s=4, alpha=0.6, color=color, label=name)
  if len(classes) <= 20:
    ax.legend(markerscale=3, fontsize="small", loc="best")
  ax.set_xlabel("PC 1")
  ax.set_ylabel("PC 2")
  if title:
    ax.set_title(title)
  return _save(fig, path)
