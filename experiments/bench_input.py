"""Host input throughput for two 224x224 random-resized-crop views, images/s on one CPU core.

  python experiments/bench_input.py            # 256 generated 500x375 JPEGs (quality 90), 3 rounds
  python experiments/bench_input.py --tiny     # 32 images, 1 round (a smoke test)

Needs jaxssl, torch and torchvision (`pip install -e '.[torch]'`); nothing else (no pytest).

Side by side in one process, pinned to one core (the decoding worker process inherits the pin, so
each row is the throughput of one core), alternating rounds, medians reported:
  (a) jaxssl: `jaxssl prepare image_folder` data, `TwoViewBatch` in one grain worker process: the
      crop boxes from the JPEG header, one DCT-scaled decode per image for both views, Pillow's
      box resize to uint8 (the rest of the augmentation runs on the accelerator);
  (b) torchvision: `ImageFolder` + (`RandomResizedCrop(224)` + `ToTensor()`) twice per image (one
      decode, as solo-learn's NCropAugmentation), `DataLoader(num_workers=1)`: what solo-learn and
      lightly users run, minus their host-side colour jitter and blur (which only add to (b));
  (c) full decode then crop: (a) without the DCT scaling (`draft=False`);
  (d) (a)'s `TwoViewBatch` called in the benchmark's own process, no grain: the decode and resize
      work alone; (d) - (a) is the cost of running it in a grain worker and handing the batches
      over (grain 0.2.18 already passes them through shared memory, not pickled).
The images are smooth random colour fields with texture and noise (51 KB each; ImageNet's mean
is ~110 KB at about this size), so the entropy decoding is no cheaper than on photos.
"""
import argparse
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from PIL import ImageFilter

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'experiments' / 'results' / 'bench_input.json'
OUT, BATCH = 224, 32


