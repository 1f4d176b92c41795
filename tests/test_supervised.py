"""Supervised baseline: the encoder trained end to end on labels beats chance; `evaluate` wiring."""
import json

import numpy as np
import pytest

from jaxssl.cli import _parser
from jaxssl.data.builders import FASHION_MNIST_DIR, read_fashion_mnist
from jaxssl.evaluate.run import evaluate_workdir
from jaxssl.evaluate.supervised import supervised_baseline
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
  state = setup(config, train_arrays=train)['state']  # the evaluation needs some encoder state
  summary = evaluate_workdir(tmp_path, state=state, config=config, arrays=(train, test),
                             supervised_baseline=True)
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
