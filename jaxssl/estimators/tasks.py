"""Ground-truth tasks: samplers whose mutual information or entropy is known in closed form (nats).

MI tasks return `(x, y, true_mi)`, entropy tasks `(x, true_entropy)`; samples are float32 JAX arrays
of shape (n, d) and the true values Python floats (computed in float64). Closed forms follow Czyż et
al., "Beyond Normal: On the Evaluation of Mutual Information Estimators", NeurIPS 2023 (the `bmi`
benchmark).
"""
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special


def rho_for_mi(mi, d: int):
  """Per-dimension correlation ρ with −(d/2) log(1 − ρ²) = mi, i.e. ρ = √(1 − e^{−2·mi/d})."""
  if d < 1:
    raise ValueError(f"`d` must be >= 1, found {d}.")
  mi = np.asarray(mi, np.float64)
  if np.any(mi < 0):
    raise ValueError(f"`mi` must be >= 0 nats, found {mi}.")
  rho = np.sqrt(-np.expm1(-2.0 * mi / d))
  return float(rho) if rho.ndim == 0 else rho


def _gaussian_mi_from_cov(cov: np.ndarray, dim_x: int) -> float:
  ld = lambda m: np.linalg.slogdet(m)[1]
  return 0.5 * float(ld(cov[:dim_x, :dim_x]) + ld(cov[dim_x:, dim_x:]) - ld(cov))


def correlated_gaussian(key, n: int, *, d: int = 1, rho=None, mi=None):
  """X ~ N(0, I_d), Y = ρ ⊙ X + √(1 − ρ²) ⊙ ε: per-dimension correlation ρ (scalar or (d,)).

  I(X; Y) = −½ Σ_k log(1 − ρ_k²) (= −(d/2) log(1 − ρ²) for a scalar ρ). Give `rho` or `mi` (the
  total MI, spread evenly over the d dimensions).

  Returns:
    `(x, y, true_mi)`, x and y of shape (n, d).
  """
  if (rho is None) == (mi is None):
    raise ValueError("Give exactly one of `rho` (per-dimension correlation) or `mi` (total nats).")
  rho = np.broadcast_to(np.asarray(rho_for_mi(mi, d) if mi is not None else rho, np.float64), (d,))
  if np.any(np.abs(rho) >= 1):
    raise ValueError(f"|rho| must be < 1 (MI would be infinite), found {rho}.")
  true_mi = float(-0.5 * np.sum(np.log1p(-rho**2)))
  x, y = _correlated_gaussian_samples(key, jnp.asarray(rho, jnp.float32), n)
  return x, y, true_mi


@functools.partial(jax.jit, static_argnums=2)
def _correlated_gaussian_samples(key, rho, n):
  kx, ke = jax.random.split(key)
  x = jax.random.normal(kx, (n, rho.shape[0]))
  eps = jax.random.normal(ke, (n, rho.shape[0]))
  return x, rho * x + jnp.sqrt(1.0 - rho**2) * eps


@jax.jit
def correlated_gaussian_log_ratio(x, y, rho) -> jax.Array:
  """The optimal critic for `correlated_gaussian`: scores[i, j] = log p(x_i, y_j)/(p(x_i)p(y_j)).

  log p(x, y)/(p(x)p(y))
    = Σ_k [−½ log(1 − ρ_k²) − (ρ_k² x_k² − 2ρ_k x_k y_k + ρ_k² y_k²)/(2(1 − ρ_k²))].

  Returns:
    (N, N) score matrix, diagonal = positive pairs.
  """
  x, y = jnp.asarray(x), jnp.asarray(y)
  rho = jnp.broadcast_to(jnp.asarray(rho, x.dtype), (x.shape[1],))
  one_minus = 1.0 - rho**2
  quad = rho**2 / (2.0 * one_minus)
  cross = (x * (rho / one_minus)) @ y.T
  return (cross - jnp.sum(quad * x**2, axis=1)[:, None] - jnp.sum(quad * y**2, axis=1)[None, :]
          - 0.5 * jnp.sum(jnp.log(one_minus)))


def gaussian(key, n: int, cov):
  """Z ~ N(0, Σ); H(Z) = ½ logdet(2πe Σ).

  Returns:
    `(z, true_entropy)`, z of shape (n, d).
  """
  cov = np.asarray(cov, np.float64)
  d = cov.shape[0]
  sign, logdet = np.linalg.slogdet(cov)
  if cov.shape != (d, d) or sign <= 0:
    raise ValueError(f"`cov` must be a positive-definite (d, d) matrix, found shape {cov.shape}.")
  z = _linear_gaussian(key, jnp.asarray(np.linalg.cholesky(cov), jnp.float32), n)
  return z, float(0.5 * (d * np.log(2 * np.pi * np.e) + logdet))


@functools.partial(jax.jit, static_argnums=2)
def _linear_gaussian(key, chol, n):
  return jax.random.normal(key, (n, chol.shape[0])) @ chol.T


