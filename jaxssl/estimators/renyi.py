"""Matrix-based Rényi α-entropy and mutual information (Giraldo, Rao & Príncipe 2014).

From N samples, A = K / tr K with the Gaussian Gram matrix K_ij = exp(−‖x_i − x_j‖²/(2σ²)), and

  S_α(A) = log(Σ_i λ_i(A)^α) / (1 − α)        (α > 0, α ≠ 1; S_1 = −Σ λ log λ, von Neumann),
  S_α(A, B) = S_α(A ∘ B / tr(A ∘ B)),         I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B).

These are functionals of the data's Gram matrix, not plug-in estimates of Shannon's differential
entropy: 0 ≤ S_α ≤ log N, they depend on the kernel width σ, and they are invariant to the data's
ordering. (Natural log: nats; Giraldo et al. use log₂.) Cost O(N²·d + N³) (an eigendecomposition;
O(N²·d) for α = 2, where Σλ² = ‖A‖²_F).
"""
import functools

import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks


def _normalised_gram(x, sigma):
  sq_norm = jnp.sum(x * x, axis=1)
  sq = jnp.maximum(sq_norm[:, None] + sq_norm[None, :] - 2.0 * x @ x.T, 0.0)
  k = jnp.exp(-sq / (2.0 * sigma**2))
  k = k.at[jnp.diag_indices(x.shape[0])].set(1.0)
  return k / x.shape[0]  # tr K = N


def _matrix_entropy(a, alpha):
  if alpha == 2:
    return -jnp.log(jnp.sum(a * a))
  lam = jnp.linalg.eigvalsh(a)
  # Eigenvalues below the rank tolerance N·eps·λ_max are round-off of zeros (they would add
  # spurious mass for α < 1).
  tol = a.shape[0] * jnp.finfo(a.dtype).eps * jnp.max(lam)
  lam = jnp.where(lam > tol, lam, 0.0)
  if alpha == 1:
    return -jnp.sum(jnp.where(lam > 0, lam * jnp.log(jnp.where(lam > 0, lam, 1.0)), 0.0))
  return jnp.log(jnp.sum(jnp.where(lam > 0, lam**alpha, 0.0))) / (1.0 - alpha)


def _check_alpha_sigma(alpha, sigma):
  if not alpha > 0:
    raise ValueError(f"`alpha` must be a positive number (α = 1 gives von Neumann), found {alpha}.")
  if _checks.is_concrete(sigma) and not float(sigma) > 0:
    raise ValueError(f"`sigma` (Gaussian kernel width) must be positive, found {sigma}.")


def renyi_entropy(x, alpha: float = 1.01, sigma=1.0) -> jax.Array:
  """Matrix-based Rényi α-entropy S_α(A) of samples `x`, in nats (Giraldo et al. 2014).

  S_α(A) = log(Σ_i λ_i(A)^α) / (1 − α), A = K / tr K, K_ij = exp(−‖x_i − x_j‖²/(2σ²)); α = 1 gives
  −Σ λ log λ. For data in m tight, well-separated clusters (σ ≪ separation), A is block diagonal
  with eigenvalues n_c/N and S_α equals the Rényi entropy of the cluster proportions.

  Bias: not an estimator of Shannon's differential entropy (see the module docstring); in
  [0, log N], depends on σ. Cost O(N²·d + N³), O(N²·d) for α = 2.

  Args:
    x: samples, shape (N, d) or (N,).
    alpha: order α > 0 (a Python number; static).
    sigma: Gaussian kernel width σ > 0.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.

  References:
    Sanchez Giraldo, Rao, Príncipe, "Measures of Entropy from Data Using Infinitely Divisible
    Kernels", IEEE Trans. Inf. Theory 61 (2015), https://arxiv.org/abs/1211.2459.
  """
  x = _checks.as_samples(x, "x")
  _check_alpha_sigma(alpha, sigma)
  _checks.check_finite("x", x)
  return _renyi_entropy(x, float(alpha), sigma)


@functools.partial(jax.jit, static_argnums=1)
def _renyi_entropy(x, alpha, sigma):
  return _checks.nan_if_nonfinite(_matrix_entropy(_normalised_gram(x, sigma), alpha), x)


def renyi_mi(x, y, alpha: float = 1.01, sigma=1.0, sigma_y=None) -> jax.Array:
  """Matrix-based Rényi α mutual information I_α = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B)), in nats.

  Bias: a kernel dependence measure, not a consistent estimator of Shannon MI (depends on σ);
  S_α(A∘B / tr) ≥ max(S_α(A), S_α(B)) (Giraldo et al.), so I_α ≤ min(S_α(A), S_α(B)). For two
  partitions of the samples into tight, well-separated clusters it equals the Rényi MI of the
  cluster labels. Cost O(N²·d + N³).

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,).
    alpha: order α > 0 (static).
    sigma: kernel width for X (and Y unless `sigma_y`).
    sigma_y: kernel width for Y.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.
  """
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  sigma_y = sigma if sigma_y is None else sigma_y
  _check_alpha_sigma(alpha, sigma)
  _check_alpha_sigma(alpha, sigma_y)
  _checks.check_finite("x", x)
  _checks.check_finite("y", y)
  return _renyi_mi(x, y, float(alpha), sigma, sigma_y)


@functools.partial(jax.jit, static_argnums=2)
def _renyi_mi(x, y, alpha, sigma, sigma_y):
  a = _normalised_gram(x, sigma)
  b = _normalised_gram(y, sigma_y)
  ab = a * b
  ab = ab / jnp.trace(ab)
  mi = _matrix_entropy(a, alpha) + _matrix_entropy(b, alpha) - _matrix_entropy(ab, alpha)
  return _checks.nan_if_nonfinite(mi, x, y)
