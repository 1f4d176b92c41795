"""Supervised baseline: the encoder trained end to end on labels beats chance; `evaluate` wiring;
early stopping on a held-out part of the training split."""
import json
import time

import numpy as np
import pytest

from jaxssl.cli import _parser
from jaxssl.data.builders import FASHION_MNIST_DIR, read_fashion_mnist
from jaxssl.evaluate.run import evaluate_workdir
from jaxssl.augment import view_config
from jaxssl.evaluate.supervised import BASELINE, supervised_baseline, supervised_view, train_supervised
from jaxssl.train import setup

from helpers import tiny_config


def _fashion_subset(split, num):
  images, labels = read_fashion_mnist(FASHION_MNIST_DIR, split)
  return images[:num], labels[:num].astype(np.int32)


def test_supervised_baseline_beats_chance_and_lands_in_the_summary_and_report(tmp_path):
  # Real Fashion-MNIST (tiny_arrays codes the class by a blob's position, which the view-1
  # crop and flip scramble). 1024 images, 96 steps of a tiny ConvNet (16 features).
  train, test = _fashion_subset('train', 1024), _fashion_subset('test', 256)
  config = tiny_config('batch_size=32', 'epochs=3.0', 'optimizer.lr=0.16', 'eval.batch_size=128',
                       'eval.knn_k=(5,)')
  state = setup(config, train_arrays=train).state  # the evaluation needs some encoder state
  summary = evaluate_workdir(tmp_path, state=state, config=config, arrays=(train, test),
                             supervised_baseline=dict(epochs=3.0, holdout=0.0, patience=None))
  on_disk = json.loads((tmp_path / 'summary.json').read_text())
  assert on_disk['supervised_top1'] == pytest.approx(summary['supervised_top1'])
  assert '| supervised_top1 |' in (tmp_path / 'report.md').read_text()
  # Chance is 10 % top-1 and 50 % top-5; this short run reaches 32.8 % and 84.8 % (CPU).
  assert summary['supervised_top1'] > 25.0
  assert summary['supervised_top5'] >= max(summary['supervised_top1'], 70.0)
  assert summary['supervised_train_loss'] < 2.0  # nats; log 10 = 2.30 at chance


def test_supervised_baseline_bad_inputs_and_cli_flag():
  config = tiny_config()
  images = np.zeros((32, 28, 28, 1), np.uint8)
  with pytest.raises(ValueError, match='num_classes'):
    supervised_baseline(config, (images, np.full(32, 10)), (images, np.zeros(32, int)))
  with pytest.raises(ValueError, match=r'integers of shape \(32,\)'):
    supervised_baseline(config, (images, np.zeros(31, int)), (images, np.zeros(32, int)))
  with pytest.raises(ValueError, match='epochs'):
    supervised_baseline(config, (images, np.zeros(32, int)), (images, np.zeros(32, int)), epochs=0)
  args = _parser().parse_args(['evaluate', '--workdir', 'w', '--supervised-baseline'])
  assert args.supervised_baseline and not args.baselines
  with pytest.raises(ValueError, match='patience'):  # nothing held out to stop on
    supervised_baseline(config, (images, np.zeros(32, int)), (images, np.zeros(32, int)),
                        holdout=0.0)


def test_supervised_view_keeps_only_a_mild_crop_and_the_flip():
  config = tiny_config()
  view = supervised_view(config)
  ssl_view = view_config(config.augment.view1)
  assert view['crop']['scale'] == (max(0.8, ssl_view['crop']['scale'][0]), 1.0)
  assert view['flip'] == ssl_view['flip']
  for name in ('color_jitter', 'blur', 'solarize', 'grayscale'):
    if name in view:
      assert view[name]['p'] == 0.0


def test_cli_supervised_baseline_defaults_to_the_early_stopped_protocol(tmp_path, monkeypatch):
  # `jaxssl evaluate --supervised-baseline` hands evaluate_workdir the converged protocol's
  # options: the library defaults (BASELINE), or the flags; --supervised-holdout 0 turns early
  # stopping off.
  from jaxssl import cli  # pylint: disable=import-outside-toplevel
  from jaxssl.evaluate import run  # pylint: disable=import-outside-toplevel
  seen = []
  monkeypatch.setattr(run, 'evaluate_workdir', lambda workdir, **kw: seen.append(kw) or {})
  monkeypatch.setattr(run, 'print_summary', lambda summary: None)
  for flags in ([], ['--supervised-epochs', '7', '--supervised-patience', '2'],
                ['--supervised-holdout', '0']):
    assert cli.main(['evaluate', '--workdir', str(tmp_path), '--supervised-baseline'] + flags) == 0
  assert [kw['supervised_baseline'] for kw in seen] == [
      True, dict(epochs=7.0, patience=2), dict(holdout=0.0, patience=None)]
  assert BASELINE == dict(epochs=20.0, holdout=0.1, patience=5)


