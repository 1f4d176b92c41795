"""Spectral contrastive loss (HaoChen, Wei, Gaidon & Ma 2021)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


@register("spectral_contrastive", kind="pair")
def spectral_contrastive(
    z1: jax.Array,
    z2: jax.Array,
    *,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Spectral contrastive loss between two batches of embeddings.

  loss = −2·E[z1ᵀz2⁺] + E[(z1ᵀz2⁻)²]
       = −(2/N) Σ_i z1_iᵀz2_i + 1/(N(N−1)) Σ_{i≠j} (z1_iᵀz2_j)²,
  positives z2⁺ the other view of the same example, negatives z2⁻ the other examples' second views.
  Its minimisers are the top eigenvectors of the normalised augmentation-graph adjacency.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = spectral_contrastive(z1, z2)
  >>> sorted(metrics)
  ['negative', 'positive']

  Args:
    z1: embeddings of the first view, shape (N, D), float (not normalised).
    z2: embeddings of the second view, shape (N, D), float.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and its terms `positive` (−2·E[z1ᵀz2⁺]) and `negative`
    (E[(z1ᵀz2⁻)²]).

  References:
    HaoChen, Wei, Gaidon & Ma, "Provable Guarantees for Self-Supervised Deep Learning with
    Spectral Contrastive Loss", NeurIPS 2021, https://arxiv.org/abs/2106.04156
  """
  _common.check_embeddings("spectral_contrastive", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("spectral_contrastive", ("z1 (global batch)", "z2 (global batch)"),
                           z1, z2, min_batch=2)
  n = z1.shape[0]
  inner = z1 @ z2.T
  positive = -2.0 * jnp.mean(jnp.diagonal(inner))
  negative = jnp.sum(_common.off_diagonal(inner) ** 2) / (n * (n - 1))
  loss = positive + negative
  metrics = {"positive": positive, "negative": negative}
  return collectives.finish(loss, metrics, axis_name)
