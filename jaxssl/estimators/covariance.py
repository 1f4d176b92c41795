"""Entropy surrogates of a batch's second-moment matrix ZᵀZ: coding rate and Rényi-2 entropy.

Both are spectral functionals of the (uncentred) D×D matrix ZᵀZ, computed without an
eigendecomposition: the coding rate (MCR², EMP-SSL) by a Cholesky factorisation, the Rényi-2
entropy (FroSSL) by a Frobenius norm. Both are largest for an isotropic batch and fall as the batch
collapses onto fewer directions. With `axis_name`, ZᵀZ is summed over the shards (a D×D `psum`):
the value is that of the concatenated batch and gradients follow the idiom table of
`jaxssl.objectives` (`lax.pmean` after `jax.grad` inside `pmap` / `shard_map(check_vma=False)`,
nothing under `shard_map(check_vma=True)`).
"""
import functools
import numbers

import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks
from jaxssl.parallel import collectives as dist


def _check_batch(name: str, z) -> None:
  shape = jnp.shape(z)
  if len(shape) < 2 or not jnp.issubdtype(jnp.result_type(z), jnp.floating):
    raise ValueError(f"{name}: `z` must be a float array of shape (N, D) or (..., N, D); found "
                     f"shape {shape} and dtype {jnp.result_type(z)}.")
  if shape[-1] == 0 or shape[-2] == 0:
    raise ValueError(f"{name}: `z` has shape {shape}; it needs N >= 1 rows and D >= 1 dimensions.")


def _gram(z):
  return jnp.swapaxes(z, -1, -2) @ z


def coding_rate(z: jax.Array, *, eps: float = 0.2, axis_name=None) -> jax.Array:
  """Coding rate R(Z) = ½ logdet(I + D/(N·ε) ZᵀZ) of a batch of embeddings, in nats.

  The number of nats needed to code the N rows up to distortion ε with a Gaussian codebook fitted
  to their second moment ZᵀZ/N (MCR², Yu et al. 2020; the "total coding rate" of EMP-SSL, Tong et
  al. 2023). It is `logdet_entropy` at β = D/ε *without the centring*: the reference code of both
  papers does not centre Z (for their L2-normalised embeddings the mean direction counts as one
  more direction of spread). ε enters as in that code, D/(N·ε); the papers write ε², so ε = 0.2
  here is their ε² = 0.2. Orthonormal columns (ZᵀZ = I_D) give R = (D/2)·log(1 + D/(N·ε));
  orthonormal rows (ZZᵀ = I_N) give R = (N/2)·log(1 + D/(N·ε)). D×D Cholesky: O(N·D² + D³).

  Bias: not a consistent estimator of the differential entropy. It is the log-det entropy surrogate
  ½ Σ_i log(1 + D·λ_i/ε) in the eigenvalues λ_i of ZᵀZ/N: for Gaussian rows it grows like the
  entropy of the Gaussian with that second moment, it is bounded by the batch's rank (≤ min(N, D)
  non-zero terms) and, at a fixed trace, largest for an isotropic batch.

  >>> z = jnp.eye(8)[:, :4]  # orthonormal columns: R = 2·log(1 + 4/(8·0.2))
  >>> bool(jnp.isclose(coding_rate(z), 2 * jnp.log(1 + 4 / 1.6)))
  True

  Args:
    z: embeddings, shape (N, D), or (..., N, D) for one rate per leading index; float.
    eps: ε > 0, the distortion (the papers' ε²).
    axis_name: mapped axis the N rows are split over (inside `shard_map`/`pmap`), or None.

  Returns:
    R in nats: a scalar, or shape (...) for leading dimensions; float32 (float64 for float64
    inputs with x64). A NaN in `z` gives NaN.

  References:
    Yu, Chan, You, Song & Ma, "Learning Diverse and Discriminative Representations via the
    Principle of Maximal Coding Rate Reduction", NeurIPS 2020, https://arxiv.org/abs/2006.08558
    Tong, Chen, Ma & LeCun, "EMP-SSL: Towards Self-Supervised Learning in One Training Epoch",
    2023, https://arxiv.org/abs/2304.03977
  """
  _check_batch("coding_rate", z)
  if isinstance(eps, numbers.Real) and not eps > 0:
    raise ValueError(f"coding_rate: `eps` must be positive, found {eps!r}.")
  value = coding_rate_unreplicated(z, eps, axis_name)
  return value if axis_name is None else dist.replicated(value, axis_name)


