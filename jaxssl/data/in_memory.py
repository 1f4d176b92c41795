"""Batching a device-resident data set: shuffled epochs as index arrays, gathered inside jit."""
import jax
import jax.numpy as jnp


def epoch_permutation(key: jax.Array, num_examples: int, batch_size: int) -> jax.Array:
  """Shuffled batch indices for one epoch, int32 (num_batches, batch_size).

  num_batches = num_examples // batch_size; the remainder of a random permutation is dropped, so
  every example appears at most once per epoch and all but `num_examples % batch_size` exactly
  once. Fold the epoch number into `key` (`jax.random.fold_in(key, epoch)`) for a new order each
  epoch. jit-able with `num_examples`/`batch_size` static; gather a batch with `images[idx[step]]`.
  """
  num_examples, batch_size = int(num_examples), int(batch_size)
  if batch_size <= 0:
    raise ValueError(f"batch_size must be positive, got {batch_size}.")
  if num_examples < batch_size:
    raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} examples: no full batch.")
  num_batches = num_examples // batch_size
  perm = jax.random.permutation(key, num_examples)[:num_batches * batch_size]
  return perm.astype(jnp.int32).reshape(num_batches, batch_size)
