"""Self-supervised objectives: pure functions of embeddings returning `(loss, metrics)`.

Every objective takes batches of shape (N, D) (reconstruction: (N, ...); the multi-view LeJEPA,
MMCR, EMP-SSL and FroSSL: views first, (V, N, D), registered for two views), computes in float32
(float64 inputs stay float64; bf16/f16 inputs are cast up), returns a scalar loss and a dict of
every term by name, and has keyword-only hyper-parameters with the published defaults. Stateful
objectives (CorInfoMax, TiCo) take and return an explicit state. Bad shapes/dtypes, or a batch
too small for the objective's statistics, raise one ValueError naming the shapes and dtypes. A NaN
in the embeddings gives a NaN loss (never a finite wrong number), so a non-finite-loss guard in the
training step can skip it.

Registry: `get(name)` returns an `Objective(name, fn, kind, init_state, takes_key)`; `names()`
lists them (`takes_key`: the engine passes `key=`, a fold of its step key: LeJEPA's directions);
`register(name, kind=...)` adds one (a decorator, or one line around a `functools.partial`). Kinds:
'pair' (`fn(z1, z2)`), 'stateful' (`fn(z1, z2, state)`, `init_state(dim)`), 'predictor_target'
(`fn(p1, p2, t1, t2)` with an EMA target network: BYOL, MoCo v3), 'predictor_stopgrad'
(`fn(p1, p2, z1, z2)`: SimSiam), 'reconstruction' (`fn(x, x_hat)`).

## Distribution

Under `jax.jit` with a batch-sharded global array, call the objective on the global arrays without
`axis_name`; XLA inserts the collectives. Inside `jax.shard_map` / `jax.pmap`, pass `axis_name=`
(a name, or a tuple of names when the batch is split over several mesh axes): every shard then
computes the loss of the concatenated global batch, and the gradient of replicated parameters
(the encoder's) equals the single-device gradient after the reduction each idiom normally uses:

| idiom | what you write for the parameter gradient | result |
|---|---|---|
| `jax.jit` on global batch-sharded arrays (no `axis_name`) | `jax.grad(loss)(params, batch)` | exact |
| `shard_map(check_vma=True)`, `jax.grad` outside | `jax.grad(shard_map(loss, ..., out_specs=P()))` | exact |
| `shard_map(check_vma=True)`, `jax.grad` inside | `jax.grad(loss)(params, local)`: nothing more (JAX sums the shards' gradients of `P()` parameters) | exact |
| `shard_map(check_vma=False)`, `jax.grad` outside | `jax.grad(shard_map(loss, ..., out_specs=P(), check_vma=False))` | exact |
| `shard_map(check_vma=False)`, `jax.grad` inside | `jax.lax.pmean(jax.grad(loss)(params, local), axis)` | exact |
| `pmap`, `jax.grad` inside (the Flax / BYOL idiom, as PyTorch DDP) | `jax.lax.pmean(jax.grad(loss)(params, local), axis)` | exact |

(float64, 8 CPU devices, ≤ 1e-10 relative: `tests/test_objectives_distributed.py` for every
registered objective, `tests/test_estimators_distributed.py` for the estimators that take
`axis_name`.) Write the idiom of your code base; the one rule is **`pmean`, never `psum`**, for
parameter gradients taken inside the mapped function. Under `shard_map(check_vma=True)` with
replicated (`P()`) parameters no reduction is needed, and a habitual `pmean` there is harmless (the
gradient is already replicated); a `psum` anywhere multiplies it by the shard count. For new code,
prefer `jax.jit` on sharded arrays, or `shard_map` with the default `check_vma=True`.

How: where JAX types the local rows as varying over the axis (`check_vma=True`), the other shards'
embeddings enter under stop-gradient and each shard's gradient w.r.t. its own embeddings is exactly
their slice of the single-device gradient, with no collective in the backward pass. Under `pmap` and
`check_vma=False` the types record no axis; there the objectives use plain collectives, whose
transposes (`all_gather` → reduce-scatter, `psum` → `psum`) make each shard's gradient that of the
sum of all shards' copies of the loss, N_shards times its share, which `pmean` turns into the
single-device gradient. So under `pmap`, `jax.grad` w.r.t. the *local embeddings* is N_shards × their
slice; that is the gradient of the sum of the copies, consistent with `pmean` downstream (and with
`jax.grad` outside of a loss returned per shard, `out_specs=P(axis)`, then averaged). Under
`check_vma=True` a batch not split over every named axis (rows replicated by `in_specs`) raises a
ValueError at trace time; `pmap` and `check_vma=False` cannot tell, so name only the axes the batch
is split over.

The loss, metrics and new states are the same on every shard; under `shard_map(check_vma=True)`
they are typed replicated, so `out_specs=P()` works. Objectives that need the whole batch (all but
BYOL, SimSiam, MoCo v3 and reconstruction, whose per-example terms need only a `psum`; MoCo v3
gathers its gradient-free keys) all-gather the embeddings and evaluate the loss on the global batch
on every shard: N_global × D extra memory and a redundant O(N_global·D²) (or O(N_global²·D))
computation per shard, small beside the encoder.
"""
from jaxssl.objectives._registry import KINDS
from jaxssl.objectives._registry import Objective
from jaxssl.objectives._registry import get
from jaxssl.objectives._registry import names
from jaxssl.objectives._registry import register

from jaxssl.objectives._alignment_uniformity import alignment_uniformity
from jaxssl.objectives._barlow_twins import barlow_twins
from jaxssl.objectives._byol import byol
from jaxssl.objectives._corinfomax import CorInfoMaxState
from jaxssl.objectives._corinfomax import corinfomax
from jaxssl.objectives._corinfomax import corinfomax_init
from jaxssl.objectives._dcl import dcl
from jaxssl.objectives._emp_ssl import emp_ssl
from jaxssl.objectives._emp_ssl import total_coding_rate
from jaxssl.objectives._frossl import frossl
from jaxssl.objectives._koleo import koleo
from jaxssl.objectives._lejepa import lejepa
from jaxssl.objectives._lejepa import sigreg
from jaxssl.objectives._mmcr import mmcr
from jaxssl.objectives._moco_v3 import moco_v3
from jaxssl.objectives._nt_xent import nt_xent
from jaxssl.objectives._reconstruction import reconstruction
from jaxssl.objectives._simsiam import simsiam
from jaxssl.objectives._spectral_contrastive import spectral_contrastive
from jaxssl.objectives._tico import TiCoState
from jaxssl.objectives._tico import tico
from jaxssl.objectives._tico import tico_init
from jaxssl.objectives._vicreg import vicreg
from jaxssl.objectives._vicreg_entropy import ENTROPY_ESTIMATORS
from jaxssl.objectives._vicreg_entropy import vicreg_entropy
from jaxssl.objectives._w_mse import w_mse

__all__ = [
    "KINDS", "Objective", "get", "names", "register",
    "barlow_twins", "byol", "CorInfoMaxState", "corinfomax", "corinfomax_init", "moco_v3",
    "nt_xent", "reconstruction", "simsiam", "spectral_contrastive", "vicreg",
    "ENTROPY_ESTIMATORS", "vicreg_entropy", "w_mse",
    "alignment_uniformity", "dcl", "koleo", "TiCoState", "tico", "tico_init",
    "emp_ssl", "frossl", "lejepa", "mmcr", "sigreg", "total_coding_rate",
]
