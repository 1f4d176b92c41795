"""Shared test fixtures: a tiny config and a tiny synthetic image data set."""
import numpy as np

from jaxssl.config import load_config

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
