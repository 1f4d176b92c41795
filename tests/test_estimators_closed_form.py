"""Gaussian, KDE, binning, Rényi, pairwise and LogDet estimators; ground-truth tasks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jaxssl.estimators import (binned_entropy, binned_mi, gaussian_entropy, gaussian_mi,
                               kde_entropy, logdet_entropy, pairwise_bd_entropy,
                               pairwise_kl_entropy, renyi_entropy, renyi_mi, tasks)

COV = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])


def test_gaussian_estimators_within_2_percent():
  z, h = tasks.gaussian(jax.random.key(0), 5000, COV)
  assert abs(float(gaussian_entropy(z)) - h) < 0.02 * abs(h)
  x, y, mi = tasks.correlated_gaussian(jax.random.key(1), 20000, d=5, mi=2.0)
  assert abs(float(gaussian_mi(x, y)) - mi) < 0.02 * mi
  x, y, mi = tasks.split_gaussian(jax.random.key(2), 20000, COV, dim_x=1)
  assert abs(float(gaussian_mi(x, y)) - mi) < 0.02 * mi


def test_gaussian_bias_correction_removes_the_small_sample_bias():
  # 400 data sets of N = 20 in d = 3: the plug-in entropy is biased low by ≈ 0.17 nats here.
  keys = jax.random.split(jax.random.key(3), 400)
  zs = jax.vmap(lambda k: jax.random.normal(k, (20, 3)) @ jnp.linalg.cholesky(COV).T)(keys)
  h = 0.5 * (3 * np.log(2 * np.pi * np.e) + np.linalg.slogdet(COV)[1])
  plain = float(jnp.mean(jax.vmap(gaussian_entropy)(zs)))
  corrected = float(jnp.mean(jax.vmap(lambda z: gaussian_entropy(z, bias_correction=True))(zs)))
  assert plain < h - 0.1
  assert abs(corrected - h) < 0.05  # standard error of the mean ≈ 0.02


def test_kde_entropy_hand_computed_and_ground_truth():
  x = np.array([[0.0], [1.0], [3.0]])
  k = lambda d2: np.exp(-d2 / (2 * 0.5**2)) / np.sqrt(2 * np.pi * 0.5**2)
  d2 = (x - x.T) ** 2
  resub = -np.mean(np.log(k(d2).mean(axis=1)))
  loo = -np.mean(np.log((k(d2).sum(axis=1) - k(0.0)) / 2))
  assert float(kde_entropy(x, 0.5)) == pytest.approx(resub, rel=1e-5)
  assert float(kde_entropy(x, 0.5, leave_one_out=True)) == pytest.approx(loo, rel=1e-5)
  z, h = tasks.gaussian(jax.random.key(4), 4000, np.eye(1))
  assert abs(float(kde_entropy(z, leave_one_out=True)) - h) < 0.05
  assert float(kde_entropy(z)) < float(kde_entropy(z, leave_one_out=True))  # resub biased low


def test_binned_estimators_hand_computed():
  labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2], np.float32)
  p = np.array([3, 2, 5]) / 10
  plugin = -np.sum(p * np.log(p))
  assert float(binned_entropy(labels, 3, miller_madow=False, differential=False)) == (
      pytest.approx(plugin, rel=1e-6))
  assert float(binned_entropy(labels, 3, differential=False)) == pytest.approx(
      plugin + 2 / 20, rel=1e-6)  # Miller–Madow: + (m − 1)/(2N), m = 3
  # Y = X: I = H(X); MM adds (3 + 3 − 3 − 1)/(2N).
  assert float(binned_mi(labels, labels, 3, miller_madow=False)) == pytest.approx(plugin, rel=1e-6)
  assert float(binned_mi(labels, labels, 3)) == pytest.approx(plugin + 2 / 20, rel=1e-6)
  # Cells are tuples of per-dimension bins: 2-D data with 4 distinct cells, equal counts.
  grid = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3, np.float32)
  assert float(binned_entropy(grid, 2, miller_madow=False, differential=False)) == (
      pytest.approx(np.log(4), rel=1e-6))


def test_binned_estimators_on_continuous_ground_truth():
  u, h = tasks.uniform_cube(jax.random.key(5), 20000, 2, width=3.0)
  assert abs(float(binned_entropy(u, 10, value_range=(0.0, 3.0))) - h) < 0.02
  x, y, mi = tasks.correlated_gaussian(jax.random.key(6), 20000, d=1, mi=0.5)
  assert abs(float(binned_mi(x, y, 20)) - mi) < 0.05 * mi


def _clusters(counts, spacing=100.0, dim=2):
  """Samples exactly on well-separated cluster centres: the Gram matrix is block diagonal."""
  centres = np.arange(len(counts))[:, None] * spacing * np.ones((1, dim))
  return jnp.asarray(np.repeat(centres, counts, axis=0), jnp.float32)


def test_renyi_matches_discrete_renyi_and_tends_to_shannon():
  counts = np.array([5, 10, 25, 40])
  p = counts / counts.sum()
  x = _clusters(counts)
  shannon = -np.sum(p * np.log(p))
  for alpha in (0.5, 2.0, 3.0):
    want = np.log(np.sum(p**alpha)) / (1 - alpha)
    assert float(renyi_entropy(x, alpha)) == pytest.approx(want, abs=1e-4)
  assert float(renyi_entropy(x, 1.0)) == pytest.approx(shannon, abs=1e-4)
  gaps = [abs(float(renyi_entropy(x, 1 + eps)) - shannon) for eps in (0.3, 0.1, 0.01)]
  assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01  # S_α → H as α → 1
  # Identical partitions: I_α = S_α(A); an independent second partition: I_α = 0.
  assert float(renyi_mi(x, x, 2.0)) == pytest.approx(float(renyi_entropy(x, 2.0)), abs=1e-4)
  a = np.repeat([0, 1], 40)
  b = np.tile([0, 1], 40)
  xa = _clusters(np.bincount(a))[np.argsort(np.argsort(a))]
  xb = jnp.asarray(np.stack([b * 100.0, b * 100.0], 1), jnp.float32)
  assert float(renyi_mi(xa, xb, 2.0)) == pytest.approx(0.0, abs=1e-4)
  assert float(renyi_mi(xa, xb, 1.0)) == pytest.approx(0.0, abs=1e-4)


def test_pairwise_bounds_bracket_the_monte_carlo_mixture_entropy():
  sigma, n, dim = 0.5, 64, 2
  centres = jax.random.normal(jax.random.key(7), (n, dim))
  kc, kn = jax.random.split(jax.random.key(8))
  m = 40000
  samples = centres[jax.random.randint(kc, (m,), 0, n)] + sigma * jax.random.normal(kn, (m, dim))
  sq = jnp.sum((samples[:, None, :] - centres[None]) ** 2, -1)
  log_p = (jax.nn.logsumexp(-sq / (2 * sigma**2), axis=1) - jnp.log(n)
           - 0.5 * dim * jnp.log(2 * jnp.pi * sigma**2))
  mc, se = float(-jnp.mean(log_p)), float(jnp.std(log_p) / np.sqrt(m))
  lower = float(pairwise_bd_entropy(centres, sigma))
  upper = float(pairwise_kl_entropy(centres, sigma))
  assert upper - lower > 20 * se  # the bracket is informative at this precision
  assert lower < mc + 3 * se and mc < upper + 3 * se
  assert lower < mc and mc < upper


def test_logdet_entropy_hand_computed():
  z = np.random.default_rng(9).normal(size=(50, 4))
  zc = z - z.mean(0)
  want = 0.5 * np.linalg.slogdet(np.eye(4) + 0.7 / 50 * zc.T @ zc)[1]
  assert float(logdet_entropy(jnp.asarray(z), 0.7)) == pytest.approx(want, rel=1e-5)


def test_tasks_closed_forms():
  assert tasks.rho_for_mi(2.0, 5) == pytest.approx(np.sqrt(1 - np.exp(-0.8)))
  x, y, mi = tasks.correlated_gaussian(jax.random.key(10), 10, d=3, rho=[0.1, 0.5, 0.9])
  assert mi == pytest.approx(-0.5 * np.log((1 - 0.01) * (1 - 0.25) * (1 - 0.81)))
  assert tasks.additive_uniform(jax.random.key(0), 3, 0.25)[2] == pytest.approx(0.25 - np.log(0.5))
  assert tasks.additive_uniform(jax.random.key(0), 3, 2.0)[2] == pytest.approx(1 / 8)
  # Student-t: dependence through the shared scale vanishes as ν → ∞ (Gaussian limit) and the
  # correction agrees with the entropies of Arellano-Valle et al. computed here independently.
  disp = np.array([[1.0, 0.5], [0.5, 1.0]])
  gauss = -0.5 * np.log(1 - 0.25)
  assert tasks.student_t_mi(disp, 1, 1e6) == pytest.approx(gauss, abs=1e-5)
  def h(k, v):
    return (special.gammaln(v / 2) - special.gammaln((v + k) / 2) + k / 2 * np.log(v * np.pi)
            + (v + k) / 2 * (special.digamma((v + k) / 2) - special.digamma(v / 2)))
  assert tasks.student_t_mi(disp, 1, 3.0) == pytest.approx(gauss + 2 * h(1, 3) - h(2, 3), rel=1e-9)
  # Samples have the right second moments.
  x, y, _ = tasks.correlated_gaussian(jax.random.key(11), 20000, d=2, rho=0.8)
  assert float(jnp.mean(x * y)) == pytest.approx(0.8, abs=0.02)
  z, h_true = tasks.gaussian(jax.random.key(12), 20000, COV)
  np.testing.assert_allclose(np.cov(np.asarray(z).T), COV, atol=0.05)
  with pytest.raises(ValueError, match="exactly one"):
    tasks.correlated_gaussian(jax.random.key(0), 10, d=2)
  with pytest.raises(ValueError, match="< 1"):
    tasks.correlated_gaussian(jax.random.key(0), 10, d=1, rho=1.0)


def test_bad_inputs_raise():
  with pytest.raises(ValueError, match="more samples than dimensions"):
    gaussian_entropy(jnp.ones((3, 5)))
  with pytest.raises(ValueError, match="same number of samples"):
    gaussian_mi(jnp.ones((30, 2)), jnp.ones((20, 2)))
  with pytest.raises(ValueError, match="non-finite"):
    kde_entropy(jnp.ones((5, 1)).at[0].set(jnp.nan))
  with pytest.raises(ValueError, match="bandwidth"):
    kde_entropy(jnp.arange(5.0), bandwidth=0.0)
  with pytest.raises(ValueError, match="bins"):
    binned_entropy(jnp.arange(5.0), 0)
  with pytest.raises(ValueError, match="d = 0"):
    binned_mi(jnp.ones((5, 0)), jnp.ones((5, 1)))
  with pytest.raises(ValueError, match="alpha"):
    renyi_entropy(jnp.arange(5.0), alpha=0.0)
  with pytest.raises(ValueError, match="D = 0"):
    logdet_entropy(jnp.ones((5, 0)))
  assert np.isnan(float(jax.jit(gaussian_entropy)(jnp.arange(20.0).at[3].set(jnp.inf))))


@pytest.mark.parametrize("jit", [False, True])
def test_gaussian_entropy_of_a_singular_covariance_is_minus_inf(jit):
  entropy = jax.jit(gaussian_entropy) if jit else gaussian_entropy
  x = np.random.default_rng(5).normal(size=(200, 3)).astype(np.float32)
  rank_2 = x @ np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]], np.float32)  # 3rd column = 1st + 2nd
  constant_column = x.copy()
  constant_column[:, 1] = 0.7
  for singular in (rank_2, constant_column, np.ones((10, 2), np.float32)):
    assert float(entropy(singular)) == -np.inf  # was NaN (Cholesky of a singular matrix)
  # Small but non-singular: finite and equal to the closed form of the sample covariance (the
  # rank test is relative, so a uniformly tiny scale is not singular).
  scaled = x * np.array([1.0, 1.0, 1e-3], np.float32)
  cov = np.cov(scaled.astype(np.float64).T)
  assert float(entropy(scaled)) == pytest.approx(
      0.5 * (3 * np.log(2 * np.pi * np.e) + np.linalg.slogdet(cov)[1]), abs=1e-3)
  assert np.isfinite(float(entropy(x * 1e-20)))
  assert float(gaussian_mi(x[:, :2], x[:, :2] * 2.0)) == np.inf  # an exact linear relation
