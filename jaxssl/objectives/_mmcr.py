"""MMCR: maximum manifold capacity representations (Yerxa, Kuang, Simoncelli & Chung 2023)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives import _multiview
from jaxssl.objectives._registry import register


def nuclear_norm(m: jax.Array) -> jax.Array:
  """Σ of the singular values of each matrix in m (..., A, B).

  The gradient is U Vᵀ from the thin SVD, with no 1/(σ_i² − σ_j²) terms (JAX differentiates the
  singular values alone, as PyTorch's `svdvals`), so it is finite for every input. At repeated
  non-zero singular values U_r V_rᵀ is still unique; at zero singular values (rank-deficient m:
  identical views, zero rows) it is one subgradient, the singular vectors the SVD routine returns.
  """
  return jnp.sum(jnp.linalg.svd(m, compute_uv=False), axis=-1)


def mmcr(
    z: jax.Array,
    *,
    lmbda: float = 5e-3,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """MMCR loss: −‖C‖_* of the centroid matrix + λ × the mean per-example nuclear norm.

  With every embedding L2-normalised, z_v,n ← z_v,n / ‖z_v,n‖,
    C = (c_1; …; c_N) ∈ ℝ^{N×D},  c_n = mean_v z_v,n   (the centroid of example n's views),
    loss = −‖C‖_* + λ · mean_n ‖Z_n‖_*,  Z_n = (z_1,n; …; z_V,n) ∈ ℝ^{V×D},
  ‖·‖_* the nuclear norm (sum of singular values). Maximising ‖C‖_* spreads the centroids over
  many directions (a large manifold capacity; for unit-norm rows it is at most √(N·min(N, D)));
  the local term shrinks each example's view manifold. As the official code and lightly's
  `MMCRLoss`: the centroid norm is not divided by N, the local term is (a mean over examples).
  λ = 5e-3 is lightly's default; the paper's main runs use λ = 0 (pass `lmbda=0.0`). Gradients
  through the SVD: see `nuclear_norm` (finite for every input).

  Registered as 'mmcr' (kind 'pair'): `fn(z1, z2, **kw)` stacks the two views.

  >>> z = jax.random.normal(jax.random.key(0), (2, 64, 16))
  >>> loss, metrics = mmcr(z)
  >>> sorted(metrics)
  ['centroid_nuclear_norm', 'local_nuclear_norm']

  Args:
    z: embeddings, views-first (V, N, D), float (normalised here).
    lmbda: λ, the weight of the mean per-example (local) nuclear norm.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss (float32, float64 for float64 inputs) and the unweighted terms
    `centroid_nuclear_norm` (‖C‖_*) and `local_nuclear_norm` (mean_n ‖Z_n‖_*).

  References:
    Yerxa, Kuang, Simoncelli & Chung, "Learning Efficient Coding of Natural Images with Maximum
    Manifold Capacity Representations", NeurIPS 2023, https://arxiv.org/abs/2303.03307
  """
  _multiview.check_views("mmcr", ("z",), z)
  _multiview.check_global_batch("mmcr", _multiview.global_batch_size(z.shape[1], axis_name), z)
  dtype = _common.compute_dtype(z)
  z = _common.l2_normalize(_multiview.gather_views(z.astype(dtype), axis_name))
  centroid = nuclear_norm(jnp.mean(z, axis=0))
  local = jnp.mean(nuclear_norm(jnp.swapaxes(z, 0, 1)))
  loss = -centroid + lmbda * local
  metrics = {"centroid_nuclear_norm": centroid, "local_nuclear_norm": local}
  return collectives.finish(loss, metrics, axis_name)


register("mmcr", kind="pair")(_multiview.as_pair(mmcr))
