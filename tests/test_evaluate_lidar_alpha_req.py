"""LiDAR (Thilak et al. 2024) and α-ReQ (Agrawal et al. 2022) in jaxssl.evaluate.diagnostics.

Closed forms on data built to have an exact covariance spectrum, independent float64 NumPy
implementations written from the papers' formulas, collapse, shapes and dtypes, and the wiring
into `diagnose`, the online diagnostics' keys and the plots.
"""
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.evaluate import diagnostics as dg
from jaxssl.evaluate import plots


def _orthonormal(rng, n, r):
  return np.linalg.qr(rng.normal(size=(n, r)))[0]


def _centred_orthonormal(rng, n, r):
  """(n, r) orthonormal columns, each orthogonal to the all-ones vector (so of mean zero)."""
  q = np.linalg.qr(np.c_[np.ones(n), rng.normal(size=(n, r))])[0]
  return q[:, 1:]


def _with_spectrum(rng, n, lam):
  """(n, D) rows whose covariance (1/n) Σ (z − z̄)(z − z̄)ᵀ has exactly the eigenvalues `lam`."""
  d = len(lam)
  return _centred_orthonormal(rng, n, d) @ np.diag(np.sqrt(n * lam)) @ _orthonormal(rng, d, d).T


# ------------------------------------------------------------------------------------------------
# α-ReQ


def _alpha_reference(z, first=4, last=100):
  """The authors' fit, written from its formula: weights 1/i on log λ_i = log c − α log i over the
  ranks first..last of the covariance's eigenvalues (NumPy, float64)."""
  z = np.asarray(z, np.float64)
  lam = np.sort(np.linalg.eigvalsh(np.cov(z, rowvar=False, bias=True)))[::-1]
  i = np.arange(1, len(lam) + 1)
  keep = (i >= first) & (i <= last) & (lam > lam[0] * max(z.shape) * np.finfo(np.float64).eps)
  x = np.c_[-np.log(i[keep]), np.ones(keep.sum())]  # [−log i, 1] @ [α, log c]
  w = 1.0 / i[keep][:, None]
  alpha, _ = np.linalg.solve(x.T @ (x * w), (w * x).T @ np.log(lam[keep]))
  return alpha


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("n, d", [(512, 128), (64, 128)], ids=["N>D", "N<D"])
def test_alpha_req_recovers_a_prescribed_power_law(alpha, n, d):
  """λ_i = 3 · i^{−α} exactly (the sample covariance, built in float64): α back to 1e-6. With
  N = 64 < D the centred data have rank 63: ranks 64..128 are zero and are left out."""
  rng = np.random.default_rng(0)
  r = min(d, n - 1)
  lam = np.zeros(d)
  lam[:r] = 3.0 * np.arange(1, r + 1.0) ** -alpha
  z = _with_spectrum(rng, n, lam) if n > d else (
      _centred_orthonormal(rng, n, r) @ np.diag(np.sqrt(n * lam[:r])) @ _orthonormal(rng, d, r).T)
  with jax.enable_x64(True):
    np.testing.assert_allclose(np.linalg.eigvalsh(np.cov(z.T, bias=True))[::-1][:r], lam[:r],
                               rtol=1e-10)
    got = dg.alpha_req(jnp.asarray(z))
    assert got.dtype == jnp.float64
    assert float(got) == pytest.approx(alpha, abs=1e-6)
    # The window does not matter for an exact power law; the scale c never does.
    assert float(dg.alpha_req(jnp.asarray(z), first=1, last=20)) == pytest.approx(alpha, abs=1e-6)
    assert float(dg.alpha_req(jnp.asarray(7.0 * z))) == pytest.approx(alpha, abs=1e-6)
  got32 = dg.alpha_req(jnp.asarray(z, jnp.float32))  # float32 (measured: within 7e-6)
  assert got32.dtype == jnp.float32 and float(got32) == pytest.approx(alpha, abs=5e-5)


