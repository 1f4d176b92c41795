"""`jaxssl bench train`: throughput of the full training step, side by side with PyTorch.

Times the full jitted step (on-device augmentation + forward/backward + update + online probe) with
compilation excluded (and reported), the input pipeline alone (device-resident gather, and the grain
host loader), and -- when PyTorch is installed -- a faithful PyTorch twin of the same model and
objective in the same invocation, printing the ratio. MFU uses XLA's analytic FLOP count of the
lowered step and the device's peak (known accelerators, or `--config` field `bench_peak_flops`).
"""
import copy
import subprocess
import sys
import time
from pathlib import Path

import jax
import ml_collections
import numpy as np

from jaxssl import data, platform
from jaxssl.augment import view_config
from jaxssl.train.loop import setup

# Dense peak FLOP/s per device for MFU (bf16 where the hardware has it).
PEAK_FLOPS = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'TPU v4': 275e12, 'TPU v5': 197e12}

TORCH_TWIN = Path(__file__).with_name('torch_twin.py')


def peak_flops(device) -> float | None:
  for name, flops in PEAK_FLOPS.items():
    if name.lower() in device.device_kind.lower():
      return flops
  return None


def _arrays(config):
  try:
    return data.load_arrays(config.dataset, config.train_split, data_dir=config.data_dir or None)
  except data.DatasetNotPreparedError:
    side = 28 if 'mnist' in config.dataset else 32
    channels = 1 if 'mnist' in config.dataset else 3
    print(f'({config.dataset} not prepared: timing on random images of its shape)')
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (10 * config.batch_size, side, side, channels), np.uint8),
            rng.integers(0, config.num_classes, 10 * config.batch_size).astype(np.int32))


def _run_steps(parts, stream, steps):
  """`steps` training steps on the next batches of `stream`, the state kept in `parts`."""
  for _ in range(steps):
    parts.state, metrics = parts.step(parts.state, next(stream))
  jax.block_until_ready(metrics)


def _seconds_per_step(parts, stream, steps):
  t0 = time.perf_counter()
  _run_steps(parts, stream, steps)
  return (time.perf_counter() - t0) / steps


def model_step_config(config):
  """The config with augmentation reduced to normalisation: the model step alone, as the PyTorch
  anchors time it (pre-made views); the online probe stays."""
  config = copy.deepcopy(config)
  views = dict(config.augment)
  for name in ('view1', 'view2'):
    views[name] = {'normalize': dict(view_config(config.augment[name])).get('normalize')}
  config.augment = ml_collections.ConfigDict(views)
  return config


def time_train_step(config, steps: int = 20, warmup: int = 3, train_arrays=None,
                    profile_dir: str | None = None) -> dict:
  """Pairs per second of the full step, compile time, and the input pipeline's rates.

  `profile_dir`: also trace `steps` further steps with `jax.profiler` there (open it with
  TensorBoard's profile plugin or XProf).
  """
  arrays = train_arrays if train_arrays is not None else _arrays(config)
  t0 = time.perf_counter()
  parts = setup(config, train_arrays=arrays)
  setup_seconds = time.perf_counter() - t0
  stream = parts.batches(0)  # the batches the training loop feeds, epoch after epoch
  batch = next(stream)
  t0 = time.perf_counter()
  lowered = parts.step.lower(parts.state, batch)
  lowered.compile()
  compile_seconds = time.perf_counter() - t0
  # FLOPs of the program as written (before XLA's passes): on GPU the compiled module hands the
  # convolutions to cuDNN custom calls, which its cost analysis does not count (it reported 41
  # GFLOP/step for ResNet-18 at batch 256 on an H200, against 1530 here).
  cost = lowered.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get('flops', 0.0)) if cost else 0.0
  _run_steps(parts, stream, warmup)
  step_seconds = _seconds_per_step(parts, stream, steps)
  if profile_dir:
    with jax.profiler.trace(profile_dir, create_perfetto_trace=True):
      _run_steps(parts, stream, steps)

  # Input pipeline alone: the device-resident gather the loop uses...
  t0 = time.perf_counter()
  for _ in range(steps):
    out = next(stream)
  jax.block_until_ready(out)
  gather_seconds = (time.perf_counter() - t0) / steps
  # ...and the grain host loader (decode + batch) that streams data sets too large for memory.
  grain_rate = None
  try:
    source = data.load_source(config.dataset, config.train_split, data_dir=config.data_dir or None)
    it = iter(data.make_loader(source, global_batch_size=config.batch_size, seed=0))
    next(it)
    t0 = time.perf_counter()
    for _ in range(10):
      next(it)
    grain_rate = 10 * config.batch_size / (time.perf_counter() - t0)
  except data.DatasetNotPreparedError:
    pass
  device = jax.devices()[0]
  peak = config.get('bench_peak_flops', 0.0) or peak_flops(device)
  return {
      'device': f'{jax.device_count()}x {device.device_kind} ({device.platform})',
      'batch_size': config.batch_size,
      'pairs_per_second': config.batch_size / step_seconds,
      'step_ms': step_seconds * 1e3,
      'compile_seconds': compile_seconds,
      'setup_seconds': setup_seconds,
      'gflops_per_step': flops / 1e9,
      'mfu': (flops / step_seconds / (peak * jax.device_count())) if peak and flops else None,
      'device_gather_pairs_per_second': config.batch_size / gather_seconds,
      'grain_loader_images_per_second': grain_rate,
      # Pairs per second of `n` more steps of the same compiled step (repeated rounds).
      'more': lambda n=steps: config.batch_size / _seconds_per_step(parts, stream, n),
  }


