"""The CPU tuning of jaxssl's processes: host memory kept in the process, XLA:CPU compiler options.

**Host memory** (`keep_freed_memory`): keep freed host memory inside the process, so XLA:CPU steps
stop page-faulting their buffers.

XLA:CPU mallocs each step's temporary buffer (191 MB for the demo's train step) and frees it after
the step. glibc serves allocations above 32 MB (the ceiling of its mmap threshold) with a fresh
`mmap` and hands them back with `munmap`, so every step touches ~47k new 4 KiB pages: 47k minor page
faults, each zeroing a page in the kernel -- ~90 ms of system time per ~270 ms step on the 2-core
CPU machine (docs/performance.md). `keep_freed_memory()` sets three glibc `mallopt` knobs:

  M_ARENA_MAX = 1        one heap for all threads (XLA's worker threads would otherwise get arenas
                         whose large allocations fall back to mmap whatever M_MMAP_MAX says)
  M_MMAP_MAX = 0         no mmap: large blocks come from the heap, and go back to it when freed
  M_TRIM_THRESHOLD = 2 GiB   free memory at the top of the heap stays mapped up to this size

so the next step reuses the pages the last one faulted in. Same numbers; `make demo` on the 2-core
machine: system time 77 -> 8 s, pretraining 182 -> 168 s, demo 239 -> 218 s. The cost: freed
memory is kept rather than returned to the system (the demo's peak resident size 2.6 -> 3.2 GB),
and one arena lock for all threads (glibc's per-thread caches still serve small blocks without it).

Call it before JAX starts its CPU backend (the first `jax.devices()` or computation): the `jaxssl`
command line does. It acts only where JAX will compute on the CPU -- JAX_PLATFORMS starts with
'cpu', or no GPU/TPU plugin is installed -- so accelerator hosts keep glibc's defaults. Opt out with
JAXSSL_KEEP_FREED_MEMORY=0. A no-op (False) off glibc.

**XLA options** (`compiler_options`): `jax.jit(f, compiler_options=compiler_options())`. On XLA:CPU
(jaxlib 0.10.2) convolutions, matrix products and element-wise work go to the YNNPACK library by
default. On the 2-core CPU machine its convolutions ran 2-2.5x slower than XLA's own
(Eigen) kernels for the demo ConvNet's stride-2 3x3 layers (14x14x64 -> 7x7x128 at batch 512: 50
-> 25 ms), its element-wise fusions slowed the whole step when mixed with Eigen's (the two thread
pools contend for the two cores), while its reductions (the BatchNorm statistics) stayed 5-10x
faster than XLA's. Keeping YNNPACK for reductions only made the demo's training step ~1.2x faster
(docs/performance.md). Other backends get no options. Returns None when the running jaxlib does not
know the option (it is experimental), so a newer JAX degrades to its defaults instead of failing.
"""
import ctypes
import functools
import importlib.metadata
import importlib.util
import os
import pkgutil
import platform as system_platform

import jax
import jax.numpy as jnp

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
TRIM_THRESHOLD_BYTES = 2**31 - 1  # mallopt takes a C int
ENV_VAR = 'JAXSSL_KEEP_FREED_MEMORY'


def _computes_on_cpu() -> bool:
  """Whether JAX's default backend will be the CPU, judged without starting a backend."""
  platforms = os.environ.get('JAX_PLATFORMS', '').strip().lower()
  if platforms:
    return platforms.split(',')[0] == 'cpu'
  if importlib.util.find_spec('libtpu') is not None:
    return False
  # PJRT plugins (CUDA, ROCm, ...), found as JAX finds them: entry points and the jax_plugins package.
  if importlib.metadata.entry_points(group='jax_plugins'):
    return False
  try:
    import jax_plugins
  except ImportError:
    return True
  return not any(True for _ in pkgutil.iter_modules(jax_plugins.__path__))


_applied = False


def applied() -> bool:
  """Whether `keep_freed_memory()` has set the knobs in this process."""
  return _applied


def keep_freed_memory() -> bool:
  """Sets the mallopt knobs above; True if glibc accepted all three."""
  global _applied
  if os.environ.get(ENV_VAR, '1').strip().lower() in ('0', 'false', 'no', 'off'):
    return False
  if not _computes_on_cpu():
    return False
  if system_platform.system() != 'Linux' or system_platform.libc_ver()[0] != 'glibc':
    return False
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (OSError, AttributeError):
    return False
  mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
  mallopt.restype = ctypes.c_int
  settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
  _applied = all([mallopt(option, value) == 1 for option, value in settings])
  return _applied


# -- XLA:CPU compiler options ----------------------------------------------------------------------

CPU_OPTIONS = {'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_REDUCE'}


@functools.cache
def _cpu_options_accepted() -> bool:
  try:
    jax.jit(jnp.sum, compiler_options=CPU_OPTIONS).lower(jnp.zeros(2)).compile()
    return True
  except Exception:  # an XLA INVALID_ARGUMENT naming the unknown option or enum value
    return False


def compiler_options(enabled: bool = True) -> dict | None:
  """`CPU_OPTIONS` when the default backend is the CPU (and `enabled`), else None."""
  if not enabled or jax.default_backend() != 'cpu' or not _cpu_options_accepted():
    return None
  return dict(CPU_OPTIONS)
