"""Self-supervised objectives: pure functions of embeddings returning `(loss, metrics)`.

Every objective takes batches of shape (N, D) (reconstruction: (N, ...)), computes in float32
(float64 inputs stay float64; bf16/f16 inputs are cast up), returns a scalar loss and a dict of
every term by name, and has keyword-only hyper-parameters with the published defaults. Stateful
objectives (CorInfoMax) take and return an explicit state. Bad shapes/dtypes, or a batch too small
for the objective's statistics, raise one ValueError naming the shapes and dtypes. A NaN in the
embeddings gives a NaN loss (never a finite wrong number), so a non-finite-loss guard in the
training step can skip it.

Registry: `get(name)` returns an `Objective(name, fn, kind, init_state)`; `names()` lists them;
`register(name, kind=...)` adds one (a decorator, or one line around a `functools.partial`). Kinds:
'pair' (`fn(z1, z2)`), 'stateful' (`fn(z1, z2, state)`, `init_state(dim)`), 'predictor_target'
(`fn(p1, p2, t1, t2)` with an EMA target network: BYOL, MoCo v3), 'predictor_stopgrad'
(`fn(p1, p2, z1, z2)`: SimSiam), 'reconstruction' (`fn(x, x_hat)`).

Distribution:
* `jax.jit` with a sharded global batch: call the objective on the global arrays, no `axis_name`;
  XLA inserts the collectives.
* `jax.shard_map` / `jax.pmap`: pass `axis_name=` (a name or tuple of names). On every shard the
  loss value equals the loss on the concatenated global batch, and `jax.grad` taken *inside* the
  mapped function w.r.t. the local embeddings equals the matching slice of the single-device
  gradient. This holds under `pmap` and under `shard_map` with `check_vma` True or False: the other
  shards' embeddings enter under stop-gradient and no collective is transposed (`_distributed`).
  Per-shard *parameter* gradients are then partial sums whose **sum** is the global gradient: add
  a `jax.lax.psum` over the axis under `pmap` and `shard_map(check_vma=False)`, but not under
  `shard_map(check_vma=True)` with replicated (`P()`) parameters, where `jax.grad` already inserts
  that psum (a second one multiplies the gradient by the number of shards). Never `pmean`.
  The loss, metrics and new states are the same on every shard; under `shard_map(check_vma=True)`
  they are typed replicated, so `out_specs=P()` works.
  Objectives that need the whole batch (all but BYOL, SimSiam, MoCo v3 and reconstruction, whose
  per-example terms need only a `psum`; MoCo v3 gathers its gradient-free keys) all-gather the
  embeddings and evaluate the loss on the global batch on every shard: N_global × D extra memory
  and a redundant O(N_global·D²) (or O(N_global²·D)) computation per shard, small beside the
  encoder.
"""
from jaxssl.objectives._registry import KINDS
from jaxssl.objectives._registry import Objective
from jaxssl.objectives._registry import get
from jaxssl.objectives._registry import names
from jaxssl.objectives._registry import register

from jaxssl.objectives._barlow_twins import barlow_twins
from jaxssl.objectives._byol import byol
from jaxssl.objectives._corinfomax import CorInfoMaxState
from jaxssl.objectives._corinfomax import corinfomax
from jaxssl.objectives._corinfomax import corinfomax_init
from jaxssl.objectives._moco_v3 import moco_v3
from jaxssl.objectives._nt_xent import nt_xent
from jaxssl.objectives._reconstruction import reconstruction
from jaxssl.objectives._simsiam import simsiam
from jaxssl.objectives._spectral_contrastive import spectral_contrastive
from jaxssl.objectives._vicreg import vicreg
from jaxssl.objectives._vicreg_entropy import ENTROPY_ESTIMATORS
from jaxssl.objectives._vicreg_entropy import vicreg_entropy
from jaxssl.objectives._w_mse import w_mse

__all__ = [
    "KINDS", "Objective", "get", "names", "register",
    "barlow_twins", "byol", "CorInfoMaxState", "corinfomax", "corinfomax_init", "moco_v3",
    "nt_xent", "reconstruction", "simsiam", "spectral_contrastive", "vicreg",
    "ENTROPY_ESTIMATORS", "vicreg_entropy", "w_mse",
]
