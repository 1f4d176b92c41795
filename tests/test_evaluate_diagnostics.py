"""Embedding diagnostics (jaxssl.evaluate.diagnostics)."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats

from jaxssl.estimators.logdet import logdet_entropy
from jaxssl.estimators.pairwise import pairwise_kl_entropy
from jaxssl.evaluate import diagnostics as dg

both = pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])


def _maybe_jit(fn, jit, **static):
  f = lambda *a: fn(*a, **static)
  return jax.jit(f) if jit else f


def _orthonormal(rng, n, r):
  return np.linalg.qr(rng.normal(size=(n, r)))[0]


@both
def test_rankme_known_spectra(jit):
  rankme = _maybe_jit(dg.rankme, jit)
  assert float(rankme(jnp.eye(64))) == pytest.approx(64.0, rel=1e-4)
  rng = np.random.default_rng(0)
  for r in (1, 5, 20):  # N=200, D=48, r equal non-zero singular values (value 3.0)
    z = 3.0 * _orthonormal(rng, 200, r) @ _orthonormal(rng, 48, r).T
    assert float(rankme(jnp.asarray(z, jnp.float32))) == pytest.approx(r, rel=1e-3)


def test_rankme_of_unequal_spectrum_is_exp_entropy():
  rng = np.random.default_rng(1)
  s = np.array([4.0, 2.0, 1.0, 1.0])
  z = _orthonormal(rng, 100, 4) @ np.diag(s) @ _orthonormal(rng, 6, 4).T
  p = s / s.sum()
  assert float(dg.rankme(jnp.asarray(z, jnp.float32))) == pytest.approx(
      np.exp(scipy.stats.entropy(p)), rel=1e-4)


@both
def test_effective_rank_and_eigenspectrum(jit):
  d = 12
  basis = np.concatenate([np.eye(d), -np.eye(d)])  # mean 0, covariance I/d
  assert float(_maybe_jit(dg.effective_rank, jit)(basis)) == pytest.approx(d, rel=1e-5)
  r = 3
  assert float(dg.effective_rank(basis[:, :r] @ np.eye(r, d))) == pytest.approx(r, rel=1e-5)
  z = np.random.default_rng(2).normal(size=(300, 10)) @ np.diag(np.arange(1.0, 11.0))
  lam = np.asarray(_maybe_jit(dg.eigenspectrum, jit)(jnp.asarray(z, jnp.float32)))
  ref = np.sort(np.linalg.eigvalsh(np.cov(z.T, bias=True)))[::-1]
  np.testing.assert_allclose(lam, ref, rtol=1e-4)
  assert np.all(np.diff(lam) <= 0)
  # N < D: the spectrum still has D entries, the last D − N + 1 of them zero.
  assert dg.eigenspectrum(jnp.ones((3, 5)) * jnp.arange(3.0)[:, None]).shape == (5,)


@both
def test_alignment_and_uniformity_match_numpy(jit):
  rng = np.random.default_rng(3)
  z1 = rng.normal(size=(64, 16)).astype(np.float32)
  z2 = z1 + 0.3 * rng.normal(size=(64, 16)).astype(np.float32)
  n1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
  n2 = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
  for alpha in (1.0, 2.0):
    ref = np.mean(np.linalg.norm(n1 - n2, axis=1) ** alpha)
    got = _maybe_jit(dg.alignment, jit, alpha=alpha)(z1, z2)
    assert float(got) == pytest.approx(ref, rel=1e-5)
  for t in (1.0, 2.0):
    ref = np.log(np.mean(np.exp(-t * scipy.spatial.distance.pdist(n1, "sqeuclidean"))))
    assert float(_maybe_jit(dg.uniformity, jit, t=t)(z1)) == pytest.approx(ref, abs=1e-5)
  assert float(dg.uniformity(np.ones((10, 4)))) == pytest.approx(0.0, abs=1e-6)


def test_infonce_mi_is_capped_by_log_n_and_not_positive_for_independent_views():
  rng = np.random.default_rng(4)
  z = rng.normal(size=(256, 64)).astype(np.float32)
  same = float(dg.infonce_mi(z, z, temperature=0.05))
  assert math.log(256) - 0.05 <= same <= math.log(256) + 1e-5
  # A lower bound on I = 0: with the fixed cos/τ critic it is ≤ 0 up to noise (≈ −0.8 here).
  independent = float(dg.infonce_mi(z, rng.normal(size=(256, 64)).astype(np.float32)))
  assert independent < 0.05


def test_diagnose_bundles_the_functions_and_knows_projected_gaussian_values():
  """z1 ~ N(0, I), z2 = z1 + n: a 2-D orthonormal projection P has I = log 2, H(Pᵀz1) = log 2πe."""
  rng = np.random.default_rng(5)
  z1 = rng.normal(size=(2000, 16)).astype(np.float32)
  z2 = z1 + rng.normal(size=(2000, 16)).astype(np.float32)
  key = jax.random.key(0)
  p = np.asarray(dg.random_projection(key, 16, 2))
  np.testing.assert_allclose(p.T @ p, np.eye(2), atol=1e-5)

  full = dg.diagnose(z1, z2, key, cheap=False, proj_dim=2)
  assert full["ksg_mi_proj"] == pytest.approx(math.log(2.0), abs=0.08)  # KSG, N = 2000, k = 3
  assert full["kl_entropy_proj"] == pytest.approx(math.log(2 * math.pi * math.e), abs=0.08)
  assert full["ksg_mi_proj"] == pytest.approx(float(dg.ksg_mi_projected(z1, z2, key, dim=2)))
  assert full["kl_entropy_proj"] == pytest.approx(float(dg.kl_entropy_projected(z1, key, dim=2)))

  cheap = dg.diagnose(z1, z2, key)
  assert set(cheap) == {"n", "dim", "finite", "lidar_views", *dg.GAUSSIAN_KEYS, *dg.CHEAP_KEYS}
  assert set(full) == set(cheap) | set(dg.FULL_KEYS)
  assert all(isinstance(v, float) and math.isfinite(v) for v in full.values())
  assert cheap["rankme"] == pytest.approx(float(dg.rankme(z1)), rel=1e-5)
  assert cheap["uniformity"] == pytest.approx(float(dg.uniformity(z1)), abs=1e-5)
  assert cheap["alignment"] == pytest.approx(float(dg.alignment(z1, z2)), rel=1e-5)
  assert cheap["logdet_entropy"] == pytest.approx(float(logdet_entropy(z1, 1.0)), rel=1e-5)
  # Gaussian entropy of N(0, I_16): 8 log 2πe; the sample covariance is close at N = 2000.
  assert cheap["gaussian_entropy"] == pytest.approx(8 * math.log(2 * math.pi * math.e), abs=0.2)
  assert cheap["gaussian_rank"] == 16
  assert cheap["pairwise_bd_excess_entropy"] <= cheap["pairwise_kl_excess_entropy"]
  # The excess over one component: the bound minus (D/2) log(2πeσ²), within [0, log N].
  assert cheap["pairwise_kl_excess_entropy"] == pytest.approx(
      float(pairwise_kl_entropy(z1, 1.0)) - 8 * math.log(2 * math.pi * math.e), abs=1e-3)
  assert 0.0 <= cheap["pairwise_bd_excess_entropy"] <= cheap["pairwise_kl_excess_entropy"] <= (
      math.log(2000) + 1e-4)
  assert cheap["infonce_mi"] <= math.log(2000) + 1e-5


def test_is_collapsed():
  rng = np.random.default_rng(7)
  key = jax.random.key(2)
  gauss = rng.normal(size=(256, 128)).astype(np.float32)
  assert dg.is_collapsed(dg.diagnose(gauss, gauss + 0.1, key)) == (False, "")

  const = np.ones((256, 128), np.float32)
  collapsed, reason = dg.is_collapsed(dg.diagnose(const, const, key))
  assert collapsed and "uniformity" in reason

  # Dimensional collapse: spread over a 2-D subspace (uniformity ≈ −1, not 0) of D = 128.
  flat = rng.normal(size=(256, 2)) @ _orthonormal(rng, 128, 2).T
  diag = dg.diagnose(flat, flat, key)
  assert diag["uniformity"] < -0.5
  collapsed, reason = dg.is_collapsed(diag)
  assert collapsed and "RankMe" in reason

  bad = gauss.copy()
  bad[0, 0] = np.nan
  diag = dg.diagnose(bad, gauss, key, cheap=False)
  assert diag["finite"] == 0.0 and math.isnan(diag["rankme"]) and math.isnan(diag["ksg_mi_proj"])
  collapsed, reason = dg.is_collapsed(diag)
  assert collapsed and "non-finite" in reason

  with pytest.raises(KeyError, match="rankme"):
    dg.is_collapsed({"finite": 1.0, "dim": 8.0, "uniformity": -3.0})


def test_shape_errors():
  with pytest.raises(ValueError, match="same shape"):
    dg.alignment(np.ones((4, 3)), np.ones((5, 3)))
  with pytest.raises(ValueError, match=r"\(N, D\)"):
    dg.rankme(np.ones(5))
  with pytest.raises(ValueError, match="at least 2 rows"):
    dg.uniformity(np.ones((1, 3)))


@pytest.mark.parametrize("value", [np.inf, np.nan, 3e38], ids=["inf", "nan", "huge"])
def test_diverged_embeddings_give_nan_estimates_and_no_lapack_noise(capfd, value):
  """A diverging run's embeddings: `finite` 0, every estimate NaN, and nothing on stderr (an SVD
  of such a batch makes LAPACK print "On entry to SLASCL parameter number 4 had an illegal
  value" straight to file descriptor 2)."""
  z = np.ones((64, 8), np.float32)
  z[3, 2] = value
  out = dg.diagnose(z, z, jax.random.key(0))
  assert out["finite"] == 0.0
  assert all(math.isnan(out[k]) for k in (*dg.CHEAP_KEYS, *dg.GAUSSIAN_KEYS))
  assert "illegal value" not in capfd.readouterr().err