@pytest.mark.parametrize("shape", [(300, 40), (50, 200), (1000, 256)])
def test_alpha_req_matches_an_independent_numpy_fit(shape):
  """Random data with a decaying spectrum: float64 to 1e-9 of the NumPy fit (eigvalsh of np.cov,
  weighted normal equations); float32 to 1e-5 (measured: within 4e-7)."""
  rng = np.random.default_rng(1)
  z = rng.normal(size=shape) * np.arange(1, shape[1] + 1.0) ** -0.7 + 0.3
  ref = _alpha_reference(z)
  with jax.enable_x64(True):
    assert float(dg.alpha_req(z)) == pytest.approx(ref, abs=1e-9)
  assert float(jax.jit(lambda x: dg.alpha_req(x))(z.astype(np.float32))) == pytest.approx(
      ref, abs=1e-5)


def test_alpha_req_of_a_spectrum_computed_elsewhere():
  """`alpha_req_of_spectrum` on float64 NumPy eigenvalues (any order) = `alpha_req` of the data."""
  rng = np.random.default_rng(9)
  z = (rng.normal(size=(600, 96)) * np.arange(1, 97.0) ** -0.9).astype(np.float32)
  lam = np.linalg.eigvalsh(np.cov(z.astype(np.float64), rowvar=False, bias=True))  # ascending
  rtol = max(z.shape) * np.finfo(np.float32).eps
  got = float(dg.alpha_req_of_spectrum(lam, rtol=rtol))
  assert got == pytest.approx(float(dg.alpha_req(z)), abs=1e-5)
  assert got == pytest.approx(_alpha_reference(z), abs=1e-5)
  assert float(dg.alpha_req_of_spectrum(lam[::-1], rtol=rtol, first=2, last=50)) == pytest.approx(
      float(dg.alpha_req(z, first=2, last=50)), abs=1e-5)
  with pytest.raises(ValueError, match="one-dimensional"):
    dg.alpha_req_of_spectrum(np.ones((3, 3)))


def test_alpha_req_of_degenerate_inputs():
  rng = np.random.default_rng(2)
  # Rank 5: ranks 4 and 5 remain, a two-point fit; rank ≤ 4 (or a constant) leaves nothing: NaN.
  lam = np.r_[8.0, 4.0, 2.0, 1.0, 0.5, np.zeros(27)]
  with jax.enable_x64(True):
    assert float(dg.alpha_req(_with_spectrum(rng, 100, lam))) == pytest.approx(
        np.log(2.0) / np.log(5 / 4), abs=1e-9)
    assert math.isnan(float(dg.alpha_req(_with_spectrum(rng, 100, np.r_[lam[:4], np.zeros(28)]))))
  assert math.isnan(float(dg.alpha_req(np.ones((64, 16), np.float32))))
  with pytest.raises(ValueError, match="first < last"):
    dg.alpha_req(np.ones((8, 4)), first=5, last=5)
  with pytest.raises(ValueError, match=r"\(N, D\)"):
    dg.alpha_req(np.ones((2, 8, 4)))


# ------------------------------------------------------------------------------------------------
# LiDAR


def _lidar_reference(z, delta=dg.LIDAR_DELTA, eps=dg.LIDAR_EPS):
  """LiDAR from the paper's formulas, in float64, one image (class) at a time."""
  z = np.asarray(z, np.float64)
  q, n, d = z.shape
  means = [z[:, i].mean(axis=0) for i in range(n)]
  grand = np.mean(means, axis=0)
  sigma_b = sum(np.outer(m - grand, m - grand) for m in means) / (n - 1)
  sigma_w = sum(np.outer(z[j, i] - means[i], z[j, i] - means[i])
                for i in range(n) for j in range(q)) / (n * (q - 1)) + delta * np.eye(d)
  lam_w, v = np.linalg.eigh(sigma_w)
  inv_sqrt = v @ np.diag(lam_w ** -0.5) @ v.T
  lam = np.clip(np.linalg.eigvalsh(inv_sqrt @ sigma_b @ inv_sqrt), 0.0, None)
  p = lam / lam.sum() + eps
  return np.exp(-np.sum(p * np.log(p)))


def _closed_form(b, eps=dg.LIDAR_EPS):
  """LiDAR when Σ_w = σ²I: the eigenvalues are b / (σ² + δ), and p_k = b_k / Σ b + ε."""
  p = np.asarray(b, np.float64) / np.sum(b) + eps
  return np.exp(-np.sum(p * np.log(p)))


