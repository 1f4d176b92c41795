"""Fashion-MNIST as a real image folder, end to end: PNGs -> prepare -> pretrain -> evaluate.

  python experiments/fmnist_image_folder.py --workdir runs/fmnist_folder [--train 10000 --val 2000]
  python experiments/fmnist_image_folder.py --tiny --workdir DIR   # 512 / 256 images, 2 steps

1. Writes the first --train training images and --val test images of the real Fashion-MNIST (the
   Debian package's IDX files) as 64x64 greyscale PNGs (bilinear upscale from 28x28) in
   `WORKDIR/images/{train,val}/<class name>/`.
2. `jaxssl prepare image_folder --source-dir WORKDIR/images --name fmnist64_folder`.
3. Pretrains experiments/configs/fmnist_folder.py twice, streamed (grain: the PNGs decoded and
   cropped on the host, one worker process) and in memory (the same PNGs decoded once, cropped on
   the device), with --seeds seeds each, then evaluates each run (linear probe, kNN).
Writes WORKDIR/results.json; docs/data.md quotes it.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIG = ROOT / 'experiments' / 'configs' / 'fmnist_folder.py'


def write_pngs(out: Path, num_train: int, num_val: int, side: int = 64) -> None:
  from jaxssl.data import builders
  for split, folder, n in (('train', 'train', num_train), ('test', 'val', num_val)):
    images, labels = builders.read_fashion_mnist(builders.FASHION_MNIST_DIR, split)
    for i in range(n):
      name = builders.FASHION_MNIST_NAMES[labels[i]].replace('/', '-').replace(' ', '_')
      path = out / folder / name / f'{i:05d}.png'
      path.parent.mkdir(parents=True, exist_ok=True)
      Image.fromarray(images[i, ..., 0]).resize((side, side), Image.BILINEAR).save(path)


def run(workdir: Path, pipeline: str, seed: int, data_dir: str, overrides) -> dict:
  from jaxssl.config import load_config
  from jaxssl.evaluate.run import evaluate_workdir
  from jaxssl.train import pretrain
  config = load_config(f'{CONFIG}:{pipeline}', (f'data_dir="{data_dir}"', f'seed={seed}',
                                                'progress=False') + tuple(overrides))
  start = time.perf_counter()
  result = pretrain(config, workdir)
  summary = evaluate_workdir(workdir, state=result.state, config=config)
  return dict(pipeline=pipeline, seed=seed, steps=result.total_steps,
              pretrain_seconds=result.wall_seconds, images_per_second=result.images_per_second,
              total_seconds=time.perf_counter() - start, linear_top1=summary['linear_top1'],
              knn_top1=summary['knn_top1'])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', default='runs/fmnist_folder')
  parser.add_argument('--train', type=int, default=10000)
  parser.add_argument('--val', type=int, default=2000)
  parser.add_argument('--seeds', type=int, default=1)
  parser.add_argument('--pipelines', default='grain,memory')
  parser.add_argument('--tiny', action='store_true')
  args, overrides = parser.parse_known_args(argv)
  overrides = [o[len('--config.'):] for o in overrides if o.startswith('--config.')]
  if args.tiny:
    args.train, args.val = 512, 256
    overrides += ['epochs=0.05', 'batch_size=128', 'eval.knn_k=(20,)', 'data_workers=0']
  workdir = Path(args.workdir)
  from jaxssl import data
  images = workdir / 'images'
  if not (images / 'train').exists():
    start = time.perf_counter()
    write_pngs(images, args.train, args.val)
    print(f'Wrote {args.train} + {args.val} PNGs in {time.perf_counter() - start:.0f} s')
  data_dir = str(workdir / 'tfds')
  start = time.perf_counter()
  data.prepare('image_folder', data_dir=data_dir, source_dir=images,
               dataset_name='fmnist64_folder')
  prepare_seconds = time.perf_counter() - start
  rows = []
  for seed in range(args.seeds):
    for pipeline in args.pipelines.split(','):
      row = run(workdir / f'{pipeline}-seed{seed}', pipeline, seed, data_dir, overrides)
      print(json.dumps(row), flush=True)
      rows.append(row)
  result = dict(train=args.train, val=args.val, prepare_seconds=prepare_seconds,
                overrides=overrides, runs=rows, cpu_count=len(os.sched_getaffinity(0)))
  (workdir / 'results.json').write_text(json.dumps(result, indent=1) + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
