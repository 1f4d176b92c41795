"""Gaussian-copula mutual information: rank-Gaussianise each coordinate, then Gaussian MI."""
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from jaxssl.estimators import _checks, gaussian


@jax.jit
def rank_gaussianize(x) -> jax.Array:
  """Each column to normal scores: x_ij ↦ Φ⁻¹(r_ij / (N + 1)), r_ij the rank of x_ij in column j.

  The empirical copula transform followed by the standard normal quantile; strictly increasing in
  each coordinate, so it leaves the MI of the underlying distribution unchanged (ties get distinct
  ranks in sample order). jit- and vmap-able.

  Args:
    x: samples, shape (N, d).

  Returns:
    (N, d) normal scores (mean ≈ 0, std ≈ 1 per column).
  """
  n, d = x.shape
  order = jnp.argsort(x, axis=0)  # stable: ties keep sample order
  # The ranks are the inverse permutation of `order`: one scatter (half the time of a second sort).
  ranks = jnp.zeros((n, d), jnp.int32).at[order, jnp.arange(d)[None, :]].set(
      jnp.arange(n, dtype=jnp.int32)[:, None])
  return ndtri((ranks.astype(_checks.float_dtype(x)) + 1.0) / (n + 1.0))


def gaussian_copula_mi(x, y, *, bias_correction: bool = True) -> jax.Array:
  """Gaussian-copula estimate of I(X; Y) in nats (Ince et al. 2017, "GCMI").

  Î = ½ log(det Σ̂_x det Σ̂_y / det Σ̂) of the rank-Gaussianised samples
  g(x)_ij = Φ⁻¹(rank(x_ij)/(N + 1)) (`rank_gaussianize`), i.e. `gaussian_mi` after the empirical
  copula transform; with `bias_correction` each log-det is corrected for its Wishart bias.

  Invariant to any strictly increasing map of each coordinate (it sees only ranks), hence robust to
  heavy tails and to the suite's marginal transforms (half-cube, asinh, normal CDF, wiggly,
  bimodal).

  Bias: exact (consistent, and nearly unbiased with the correction) when the copula of (X, Y) is
  Gaussian, whatever the marginals. Otherwise it measures only the dependence of the normal scores'
  covariance. For scalar X and Y it is then a *lower* bound in population (with fixed Gaussian
  marginals the Gaussian joint has the largest joint entropy, hence the smallest MI); for vectors
  it is no bound (a non-Gaussian copula can put it above I(X; Y)). It is ≈ 0 in population for
  dependence with no rank correlation (a Student-t with identity dispersion, whose coordinates
  share only a scale), but the Wishart correction assumes Gaussian scores: on such heavy-tailed
  copulas a finite-N excess ∝ 1/N remains (0.54 nats at N = 2000 for a 50 × 50 Student-t with
  ν = 2; `estimate_mi`'s "copula" candidate extrapolates it away).

  Cost: O(N log N · d) for the ranks plus O(N·(d_x + d_y)²). Needs N > d_x + d_y.

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,).
    bias_correction: subtract the expected Gaussian-sampling bias of each log-det.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.

  References:
    Ince, Giordano, Kayser, Rousselet, Gross, Schyns, "A statistical framework for neuroimaging data
    analysis based on mutual information estimated via a Gaussian copula", Hum. Brain Mapp. 38
    (2017), https://doi.org/10.1002/hbm.23471.
  """
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  _checks.check_finite("x", x)
  _checks.check_finite("y", y)
  gx, gy = rank_gaussianize(x), rank_gaussianize(y)
  return gaussian.gaussian_mi(gx, gy, bias_correction=bias_correction)
