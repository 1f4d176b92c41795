"""Online diagnostics during pretraining: logged at the right steps, finite, no recompiled step; and
collapse flagged on VICReg without its variance and covariance terms (real Fashion-MNIST)."""
import json
import logging
import math

import jax
import numpy as np
import pytest

from jaxssl.errors import ConfigError
from jaxssl.data.builders import FASHION_MNIST_DIR, read_fashion_mnist
from jaxssl.evaluate import diagnostics as dg
from jaxssl.evaluate.online_diagnostics import is_due, make_diagnostics_fn
from jaxssl.evaluate.plots import plot_online_diagnostics
from jaxssl.run_dir import read_metrics
from jaxssl.evaluate.report import describe
from jaxssl.evaluate.run import evaluate_workdir
from jaxssl.train import pretrain
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config


def test_is_due_at_the_first_log_point_after_each_multiple():
  log_points = lambda log_every, total: sorted({*range(log_every, total + 1, log_every), total})
  due = lambda every, log_every, total: [
      s for s in log_points(log_every, total)
      if is_due(s, every=every, log_every=log_every, total_steps=total)]
  assert due(4, 2, 10) == [4, 8, 10]
  assert due(5, 2, 10) == [6, 10]  # 5 is not a log point: the next one (6) runs them
  assert due(0, 2, 10) == []
  assert make_diagnostics_fn(tiny_config('diagnostics_every=0'), {})(5, None, None) == {}
  with pytest.raises(ConfigError, match='diagnostics_every'):
    make_diagnostics_fn(tiny_config('diagnostics_every=-1'), {})



def test_collapse_warning_thresholds():
  rng = np.random.default_rng(3)
  key = jax.random.key(0)
  gauss = rng.normal(size=(256, 32)).astype(np.float32)
  assert dg.collapse_warning(dg.diagnose(gauss, gauss + 0.1, key)) == (False, "")
  # Shrunk towards a point: scale-free RankMe / uniformity unchanged, embedding_std 0.01.
  small = dg.diagnose(gauss * 0.01, gauss * 0.01, key)
  assert small["rankme"] == pytest.approx(dg.diagnose(gauss, gauss, key)["rankme"], rel=1e-4)
  warning, reason = dg.collapse_warning(small)
  assert warning and "embedding_std" in reason and not dg.is_collapsed(small)[0]
  # Two of 32 dimensions used: RankMe ≈ 2 < 3.2 = 10 % of min(N, D), above is_collapsed's 1.5.
  flat = np.c_[gauss[:, :2] * 3, np.zeros((256, 30), np.float32)]
  warning, reason = dg.collapse_warning(dg.diagnose(flat, flat, key))
  assert warning and "RankMe" in reason and not dg.is_collapsed(dg.diagnose(flat, flat, key))[0]
  # A constant batch: complete collapse; singular covariance of rank 0: no Gaussian entropy (NaN,
  # described as such), and a pairwise excess entropy of 0 (every row is the same component).
  const = dg.diagnose(np.ones((256, 32), np.float32), np.ones((256, 32), np.float32), key)
  assert math.isnan(const["gaussian_entropy"]) and const["gaussian_rank"] == 0
  assert describe("gaussian_entropy", const["gaussian_entropy"], const) == (
      "singular covariance (rank 0 of 32)")
  assert const["pairwise_kl_excess_entropy"] == pytest.approx(0.0, abs=1e-4)
  assert dg.collapse_warning(const)[0]
  # Rank 2 of 32 (the `flat` batch above): named, not -inf.
  flat_diag = dg.diagnose(flat, flat, key)
  assert flat_diag["gaussian_rank"] == 2
  assert describe("diag/gaussian_entropy", flat_diag["gaussian_entropy"],
                     {f"diag/{k}": v for k, v in flat_diag.items()}) == (
                         "singular covariance (rank 2 of 32)")

def _compiles(records, name):
  return sum(1 for r in records if r.getMessage().startswith(f'Compiling jit({name}) '))