@functools.partial(jax.jit, static_argnames="axis_name")
def coding_rate_unreplicated(z, eps, axis_name):
  """`coding_rate` without its inputs checked or its value marked replicated over `axis_name`.

  For a loss that combines it with other per-shard terms and marks the sum replicated once
  (`jaxssl.parallel.collectives.finish`): under `shard_map(check_vma=True)` a replicated term
  added to a varying one would be broadcast back, and its gradient summed over the shards.
  """
  dtype = _checks.float_dtype(z)
  z = z.astype(dtype)
  n, dim = z.shape[-2], z.shape[-1]
  gram = _gram(z)
  if axis_name is not None:
    n = n * dist.num_shards(axis_name)
    gram = dist.global_sum(gram, axis_name)
  matrix = jnp.eye(dim, dtype=dtype) + (dim / (n * eps)) * gram
  chol = jnp.linalg.cholesky(matrix)
  return jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def covariance_renyi2_entropy(z: jax.Array, *, axis_name=None) -> jax.Array:
  """Matrix Rényi-2 entropy S₂(A) = −log tr(A²) = −log ‖A‖²_F of A = ZᵀZ / tr(ZᵀZ), in nats.

  A is the batch's uncentred second-moment matrix scaled to unit trace, a "density matrix" whose
  eigenvalues p_i = λ_i / Σλ sum to one; S₂ = −log Σ p_i² is the Rényi entropy of order 2 of that
  spectrum (Sanchez Giraldo, Rao & Príncipe 2015, with the linear kernel on the dimensions). FroSSL
  (Skean et al. 2024) minimises log ‖Z_vᵀZ_v‖²_F = −S₂ per view. ZᵀZ and ZZᵀ share their non-zero
  eigenvalues, so without `axis_name` the smaller of the D×D and N×N matrices is used, as in the
  FroSSL code: O(N·D·min(N, D)). With `axis_name` the D×D matrix is summed over the shards.

  Bias: a spectral functional, not an estimator of Shannon's differential entropy. In
  [0, log min(N, D)]: log r for r equal non-zero eigenvalues (log D for an isotropic batch,
  0 for a batch on one line), and a lower bound on the von Neumann (Rényi-1) entropy of the same
  spectrum, since Rényi entropies fall with the order. Invariant to the scale of Z.

  >>> z = jnp.eye(6)[:, :3]  # three equal eigenvalues: S₂ = log 3
  >>> bool(jnp.isclose(covariance_renyi2_entropy(z), jnp.log(3.0)))
  True

  Args:
    z: embeddings, shape (N, D), or (..., N, D) for one entropy per leading index; float.
    axis_name: mapped axis the N rows are split over (inside `shard_map`/`pmap`), or None.

  Returns:
    S₂ in nats: a scalar, or shape (...) for leading dimensions; float32 (float64 for float64
    inputs with x64). NaN for a NaN in `z` or an all-zero batch.

  References:
    Sanchez Giraldo, Rao & Príncipe, "Measures of Entropy from Data Using Infinitely Divisible
    Kernels", IEEE Trans. Inf. Theory 61 (2015), https://arxiv.org/abs/1211.2459
    Skean, Dhakal, Jacobs & Sanchez Giraldo, "FroSSL: Frobenius Norm Minimization for Efficient
    Multiview Self-Supervised Learning", ECCV 2024, https://arxiv.org/abs/2310.02903
  """
  _check_batch("covariance_renyi2_entropy", z)
  return _covariance_renyi2_entropy(z, axis_name)


@functools.partial(jax.jit, static_argnames="axis_name")
def _covariance_renyi2_entropy(z, axis_name):
  dtype = _checks.float_dtype(z)
  z = z.astype(dtype)
  if axis_name is None and z.shape[-2] < z.shape[-1]:
    gram = z @ jnp.swapaxes(z, -1, -2)  # N×N: the same non-zero eigenvalues
  else:
    gram = _gram(z)
    if axis_name is not None:
      gram = dist.global_sum(gram, axis_name)
  trace = jnp.trace(gram, axis1=-2, axis2=-1)
  value = 2.0 * jnp.log(trace) - jnp.log(jnp.sum(gram * gram, axis=(-2, -1)))
  return value if axis_name is None else dist.replicated(value, axis_name)
