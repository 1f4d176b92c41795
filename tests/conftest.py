"""Test-wide set-up (must run before jax is imported).

* 8 CPU devices for the distributed tests.
* `--xla_backend_optimization_level=0`: the tests are bound by XLA:CPU compile time, not run time;
  skipping LLVM's expensive passes makes the suite ~2.4x faster (tests/test_train.py: 140 s -> 58 s)
  and changes no result beyond float rounding. Benchmarks and `make demo` keep full optimisation.
* A private TFDS data directory for the whole test session (`TFDS_DATA_DIR`, inherited by the
  pytest-xdist workers and by every subprocess a test starts), removed at the end: no test reads or
  writes `~/tensorflow_datasets` or a directory the user named, so the suite passes the same on a
  machine that never prepared anything and does not depend on test order. Tests that need the real
  Fashion-MNIST ask for the `fashion_mnist_data_dir` fixture, which prepares it there once (from the
  Debian package's IDX files) under a file lock shared by the workers.
"""
import atexit
import fcntl
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
  os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
  os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=0"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

if "PYTEST_XDIST_WORKER" not in os.environ:  # the controller, or a run without xdist
  _SESSION_TFDS = tempfile.mkdtemp(prefix="jaxssl-tests-tfds-")
  os.environ["TFDS_DATA_DIR"] = _SESSION_TFDS
  atexit.register(shutil.rmtree, _SESSION_TFDS, ignore_errors=True)

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def fashion_mnist_data_dir() -> str:
  """The session's TFDS directory with the real Fashion-MNIST prepared in it (once per session)."""
  data_dir = os.environ["TFDS_DATA_DIR"]
  if not os.path.exists(os.path.join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")):
    pytest.fail(f"Fashion-MNIST's IDX files are missing from {FASHION_MNIST_DIR}: install the "
                "Debian package (`make data`, or apt-get install dataset-fashion-mnist).")
  from jaxssl import data  # pylint: disable=import-outside-toplevel
  with open(os.path.join(data_dir, ".prepare.lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker prepares, the others wait for it
    data.prepare("fashion_mnist_idx", data_dir=data_dir)
    for split in ("train", "test"):  # the .npz cache beside it, also under the lock
      data.load_arrays("fashion_mnist_idx", split, data_dir=data_dir)
  return data_dir
