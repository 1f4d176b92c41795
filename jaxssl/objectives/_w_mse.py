"""W-MSE: MSE between whitened views (Ermolov, Siarohin, Sangineto & Sebe 2021)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def _whiten(x, eps):
  """Cholesky whitening of one sub-batch x (w, D): rows L⁻¹(x_i − x̄), LLᵀ = (1−ε)Σ + εI."""
  w, d = x.shape
  xc = x - jnp.mean(x, axis=0)
  cov = xc.T @ xc / (w - 1)
  cov = (1.0 - eps) * cov + eps * jnp.eye(d, dtype=x.dtype)
  chol = jnp.linalg.cholesky(cov)
  return jax.scipy.linalg.solve_triangular(chol, xc.T, lower=True).T


@register("w_mse", kind="pair")
def w_mse(
    z1: jax.Array,
    z2: jax.Array,
    *,
    w_size: int = 128,
    eps: float = 0.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """W-MSE loss: normalised MSE between the views after whitening each sub-batch.

  The batch is cut into N / w consecutive sub-batches of w = `w_size` rows; in each, each view is
  whitened separately, x̃_i = L⁻¹(x_i − x̄) with LLᵀ = (1 − ε)·Σ + ε·I (Σ the unbiased covariance
  of the sub-batch, L its Cholesky factor). Then
    loss = mean_i ‖x̃1_i/‖x̃1_i‖ − x̃2_i/‖x̃2_i‖‖² = 2 − 2·mean_i cos(x̃1_i, x̃2_i).
  Sub-batches are consecutive rows: shuffle the batch (or permute it with a key) for the random
  sub-batches of the reference code; its `w_iter` repetitions are not included.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = w_mse(z1, z2)
  >>> sorted(metrics)
  ['invariance']

  Args:
    z1: embeddings of the first view, shape (N, D), float, N a multiple of `w_size`.
    z2: embeddings of the second view, shape (N, D), float.
    w_size: rows per whitening sub-batch; must exceed D when `eps` is 0 (the paper's CIFAR
      setting: 128 with D = 64).
    eps: shrinkage of the covariance towards I before the Cholesky factorisation (reference: 0).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      sub-batches are cut from the global batch; value and parameter gradient equal those on the
      concatenated global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and its single term `invariance` (the normalised MSE).

  References:
    Ermolov, Siarohin, Sangineto & Sebe, "Whitening for Self-Supervised Representation Learning",
    ICML 2021, https://arxiv.org/abs/2007.06346
  """
  _common.check_embeddings("w_mse", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("w_mse", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  n, d = z1.shape
  if w_size < 2 or n % w_size:
    raise ValueError(f"w_mse: the global batch size {n} must be a multiple of w_size={w_size} "
                     "(w_size >= 2); change w_size or the batch size.")
  if eps == 0.0 and w_size <= d:
    raise ValueError(f"w_mse: a sub-batch of w_size={w_size} rows has a singular covariance in "
                     f"D={d} dimensions; use w_size > {d} or eps > 0.")
  whiten = jax.vmap(lambda x: _whiten(x, eps))
  w1 = whiten(z1.reshape(n // w_size, w_size, d)).reshape(n, d)
  w2 = whiten(z2.reshape(n // w_size, w_size, d)).reshape(n, d)
  cosine = jnp.sum(_common.l2_normalize(w1) * _common.l2_normalize(w2), axis=1)
  invariance = 2.0 - 2.0 * jnp.mean(cosine)
  return collectives.finish(invariance, {"invariance": invariance}, axis_name)
