"""Shared test fixtures: a tiny config and a tiny synthetic image data set."""
import gzip

import numpy as np

from jaxssl.config import load_config
from jaxssl.data.idx import write_idx

TINY_OVERRIDES = (
    'model.encoder_kwargs.stages=((8, 1), (16, 2))',
    'model.encoder_kwargs.pool_grid=1',
    'model.projector=(32, 32)',
    'batch_size=16',
    'epochs=1.0',
    'log_every=1',
    'checkpoint_every=2',
    'progress=False',
    'optimizer.warmup_epochs=0.0',
)


def tiny_config(*overrides):
  return load_config(None, TINY_OVERRIDES + tuple(overrides))


def tiny_arrays(num=64, seed=0, size=28, channels=1):
  """Images with a class-dependent blob plus noise, so there is something to learn."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 10, size=num).astype(np.int32)
  images = rng.integers(0, 60, size=(num, size, size, channels)).astype(np.uint8)
  for i, label in enumerate(labels):
    r, c = divmod(int(label), 4)
    images[i, 2 + 6 * r:6 + 6 * r, 2 + 6 * c:6 + 6 * c] = 255
  return images, labels


def write_tiny_fashion_idx(source, num_train=128, num_test=32):
  """`tiny_arrays` written as the four gzipped IDX files of Fashion-MNIST into `source`."""
  source.mkdir(parents=True, exist_ok=True)
  for split, prefix, n in (('train', 'train', num_train), ('test', 't10k', num_test)):
    images, labels = tiny_arrays(n, seed=1 if split == 'train' else 2)
    for suffix, array in (('images-idx3-ubyte', images[..., 0]),
                          ('labels-idx1-ubyte', labels.astype(np.uint8))):
      raw = source / f'{prefix}-{suffix}'
      write_idx(raw, array)
      with open(raw, 'rb') as f, gzip.open(f'{raw}.gz', 'wb') as g:
        g.write(f.read())
      raw.unlink()
  return source
