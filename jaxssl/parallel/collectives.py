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
(`tracked`): one implementation for the objectives and the estimators.

How the path is chosen, and what each helper does on it (the estimators use `tracked`,
`global_sum`, `gather_rows` and `replicated` directly):

The contract (the idiom table in `jaxssl.objectives`; docs/architecture.md): with `axis_name`,
every shard computes the value on the concatenated batch, and the gradient of replicated parameters
is the single-device one after the reduction each idiom normally applies. Which per-shard gradient
that takes depends on whether JAX tracks the axis in the types:

* **Tracked** (`shard_map(check_vma=True)`: the local rows are typed varying over the axis,
  `jax.typeof(x).manual_axis_type.varying`). The loss is typed replicated, its cotangent is one
  value, and JAX itself sums the shards' gradients of replicated parameters (the transpose of the
  implicit `pvary`). Each shard must therefore return exactly *its* slice of the global gradient.
  The helpers compute the global value as an explicit function of the shard's own rows: the other
  shards' rows enter under `stop_gradient`, the own rows live, and no collective is transposed (no
  backward communication).
* **Untracked** (`pmap`, `shard_map(check_vma=False)`: no axis in the types). Every shard holds its
  own copy of the loss, so the honest derivative is that of the *sum of the copies*: a collective is
  transposed as usual (`all_gather` → reduce-scatter, `psum` → `psum`), the per-shard gradient of
  a replicated parameter is N_shards × its share, and `lax.pmean` of the parameter gradients (the
  Flax / BYOL / DDP idiom) gives the single-device gradient. With `jax.grad` outside the mapped
  function, `shard_map` divides the cotangent of a `P()` output by the shard count and the result is
  exact as well. The helpers use plain collectives there.

Each helper picks its path from the types (`tracked`); under `check_vma=True` an input that does not
vary over every named axis cannot be served (its rows would be gathered as copies) and raises.
"""
from typing import Any, Optional

import jax
import jax.numpy as jnp

sg = jax.lax.stop_gradient


def axis_names(axis_name):
  return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _varying(x) -> frozenset:
  aval = jax.typeof(x)
  manual = getattr(aval, "manual_axis_type", None)  # jax >= 0.10
  return manual.varying if manual is not None else getattr(aval, "vma", frozenset())


def tracked(x: jax.Array, axis_name) -> bool:
  """Whether JAX types the mapped axis here (`shard_map(check_vma=True)`), `x` varying over it.

  False under `pmap` and `shard_map(check_vma=False)`, where the types record no axis (there even
  `axis_index` is untyped). Where the axis is typed but `x` does not vary over every named axis
  (batch rows replicated by `in_specs`, which a gather would duplicate), raises a ValueError.
  """
  names = axis_names(axis_name)
  if not any(name in _varying(jax.lax.axis_index(name)) for name in names):
    return False
  missing = [name for name in names if name not in _varying(x)]
  if missing:
    raise ValueError(
        f"axis_name={axis_name!r}: inside shard_map(check_vma=True) the batch must be split over "
        f"every named axis, but the input {jax.typeof(x)} does not vary over {missing} (its rows "
        f"are replicated there and would be gathered as copies). Split the batch over them in "
        f"in_specs, e.g. P({names!r}), or leave them out of axis_name.")
  return True


def global_sum(t: jax.Array, axis_name) -> jax.Array:
  """Σ over shards of `t`.

  Tracked: the gradient flows only into this shard's `t`, exactly once. Untracked: a plain `psum`.
  """
  if not tracked(t, axis_name):
    return jax.lax.psum(t, axis_name)
  return sg(jax.lax.psum(sg(t), axis_name)) + (t - sg(t))


def gather_rows(z: jax.Array, axis_name) -> tuple[jax.Array, jax.Array]:
  """All shards' rows concatenated, shape (N, ...), and this shard's offset.

  Tracked: only this shard's block is live (the others under stop-gradient). Untracked: a plain
  `all_gather`, whose transpose is a reduce-scatter.
  """
  n_local = z.shape[0]
  offset = jax.lax.axis_index(axis_name) * n_local
  if not tracked(z, axis_name):
    return jax.lax.all_gather(z, axis_name, tiled=True), offset
  everyone = sg(jax.lax.all_gather(sg(z), axis_name, tiled=True))
  return jax.lax.dynamic_update_slice_in_dim(everyone, z, offset, axis=0), offset


def num_shards(axis_name) -> int:
  return jax.lax.axis_size(axis_name)


def replicated(value: jax.Array, axis_name) -> jax.Array:
  """Marks a per-shard copy of a global value as replicated, keeping its per-shard gradient.

  Tracked: the result is typed device-invariant (so it can be returned with `out_specs=P()`);
  there the transpose of `psum` is a copy, so `psum(v − sg(v))` carries the gradient through
  unchanged. Untracked, or already invariant: `value` is returned as is.
  """
  if not all(name in _varying(value) for name in axis_names(axis_name)):
    return value
  return sg(jax.lax.pmax(sg(value), axis_name)) + jax.lax.psum(value - sg(value), axis_name)


# -- What objectives use on top --------------------------------------------------------------------

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
  return gather_rows(x, axis_name)[0]


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
  n = values.size * num_shards(axis_name)
  return global_sum(jnp.sum(values), axis_name) / n


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
  return replicated(loss, axis_name), jax.lax.pmean(aux, axis_name)
