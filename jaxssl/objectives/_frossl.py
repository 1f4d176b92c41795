"""FroSSL: Frobenius-norm minimisation (Skean, Dhakal, Jacobs & Sanchez Giraldo 2024)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.covariance import covariance_renyi2_entropy
from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives import _multiview
from jaxssl.objectives._registry import register


def frossl(
    z: jax.Array,
    *,
    invariance_weight: float = 1.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """FroSSL loss: Σ_v log ‖A_v‖²_F + w · V·D·MSE(views, their mean), A_v = Z_vᵀZ_v / tr.

  Each embedding *dimension* is L2-normalised over the batch, per view: u_v,·j = z_v,·j / ‖z_v,·j‖
  (a column of the (N, D) matrix Z_v; no centring). Then
    entropy_v  = S₂(A_v) = −log ‖A_v‖²_F,  A_v = U_vᵀU_v / tr(U_vᵀU_v)   (matrix Rényi-2 entropy,
                 `jaxssl.estimators.covariance.covariance_renyi2_entropy`, nats; ‖U_vᵀU_v‖_F =
                 ‖U_vU_vᵀ‖_F, so the smaller matrix is used),
    invariance = V·D · mean_{v,n,j} (u_v,nj − ū_nj)²,  ū = mean_v u_v,
    loss = −Σ_v entropy_v + w · invariance = −V·entropy + w · invariance.
  This is the multi-view loss of the FroSSL authors' solo-learn implementation (column
  normalisation, trace-normalised covariance, the V·D trade-off on the MSE to the views' mean);
  lightly's `FroSSLLoss` sums V·D·MSE over the views, V times this invariance term, and the
  original repository's two-view function standardises each dimension (centres it) and weights
  the MSE between the two views, twice this term at V = 2.

  Registered as 'frossl' (kind 'pair'): `fn(z1, z2, **kw)` stacks the two views.

  >>> z = jax.random.normal(jax.random.key(0), (2, 128, 32))
  >>> loss, metrics = frossl(z)
  >>> sorted(metrics)
  ['entropy', 'invariance']

  Args:
    z: embeddings, views-first (V, N, D), float (normalised here).
    invariance_weight: w, the weight of the invariance term.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss (float32, float64 for float64 inputs) and the unweighted terms
    `entropy` (mean over views of S₂(A_v), nats, in [0, log min(N, D)]) and `invariance`.

  References:
    Skean, Dhakal, Jacobs & Sanchez Giraldo, "FroSSL: Frobenius Norm Minimization for Efficient
    Multiview Self-Supervised Learning", ECCV 2024, https://arxiv.org/abs/2310.02903
  """
  _multiview.check_views("frossl", ("z",), z)
  _multiview.check_global_batch("frossl", _multiview.global_batch_size(z.shape[1], axis_name), z)
  dtype = _common.compute_dtype(z)
  # The column norms are batch statistics: gather, then normalise each dimension over N.
  z = _multiview.gather_views(z.astype(dtype), axis_name)
  u = jnp.swapaxes(_common.l2_normalize(jnp.swapaxes(z, 1, 2)), 1, 2)
  views, _, dim = u.shape
  entropy = jnp.mean(covariance_renyi2_entropy(u))
  invariance = views * dim * jnp.mean((u - jnp.mean(u, axis=0)) ** 2)
  loss = -views * entropy + invariance_weight * invariance
  return collectives.finish(loss, {"entropy": entropy, "invariance": invariance}, axis_name)


register("frossl", kind="pair")(_multiview.as_pair(frossl))
