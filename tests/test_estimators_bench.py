"""The estimator benchmark (`jaxssl bench estimators`) and the study in experiments/ (tiny mode)."""
import importlib.util
import os

from jaxssl.bench import estimators as benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_agrees_with_scipy_and_reports_speed(capsys):
  assert benchmark.main(["--n", "300", "--d", "3", "--repeats", "1"]) == 0
  out = capsys.readouterr().out
  assert "ksg_mi" in out and "kl_entropy" in out and "speed-up" in out
  assert "agree with SciPy to 1e-06" in out
  rows = benchmark.run(n=300, d=3, repeats=1)
  assert all(r["abs_diff"] < 1e-6 and r["speedup"] > 0 for r in rows)


def test_experiment_tiny_mode_writes_plots_and_table(tmp_path):
  spec = importlib.util.spec_from_file_location(
      "estimator_benchmark", os.path.join(ROOT, "experiments", "estimator_benchmark.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  module.main(["--tiny", "--out", str(tmp_path)])
  for name in ("staircase.png", "nonparametric.png", "results.md", "suite.md", "suite.json",
               "suite_heatmap.png"):
    assert (tmp_path / name).stat().st_size > 0
  table = (tmp_path / "results.md").read_text()
  assert "| InfoNCE |" in table and "| MINE |" in table and "| KSG MI (k=3) | 2 | 128 |" in table
  suite = (tmp_path / "suite.md").read_text()  # the Beyond Normal part: 3 tasks, one critic
  assert "| auto | " in suite and "| InfoNCE critic | " in suite and "(of 3)" in suite
