"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


@register("nt_xent", kind="pair")
def nt_xent(
    z1: jax.Array,
    z2: jax.Array,
    *,
    temperature: float = 0.5,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """SimCLR's NT-Xent (InfoNCE) loss over the 2N embeddings of N positive pairs.

  With u the 2N L2-normalised embeddings [z1; z2], s_ik = u_iᵀu_k / τ and p(i) the other view of
  example i,
    ℓ_i = −s_ip(i) + log Σ_{k≠i} exp(s_ik),   loss = mean_i ℓ_i   (in nats),
  split as loss = alignment + uniformity with alignment = mean_i(−s_ip(i)) and
  uniformity = mean_i log Σ_{k≠i} exp(s_ik). For identical views and τ → ∞, loss → log(2N − 1).
  Equals `optax.ntxent(concat([z1, z2]), concat([arange(N), arange(N)]), τ)`.
  Information view: the one-directional InfoNCE form (z1_i against the N second views) gives the
  lower bound I(Z1; Z2) ≥ log N − L_InfoNCE, capped at log N; the symmetric 2N-way form here also
  contrasts same-view embeddings and is the training loss, not itself a bound.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = nt_xent(z1, z2)
  >>> sorted(metrics)
  ['alignment', 'uniformity']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    temperature: τ. SimCLR uses 0.5 on CIFAR (0.1 with large ImageNet batches).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it
      every shard uses the 2N embeddings of the global batch as negatives; value and parameter
      gradient equal those on the concatenated global batch (the idiom table of
      `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss in nats and its terms `alignment` and `uniformity`.

  References:
    Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
    Representations", ICML 2020, https://arxiv.org/abs/2002.05709
  """
  _common.check_embeddings("nt_xent", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("nt_xent", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  n = z1.shape[0]
  u = _common.l2_normalize(jnp.concatenate([z1, z2], axis=0))
  logits = u @ u.T / temperature
  positives = jnp.concatenate([jnp.diagonal(logits, offset=n), jnp.diagonal(logits, offset=-n)])
  logits = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, logits)
  alignment = -jnp.mean(positives)
  uniformity = jnp.mean(jax.nn.logsumexp(logits, axis=1))
  loss = alignment + uniformity
  metrics = {"alignment": alignment, "uniformity": uniformity}
  return collectives.finish(loss, metrics, axis_name)