def _lda_data(rng, q, n, b, sigma2):
  """(Q, N, D) views whose class means have covariance exactly V diag(b) Vᵀ (normalised by N − 1)
  and whose within-image covariance is exactly σ² I (normalised by N (Q − 1))."""
  d = len(b)
  means = _centred_orthonormal(rng, n, d) @ np.diag(np.sqrt((n - 1) * np.asarray(b)))
  means = means @ _orthonormal(rng, d, d).T + rng.normal(size=d)  # any grand mean
  s = rng.normal(size=q)
  s = (s - s.mean()) / np.sqrt(np.sum((s - s.mean()) ** 2) / (q - 1))  # Σ s = 0, Σ s² = Q − 1
  a = np.sqrt(n * sigma2) * _orthonormal(rng, n, d)  # aᵀa = N σ² I
  return means[None] + s[:, None, None] * a[None]


@pytest.mark.parametrize("q", [2, 3, 5])
def test_lidar_closed_form_with_isotropic_within_covariance(q):
  """Σ_w = σ²I and Σ_b = V diag(b) Vᵀ by construction: LiDAR = exp(H(b / Σb + ε)), whatever σ²."""
  rng = np.random.default_rng(3)
  b = np.r_[5.0, 3.0, 1.0, 1.0, 0.5, 0.25, 0.1, 0.0]  # one zero: rank 7 of D = 8
  for sigma2 in (0.3, 2.0):
    z = _lda_data(rng, q, 40, b, sigma2)
    with jax.enable_x64(True):
      got = dg.lidar(jnp.asarray(z))
      assert got.dtype == jnp.float64
      assert float(got) == pytest.approx(_closed_form(b), rel=1e-10)
      assert float(got) == pytest.approx(_lidar_reference(z), rel=1e-10)
    assert float(dg.lidar(z.astype(np.float32))) == pytest.approx(_closed_form(b), rel=1e-4)
  # Equal b_k: LiDAR = their number (the smooth rank), up to ε.
  z = _lda_data(rng, q, 40, np.r_[np.ones(5), np.zeros(3)], 1.0)
  assert float(dg.lidar(z.astype(np.float32))) == pytest.approx(5.0, rel=1e-4)
  assert float(dg.lidar(z.astype(np.float32))) == pytest.approx(
      _closed_form(np.r_[np.ones(5), np.zeros(3)]), rel=1e-6)


@pytest.mark.parametrize("q, n, d, scale", [(2, 40, 8, 1.0), (4, 30, 16, 3.0), (3, 10, 32, 0.5),
                                            (2, 256, 64, 1.0)],
                         ids=["Q2", "Q4", "N<D", "batch-like"])
def test_lidar_matches_an_independent_numpy_implementation(q, n, d, scale):
  """Random views (an image signal plus anisotropic view noise): float64 to 1e-9 relative of the
  NumPy reference, float32 to 1e-4 (measured: within 3e-6). With N (Q − 1) < D, Σ_w is singular
  but for δ: the reference and jaxssl then agree on how δ weighs the directions no view difference
  reached."""
  rng = np.random.default_rng(4)
  signal = rng.normal(size=(n, d)) * np.linspace(2.0, 0.1, d)
  noise = rng.normal(size=(q, n, d)) * np.linspace(0.1, 1.0, d)
  z = scale * (signal[None] + noise)
  ref = _lidar_reference(z)
  assert 1.0 <= ref <= min(d, n - 1) + 1e-3
  with jax.enable_x64(True):
    assert float(dg.lidar(z)) == pytest.approx(ref, rel=1e-9)
  got = float(jax.jit(lambda x: dg.lidar(x))(z.astype(np.float32)))
  assert got == pytest.approx(ref, rel=1e-4)


def test_lidar_of_collapsed_embeddings_is_one():
  rng = np.random.default_rng(5)
  # Every view of every image at one point: Σ_b = 0, all p_k = ε.
  point = np.broadcast_to(rng.normal(size=32), (2, 100, 32)).astype(np.float32)
  assert float(dg.lidar(point)) == pytest.approx(1.0, abs=1e-4)
  # Images spread along one direction, views identical (dimensional collapse to a line).
  line = (rng.normal(size=(100, 1)) * rng.normal(size=(1, 32)))[None].repeat(3, axis=0)
  assert float(dg.lidar(line.astype(np.float32))) == pytest.approx(1.0, abs=1e-4)
  # A spread representation whose views agree up to small noise: a high smooth rank.
  spread = rng.normal(size=(100, 32))[None] + 0.01 * rng.normal(size=(2, 100, 32))
  assert float(dg.lidar(spread.astype(np.float32))) > 25.0
  # But views that are pure noise around one point score high too (documented): Σ_b ≈ Σ_w / Q.
  for q in (2, 4):
    assert float(dg.lidar(rng.normal(size=(q, 400, 16)).astype(np.float32))) > 15.0


