"""The device mesh: axes ('data', 'fsdp') over every device of every process.

The batch is split over both axes (every device sees batch_size / device_count examples). With
`fsdp = 1` every parameter is replicated (plain data parallelism); with `fsdp > 1` each large array
of the TrainState (parameters and the optimizer moments that share their shapes) is split along one
of its dimensions over the 'fsdp' axis (ZeRO-3 / FSDP, Rajbhandari et al. 2020), and XLA gathers
it for the forward pass and reduce-scatters its gradient.
"""
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl.errors import ConfigError

DATA_AXIS = 'data'
FSDP_AXIS = 'fsdp'
# Arrays with fewer elements than this stay replicated under fsdp (biases, norms, scalars):
# splitting them saves little memory and costs a collective each.
FSDP_MIN_SIZE = 2 ** 12


def make_mesh(num_devices: int | None = None, fsdp: int = 1) -> Mesh:
  """A (num_devices / fsdp, fsdp) mesh over the first `num_devices` devices (all by default)."""
  devices = jax.devices()
  if num_devices is not None:
    if num_devices > len(devices):
      raise ValueError(f'Asked for {num_devices} devices but only {len(devices)} are visible.')
    devices = devices[:num_devices]
  if not isinstance(fsdp, int) or fsdp < 1 or len(devices) % fsdp:
    divisors = [d for d in range(1, len(devices) + 1) if len(devices) % d == 0]
    raise ConfigError(f'mesh.fsdp={fsdp!r} must be a positive integer dividing the {len(devices)} '
                      f'devices; use one of {divisors}.')
  return Mesh(np.asarray(devices).reshape(len(devices) // fsdp, fsdp), (DATA_AXIS, FSDP_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  """The leading (batch) dimension split over every axis of the mesh."""
  return NamedSharding(mesh, P(tuple(mesh.axis_names)))


def fsdp_spec(shape: tuple, fsdp: int, min_size: int = FSDP_MIN_SIZE) -> P:
  """Splits the largest dimension divisible by `fsdp` (the last on ties) of an array with at least
  `min_size` elements over 'fsdp'; P() (replicated) otherwise."""
  if fsdp == 1 or int(np.prod(shape, dtype=np.int64)) < min_size:
    return P()
  candidates = [i for i, d in enumerate(shape) if d % fsdp == 0]
  if not candidates:
    return P()
  axis = max(candidates, key=lambda i: (shape[i], i))
  return P(*([None] * axis + [FSDP_AXIS]))


def state_sharding(tree, mesh: Mesh, min_size: int = FSDP_MIN_SIZE):
  """NamedShardings for a pytree of arrays: `fsdp_spec` per leaf (all replicated when fsdp = 1).

  The rule depends only on shapes, so Adam's moments follow their parameters.
  """
  fsdp = mesh.shape.get(FSDP_AXIS, 1)
  return jax.tree.map(lambda x: NamedSharding(mesh, fsdp_spec(np.shape(x), fsdp, min_size)), tree)


def check_batch_divisible(batch_size: int, mesh: Mesh) -> None:
  n = mesh.size
  if batch_size % n:
    lower, upper = batch_size - batch_size % n, batch_size + n - batch_size % n
    raise ConfigError(f'batch_size={batch_size} is not divisible by the {n} devices of the mesh '
                      f'(remainder {batch_size % n}); use {lower} or {upper}.')
