"""Gaussian (covariance-based) entropy and mutual information."""
import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma

from jaxssl.estimators import _checks


def _logdet_cov(z: jax.Array) -> jax.Array:
  """log det of the unbiased sample covariance of `z` (N, d), −inf when it is singular.

  From the singular values σ of the centred data: log det Σ̂ = 2 Σ_k log(σ_k / √(N − 1)). The
  covariance counts as singular (rank < d) when σ_min ≤ σ_max · max(N, d) · ε, NumPy's
  `matrix_rank` tolerance (ε the dtype's machine epsilon); a Cholesky factor would instead give NaN
  or a rounding-dependent finite value there.
  """
  zc = z - jnp.mean(z, axis=0)
  s = jnp.linalg.svd(zc, compute_uv=False)
  tol = jnp.max(s) * max(z.shape) * jnp.finfo(s.dtype).eps
  logdet = 2.0 * jnp.sum(jnp.log(s)) - z.shape[1] * jnp.log(z.shape[0] - 1.0)
  return jnp.where(jnp.min(s) > tol, logdet, -jnp.inf)


def _logdet_bias(d: int, n: int, dtype) -> jax.Array:
  """E[log det S] − log det Σ for the unbiased sample covariance S of N Gaussian samples in ℝ^d.

  (N − 1)S ~ Wishart(Σ, N − 1), so
  E log det S = log det Σ + Σ_{i=1..d} ψ((N − i)/2) + d log(2/(N − 1)).
  """
  i = jnp.arange(1, d + 1, dtype=dtype)
  return jnp.sum(digamma((n - i) / 2.0)) + d * jnp.log(2.0 / (n - 1.0))


def _prepare(x, name):
  x = _checks.as_samples(x, name)
  n, d = x.shape
  if n <= d:
    raise ValueError(
        f"`{name}` needs more samples than dimensions for a non-singular covariance, found N = {n}"
        f" and d = {d}.")
  _checks.check_finite(name, x)
  return x


def gaussian_entropy(x, *, bias_correction: bool = False) -> jax.Array:
  """Entropy in nats of the Gaussian with the samples' covariance: Ĥ = ½ logdet(2πe Σ̂).

  Σ̂ is the unbiased (N − 1) sample covariance. With `bias_correction`, the Wishart bias of
  logdet Σ̂ is subtracted, which makes Ĥ unbiased for Gaussian data.

  Bias: for Gaussian data consistent, biased low without the correction (≈ −d(d + 1)/(4N) nats).
  For non-Gaussian data it estimates an *upper bound* on H(X) (the Gaussian has the largest entropy
  for a given covariance).

  Cost: O(N·d²) (an SVD of the centred samples). Needs N > d.

  Args:
    x: samples, shape (N, d) or (N,).
    bias_correction: subtract the expected bias of log det Σ̂ under Gaussian sampling.

  Returns:
    A scalar in nats; −inf when the sample covariance is singular (rank < d, e.g. collapsed
    embeddings: the samples lie in a subspace, where a density has entropy −inf), by NumPy's
    `matrix_rank` tolerance; NaN under `jit` if an input is not finite.

  References:
    Cover & Thomas, Elements of Information Theory, Thm 8.4.1 and 8.6.5; bias: Ince et al., Hum.
    Brain Mapp. 38 (2017) (gcmi).
  """
  return _gaussian_entropy(_prepare(x, "x"), bool(bias_correction))


@functools.partial(jax.jit, static_argnums=1)
def _gaussian_entropy(x, bias_correction):
  n, d = x.shape
  logdet = _logdet_cov(x)
  if bias_correction:
    logdet = logdet - _logdet_bias(d, n, x.dtype)
  h = 0.5 * (d * jnp.log(2.0 * jnp.pi * jnp.e) + logdet)
  return _checks.nan_if_nonfinite(h, x)


def gaussian_mi(x, y, *, bias_correction: bool = False) -> jax.Array:
  """Mutual information in nats of the Gaussian with the samples' joint covariance.

  Î = ½ log(det Σ̂_x det Σ̂_y / det Σ̂), Σ̂ the joint sample covariance of [x, y].

  Bias: consistent for jointly Gaussian data, biased high at finite N without the correction (the
  Wishart bias of each log-det, see `gaussian_entropy`). For non-Gaussian data neither a lower nor
  an upper bound on I(X; Y) (it measures linear dependence only).

  Singular covariances: +inf when the joint covariance is singular but neither marginal is (an
  exact linear relation between x and y); NaN when a marginal covariance is singular (undefined:
  drop x's or y's constant directions first).

  Cost: O(N·(d_x + d_y)²). Needs N > d_x + d_y.

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,).
    bias_correction: correct each log-det for its expected Gaussian-sampling bias.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.
  """
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  if x.shape[0] <= x.shape[1] + y.shape[1]:
    raise ValueError(
        "gaussian_mi needs more samples than joint dimensions for a non-singular covariance, "
        f"found N = {x.shape[0]} and d_x + d_y = {x.shape[1] + y.shape[1]}.")
  _checks.check_finite("x", x)
  _checks.check_finite("y", y)
  return _gaussian_mi(x, y, bool(bias_correction))


@functools.partial(jax.jit, static_argnums=2)
def _gaussian_mi(x, y, bias_correction):
  dtype = jnp.promote_types(x.dtype, y.dtype)
  xy = jnp.concatenate([x, y], axis=1).astype(dtype)
  n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
  ld_x, ld_y, ld_xy = _logdet_cov(xy[:, :dx]), _logdet_cov(xy[:, dx:]), _logdet_cov(xy)
  if bias_correction:
    ld_x = ld_x - _logdet_bias(dx, n, dtype)
    ld_y = ld_y - _logdet_bias(dy, n, dtype)
    ld_xy = ld_xy - _logdet_bias(dx + dy, n, dtype)
  return _checks.nan_if_nonfinite(0.5 * (ld_x + ld_y - ld_xy), xy)
