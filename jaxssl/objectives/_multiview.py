"""Helpers of the multi-view objectives: (V, N, D) checks, gathering, 'pair' adapters."""
import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives


def check_views(objective: str, names: tuple[str, ...], *arrays, min_views: int = 1,
                min_batch: int = 1, same_views: bool = True) -> None:
  """One ValueError unless the arrays are float (V, N, D) arrays with equal N and D.

  Args:
    objective: name used in the message.
    names: argument names, one per array.
    *arrays: the inputs.
    min_views: smallest allowed V.
    min_batch: smallest allowed N (the global batch when the objective is mapped over an axis).
    same_views: whether all arrays must have the same V as well.
  """
  problems = []
  shapes = ", ".join(f"{n}: {jnp.shape(a)} {jnp.result_type(a)}" for n, a in zip(names, arrays))
  for name, a in zip(names, arrays):
    if jnp.ndim(a) != 3:
      problems.append(f"{name} must have rank 3 (views, batch, dim) but has shape {jnp.shape(a)}")
    elif jnp.shape(a)[0] < min_views:
      problems.append(f"{name} needs at least {min_views} view(s) but has shape {jnp.shape(a)}")
    if not jnp.issubdtype(jnp.result_type(a), jnp.floating):
      problems.append(f"{name} must be a float array but has dtype {jnp.result_type(a)} "
                      "(cast it, e.g. x.astype(jnp.float32))")
  if not problems:
    key = (lambda a: jnp.shape(a)) if same_views else (lambda a: jnp.shape(a)[1:])
    if len({key(a) for a in arrays}) > 1:
      problems.append("all inputs must have the same shape" if same_views else
                      "all inputs must have the same batch size and dimension")
  if not problems and jnp.shape(arrays[0])[1] < min_batch:
    problems.append(f"needs a batch of at least {min_batch} (its batch statistics are undefined "
                    f"otherwise) but got {jnp.shape(arrays[0])[1]}")
  if problems:
    raise ValueError(f"{objective}: " + "; ".join(problems) + f". Got {shapes}.")


def check_global_batch(objective: str, n: int, z: jax.Array, min_batch: int = 2) -> None:
  """One ValueError if the global batch (N = n_local × shards) is smaller than `min_batch`."""
  if n < min_batch:
    raise ValueError(f"{objective}: needs a batch of at least {min_batch} (its batch statistics "
                     f"are undefined otherwise) but got {n} in the global batch. Got "
                     f"{jnp.shape(z)} {jnp.result_type(z)}.")


def global_batch_size(n_local: int, axis_name: Optional[collectives.AxisName]) -> int:
  """N of the concatenated batch: the local size times the number of shards of `axis_name`."""
  return n_local if axis_name is None else n_local * collectives.num_shards(axis_name)


def gather_views(z: jax.Array, axis_name: Optional[collectives.AxisName]) -> jax.Array:
  """(V, n, D) local rows of every view -> (V, N, D) global batch (`collectives.gather_batch`)."""
  return jnp.swapaxes(collectives.gather_batch(jnp.swapaxes(z, 0, 1), axis_name), 0, 1)


def as_pair(fn: Callable) -> Callable:
  """`fn(z1, z2, **kw) = fn(jnp.stack([z1, z2]), **kw)`: a views-first objective as kind 'pair'.

  The (N, D) inputs are checked under `fn`'s name; the adapter keeps `fn`'s name, docstring and
  keyword-only signature (`inspect.signature` follows `__wrapped__`), so config kwargs are checked
  against `fn`'s hyper-parameters.
  """
  name = fn.__name__

  @functools.wraps(fn)
  def pair(z1, z2, **kwargs):
    _common.check_embeddings(name, ("z1", "z2"), z1, z2)
    return fn(jnp.stack([z1, z2]), **kwargs)

  return pair
