"""XLA compiler options for jaxssl's jitted steps: `jax.jit(f, compiler_options=compiler_options())`.

On XLA:CPU (jaxlib 0.10.2) convolutions, matrix products and element-wise work go to the YNNPACK
library by default. On the 2-core CPU machine its convolutions ran 2-2.5x slower than XLA's own
(Eigen) kernels for the demo ConvNet's stride-2 3x3 layers (14x14x64 -> 7x7x128 at batch 512: 50
-> 25 ms), its element-wise fusions slowed the whole step when mixed with Eigen's (the two thread
pools contend for the two cores), while its reductions (the BatchNorm statistics) stayed 5-10x
faster than XLA's. Keeping YNNPACK for reductions only made the demo's training step ~1.2x faster
(docs/performance.md). Other backends get no options. Returns None when the running jaxlib does not
know the option (it is experimental), so a newer JAX degrades to its defaults instead of failing.
"""
import functools

import jax
import jax.numpy as jnp

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
