"""`maybe_initialize(config)`: joins a multi-process run (`jax.distributed.initialize`) when asked.

Three ways, checked in order:
  1. `config.distributed.coordinator_address` set: explicit, with `num_processes` and `process_id`
     (and optionally `local_device_ids`) from the config -- any cluster, or localhost tests.
  2. `JAXSSL_DISTRIBUTED=1`, or a cluster environment JAX detects by itself (SLURM with more than
     one task, a multi-host Cloud TPU slice): plain `jax.distributed.initialize()`, which reads the
     coordinator, process count and id from that environment.
  3. Otherwise a single process: nothing to do.
Every process then runs the same program; `jax.devices()` lists the devices of all of them.
"""
import logging
import os

import jax
import ml_collections
import numpy as np

from jaxssl.errors import ConfigError

log = logging.getLogger(__name__)


def _cluster_detected(environ) -> str | None:
  """The cluster environment that asks for several processes, or None."""
  if environ.get('JAXSSL_DISTRIBUTED', '').lower() in ('1', 'true', 'yes'):
    return 'JAXSSL_DISTRIBUTED'
  if int(environ.get('SLURM_NTASKS', '1') or 1) > 1 and 'SLURM_STEP_NODELIST' in environ:
    return 'SLURM'
  # Cloud TPU VMs of a multi-host slice: worker hostnames list every host of the slice.
  if len([h for h in environ.get('TPU_WORKER_HOSTNAMES', '').split(',') if h]) > 1:
    return 'TPU pod slice'
  return None


def _section(config) -> ml_collections.ConfigDict:
  if config is not None and 'distributed' in config:
    return config.distributed
  return ml_collections.ConfigDict({'coordinator_address': '', 'num_processes': 0,
                                    'process_id': -1, 'local_device_ids': ()})


def maybe_initialize(config: ml_collections.ConfigDict | None = None, environ=None) -> bool:
  """Initializes JAX's distributed runtime if the config or environment asks; True if it did.

  Idempotent: a second call (or a caller that already initialized) does nothing.
  """
  environ = os.environ if environ is None else environ
  if jax.distributed.is_initialized():
    return False
  d = _section(config)
  if d.coordinator_address:
    if d.num_processes < 1 or not 0 <= d.process_id < d.num_processes:
      raise ConfigError(
          f'distributed.coordinator_address={d.coordinator_address!r} needs num_processes >= 1 '
          f'and 0 <= process_id < num_processes (got {d.num_processes}, {d.process_id}); set '
          '--config.distributed.num_processes=N --config.distributed.process_id=I on process I.')
    jax.distributed.initialize(d.coordinator_address, num_processes=d.num_processes,
                               process_id=d.process_id,
                               local_device_ids=list(d.local_device_ids) or None)
  else:
    source = _cluster_detected(environ)
    if source is None:
      return False
    log.info('Multi-process environment detected (%s); calling jax.distributed.initialize().',
             source)
    jax.distributed.initialize(local_device_ids=list(d.local_device_ids) or None)
  log.info('Process %d of %d; %d local / %d global devices.', jax.process_index(),
           jax.process_count(), jax.local_device_count(), jax.device_count())
  return True


def any_process(flag: bool) -> bool:
  """True if `flag` is true on any process (a small all-gather; just `flag` with one process)."""
  if jax.process_count() == 1:
    return bool(flag)
  from jax.experimental import multihost_utils
  return bool(np.any(multihost_utils.process_allgather(np.asarray(flag, np.int32))))
