"""GPU benchmark: ResNet-18 (CIFAR stem) + 2048-2048-2048 projector + VICReg, bf16.

  python experiments/bench_gpu.py --batches 256,1024 --steps 30 --profile-dir /tmp/prof

For each batch: the full step (on-device augmentation + forward/backward + LARS update + online
probe) and the model step alone (views pre-made, as the PyTorch twin times it), with
`jaxssl.bench.training.time_train_step` (compile excluded; MFU from XLA's FLOP count and the
device's dense bf16 peak). With `--profile-dir`, traces the full step at the largest batch and prints where
the GPU time goes (kernels by total time, and the share of the step the GPU was busy). Random
images of CIFAR-10's shape unless CIFAR-10 is prepared. The PyTorch twin for the ratio is
`experiments/torch_vicreg_step.py` (run it on the same GPU; `experiments/bench_gpu.sh` runs both).
Figures: docs/performance.md.
"""
import argparse
import collections
import glob
import gzip
import json
import sys

import jax
import numpy as np

from jaxssl.bench.training import model_step_config, time_train_step
from jaxssl.config import load_config

CONFIG = 'experiments/configs/cifar10.py:vicreg'


def gpu_time_by_kernel(profile_dir: str, steps: int, top: int = 20):
  """(busy ms per step, [(kernel, ms per step)]) from the perfetto trace of `steps` steps."""
  paths = glob.glob(f'{profile_dir}/**/*.trace.json.gz', recursive=True)
  if not paths:
    return None, []
  with gzip.open(sorted(paths)[-1]) as f:
    events = json.load(f)['traceEvents']
  names = {e['pid']: e['args'].get('name', '') for e in events
           if e.get('ph') == 'M' and e.get('name') == 'process_name'}
  gpu_pids = {pid for pid, name in names.items() if 'gpu' in name.lower()}
  kernels = collections.Counter()
  spans = []
  for e in events:
    if e.get('ph') == 'X' and e.get('pid') in gpu_pids and 'dur' in e:
      kernels[e['name']] += e['dur'] / 1e3 / steps
      spans.append((e['ts'], e['ts'] + e['dur']))
  busy, end = 0.0, -np.inf  # union of kernel intervals (streams overlap)
  for start, stop in sorted(spans):
    if stop > end:
      busy += stop - max(start, end)
      end = stop
  return busy / 1e3 / steps, kernels.most_common(top)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batches', default='256,1024')
  parser.add_argument('--steps', type=int, default=30)
  parser.add_argument('--dtype', default='bfloat16')
  parser.add_argument('--profile-dir', default=None)
  parser.add_argument('--json', default=None, help='write the results here')
  args = parser.parse_args(argv)
  print(f'jax {jax.__version__} on {jax.devices()}', flush=True)
  rows = []
  batches = [int(b) for b in args.batches.split(',')]
  for batch in batches:
    config = load_config(CONFIG, (f'batch_size={batch}', f'model.dtype="{args.dtype}"',
                                  'input_pipeline="memory"'))
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (8 * batch, 32, 32, 3), np.uint8),
              rng.integers(0, 10, 8 * batch).astype(np.int32))
    for kind, cfg in (('full step', config), ('model step', model_step_config(config))):
      profile = args.profile_dir if (kind == 'full step' and batch == max(batches)) else None
      try:
        r = time_train_step(cfg, steps=args.steps, train_arrays=arrays, profile_dir=profile)
      except Exception as e:  # keep the other rows: one failure must not cost the GPU session
        print(f'batch {batch} {kind}: FAILED {type(e).__name__}: {str(e)[:400]}', flush=True)
        continue
      r.pop('more')
      r.update(kind=kind, dtype=args.dtype)
      rows.append(r)
      mfu = f"{100 * r['mfu']:.1f}%" if r['mfu'] else 'n/a'
      print(f"batch {batch:5d} {kind:10s} {r['pairs_per_second']:9.0f} pairs/s "
            f"{r['step_ms']:7.2f} ms/step  MFU {mfu}  {r['gflops_per_step']:.0f} GFLOP/step  "
            f"compile {r['compile_seconds']:.1f} s  gather {r['device_gather_pairs_per_second']:.0f}"
            ' pairs/s', flush=True)
      if profile:
        busy, top = gpu_time_by_kernel(profile, args.steps)
        if busy is not None:
          print(f'  profile: GPU busy {busy:.2f} ms of {r["step_ms"]:.2f} ms per step '
                f'({100 * busy / r["step_ms"]:.0f}%); kernels by time per step:')
          for name, ms in top:
            print(f'    {ms:7.3f} ms  {name[:110]}')
        else:
          print('  profile: no perfetto trace found')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(rows, f, indent=1, default=str)
  return 0 if rows else 1


if __name__ == '__main__':
  sys.exit(main())
