"""Benchmarks (`jaxssl bench train | estimators`), outside the library they time.

* `jaxssl.bench.training`: the full training step's throughput (`bench_train`, `time_train_step`),
  side by side with `jaxssl.bench.torch_twin`, a PyTorch twin of the demo model run as a script;
* `jaxssl.bench.estimators`: KSG and Kozachenko-Leonenko in JAX against a SciPy cKDTree reference.

The experiments' benchmark scripts (`experiments/bench_*.py`) import their functions from here.
"""
