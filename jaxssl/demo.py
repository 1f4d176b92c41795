"""The main job (`make demo`): pretrain on Fashion-MNIST on the CPU, evaluate, print, plot.

Prepares the data set if needed, pretrains the embedded default config (VICReg, small ConvNet),
then reports linear-probe test accuracy of (a) the SSL encoder, (b) the same encoder at random
initialisation, (c) raw pixels, and kNN accuracy. Writes `WORKDIR/summary.json`, PNG plots and
`WORKDIR/report.md`.
"""
import time
from pathlib import Path

from jaxssl import data, run_dir
from jaxssl.config import load_config
from jaxssl.evaluate.run import evaluate_workdir
from jaxssl.io import atomic_write_json
from jaxssl.train import pretrain


def ensure_prepared(config) -> None:
  """Builds a local data set (e.g. Fashion-MNIST from the Debian package) if it is not there."""
  try:
    data.load_source(config.dataset, config.train_split, data_dir=config.data_dir or None)
  except data.DatasetNotPreparedError:
    print(f'Preparing {config.dataset} (once)...', flush=True)
    data.prepare(config.dataset, data_dir=config.data_dir or None)


def run_demo(workdir: str | Path, *, config_path=None, overrides=()) -> dict:
  start = time.perf_counter()
  workdir = Path(workdir)
  config = load_config(config_path, overrides)
  ensure_prepared(config)
  result = pretrain(config, workdir)
  summary = evaluate_workdir(workdir, baselines=True, state=result.state, config=config)
  summary['pretrain_seconds'] = result.wall_seconds
  summary['wall_seconds'] = time.perf_counter() - start
  atomic_write_json(workdir / run_dir.SUMMARY, summary)
  rows = [('SSL encoder (linear probe)', summary['linear_top1']),
          ('SSL encoder (kNN, k=20)', summary['knn_top1']),
          ('random-init encoder (linear probe)', summary['random_init_linear_top1']),
          ('raw pixels (linear probe)', summary['raw_pixels_linear_top1'])]
  print(f"\nFashion-MNIST test accuracy, {config.objective.name} for {config.epochs:g} epochs "
        f"({summary['wall_seconds']:.0f} s in all):")
  for name, value in rows:
    print(f'  {name:<36} {value:6.2f} %')
  nan = float('nan')
  print(f"  RankMe of the projector outputs      {summary.get('diag/rankme', nan):6.1f}\n"
        f"  LiDAR of the projector outputs       {summary.get('diag/lidar', nan):6.1f}"
        f"  ({summary.get('diag/lidar_views', nan):.0f} views per image; backbone features: "
        f"{summary.get('diag/backbone/lidar', nan):.1f})\n"
        f"  α-ReQ of the projector outputs       {summary.get('diag/alpha_req', nan):6.2f}"
        f"  (backbone features: {summary.get('diag/backbone/alpha_req', nan):.2f})"
        f"\n  steps skipped (non-finite)           {result.skipped_steps:6d} of {result.steps_done}"
        f"\nSummary: {workdir / run_dir.SUMMARY}   report: {workdir / run_dir.REPORT}")
  summary['mostly_skipped'] = result.mostly_skipped
  return summary
