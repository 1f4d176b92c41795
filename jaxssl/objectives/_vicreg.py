"""VICReg: variance-invariance-covariance regularisation (Bardes, Ponce & LeCun 2022)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _variance_covariance(z, gamma, eps):
  n, d = z.shape
  zc = z - jnp.mean(z, axis=0)
  cov = zc.T @ zc / (n - 1)
  std = jnp.sqrt(jnp.diagonal(cov) + eps)
  variance = jnp.mean(jax.nn.relu(gamma - std))
  covariance = jnp.sum(_common.off_diagonal(cov) ** 2) / d
  return variance, covariance


@register("vicreg", kind="pair")
def vicreg(
    z1: jax.Array,
    z2: jax.Array,
    *,
    sim_coeff: float = 25.0,
    std_coeff: float = 25.0,
    cov_coeff: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """VICReg loss between two batches of projected embeddings.

  loss = λ·inv + μ·var + ν·cov, with
    inv = mean_{n,j} (z1_nj − z2_nj)²,
    var = ½ Σ_{b=1,2} mean_j relu(γ − sqrt(Var_j(z_b) + ε))   (unbiased, N−1, variance),
    cov = Σ_{b=1,2} Σ_{i≠j} C_b,ij² / D,  C_b = (z_b − z̄_b)ᵀ(z_b − z̄_b) / (N−1).
  As in the reference code, the variance term is averaged over the two branches and the covariance
  term summed.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = vicreg(z1, z2)
  >>> sorted(metrics)
  ['covariance', 'invariance', 'variance']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    sim_coeff: λ, weight of the invariance term.
    std_coeff: μ, weight of the variance term.
    cov_coeff: ν, weight of the covariance term.
    gamma: γ, target standard deviation of each dimension.
    eps: ε added to the variance before the square root.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss (float32, float64 for float64 inputs) and the unweighted terms
    `invariance`, `variance`, `covariance`.

  References:
    Bardes, Ponce & LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
    Self-Supervised Learning", ICLR 2022, https://arxiv.org/abs/2105.04906
  """
  _common.check_embeddings("vicreg", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("vicreg", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  invariance = jnp.mean((z1 - z2) ** 2)
  var1, cov1 = _variance_covariance(z1, gamma, eps)
  var2, cov2 = _variance_covariance(z2, gamma, eps)
  variance = 0.5 * (var1 + var2)
  covariance = cov1 + cov2
  loss = sim_coeff * invariance + std_coeff * variance + cov_coeff * covariance
  metrics = {"invariance": invariance, "variance": variance, "covariance": covariance}
  return collectives.finish(loss, metrics, axis_name)
