"""Alignment and uniformity on the hypersphere as a training objective (Wang & Isola 2020)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.spread import log_gaussian_potential
from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _power(squared, half_alpha):
  """squared ** half_alpha with a zero gradient at 0 (for α < 2); NaN stays NaN."""
  zero = squared == 0
  return jnp.where(zero, 0.0, jnp.where(zero, 1.0, squared) ** half_alpha)


@register("alignment_uniformity", kind="pair")
def alignment_uniformity(
    z1: jax.Array,
    z2: jax.Array,
    *,
    t: float = 2.0,
    alpha: float = 2.0,
    lam: float = 1.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Wang & Isola's loss: align the positive pairs, spread each view uniformly on the sphere.

  With u1, u2 the L2-normalised views,
    align = mean_i ‖u1_i − u2_i‖^α,
    unif(u) = log mean_{i≠j} exp(−t‖u_i − u_j‖²),
    loss = align + λ·(unif(u1) + unif(u2)) / 2,
  as the paper's code (`align_loss` + `uniform_loss` averaged over the two views). unif is
  `jaxssl.estimators.log_gaussian_potential`: minus a Rényi quadratic-entropy estimate of the
  embeddings smoothed at scale σ² = 1/(4t), up to a constant (the paper's Theorem 1: InfoNCE's
  negative term approaches a uniformity term as the number of negatives grows). Defaults t = 2,
  α = 2, λ = 1 are the paper's (lightly's `HypersphereLoss` defaults to t = 1).

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = alignment_uniformity(z1, z2)
  >>> sorted(metrics)
  ['alignment', 'uniformity', 'uniformity_1', 'uniformity_2']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    t: the uniformity kernel's inverse scale.
    alpha: the exponent α of the alignment distance.
    lam: λ, weight of the uniformity term.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it
      the uniformity is over the pairs of the global batch; value and parameter gradient equal
      those on the concatenated global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: the scalar loss, `alignment`, `uniformity` (the mean of the two views',
    unweighted) and each view's `uniformity_1`, `uniformity_2` (nats, ≤ 0).

  References:
    Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and
    Uniformity on the Hypersphere", ICML 2020, https://arxiv.org/abs/2005.10242
  """
  _common.check_embeddings("alignment_uniformity", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("alignment_uniformity", ("z1 (global batch)", "z2 (global batch)"), z1,
                           z2, min_batch=2)
  u1, u2 = _common.l2_normalize(z1), _common.l2_normalize(z2)
  alignment = jnp.mean(_power(jnp.sum((u1 - u2) ** 2, axis=1), alpha / 2.0))
  # The global batch is on every shard already: the estimator runs without axis_name.
  uniformity_1 = log_gaussian_potential(u1, t)
  uniformity_2 = log_gaussian_potential(u2, t)
  uniformity = 0.5 * (uniformity_1 + uniformity_2)
  loss = alignment + lam * uniformity
  metrics = {"alignment": alignment, "uniformity": uniformity, "uniformity_1": uniformity_1,
             "uniformity_2": uniformity_2}
  return collectives.finish(loss, metrics, axis_name)
