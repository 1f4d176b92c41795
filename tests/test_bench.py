"""`jaxssl bench train`: what it reports (the speed figures are in docs/performance.md)."""
import glob

import pytest

from jaxssl.bench import training as bench

from helpers import tiny_arrays, tiny_config


def test_time_train_step_reports_rates_flops_and_writes_a_profile(tmp_path):
  config = tiny_config()
  result = bench.time_train_step(config, steps=2, warmup=1, train_arrays=tiny_arrays(),
                                 profile_dir=str(tmp_path / 'profile'))
  assert result['batch_size'] == config.batch_size
  assert result['pairs_per_second'] > 0 and result['step_ms'] > 0
  # XLA's analytic count of the step as written: at least forward + two backward products of the
  # encoder's convolutions, counted by hand (space-to-depth 28x28x1 -> 14x14x4; 3x3 convs 4->8 at
  # 14x14 and 8->16 at stride 2 -> 7x7), for 2 views x 16 images.
  assert config.model.encoder_kwargs.space_to_depth == 2
  conv_macs = 14 * 14 * 9 * 4 * 8 + 7 * 7 * 9 * 8 * 16
  assert result['gflops_per_step'] * 1e9 >= 3 * 2 * conv_macs * 2 * config.batch_size
  assert result['device_gather_pairs_per_second'] > 0
  assert result['mfu'] is None  # no known peak for the CPU and none given in the config
  assert glob.glob(str(tmp_path / 'profile' / '**' / '*.xplane.pb'), recursive=True)


def test_model_step_config_keeps_only_normalisation():
  config = tiny_config()
  stripped = bench.model_step_config(config)
  for name in ('view1', 'view2'):
    assert set(stripped.augment[name]) == {'normalize'}
    assert stripped.augment[name]['normalize']['std'] is not None
  assert config.augment.view1 == tiny_config().augment.view1  # the original is untouched


@pytest.mark.parametrize('kind, expected', [('NVIDIA H100 80GB HBM3', 989e12), ('cpu', None)])
def test_peak_flops_by_device_kind(kind, expected):
  device = type('Device', (), {'device_kind': kind})()
  assert bench.peak_flops(device) == expected


def test_bench_compile_script_prints_a_row_per_model(capsys):
  import importlib.util
  from pathlib import Path
  path = Path(__file__).parents[1] / 'experiments' / 'bench_compile.py'
  spec = importlib.util.spec_from_file_location('bench_compile', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert module.main(['--models', 'demo']) == 0
  rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith('| convnet')]
  assert len(rows) == 1 and float(rows[0].split('|')[4]) > 0  # compile seconds
  with pytest.raises(SystemExit):
    module.main(['--models', 'alexnet'])
