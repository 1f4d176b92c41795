"""Barlow Twins: redundancy reduction of the cross-correlation matrix (Zbontar et al. 2021)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _standardise(z, eps):
  mean = jnp.mean(z, axis=0)
  var = jnp.mean((z - mean) ** 2, axis=0)
  return (z - mean) / jnp.sqrt(var + eps)


@register("barlow_twins", kind="pair")
def barlow_twins(
    z1: jax.Array,
    z2: jax.Array,
    *,
    lambd: float = 0.0051,
    eps: float = 1e-5,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Barlow Twins loss between two batches of projected embeddings.

  loss = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²,  C = ž1ᵀ ž2 / N,
  where ž standardises each dimension over the batch like the reference code's affine-free
  BatchNorm: ž = (z − mean) / sqrt(Var + ε), with the biased (1/N) variance.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = barlow_twins(z1, z2)
  >>> sorted(metrics)
  ['invariance', 'redundancy']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    lambd: λ, weight of the off-diagonal (redundancy) term.
    eps: ε of the batch standardisation (BatchNorm's default).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and the unweighted terms `invariance` (Σ_i (1 − C_ii)²) and
    `redundancy` (Σ_{i≠j} C_ij²).

  References:
    Zbontar, Jing, Misra, LeCun & Deny, "Barlow Twins: Self-Supervised Learning via Redundancy
    Reduction", ICML 2021, https://arxiv.org/abs/2103.03230
  """
  _common.check_embeddings("barlow_twins", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("barlow_twins", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  c = _standardise(z1, eps).T @ _standardise(z2, eps) / z1.shape[0]
  invariance = jnp.sum((1.0 - jnp.diagonal(c)) ** 2)
  redundancy = jnp.sum(_common.off_diagonal(c) ** 2)
  loss = invariance + lambd * redundancy
  metrics = {"invariance": invariance, "redundancy": redundancy}
  return collectives.finish(loss, metrics, axis_name)
