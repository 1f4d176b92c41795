"""MoCo v3: InfoNCE against a momentum encoder's keys (Chen, Xie & He 2021)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _infonce(q, k_global, offset, temperature, axis_name):
  """Mean over the global batch of −log softmax(q̄ k̄ᵀ/τ) at each query's own key (nats)."""
  logits = _common.l2_normalize(q) @ _common.l2_normalize(k_global).T / temperature
  labels = offset + jnp.arange(q.shape[0])
  positives = jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
  return collectives.global_mean(jax.nn.logsumexp(logits, axis=1) - positives, axis_name)


@register("moco_v3", kind="predictor_target")
def moco_v3(
    q1: jax.Array,
    q2: jax.Array,
    k1: jax.Array,
    k2: jax.Array,
    *,
    temperature: float = 0.2,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """MoCo v3's symmetrised contrastive loss.

  With q̄, k̄ L2-normalised and the N keys of the (global) batch,
    CE(q, k) = mean_i [−log exp(q̄_iᵀk̄_i/τ) / Σ_j exp(q̄_iᵀk̄_j/τ)],
    loss = 2τ·[CE(q1, sg(k2)) + CE(q2, sg(k1))],
  the 2τ factor as in the reference code. Queries q are the online predictor outputs, keys k the
  momentum encoder's projections (put under stop-gradient here). Each CE is an InfoNCE estimate
  over the N keys: log N − CE is a lower bound on the information between query and key
  representations (capped at log N).

  >>> q1, q2, k1, k2 = jax.random.normal(jax.random.key(0), (4, 256, 32))
  >>> loss, metrics = moco_v3(q1, q2, k1, k2)
  >>> sorted(metrics)
  ['infonce_12', 'infonce_21']

  Args:
    q1: online predictions of view 1, shape (N, D), float.
    q2: online predictions of view 2, shape (N, D), float.
    k1: momentum-encoder projections of view 1, shape (N, D), float (no gradient).
    k2: momentum-encoder projections of view 2, shape (N, D), float (no gradient).
    temperature: τ.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it
      the keys of all shards are the candidates; value and parameter gradient equal those on the
      concatenated global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and the unscaled cross-entropies `infonce_12` (q1 against k2)
    and `infonce_21` (q2 against k1), in nats.

  References:
    Chen, Xie & He, "An Empirical Study of Training Self-Supervised Vision Transformers", ICCV 2021,
    https://arxiv.org/abs/2104.02057
  """
  _common.check_embeddings("moco_v3", ("q1", "q2", "k1", "k2"), q1, q2, k1, k2)
  dtype = _common.compute_dtype(q1, q2, k1, k2)
  q1, q2 = q1.astype(dtype), q2.astype(dtype)
  k1 = collectives.gather_constant(k1.astype(dtype), axis_name)
  k2 = collectives.gather_constant(k2.astype(dtype), axis_name)
  _common.check_embeddings("moco_v3", ("k1 (global batch)", "k2 (global batch)"), k1, k2,
                           min_batch=2)
  offset = collectives.shard_offset(q1.shape[0], axis_name)
  infonce_12 = _infonce(q1, k2, offset, temperature, axis_name)
  infonce_21 = _infonce(q2, k1, offset, temperature, axis_name)
  loss = 2.0 * temperature * (infonce_12 + infonce_21)
  metrics = {"infonce_12": infonce_12, "infonce_21": infonce_21}
  return collectives.finish(loss, metrics, axis_name)
