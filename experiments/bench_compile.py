"""Compile time of the full training step for each encoder the configs ship, on this machine.

  python experiments/bench_compile.py                 # every model below (CPU: ~5 min)
  python experiments/bench_compile.py --models demo   # one

Each row builds the config's training state and compiles its jitted step (augmentation, forward,
backward, optimizer update, online probe) with `jaxssl.bench.training.time_train_step`, on random
images of the data set's shape at batch 8 (XLA's compile time hardly depends on the batch), then times two
steps. Prints a markdown table: model, config, image size, parameters, compile seconds, GFLOP/step.
"""
import argparse
import sys
from pathlib import Path

import jax
import ml_collections
import numpy as np

from jaxssl.bench.training import time_train_step
from jaxssl.config import load_config

CONFIGS = Path(__file__).resolve().parent / 'configs'
MODELS = {  # name: (config, overrides, image side, channels)
    'demo': ('fmnist.py:vicreg', (), 28, 1),
    'resnet18_cifar': ('cifar10.py:vicreg', (), 32, 3),
    'resnet18_imagenet': ('imagenet100.py:corinfomax', (), 224, 3),
    'resnet50_imagenet': ('imagenet100.py:corinfomax_r50', (), 224, 3),
    'vit_s16_imagenet': ('imagenet100.py:vicreg', ('model.encoder="vit_s16"',), 224, 3),
}


def compile_row(name: str, batch_size: int = 8) -> dict:
  path, overrides, side, channels = MODELS[name]
  config = load_config(str(CONFIGS / path), (f'batch_size={batch_size}',
                                             'input_pipeline="memory"') + overrides)
  if config.model.encoder.startswith('vit'):
    config.model.encoder_kwargs = ml_collections.ConfigDict()  # no ResNet stem option
  rng = np.random.default_rng(0)
  arrays = (rng.integers(0, 256, (2 * batch_size, side, side, channels), np.uint8),
            rng.integers(0, config.num_classes, 2 * batch_size).astype(np.int32))
  result = time_train_step(config, steps=2, warmup=1, train_arrays=arrays)
  return dict(name=name, config=path, side=side, encoder=config.model.encoder,
              compile_seconds=result['compile_seconds'], setup_seconds=result['setup_seconds'],
              gflops=result['gflops_per_step'])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--models', default=','.join(MODELS),
                      help=f'comma-separated subset of {sorted(MODELS)}')
  args = parser.parse_args(argv)
  names = [n for n in args.models.split(',') if n]
  unknown = sorted(set(names) - set(MODELS))
  if unknown:
    parser.error(f'unknown models {unknown}; valid: {sorted(MODELS)}')
  device = jax.devices()[0]
  print(f'| model | config | image | compile (s) | set-up (s) | GFLOP/step (batch 8) | '
        f'device: {jax.device_count()}x {device.device_kind} |')
  print('|---|---|---|---|---|---|---|')
  for name in names:
    row = compile_row(name)
    print(f"| {row['encoder']} | {row['config']} | {row['side']}² | {row['compile_seconds']:.1f} "
          f"| {row['setup_seconds']:.1f} | {row['gflops']:.1f} | |", flush=True)
  return 0


if __name__ == '__main__':
  from jaxssl.platform import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  sys.exit(main())