def split_gaussian(key, n: int, cov, dim_x: int):
  """(X, Y) ~ N(0, Σ) split after `dim_x` coordinates; I(X; Y) = ½ log(det Σ_x det Σ_y / det Σ).

  Returns:
    `(x, y, true_mi)`, x of shape (n, dim_x), y of shape (n, d − dim_x).
  """
  cov = np.asarray(cov, np.float64)
  if not 0 < dim_x < cov.shape[0]:
    raise ValueError(f"`dim_x` must be in 1..{cov.shape[0] - 1}, found {dim_x}.")
  z, _ = gaussian(key, n, cov)
  return z[:, :dim_x], z[:, dim_x:], _gaussian_mi_from_cov(cov, dim_x)


def uniform_cube(key, n: int, d: int, *, width: float = 1.0):
  """X ~ Uniform([0, width]^d); H(X) = d log(width).

  Returns:
    `(x, true_entropy)`, x of shape (n, d).
  """
  return (jax.random.uniform(key, (n, d), maxval=width), float(d * np.log(width)))


def _student_t_entropy(k: int, dof: float) -> float:
  """Differential entropy of the standard multivariate Student-t t_ν(0, I_k) (Arellano-Valle)."""
  half = 0.5 * (dof + k)
  return float(-special.gammaln(half) + special.gammaln(0.5 * dof) + 0.5 * k * np.log(dof * np.pi)
               + half * (special.digamma(half) - special.digamma(0.5 * dof)))


def student_t_mi(dispersion, dim_x: int, dof: float) -> float:
  """I(X; Y) for (X, Y) ~ multivariate Student-t with dispersion Ω and ν degrees of freedom.

  I = I_Gauss(Ω) + h_ν(d_x) + h_ν(d_y) − h_ν(d_x + d_y), with h_ν(k) the entropy of t_ν(0, I_k)
  (Arellano-Valle, Contreras-Reyes, Genton, Scand. J. Stat. 40 (2013); as in bmi's SplitStudentT).
  """
  dispersion = np.asarray(dispersion, np.float64)
  d = dispersion.shape[0]
  correction = (_student_t_entropy(dim_x, dof) + _student_t_entropy(d - dim_x, dof)
                - _student_t_entropy(d, dof))
  return _gaussian_mi_from_cov(dispersion, dim_x) + correction


def student_t(key, n: int, *, dim_x: int, dim_y: int, dof: float, dispersion=None):
  """(X, Y) = G/√(U/ν), G ~ N(0, Ω), U ~ χ²_ν (one U per sample): heavy tails, shared scale.

  Even with Ω = I (the default) X and Y are dependent through the shared U; see `student_t_mi`.

  Returns:
    `(x, y, true_mi)`.
  """
  d = dim_x + dim_y
  dispersion = np.eye(d) if dispersion is None else np.asarray(dispersion, np.float64)
  if dispersion.shape != (d, d):
    raise ValueError(f"`dispersion` must have shape ({d}, {d}), found {dispersion.shape}.")
  if not dof > 0:
    raise ValueError(f"`dof` must be positive, found {dof}.")
  kg, ku = jax.random.split(key)
  g, _ = gaussian(kg, n, dispersion)
  u = jax.random.chisquare(ku, dof, (n, 1))
  z = g / jnp.sqrt(u / dof)
  return z[:, :dim_x], z[:, dim_x:], student_t_mi(dispersion, dim_x, dof)


def additive_uniform(key, n: int, epsilon: float):
  """X ~ U(0, 1), Y = X + N, N ~ U(−ε, ε): I = ε − log(2ε) for ε ≤ ½, 1/(4ε) for ε > ½.

  Returns:
    `(x, y, true_mi)`, shapes (n, 1).
  """
  if not epsilon > 0:
    raise ValueError(f"`epsilon` must be positive, found {epsilon}.")
  kx, kn = jax.random.split(key)
  x = jax.random.uniform(kx, (n, 1))
  noise = jax.random.uniform(kn, (n, 1), minval=-epsilon, maxval=epsilon)
  mi = epsilon - np.log(2 * epsilon) if epsilon <= 0.5 else 0.25 / epsilon
  return x, x + noise, float(mi)


def half_cube(x):
  """x·√|x|: a smooth, strictly increasing bijection of ℝ (Czyż et al.'s "half-cube")."""
  return x * jnp.sqrt(jnp.abs(x))


def transformed(x, y, true_mi, fx: Callable = half_cube, fy: Callable = half_cube):
  """Applies invertible maps to X and Y; I(f(X); g(Y)) = I(X; Y), so `true_mi` is unchanged.

  Example:
    >>> x, y, mi = transformed(*correlated_gaussian(key, 5000, d=2, mi=1.0), fx=jnp.arcsinh)

  Returns:
    `(fx(x), fy(y), true_mi)`.
  """
  return fx(x), fy(y), true_mi