def test_lidar_with_a_numerically_indefinite_within_covariance():
  """δ far below float32 rounding of a huge Σ_w: the Cholesky fails and the eigendecomposition
  branch (eigenvalues floored at δ) answers; finite and within [1, D]."""
  rng = np.random.default_rng(6)
  z = (1e4 * rng.normal(size=(2, 4, 8))).astype(np.float32)
  got = float(dg.lidar(z))
  assert math.isfinite(got) and 1.0 <= got <= 8.0 + 1e-3


def test_lidar_shapes_and_dtypes():
  with pytest.raises(ValueError, match=r"\(Q, N, D\)"):
    dg.lidar(np.ones((10, 4)))
  with pytest.raises(ValueError, match="at least 2 views"):
    dg.lidar(np.ones((1, 10, 4)))
  with pytest.raises(ValueError, match="at least 2 views"):
    dg.lidar(np.ones((3, 1, 4)))
  z = np.random.default_rng(7).normal(size=(2, 20, 4))
  assert dg.lidar(z.astype(np.int32)).dtype == jnp.float32
  assert dg.lidar(z.astype(np.float16)).dtype == jnp.float32
  with jax.enable_x64(True):
    assert dg.lidar(z).dtype == jnp.float64


# ------------------------------------------------------------------------------------------------
# Wiring: diagnose, online keys, plots


def test_diagnose_reports_lidar_of_two_or_more_views_and_alpha_req():
  rng = np.random.default_rng(8)
  views = (rng.normal(size=(200, 16))[None] + 0.3 * rng.normal(size=(4, 200, 16))).astype(
      np.float32)
  key = jax.random.key(0)
  two = dg.diagnose(views[0], views[1], key)
  assert two["lidar_views"] == 2.0
  assert two["lidar"] == pytest.approx(float(dg.lidar(views[:2])), rel=1e-5)
  assert two["alpha_req"] == pytest.approx(float(dg.alpha_req(views[0])), rel=1e-5)
  four = dg.diagnose(views[0], views[1], key, views=views)
  assert four["lidar_views"] == 4.0
  assert four["lidar"] == pytest.approx(float(dg.lidar(views)), rel=1e-5)
  assert {k: v for k, v in four.items() if k not in ("lidar", "lidar_views")} == {
      k: v for k, v in two.items() if k not in ("lidar", "lidar_views")}
  assert list(four)[:7] == ["n", "dim", "finite", "rankme", "lidar", "lidar_views", "alpha_req"]
  with pytest.raises(ValueError, match="dimension D = 16"):
    dg.diagnose(views[0], views[1], key, views=views[..., :8])
  bad = views.copy()
  bad[3, 0, 0] = np.nan  # non-finite extra views: no estimator is run
  out = dg.diagnose(views[0], views[1], key, views=bad)
  assert out["finite"] == 0.0 and math.isnan(out["lidar"]) and math.isnan(out["alpha_req"])


def test_lidar_and_alpha_req_are_online_diagnostics_plotted_beside_rankme(tmp_path):
  assert dg.CHEAP_KEYS[:3] == ("rankme", "lidar", "alpha_req")
  assert plots.ONLINE_DIAGNOSTICS[:3] == ("rankme", "lidar", "alpha_req")  # the first row of 3
  for key in ("diag/projector/lidar", "diag/backbone/alpha_req"):
    assert plots.INFORMATION_KEYS.search(key)
  records = [{"step": s, "loss": 1.0 / s, **{f"diag/{space}/{name}": float(s + i)
                                               for space in ("backbone", "projector")
                                               for i, name in enumerate(plots.ONLINE_DIAGNOSTICS)}}
             for s in range(1, 6)]
  path = tmp_path / "metrics.jsonl"
  path.write_text("\n".join(json.dumps(r) for r in records))
  out = plots.plot_online_diagnostics(path, tmp_path / "online.png", names=("rankme", "lidar",
                                                                            "alpha_req"))
  assert (tmp_path / "online.png").stat().st_size > 2000 and out.endswith("online.png")
