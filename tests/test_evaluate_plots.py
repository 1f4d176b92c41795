"""Plots and the run report (jaxssl.evaluate.plots, jaxssl.evaluate.report)."""
import json
import os

import numpy as np
import pytest

from jaxssl.evaluate import plots
from jaxssl.evaluate.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _records():
  rng = np.random.default_rng(0)
  out = []
  for step in range(0, 200, 10):
    # The trainer's record (jaxssl.train.metrics_log) plus diagnostics.
    r = {"step": step, "loss": 5.0 / (1 + step), "probe_loss": 2.0, "probe_acc": step / 4,
         "grad_norm": 1.0, "finite": 1.0, "objective/invariance": 1.0 / (1 + step),
         "objective/variance": 0.5, "objective/covariance": 0.1 * rng.random(), "lr": 0.1,
         "images_per_second": 900.0, "logdet_entropy": 10.0 + step / 50, "infonce_mi": 2.0,
         "rankme": 30.0}
    if step % 50 == 0:
      r["knn_top1_k20"] = step / 3
    out.append(r)
  return out


def _assert_png(path):
  with open(path, "rb") as f:
    data = f.read()
  assert data[:8] == PNG_MAGIC and len(data) > 2000
  leftovers = [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")]
  assert leftovers == []


def test_read_metrics_from_jsonl_skips_a_truncated_last_line(tmp_path):
  path = tmp_path / "metrics.jsonl"
  records = _records()
  path.write_text("\n".join(json.dumps(r) for r in records) + '\n{"step": 200, "lo')
  assert plots.read_metrics(path) == records
  path.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
  with pytest.raises(ValueError, match="line 2"):
    plots.read_metrics(path)
  with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
    plots.read_metrics(tmp_path / "missing" / "metrics.jsonl")


def test_default_key_selection():
  keys = plots._numeric_keys(_records(), "step")
  assert "images_per_second" not in keys and "finite" not in keys
  assert [k for k in keys if plots.LOSS_KEYS.search(k)] == [
      "loss", "probe_loss", "objective/invariance", "objective/variance", "objective/covariance"]
  assert [k for k in keys if plots.ACCURACY_KEYS.search(k)] == ["probe_acc", "knn_top1_k20"]
  assert [k for k in keys if plots.INFORMATION_KEYS.search(k)] == [
      "logdet_entropy", "infonce_mi", "rankme"]


def test_eigenspectrum_of_embeddings_matches_diagnostics():
  from jaxssl.evaluate.diagnostics import eigenspectrum
  z = np.random.default_rng(3).normal(size=(300, 6)) * np.arange(1.0, 7.0)
  np.testing.assert_allclose(np.sort(plots._covariance_eigenvalues(z))[::-1],
                             np.asarray(eigenspectrum(z.astype(np.float32))), rtol=1e-4)


def test_every_plot_writes_a_png(tmp_path):
  records = _records()
  jsonl = tmp_path / "metrics.jsonl"
  jsonl.write_text("\n".join(json.dumps(r) for r in records))
  out = tmp_path / "plots"
  rng = np.random.default_rng(1)
  features = rng.normal(size=(600, 16)) + 3 * np.eye(16)[np.arange(600) % 3]
  paths = [
      plots.plot_loss_terms(jsonl, out / "losses.png"),
      plots.plot_accuracy(records, out / "accuracy.png", final={"offline linear": 60.0}),
      plots.plot_information(records, out / "information.png"),
      plots.plot_eigenspectrum({"epoch 1": np.linspace(1, 0, 32), "epoch 2": np.ones(32)},
                               out / "spectrum.png"),
      plots.plot_eigenspectrum({"projector": features, "backbone": features[:, :8]},
                               out / "spectrum_of_embeddings.png", normalise=True),
      plots.plot_embedding_2d(features, np.arange(600) % 3, out / "embedding.png", max_points=300),
  ]
  for p in paths:
    _assert_png(p)
  # Overwriting replaces the file in place (atomic rename), leaving no temporary file.
  plots.plot_loss_terms(records, out / "losses.png", keys=["loss"])
  _assert_png(str(out / "losses.png"))


def test_plot_errors(tmp_path):
  with pytest.raises(ValueError, match="No accuracy to plot"):
    plots.plot_accuracy([{"step": 0, "loss": 1.0}], tmp_path / "a.png")
  with pytest.raises(ValueError, match="non-empty and finite"):
    plots.plot_eigenspectrum(np.array([1.0, np.nan]), tmp_path / "s.png")
  assert not os.listdir(tmp_path)


def test_pca_2d_finds_the_dominant_directions():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(500, 5)) * np.array([10.0, 5.0, 0.1, 0.1, 0.1])
  xy = plots.pca_2d(x)
  var = xy.var(0)
  assert var[0] == pytest.approx(100.0, rel=0.15) and var[1] == pytest.approx(25.0, rel=0.15)


def test_write_report(tmp_path):
  workdir = tmp_path / "run"
  plot = plots.plot_eigenspectrum(np.linspace(2, 0.1, 8), workdir / "plots" / "spectrum.png")
  config = {"objective": {"name": "vicreg", "sim_coeff": 25.0}, "seed": 0, "epochs": 100}
  summary = {"top1": 85.37, "knn_top1_k20": 81.0, "rankme": 412.3456, "weight_decay": 1e-4,
             "collapsed": False}
  path = write_report(workdir, config, summary, [plot])
  assert path == os.path.join(workdir, "report.md")
  text = open(path).read()
  for row in ("| top1 | 85.37 |", "| knn_top1_k20 | 81 |", "| rankme | 412.3456 |",
              "| weight_decay | 0.0001 |", "| collapsed | False |"):
    assert row in text
  assert "![spectrum](plots/spectrum.png)" in text
  assert '"sim_coeff": 25.0' in text and '"name": "vicreg"' in text
  assert [n for n in os.listdir(workdir) if n.endswith(".tmp")] == []
  with pytest.raises(FileNotFoundError, match="missing.png"):
    write_report(workdir, config, summary, [workdir / "missing.png"])
  assert open(path).read() == text  # a failed call leaves the previous report intact