def natural_jpeg(rng, height=375, width=500, quality=90) -> bytes:
  """A photo-like JPEG: a smooth colour field, edges and fine texture."""
  coarse = rng.integers(0, 256, (height // 25 + 1, width // 25 + 1, 3)).astype(np.uint8)
  image = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
  array = np.asarray(image.filter(ImageFilter.GaussianBlur(2))).astype(np.int16)
  array = array + rng.normal(0, 6, array.shape).astype(np.int16)
  buffer = io.BytesIO()
  Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(buffer, 'JPEG', quality=quality)
  return buffer.getvalue()


def write_folder(root: Path, n: int) -> Path:
  rng = np.random.default_rng(0)
  for i in range(n):
    folder = root / 'train' / f'class_{i % 2}'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f'{i:05d}.jpg').write_bytes(natural_jpeg(rng))
  return root


def _torch_compat():
  """experiments/torchvision_compat.py (imports torchvision beside a CPU-only torch), by path."""
  spec = importlib.util.spec_from_file_location(
      'torchvision_compat', Path(__file__).resolve().parent / 'torchvision_compat.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def time_jaxssl(data_dir: str, n: int, *, draft: bool) -> float:
  """Images/s (two views each) of jaxssl's host pipeline in one grain worker process."""
  from jaxssl.data import input_pipeline, loader
  source = input_pipeline.EncodedImages('bench_jpegs', 'train', data_dir=data_dir)
  crop = dict(out_size=(OUT, OUT), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3))
  batch_fn = input_pipeline.TwoViewBatch(source, [crop, crop], seed=0, process_index=0,
                                         draft=draft)
  stream = iter(loader.make_loader(source, global_batch_size=BATCH, seed=0, worker_count=1,
                                   process_index=0, process_count=1, batch_fn=batch_fn))
  next(stream)  # worker start-up
  start = time.perf_counter()
  count = 0
  while count < n:
    batch = next(stream)
    assert batch['view1'].shape == (BATCH, OUT, OUT, 3)
    count += BATCH
  return count / (time.perf_counter() - start)


def time_in_process(data_dir: str, n: int) -> float:
  """Images/s (two views each) of (a)'s batch function called directly, no grain worker."""
  from jaxssl.data import input_pipeline
  source = input_pipeline.EncodedImages('bench_jpegs', 'train', data_dir=data_dir)
  crop = dict(out_size=(OUT, OUT), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3))
  batch_fn = input_pipeline.TwoViewBatch(source, [crop, crop], seed=0, process_index=0)
  batch_fn(0, np.arange(BATCH) % len(source))  # warm-up
  start = time.perf_counter()
  count = 0
  for k in range(1, n // BATCH + 1):
    batch = batch_fn(k, np.arange(k * BATCH, (k + 1) * BATCH) % len(source))
    assert batch['view1'].shape == (BATCH, OUT, OUT, 3)
    count += BATCH
  return count / (time.perf_counter() - start)


def time_torchvision(folder: Path, n: int) -> float:
  """Images/s (two views each) of torchvision ImageFolder + RandomResizedCrop + DataLoader."""
  compat = _torch_compat()
  torch = compat.import_torch()
  tv = compat.import_torchvision()
  torch.set_num_threads(1)
  crop = tv.transforms.Compose([tv.transforms.RandomResizedCrop(OUT), tv.transforms.ToTensor()])
  dataset = tv.datasets.ImageFolder(str(folder / 'train'),
                                    transform=lambda image: (crop(image), crop(image)))
  batches = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=1,
                                        drop_last=True, persistent_workers=True)
  stream = iter(batches)
  next(stream)
  start = time.perf_counter()
  count = 0
  while count < n:
    try:
      (view1, _), _ = next(stream)
    except StopIteration:
      stream = iter(batches)
      continue
    assert tuple(view1.shape) == (BATCH, 3, OUT, OUT)
    count += BATCH
  return count / (time.perf_counter() - start)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--tiny', action='store_true', help='32 images, 1 round (a smoke test)')
  parser.add_argument('--images', type=int, default=256)
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--core', type=int, default=None, help='the CPU to pin to (default: the '
                      'last one this process may use)')
  parser.add_argument('--out', default=str(RESULTS))
  args = parser.parse_args(argv)
  n, rounds = (BATCH, 1) if args.tiny else (args.images, args.rounds)
  core = args.core if args.core is not None else max(os.sched_getaffinity(0))
  os.sched_setaffinity(0, {core})  # the worker processes inherit it
  os.environ.setdefault('JAX_PLATFORMS', 'cpu')
  from jaxssl import data
  load_before = list(os.getloadavg())
  with tempfile.TemporaryDirectory(prefix='jaxssl-bench-input-') as tmp:
    folder = write_folder(Path(tmp) / 'images', max(n, BATCH * 2))
    sizes = [p.stat().st_size for p in folder.rglob('*.jpg')]
    data_dir = str(Path(tmp) / 'tfds')
    data.prepare('image_folder', data_dir=data_dir, source_dir=folder, dataset_name='bench_jpegs')
    rows = {'jaxssl': [], 'torchvision': [], 'full_decode': [], 'in_process': []}
    for _ in range(rounds):
      rows['jaxssl'].append(time_jaxssl(data_dir, n, draft=True))
      rows['torchvision'].append(time_torchvision(folder, n))
      rows['full_decode'].append(time_jaxssl(data_dir, n, draft=False))
      rows['in_process'].append(time_in_process(data_dir, n))
  median = {k: float(np.median(v)) for k, v in rows.items()}
  result = dict(images=len(sizes), mean_jpeg_kb=float(np.mean(sizes) / 1024), rounds=rows,
                median_images_per_second_per_core=median, core=core,
                speedup_vs_torchvision=median['jaxssl'] / median['torchvision'],
                load_average_before=load_before, load_average_after=list(os.getloadavg()),
                cpu=_cpu_name(), command='python experiments/bench_input.py' +
                (' --tiny' if args.tiny else '') +
                (f' --rounds {args.rounds}' if args.rounds != 3 and not args.tiny else ''))
  print(f'{len(sizes)} JPEGs 500x375 q90 (mean {result["mean_jpeg_kb"]:.0f} KB), two {OUT}x{OUT} '
        f'views per image, 1 core ({result["cpu"]}), {rounds} round(s), median images/s:')
  for name, label in (('jaxssl', '(a) jaxssl (header box, DCT-scaled decode, box resize)'),
                      ('torchvision', '(b) torchvision ImageFolder+RandomResizedCrop+DataLoader'),
                      ('full_decode', '(c) full decode then crop'),
                      ('in_process', '(d) (a)\'s batch function in this process, no grain')):
    print(f'  {label:<60} {median[name]:8.1f}   {rows[name]}')
  print(f'  (a) / (b) = {result["speedup_vs_torchvision"]:.2f}x; in a grain worker vs in process: '
        f'{1e3 / median["jaxssl"]:.2f} vs {1e3 / median["in_process"]:.2f} ms per image; load '
        f'average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after')
  if not args.tiny:
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + '\n')
  return 0


def _cpu_name() -> str:
  try:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return 'unknown CPU'


if __name__ == '__main__':
  sys.exit(main())
