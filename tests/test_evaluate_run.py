"""`jaxssl evaluate` end to end on a tiny run: summary keys, plots and report written."""
import json
import math

from jaxssl.evaluate.run import LIDAR_VIEWS, evaluate_workdir
from jaxssl.train import pretrain
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def test_evaluate_workdir_writes_summary_plots_and_report(tmp_path):
  config = tiny_config('eval.knn_k=(5, 20)', 'eval.batch_size=32')
  train, test = tiny_arrays(64, seed=0), tiny_arrays(32, seed=1)
  pretrain(config, tmp_path, train_arrays=train, mesh=make_mesh(1))
  summary = evaluate_workdir(tmp_path, baselines=True, arrays=(train, test))
  on_disk = json.loads((tmp_path / 'summary.json').read_text())
  for key in ('linear_top1', 'knn_top1', 'random_init_linear_top1', 'raw_pixels_linear_top1',
              'diag/rankme', 'diag/logdet_entropy', 'collapsed'):
    assert key in on_disk, key
  # LiDAR beside RankMe (projector z, LIDAR_VIEWS views of each image; backbone h) and α-ReQ (z;
  # the backbone's evaluation features): 1 ≤ LiDAR ≤ min(D, N − 1), here N = 32 test images.
  assert on_disk['diag/lidar_views'] == LIDAR_VIEWS == 4
  for key in ('diag/lidar', 'diag/backbone/lidar'):
    assert 1.0 <= on_disk[key] <= 31.0, (key, on_disk[key])
  for key in ('diag/alpha_req', 'diag/backbone/alpha_req'):
    assert math.isfinite(on_disk[key]), (key, on_disk[key])
  assert 0.0 <= summary['linear_top1'] <= 100.0
  # The blobs in tiny_arrays make the classes linearly separable in pixel space.
  assert summary['raw_pixels_linear_top1'] > 90.0
  for name in on_disk['plots']:
    assert (tmp_path / name).stat().st_size > 1000
  report = (tmp_path / 'report.md').read_text()
  assert f"{summary['linear_top1']:.2f}" in report or 'linear_top1' in report
  for key in ('diag/rankme', 'diag/lidar', 'diag/alpha_req', 'diag/backbone/alpha_req'):
    assert f'| {key} |' in report
