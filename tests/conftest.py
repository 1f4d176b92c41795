"""Test-wide set-up (must run before jax is imported).

* 8 CPU devices for the distributed tests.
* `--xla_backend_optimization_level=0`: the tests are bound by XLA:CPU compile time, not run time;
  skipping LLVM's expensive passes makes the suite ~2.4x faster (tests/test_train.py: 140 s -> 58 s)
  and changes no result beyond float rounding. Benchmarks and `make demo` keep full optimisation.
"""
import os

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=0"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
