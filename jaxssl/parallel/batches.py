"""Host -> device: per-process batches become one global `jax.Array` sharded over a mesh axis."""
import math

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


def _axis_size(mesh, axis):
  axes = (axis,) if isinstance(axis, str) else tuple(axis)
  missing = [a for a in axes if a not in mesh.shape]
  if missing:
    raise ValueError(f"mesh has no axis {missing[0]!r}; its axes are {tuple(mesh.axis_names)}.")
  return math.prod(mesh.shape[a] for a in axes)


def global_batch(local_batch, mesh: jax.sharding.Mesh, axis="data"):
  """Assembles each process's `local_batch` (a pytree of NumPy arrays) into global jax.Arrays.

  The leading (batch) dimension is sharded over mesh axis `axis` (a name or a tuple of names) with
  `NamedSharding(mesh, P(axis))`; the global batch is the concatenation of the processes' local
  batches in process order. Raises ValueError if the global batch does not divide evenly over the
  devices on that axis.
  """
  leaves = jax.tree.leaves(local_batch)
  if not leaves:
    raise ValueError("global_batch got an empty batch.")
  sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
  if None in sizes or len(sizes) != 1:
    raise ValueError("every array in the batch needs the same leading (batch) dimension, got "
                     f"{jax.tree.map(np.shape, local_batch)}.")
  local = sizes.pop()
  num_devices = _axis_size(mesh, axis)
  total = local * jax.process_count()
  if total % num_devices:
    raise ValueError(
        f"global batch {total} ({local} per process x {jax.process_count()} processes) is not "
        f"divisible by the {num_devices} devices on mesh axis {axis!r}: it is "
        f"{total % num_devices} too many (or {num_devices - total % num_devices} too few); use a "
        f"multiple of {num_devices}.")
  sharding = NamedSharding(mesh, P(axis))
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
                      local_batch)


def replicate(tree, mesh: jax.sharding.Mesh):
  """Places a pytree of host arrays, identical on every process, fully replicated on `mesh`.

  For small data sets kept in device memory (`load_arrays` -> here -> gather in jit). Each device
  gets its copy from the host data of its own process, so this works with several processes.
  """
  sharding = NamedSharding(mesh, P())

  def put(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

  return jax.tree.map(put, tree)
