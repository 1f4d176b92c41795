"""`jaxssl.platform`: with `keep_freed_memory()` a repeated XLA:CPU step stops page-faulting.

Each case runs in a fresh process (mallopt is process-wide and must precede JAX's CPU backend).
"""
import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = r'''
import json, resource, time
from jaxssl.platform import keep_freed_memory
applied = keep_freed_memory()
import jax, jax.numpy as jnp

@jax.jit
def step(x):  # a 64 MiB temporary (above glibc's 32 MiB mmap ceiling), then read transposed
  y = jnp.tanh(x[::-1]) + x
  return jnp.sum(y * y.T)

x = jnp.linspace(-1.0, 1.0, 4096 * 4096, dtype=jnp.float32).reshape(4096, 4096)
faults, values = [], []
for _ in range(16):
  time.sleep(0.3)  # let the last call's buffers be freed (XLA frees them after returning)
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  values.append(float(step(x)))
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
from jaxssl import platform
assert platform.applied() is applied
print(json.dumps({'applied': applied, 'faults': faults, 'values': values}))
'''


def _run(keep: bool) -> dict:
  env = dict(os.environ, JAXSSL_KEEP_FREED_MEMORY='1' if keep else '0', JAX_PLATFORMS='cpu')
  out = subprocess.run([sys.executable, '-c', SCRIPT], env=env, capture_output=True, text=True,
                       timeout=300, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def test_keep_freed_memory_stops_per_step_page_faults_and_keeps_values():
  kept, default = _run(keep=True), _run(keep=False)
  assert kept['applied'] is True and default['applied'] is False  # the env var opts out
  # Median page faults per call after the first: glibc's default mmaps fresh pages for the
  # temporaries on every call -- 16k 4 KiB pages per 64 MiB (fewer where transparent huge pages are
  # 'always' on: 2 MiB pages). Kept, the heap grows during the first calls (more so on a busy
  # machine: XLA frees a call's buffers after returning its result), then its pages are reused.
  assert np.median(default['faults'][1:]) >= 20
  assert np.median(kept['faults'][1:]) * 10 < np.median(default['faults'][1:])
  # Same numbers: only where the memory comes from changes.
  assert kept['values'] == [kept['values'][0]] * 16 == default['values']


def test_keep_freed_memory_leaves_accelerator_hosts_alone(monkeypatch):
  from jaxssl import platform
  monkeypatch.setenv('JAX_PLATFORMS', 'cuda,cpu')
  assert platform._computes_on_cpu() is False
  assert platform.keep_freed_memory() is False  # returns before touching glibc
  monkeypatch.setenv('JAX_PLATFORMS', 'cpu')
  assert platform._computes_on_cpu() is True
