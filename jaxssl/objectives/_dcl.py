"""DCL / DCLW: decoupled contrastive learning (Yeh et al. 2022)."""
import functools
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _negatives(same, cross):
  """Per anchor i, logsumexp over its 2N − 2 negatives: same-view j ≠ i and other-view j ≠ i."""
  off = ~jnp.eye(same.shape[0], dtype=bool)
  logits = jnp.concatenate([jnp.where(off, same, -jnp.inf), jnp.where(off, cross, -jnp.inf)], 1)
  return jax.nn.logsumexp(logits, axis=1)


@register("dcl", kind="pair")
def dcl(
    z1: jax.Array,
    z2: jax.Array,
    *,
    temperature: float = 0.1,
    weighted: bool = False,
    sigma: float = 0.5,
    weight_gradient: bool = False,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Decoupled contrastive loss: InfoNCE without the positive pair in the denominator.

  With u1, u2 the L2-normalised views, s^{ab}_ij = ⟨u^a_i, u^b_j⟩/τ and each of the 2N embeddings
  as an anchor (view a, other view b),
    ℓ^a_i = −w_i·s^{ab}_ii + log Σ_{j≠i} [exp(s^{aa}_ij) + exp(s^{ab}_ij)],
    loss = ½ (mean_i ℓ^1_i + mean_i ℓ^2_i),
  the 2N − 2 negatives in one log-sum-exp (Yeh et al. 2022, eq. 6, as the reference code,
  github.com/raminnakhli/Decoupled-Contrastive-Learning, which masks the positive with log 1e-45
  instead of −∞; lightly's `DCLLoss` sums two separate log-sum-exps, one per view, which is not the
  paper's loss). The two directions are averaged (lightly) where that reference code sums them
  (twice the value, same minimiser).
  DCL: w_i = 1. DCLW (`weighted=True`, registered as 'dclw'): the negative von Mises–Fisher
  weight w_i = 2 − N·exp(⟨u1_i, u2_i⟩/σ) / Σ_j exp(⟨u1_j, u2_j⟩/σ) (mean 1; it weights the
  positive pairs that are further apart more), the same for both directions; under stop-gradient
  by default, as lightly's `DCLWLoss`, or differentiated with `weight_gradient=True`, as the
  reference code (whose weight also lacks the factor N, so that it is ≈ 2 everywhere; the paper's
  and lightly's weight has it).
  Removing the positive from the denominator removes InfoNCE's negative–positive coupling factor
  from the gradient, which shrinks it for small batches: DCL is far less sensitive to batch size.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = dcl(z1, z2)
  >>> sorted(metrics)
  ['alignment', 'uniformity']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    temperature: τ (0.1, the default of the reference code and of lightly).
    weighted: DCLW's von Mises–Fisher weighting of the positive term.
    sigma: σ of DCLW's weights (0.5); unused when `weighted` is False.
    weight_gradient: let the gradient flow through DCLW's weights (default: stop-gradient).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it
      every shard uses the 2N embeddings of the global batch as negatives and DCLW's weights are
      normalised over the global batch; value and parameter gradient equal those on the
      concatenated global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss in nats and its terms `alignment` (mean of −w_i s_ii over the
    2N anchors) and `uniformity` (mean of the negatives' log-sum-exp).

  References:
    Yeh, Hong, Hsu, Liu, Chen & LeCun, "Decoupled Contrastive Learning", ECCV 2022,
    https://arxiv.org/abs/2110.06848
  """
  _common.check_embeddings("dcl", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("dcl", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  n = z1.shape[0]
  u1, u2 = _common.l2_normalize(z1), _common.l2_normalize(z2)
  cross = u1 @ u2.T / temperature
  positive = jnp.diagonal(cross)
  weight = 1.0
  if weighted:
    cosine = jnp.sum(u1 * u2, axis=1)
    weight = 2.0 - n * jax.nn.softmax(cosine / sigma)
    if not weight_gradient:
      weight = jax.lax.stop_gradient(weight)
  negative_1 = _negatives(u1 @ u1.T / temperature, cross)
  negative_2 = _negatives(u2 @ u2.T / temperature, cross.T)
  alignment = -jnp.mean(weight * positive)
  uniformity = 0.5 * (jnp.mean(negative_1) + jnp.mean(negative_2))
  loss = alignment + uniformity
  metrics = {"alignment": alignment, "uniformity": uniformity}
  return collectives.finish(loss, metrics, axis_name)


def _weighted():
  """`dcl` with DCLW's weighting (keeps the docstring)."""
  return functools.update_wrapper(functools.partial(dcl, weighted=True), dcl)


register("dclw", kind="pair")(_weighted())