def test_online_diagnostics_are_logged_at_their_steps_and_the_step_compiles_once(tmp_path, caplog):
  config = tiny_config('diagnostics_every=3', 'epochs=2.0')  # 8 steps, a log point every step
  with jax.log_compiles(), caplog.at_level(logging.WARNING):
    pretrain(config, tmp_path, train_arrays=tiny_arrays(64), mesh=make_mesh(1), checkpoints=False)
  assert _compiles(caplog.records, 'train_step') == 1
  assert _compiles(caplog.records, 'online_diagnostics') == 1

  records = read_metrics(tmp_path / 'metrics.jsonl')
  assert [r['step'] for r in records] == list(range(1, 9))
  with_diag = [r['step'] for r in records if any(k.startswith('diag/') for k in r)]
  assert with_diag == [3, 6, 8]  # every 3 steps and the last one
  for r in records:
    if r['step'] in with_diag:
      assert 'loss' in r and 'objective/variance' in r  # beside the loss terms
      for space in ('backbone', 'projector'):
        for name in dg.CHEAP_KEYS:
          assert math.isfinite(r[f'diag/{space}/{name}']), (r['step'], space, name)
        assert r[f'diag/{space}/finite'] == 1.0
        assert 1.0 <= r[f'diag/{space}/rankme'] <= 16.0  # ≤ min(N = 16, D)
      assert r['diag/collapse_warning'] in (0.0, 1.0)
  png = plot_online_diagnostics(tmp_path / 'metrics.jsonl', tmp_path / 'online.png')
  assert (tmp_path / 'online.png').stat().st_size > 1000 and png.endswith('online.png')


def _fashion_subset(split, num):
  images, labels = read_fashion_mnist(FASHION_MNIST_DIR, split)
  return images[:num], labels[:num].astype(np.int32)


def test_collapse_is_flagged_without_variance_and_covariance_terms(tmp_path):
  """VICReg with std_coeff = cov_coeff = 0 (invariance only) collapses; the full VICReg does not.

  A tiny ConvNet on 1024 real Fashion-MNIST images, 96 steps each.
  """
  train, test = _fashion_subset('train', 1024), _fashion_subset('test', 256)
  base = ('batch_size=32', 'epochs=3.0', 'log_every=24', 'diagnostics_every=24',
          'checkpoint_every=1000', 'optimizer.lr=0.04', 'eval.batch_size=128', 'eval.knn_k=(5,)')
  final = {}
  for name, extra in (('normal', ()), ('collapsed', ('objective.kwargs.std_coeff=0.0',
                                                     'objective.kwargs.cov_coeff=0.0'))):
    config = tiny_config(*base, *extra)
    result = pretrain(config, tmp_path / name, train_arrays=train, mesh=make_mesh(1))
    final[name] = read_metrics(tmp_path / name / 'metrics.jsonl')[-1]
    summary = evaluate_workdir(tmp_path / name, arrays=(train, test), state=result.state,
                               config=config)
    on_disk = json.loads((tmp_path / name / 'summary.json').read_text())
    assert on_disk['collapse_warning'] == (name == 'collapsed'), summary
    assert 'collapse_warning' in (tmp_path / name / 'report.md').read_text()
    assert 'online_diagnostics.png' in on_disk['plots']
  normal, collapsed = final['normal'], final['collapsed']
  assert collapsed['diag/collapse_warning'] == 1.0 and normal['diag/collapse_warning'] == 0.0
  # The invariance term alone shrinks z towards one point: entropy falls; the scale-free RankMe
  # does not see it (see `diagnostics.collapse_warning`).
  assert collapsed['diag/projector/logdet_entropy'] < 0.2 * normal['diag/projector/logdet_entropy']
  assert collapsed['diag/projector/embedding_std'] < 0.1 <= normal['diag/projector/embedding_std']
  assert (collapsed['diag/projector/pairwise_kl_excess_entropy']
          < normal['diag/projector/pairwise_kl_excess_entropy'] - 1.0)