def _replay_early_stopping(tops, patience, max_epochs):
  """(epochs run, index of the best epoch) that early stopping must give for held-out top-1s."""
  best, since = 0, 0
  for i in range(1, len(tops)):
    if tops[i] > tops[best]:
      best, since = i, 0
    else:
      since += 1
    if since >= patience:
      return i + 1, best
  return min(len(tops), max_epochs), best


def test_early_stopping_on_held_out_images_keeps_the_best_epoch():
  # 640 real Fashion-MNIST images, 25 % held out (160): 480 trained on, batch 32 = 15 steps/epoch.
  train, test = _fashion_subset('train', 640), _fashion_subset('test', 256)
  config = tiny_config('batch_size=32', 'optimizer.lr=0.16', 'optimizer.warmup_epochs=0.0',
                       'eval.batch_size=128')
  result = train_supervised(config, train, test, epochs=6.0, seed=3, holdout=0.25, patience=2)
  assert (result.num_train, result.num_holdout) == (480, 160)
  curve = result.curve
  assert [p['epoch'] for p in curve] == [float(e) for e in range(1, len(curve) + 1)]
  assert result.epochs_run == curve[-1]['epoch'] and result.epochs == 6.0
  tops = [p['holdout_top1'] for p in curve]
  ran, best = _replay_early_stopping(tops, patience=2, max_epochs=6)
  assert len(curve) == ran and result.stopped_early == (ran < 6)
  assert result.best_epoch == curve[best]['epoch'] and result.holdout_top1 == max(tops)
  assert result.train_loss == curve[best]['train_loss']
  # Learning happened: the loss fell and the held-out and test top-1 beat chance (10 %) well.
  # Measured on CPU: held-out 35-60 %, test within a few points of it.
  assert curve[-1]['train_loss'] < curve[0]['train_loss']
  assert all(0 < p['holdout_loss'] < 10 for p in curve)
  assert result.holdout_top1 > 25.0 and result.test_top1 > 25.0
  summary = result.summary()
  assert summary['supervised_best_epoch'] == result.best_epoch
  assert summary['supervised_top1'] == result.test_top1


def test_early_stopping_when_nothing_improves_stops_after_patience_epochs():
  # lr = 1e-30: the weights never change (updates below float32's resolution); only BN's running
  # statistics move, and settle within a few epochs. So the held-out top-1 stops improving and
  # training ends long before its budget of 20 epochs, exactly `patience` epochs after its best.
  train, test = _fashion_subset('train', 160), _fashion_subset('test', 64)
  config = tiny_config('batch_size=32', 'optimizer.lr=1e-30', 'optimizer.weight_decay=0.0',
                       'optimizer.warmup_epochs=0.0', 'eval.batch_size=64')
  result = train_supervised(config, train, test, epochs=20.0, seed=0, holdout=0.2, patience=3)
  tops = [p['holdout_top1'] for p in result.curve]
  ran, best = _replay_early_stopping(tops, patience=3, max_epochs=20)
  assert result.stopped_early and len(tops) == ran < 20 and ran - 1 - best == 3
  assert result.best_epoch == best + 1.0
  losses = [p['train_loss'] for p in result.curve]
  assert max(losses) - min(losses) < 0.1  # nats: nothing was learned (chance: log 10 = 2.30)
  assert 'supervised_best_epoch' not in supervised_baseline(config, train, test, epochs=1.0,
                                                            holdout=0.0, patience=None)
  # The default: early-stopped on a held-out 10 % (16 of these 160 images).
  default = supervised_baseline(config, train, test, epochs=2.0)
  assert default['supervised_epochs_run'] == 2.0 and 'supervised_holdout_top1' in default


def test_holdout_and_patience_errors():
  config = tiny_config()
  images = np.zeros((64, 28, 28, 1), np.uint8)
  arrays = (images, np.zeros(64, int))
  with pytest.raises(ValueError, match='holdout must be a fraction'):
    train_supervised(config, arrays, arrays, holdout=1.0)
  with pytest.raises(ValueError, match='patience'):
    train_supervised(config, arrays, arrays, patience=2)
  with pytest.raises(ValueError, match='holds out some'):
    train_supervised(config, arrays, arrays, holdout=0.001)
  with pytest.raises(ValueError, match='Unknown augmentation preset'):  # `view` is what is used
    train_supervised(config, arrays, arrays, view='no_such_view')


def test_steps_per_second_excludes_the_compiling_step():
  train, test = _fashion_subset('train', 96), _fashion_subset('test', 32)
  config = tiny_config('batch_size=32', 'eval.batch_size=32')
  one = train_supervised(config, train, test, epochs=1 / 3, seed=0)  # a single step: no rate
  assert one.curve[0]['epoch'] == pytest.approx(1 / 3) and np.isnan(one.steps_per_second)
  start = time.perf_counter()
  many = train_supervised(config, train, test, epochs=3.0, seed=0)  # 9 steps, 8 of them timed
  seconds = time.perf_counter() - start
  # A tiny ConvNet step takes milliseconds, its compilation seconds: the rate leaves the
  # compilation out, so it is far above the call's 9 steps / wall time (measured: 30-100x).
  assert 5 * 9 / seconds < many.steps_per_second < 1e5