def torch_twin(config, mode: str, steps: int = 20) -> float | None:
  """Pairs/s of `torch_twin.py` (PyTorch twin of the ConvNet demo model), `mode` 'eager' or
  'compile', in a subprocess; None without PyTorch or for other encoders."""
  try:
    import torch  # noqa: F401
  except ImportError:
    return None
  if config.model.encoder != 'convnet':
    print('(PyTorch twin exists for the convnet demo model only; for the GPU ResNet-18 anchor '
          'run experiments/bench_gpu.sh)')
    return None
  kw = config.model.encoder_kwargs
  stages = [list(s) for s in kw.get('stages', ((32, 1), (64, 2), (128, 2), (256, 2)))]
  cmd = [sys.executable, str(TORCH_TWIN), mode, str(config.batch_size), str(steps),
         repr(stages), repr(list(config.model.projector)), str(kw.get('space_to_depth', 1)),
         str(kw.get('pool_grid', 1)), kw.get('downsample', 'conv')]
  out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
  line = [l for l in out.stdout.splitlines() if l.startswith('pairs_per_second')]
  if out.returncode or not line:
    print(f'(torch {mode} failed: {out.stderr.strip()[-300:]})')
    return None
  return float(line[0].split()[1])


def bench_train(config, steps: int = 20, torch_mode: str = 'auto',
                profile_dir: str | None = None, rounds: int = 3) -> dict:
  """Full step, model step alone (no augmentation), and the PyTorch twin, in one invocation.

  The jaxssl steps and PyTorch eager are timed in `rounds` alternating rounds of `steps` steps and
  compared by their medians: on a shared 2-core machine single rounds vary by ±10-15 %.
  torch.compile runs once, last (its compilation alone takes ~30 s).
  """
  arrays = _arrays(config)
  result = time_train_step(config, steps=steps, train_arrays=arrays, profile_dir=profile_dir)
  model_only = time_train_step(model_step_config(config), steps=steps, train_arrays=arrays)
  use_torch = torch_mode != 'no'
  rates = {'full': [result['pairs_per_second']], 'model': [model_only['pairs_per_second']],
           'eager': []}
  for r in range(rounds):
    if r:
      rates['full'].append(result['more']())
      rates['model'].append(model_only['more']())
    if use_torch:
      eager = torch_twin(config, 'eager', steps)
      if eager is None:
        if torch_mode == 'yes':
          raise RuntimeError('PyTorch is not installed: pip install torch==2.13.0')
        use_torch = False
      else:
        rates['eager'].append(eager)
  median = {k: float(np.median(v)) for k, v in rates.items() if v}
  result['pairs_per_second'] = median['full']
  result['step_ms'] = 1e3 * config.batch_size / median['full']
  result['model_step_pairs_per_second'] = median['model']
  result['rounds'] = rates
  result['host_memory_kept'] = platform.applied()
  print(f"jaxssl full step  {result['device']}  batch {result['batch_size']}  "
        f"(median of {rounds} rounds of {steps} steps; freed host memory "
        f"{'kept' if result['host_memory_kept'] else 'returned to the system'}, see jaxssl/platform.py)")
  print(f"  {result['pairs_per_second']:9.0f} pairs/s   {result['step_ms']:.1f} ms/step   "
        f"compile {result['compile_seconds']:.1f} s   {result['gflops_per_step']:.1f} GFLOP/step"
        + (f"   MFU {100 * result['mfu']:.1f}%" if result['mfu'] else '')
        + f"   rounds {[round(x) for x in rates['full']]}")
  print(f"  model step alone (views pre-made, no augmentation): {median['model']:.0f} pairs/s   "
        f"{1e3 * config.batch_size / median['model']:.1f} ms/step   "
        f"rounds {[round(x) for x in rates['model']]}")
  if profile_dir:
    print(f'  profile of {steps} steps written to {profile_dir} (tensorboard --logdir {profile_dir})')
  print(f"  input pipeline: device gather {result['device_gather_pairs_per_second']:.0f} pairs/s "
        f"({result['device_gather_pairs_per_second'] / result['pairs_per_second']:.0f}x the step)"
        + (f"; grain host loader {result['grain_loader_images_per_second']:.0f} images/s "
           f"({result['grain_loader_images_per_second'] / result['pairs_per_second']:.1f}x)"
           if result['grain_loader_images_per_second'] else ''))
  if 'eager' in median:
    twin = {'eager': median['eager']}
    compiled = torch_twin(config, 'compile', steps)
    if compiled is not None:
      twin['compile'] = compiled
    for mode, rate in twin.items():
      extra = f"   rounds {[round(x) for x in rates['eager']]}" if mode == 'eager' else ''
      print(f"  PyTorch {mode:8s} model step {rate:9.0f} pairs/s   jaxssl/torch = "
            f"{result['pairs_per_second'] / rate:.2f}x full step, "
            f"{result['model_step_pairs_per_second'] / rate:.2f}x model step{extra}")
      result[f'torch_{mode}_pairs_per_second'] = rate
  result.pop('more')
  return result
