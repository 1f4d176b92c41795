"""Batch-level collectives with the single-device gradient in every idiom (the distribution contract).

Inside `jax.shard_map` / `jax.pmap` an objective sees one shard of the batch. The helpers here make,
on every shard, the forward value equal to the value on the concatenated global batch, and the
parameter gradient equal to the single-device one after each idiom's usual reduction (the table in
`jaxssl.objectives`):

* under `shard_map(check_vma=True)`, where the local rows are typed varying over the axis, `jax.grad`
  w.r.t. the local inputs is exactly their slice of the single-device gradient and JAX sums the
  shards' parameter gradients itself: the other shards' values enter under `stop_gradient`, the
  local shard live, and no collective is transposed;
* under `pmap` and `shard_map(check_vma=False)`, where the types record no axis, plain collectives
  (`all_gather`, `psum`) are transposed as usual: each shard's gradient is that of the sum of all
  shards' copies of the loss, N_shards × its share, so `lax.pmean` of the parameter gradients is
  the single-device gradient (as in Flax, BYOL and PyTorch DDP), and `jax.grad` outside
  `shard_map` is exact too (it divides the cotangent of a replicated output by the shard count).

Summing instead of averaging the per-shard gradients of the second kind (the old `psum` advice) or
averaging those of the first kind would scale the gradient by the shard count: the bug of
lightly#1528/#1920/#1977 and solo-learn#253. The path is chosen from the type of the input
(`jaxssl.estimators._distributed.tracked`), the project's one implementation, shared with the
estimators; this module adds what objectives need on top.
"""
from typing import Any, Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators import _distributed as _splice

AxisName = Any


def _replicate_explicit(x: jax.Array) -> jax.Array:
  """Under a mesh with Explicit axes (`jax.make_mesh`'s default), reshard x to replicated.

  Batch-level matrices (x.T @ x, x @ x.T) of a batch-sharded x have no unambiguous sharding in
  explicit mode; replicating first is the jit-level twin of `gather_batch` (its transpose slices
  the gradient back to each device's rows). With Auto axes, or unsharded x, x is returned as is.
  """
  sharding = getattr(jax.typeof(x), "sharding", None)
  spec = getattr(sharding, "spec", None)
  if not spec or all(s is None for s in spec):
    return x
  return jax.sharding.reshard(x, jax.NamedSharding(sharding.mesh, jax.P()))


def gather_batch(x: jax.Array, axis_name: Optional[AxisName]) -> jax.Array:
  """The global batch, identical on every shard, with the gradient of the idiom (module docstring).

  Args:
    x: the local shard, shape (n, ...).
    axis_name: mapped axis (or tuple of axes) the batch is split over, or None.

  Returns:
    Shape (n * axis_size, ...). Under `shard_map(check_vma=True)`: `all_gather(stop_gradient(x))`
    with the live `x` written back at this shard's offset; under `pmap` / `check_vma=False`: a
    plain `all_gather`. With `axis_name=None`, `x` itself (replicated if it is sharded over
    Explicit mesh axes).
  """
  if axis_name is None:
    return _replicate_explicit(x)
  return _splice.gather_rows(x, axis_name)[0]


def gather_constant(x: jax.Array, axis_name: Optional[AxisName]) -> jax.Array:
  """The global batch of an input that gets no gradient (targets, momentum keys)."""
  x = jax.lax.stop_gradient(x)
  if axis_name is None:
    return _replicate_explicit(x)
  return jax.lax.all_gather(x, axis_name, axis=0, tiled=True)


def shard_offset(n_local: int, axis_name: Optional[AxisName]):
  """Global row index of this shard's first row (0 without an axis)."""
  if axis_name is None:
    return 0
  return jax.lax.axis_index(axis_name) * n_local


def global_mean(values: jax.Array, axis_name: Optional[AxisName]) -> jax.Array:
  """Mean of per-example values over the global batch.

  The value is `psum(sum(values)) / N`; the gradient w.r.t. each local value is 1/N under
  `shard_map(check_vma=True)`, N_shards/N (the sum of the shards' copies) under `pmap` /
  `check_vma=False`.
  """
  if axis_name is None:
    return jnp.mean(values)
  n = values.size * _splice.num_shards(axis_name)
  return _splice.global_sum(jnp.sum(values), axis_name) / n


def finish(loss: jax.Array, aux: Any, axis_name: Optional[AxisName]):
  """The loss typed replicated where possible (gradient kept), and stop-gradient aux values.

  The loss is the same on every shard; under `shard_map(check_vma=True)` it is marked replicated
  (so `out_specs=P()` works) with its per-shard gradient unchanged, elsewhere returned as is.
  `aux` (metrics, new states) is computed identically on every shard and carries no gradient; a
  `pmean` types it replicated as well.
  """
  aux = jax.lax.stop_gradient(aux)
  if axis_name is None:
    return loss, aux
  return _splice.replicated(loss, axis_name), jax.lax.pmean(aux, axis_name)
