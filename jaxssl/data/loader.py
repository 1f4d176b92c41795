"""Streaming path for large data sets: a grain pipeline over a random-access source, per process.

Small data sets belong in device memory (`load_arrays` + `epoch_permutation`); this is for data sets
that do not fit (ImageNet), where each host reads and batches its own shard.
"""
from typing import Any, Callable, Iterator

import grain
from absl import flags
import jax
import numpy as np


def _stack(records):
  images = np.stack([np.asarray(r["image"]) for r in records])
  labels = np.asarray([r["label"] for r in records], np.int32)
  return {"image": images, "label": labels}


def make_loader(
    source,
    *,
    global_batch_size: int,
    seed: int,
    shuffle: bool = True,
    num_epochs: int | None = None,
    process_index: int | None = None,
    process_count: int | None = None,
    worker_count: int = 0,
    prefetch: int = 2,
    map_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    start_batch: int = 0,
    batch_fn: Callable[[int, np.ndarray], dict[str, Any]] | None = None,
) -> grain.IterDataset:
  """This process's batches {'image': uint8 (B,H,W,C), 'label': int32 (B,)}, a grain IterDataset.

  B = global_batch_size // process_count. With n = len(source), P = process_count and
  S = n // P, process p reads the contiguous shard [p * S, (p + 1) * S) (the last n % P examples
  are dropped, so every process yields the same number of batches). Within its shard each epoch
  is a permutation seeded by (seed, epoch), cut into S // B full batches (the remainder is
  dropped): every example appears at most once per epoch, all but the remainder exactly once.
  `num_epochs=None` repeats forever.

  Records are fetched a batch at a time with the source's `__getitems__` (array_record reads in
  parallel) and `map_fn`, if given, is applied to each record dict before stacking (e.g. to resize
  variable-size images). `prefetch` batches are read ahead by as many threads (0: synchronous);
  `worker_count > 0` moves the reading to that many worker processes (`mp_prefetch`).

  `batch_fn(k, indices)`, if given, replaces the reading and stacking: it gets the batch's number
  k in the stream (counted over epochs) and its example indices and returns the batch dict (e.g.
  `jaxssl.data.input_pipeline.TwoViewBatch`, which decodes and crops encoded images); it runs in
  the worker processes, so it must be picklable.

  Checkpointing: `it = iter(loader)` is a grain `DatasetIterator`; `it.get_state()` returns a small
  dict (the position in the stream) and `iter(loader).set_state(state)` resumes exactly there,
  given the same source and arguments. Or, statelessly, `start_batch=k` starts the stream at its
  k-th batch (counted over epochs): batch k is a pure function of (seed, k), which is how
  `jaxssl.train.pretrain` resumes from a step.
  """
  if process_index is None:
    process_index = jax.process_index()
  if process_count is None:
    process_count = jax.process_count()
  if process_count <= 0 or not 0 <= process_index < process_count:
    raise ValueError(
        f"process_index {process_index} must be in [0, process_count={process_count}).")
  if global_batch_size <= 0 or global_batch_size % process_count:
    raise ValueError(
        f"global_batch_size {global_batch_size} must be a positive multiple of process_count "
        f"{process_count} (each process loads global_batch_size / process_count examples).")
  if num_epochs is not None and num_epochs <= 0:
    raise ValueError(f"num_epochs must be positive or None (forever), got {num_epochs}.")
  if start_batch < 0:
    raise ValueError(f"start_batch must be >= 0, got {start_batch}.")
  if not 0 <= seed < 2**32:
    raise ValueError(f"seed must be in [0, 2**32), got {seed}.")
  batch_size = global_batch_size // process_count
  shard = len(source) // process_count
  if shard < batch_size:
    raise ValueError(
        f"this process's shard has {shard} examples ({len(source)} over {process_count} "
        f"processes), fewer than its batch of {batch_size}: no full batch.")

  def fetch(indices):
    records = source.__getitems__([int(i) for i in indices])
    if map_fn is not None:
      records = [map_fn(r) for r in records]
    return _stack(records)

  start = process_index * shard
  ds = grain.MapDataset.range(start, start + shard)
  if shuffle:
    ds = ds.shuffle(seed=seed)
  ds = ds.batch(batch_size, drop_remainder=True)
  if batch_fn is None:
    ds = ds.map(fetch).repeat(num_epochs)
  else:
    ds = ds.repeat(num_epochs).map_with_index(batch_fn)  # index = k, the batch's number
  if start_batch:
    ds = ds[start_batch:]
  return _iterate(ds, prefetch, worker_count)


def batches_of(loader: grain.IterDataset) -> Iterator[dict[str, Any]]:
  """The loader's batches, its iterator closed however the caller stops (break, error, close()).

  With worker processes the batches arrive in shared memory (grain's `SharedMemoryArray`, unlinked
  when the array is deleted). Each is copied into an ordinary array here, so that the shared
  segment is released at once: JAX on the CPU may keep a zero-copy reference to the array it is
  given for as long as the device array lives, and segments still referenced at exit are reported
  as leaked by Python's resource tracker. The copy costs a memcpy of the batch, small beside its
  decoding. Closing the iterator unlinks the batches still queued ahead.
  """
  iterator = iter(loader)
  try:
    for batch in iterator:
      yield jax.tree.map(lambda x: x if type(x) is np.ndarray else np.array(x), batch)
  finally:
    close = getattr(iterator, 'close', None)
    if close is not None:
      close()


def _iterate(ds: grain.MapDataset, prefetch: int, worker_count: int) -> grain.IterDataset:
  ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=prefetch, prefetch_buffer_size=prefetch))
  if worker_count > 0:
    if not flags.FLAGS.is_parsed():
      # grain 0.2.18's mp_prefetch reads an absl flag and fails unless flags were parsed (as under
      # absl.app.run); outside absl, use the defaults.
      flags.FLAGS.mark_as_parsed()
    ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))
  return ds


def eval_loader(num_examples: int, *, local_batch: int, num_batches: int,
                batch_fn: Callable[[int, np.ndarray], dict[str, Any]],
                process_index: int | None = None, process_count: int | None = None,
                worker_count: int = 0, prefetch: int = 2) -> grain.IterDataset:
  """This process's `num_batches` batches of indices for evaluation: every example once, in order.

  Process p takes [p·S, (p+1)·S) with S = ceil(num_examples / process_count), padded with -1 to
  `num_batches` · `local_batch` indices; `batch_fn(k, indices)` turns each row into a batch.
  """
  if process_index is None:
    process_index = jax.process_index()
  if process_count is None:
    process_count = jax.process_count()
  shard = -(-num_examples // process_count)
  if num_batches * local_batch < shard:
    raise ValueError(f'{num_batches} batches of {local_batch} cannot hold a shard of {shard}.')
  start = process_index * shard
  indices = np.arange(start, start + num_batches * local_batch)
  indices[(indices >= min(start + shard, num_examples))] = -1
  rows = indices.reshape(num_batches, local_batch)
  ds = grain.MapDataset.source(list(rows)).map_with_index(batch_fn)
  return _iterate(ds, prefetch, worker_count)
