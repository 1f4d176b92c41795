"""Batch-wide statistics under `shard_map`/`pmap` with the gradient of the concatenated batch.

The contract (DESIGN.md): with `axis_name`, the value on each shard and the gradient with respect to
the shard's own rows equal the value and the corresponding rows of the gradient on the concatenated
batch. How JAX transposes a collective depends on the context: under `shard_map(check_vma=True)` the
transpose of `psum` is a copy, under `pmap` or `check_vma=False` it is another `psum`, which
multiplies the gradient by the number of shards. The helpers here make the answer independent of
that choice: every collective sits under `stop_gradient`, and the shard's own contribution is
spliced back in live. Each shard then computes the global value as an explicit function of its own
rows (the other shards' rows held constant), whose gradient is exactly the global gradient's rows.
"""
import jax
import jax.numpy as jnp

sg = jax.lax.stop_gradient


def axis_names(axis_name):
  return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def global_sum(t: jax.Array, axis_name) -> jax.Array:
  """Σ over shards of `t`; the gradient flows only into this shard's `t` (exactly once)."""
  return sg(jax.lax.psum(sg(t), axis_name)) + (t - sg(t))


def gather_rows(z: jax.Array, axis_name) -> tuple[jax.Array, jax.Array]:
  """All shards' rows concatenated, shape (N, ...), with this shard's block live; and its offset."""
  n_local = z.shape[0]
  offset = jax.lax.axis_index(axis_name) * n_local
  everyone = sg(jax.lax.all_gather(sg(z), axis_name, tiled=True))
  return jax.lax.dynamic_update_slice_in_dim(everyone, z, offset, axis=0), offset


def num_shards(axis_name) -> int:
  return jax.lax.axis_size(axis_name)


def _varies_over(x, axis_name) -> bool:
  aval = jax.typeof(x)
  manual = getattr(aval, "manual_axis_type", None)
  varying = manual.varying if manual is not None else getattr(aval, "vma", frozenset())
  return all(name in varying for name in axis_names(axis_name))


def replicated(value: jax.Array, axis_name) -> jax.Array:
  """Marks a per-shard copy of a global value as replicated, keeping its per-shard gradient.

  Under `shard_map(check_vma=True)` the result is typed device-invariant (so it can be returned with
  `out_specs=P()`); there the transpose of `psum` is a copy, so `psum(v − sg(v))` carries the
  gradient through unchanged. Elsewhere `value` is returned as is.
  """
  if not _varies_over(value, axis_name):
    return value
  return sg(jax.lax.pmax(sg(value), axis_name)) + jax.lax.psum(value - sg(value), axis_name)
