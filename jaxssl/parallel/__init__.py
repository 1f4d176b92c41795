"""Parallelism shared by every layer: pure-JAX collectives, the device mesh, global batches.

* `collectives`: batch-wide statistics under `shard_map` / `pmap` with the single-device gradient
  (the distribution contract of `jaxssl.objectives` and `jaxssl.estimators`); imports JAX only.
* `mesh`: the ('data', 'fsdp') device mesh, batch and FSDP shardings (the engine, evaluation).
* `batches`: per-process host batches -> one global `jax.Array` (the input pipeline).

The package imports none of its modules here, so an objective that needs `collectives` does not
import the others.
"""
