"""The Beyond Normal tasks (closed forms, transforms), the copula / Euclidean-KSG estimators,
`estimate_mi` on tuning and held-out tasks, and `train_critic` on held-out data (small N)."""
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special
from scipy.spatial import cKDTree

from jaxssl import estimators as est
from jaxssl.estimators import auto, tasks, training

# The rule of `estimate_mi(method='auto')` was chosen on the Beyond Normal tasks (TUNING); the wide
# tasks (50 and 100 dimensions per variable) were HELD_OUT from that choice.
TASKS = {t.name: t for t in tasks.beyond_normal_tasks()}
TUNING = TASKS
HELD_OUT = {t.name: t for t in tasks.wide_tasks()}


def test_suite_has_the_papers_39_tasks_with_their_closed_form_mi():
  assert len(TASKS) == 39 and len(tasks.beyond_normal_tasks(max_dim=50)) == 40
  families = [t.family for t in TASKS.values()]
  assert {f: families.count(f) for f in set(families)} == {
      "1-d": 9, "embedding": 1, "multinormal": 8, "student": 6, "transformed": 15}
  # Closed forms: ρ = 0.75 → −½ log(1 − 0.5625); 2-pair λ = 2 → ρ = 0.8 twice; additive noise.
  assert TASKS["Bivariate normal 1 × 1"].mi == pytest.approx(-0.5 * np.log(1 - 0.75**2))
  assert TASKS["Spiral @ Multinormal 25 × 25 (2-pair)"].mi == pytest.approx(-np.log(1 - 0.64))
  assert TASKS["Uniform 1 × 1 (additive noise=0.1)"].mi == pytest.approx(0.1 - np.log(0.2))
  assert TASKS["Multinormal 25 × 25 (dense)"].mi == pytest.approx(1.2921837, abs=1e-6)
  for t in TASKS.values():
    x, y = t.sample(jax.random.key(0), 64)
    assert x.shape == (64, t.dim_x) and y.shape == (64, t.dim_y)
    np.testing.assert_allclose(jnp.std(x, axis=0), 1.0, atol=1e-4)  # standardised


def test_wide_tasks_have_their_closed_form_mi():
  assert len(HELD_OUT) == 22 and not set(HELD_OUT) & set(TUNING)
  families = [t.family for t in HELD_OUT.values()]
  assert {f: families.count(f) for f in set(families)} == {
      "multinormal": 4, "student": 8, "transformed": 10}
  for d in (50, 100):
    assert HELD_OUT[f"Multinormal {d} × {d} (2-pair)"].mi == pytest.approx(-np.log(1 - 0.64))
    scale_only = HELD_OUT[f"Student-t {d} × {d} (dof=3)"].mi  # identity dispersion: the shared U
    assert HELD_OUT[f"Student-t {d} × {d} (2-pair, dof=3)"].mi == pytest.approx(
        scale_only - np.log(1 - 0.64))
    assert HELD_OUT[f"Spiral @ Multinormal {d} × {d} (2-pair)"].mi == pytest.approx(
        -np.log(1 - 0.64))
  assert HELD_OUT["Student-t 50 × 50 (dof=2)"].mi == pytest.approx(1.44091, abs=1e-5)
  assert HELD_OUT["Multinormal 100 × 100 (dense)"].mi == pytest.approx(1.96347, abs=1e-5)
  # (Sampling every wide task is exercised by the held-out test of `estimate_mi` below.)


def _log_t(z, dof, dispersion=None):
  """log density of the multivariate Student-t t_ν(0, Ω) (Ω = I by default)."""
  k = z.shape[1]
  dispersion = np.eye(k) if dispersion is None else dispersion
  quad = np.sum(z * np.linalg.solve(dispersion, z.T).T, axis=1)
  return (special.gammaln((dof + k) / 2) - special.gammaln(dof / 2) - 0.5 * k * np.log(dof * np.pi)
          - 0.5 * np.linalg.slogdet(dispersion)[1] - 0.5 * (dof + k) * np.log1p(quad / dof))


@pytest.mark.parametrize("name,dof,dispersion", [
    ("Student-t 2 × 2 (dof=2)", 2, None), ("Student-t 5 × 5 (dof=3)", 3, None),
    ("Student-t 50 × 50 (2-pair, dof=3)", 3, tasks.sparse_correlation(50, 50))])
def test_student_t_mi_matches_monte_carlo_of_the_log_density_ratio(name, dof, dispersion):
  task = {**TASKS, **HELD_OUT}[name]
  n = 200_000 if task.dim_x < 50 else 50_000
  x, y = (np.asarray(a, np.float64) for a in task.sample(jax.random.key(1), n, standardized=False))
  # Both marginal dispersions are the identity (the 2-pair matrix has unit diagonal blocks).
  ratio = _log_t(np.hstack([x, y]), dof, dispersion) - _log_t(x, dof) - _log_t(y, dof)
  se = ratio.std() / np.sqrt(len(ratio))
  assert abs(ratio.mean() - task.mi) < 4 * se + 1e-3, (ratio.mean(), task.mi, se)


def test_transforms_are_invertible_so_the_mi_is_unchanged():
  x = jax.random.normal(jax.random.key(2), (500, 5))
  back = tasks.spiral(tasks.spiral(x, 1, 2), 1, 2, speed=-1 / 5)  # rotate back by the same angle
  np.testing.assert_allclose(back, x, atol=1e-5)
  grid = jnp.linspace(-8, 8, 4001)
  for f in (tasks.wiggly_x, tasks.wiggly_y, tasks.half_cube, jnp.arcsinh):
    assert bool(jnp.all(jnp.diff(f(grid)) > 0)), f
  assert bool(jnp.all(jnp.diff(tasks.normal_cdf(grid / 2)) > 0))  # (float32 saturates beyond 5)
  u = jnp.linspace(0.01, 0.99, 99)
  cdf = lambda v, w, m: jnp.sum(jnp.asarray(w) * tasks.normal_cdf(v[:, None] - jnp.asarray(m)), 1)
  np.testing.assert_allclose(cdf(tasks.bimodal_x(u), (0.3, 0.7), (0.0, 5.0)), u, atol=1e-5)
  np.testing.assert_allclose(cdf(tasks.bimodal_y(u), (0.5, 0.5), (-1.0, 3.0)), u, atol=1e-5)


def test_gaussian_copula_mi_is_rank_invariant_and_exact_on_a_gaussian_copula():
  task = TASKS["Half-cube @ Multinormal 5 × 5 (2-pair)"]
  x, y = task.sample(jax.random.key(3), 2000)
  value = float(est.gaussian_copula_mi(x, y))
  assert value == pytest.approx(float(est.gaussian_copula_mi(jnp.arcsinh(x), tasks.half_cube(y))),
                                abs=1e-5)
  assert abs(value - task.mi) < 0.06  # measured 0.99 for 1.02; plain Gaussian MI: 0.94
  assert float(est.gaussian_copula_mi(x, jax.random.normal(jax.random.key(4), (2000, 5)))) < 0.02


def _scipy_ksg_euclidean(x, y, k=3):
  joint = np.hstack([x, y])
  # max(‖dx‖₂, ‖dy‖₂) is no Minkowski norm: brute-force the joint distances (small N).
  dx = np.linalg.norm(x[:, None] - x[None], axis=2)
  dy = np.linalg.norm(y[:, None] - y[None], axis=2)
  eps = np.sort(np.maximum(dx, dy), axis=1)[:, k]
  del joint
  n_x = cKDTree(x).query_ball_point(x, np.nextafter(eps, 0), return_length=True) - 1
  n_y = cKDTree(y).query_ball_point(y, np.nextafter(eps, 0), return_length=True) - 1
  return (special.digamma(k) + special.digamma(len(x))
          - np.mean(special.digamma(n_x + 1) + special.digamma(n_y + 1)))


def test_ksg_euclidean_matches_a_brute_force_reference():
  x, y = (np.asarray(a, np.float64) for a in
          TASKS["Multinormal 3 × 3 (dense)"].sample(jax.random.key(5), 400))
  with jax.enable_x64(True):
    value = float(est.ksg_mi(jnp.asarray(x), jnp.asarray(y), metric="euclidean"))
  assert value == pytest.approx(_scipy_ksg_euclidean(x, y), abs=1e-9)
  x1, y1 = x[:, :1], y[:, :1]  # in one dimension both norms agree
  assert float(est.ksg_mi(x1, y1, metric="euclidean")) == pytest.approx(float(est.ksg_mi(x1, y1)))
  with pytest.raises(ValueError, match="metric"):
    est.ksg_mi(x, y, metric="manhattan")


# Tuning tasks, N = 2000 (key 6): the method the rule picked; band ±20 % of the truth.
AUTO_CASES = [("Bimodal 1 × 1", "ksg_summary|copula|ksg_copula"),  # 0.387, 0.381, 0.363
              ("Student-t 2 × 2 (dof=1)", "ksg_norms|ksg_copula"),  # 0.380, 0.363
              ("Asinh @ Student-t 5 × 5 (dof=2)", "ksg_norms"),
              ("Multinormal 25 × 25 (2-pair)", "copula"),
              ("Swiss roll 2 × 1", "ksg_copula|ksg_summary"),  # 0.393, 0.386
              ("Normal CDF @ Multinormal 5 × 5 (2-pair)", "copula")]


@pytest.mark.parametrize("name,methods", AUTO_CASES)
def test_estimate_mi_auto_within_20_percent_on_one_tuning_task_per_family(name, methods):
  task = TUNING[name]
  out = est.estimate_mi(*task.sample(jax.random.key(6), 2000))
  assert out.method in methods.split("|"), out
  local = task.dim_x + task.dim_y <= auto.local_ksg_max_dim(2000)  # 9 at N = 2000
  assert set(out.candidates) == {"copula", "ksg_norms", "ksg_summary"} | (
      {"ksg_copula"} if local else set())
  assert out.value == max(out.candidates[m] for m in out.admitted) and out.method in out.reason
  assert ("ksg_copula left out" in out.reason) == (not local)
  assert abs(out.value - task.mi) < 0.2 * task.mi, (out, task.mi)


# Held-out tasks in the test: those with 50 dimensions per variable, N = 2000 (key 6), one data
# set each (all 22 at N = 5000, 3 data sets each: docs/estimators.md). The normal-CDF, half-cube
# and asinh versions are left out here: every candidate of `auto` uses only the ranks of each
# coordinate, so they give their base task's values exactly (as the N = 5000 table shows).
# Measured once the rule was fixed: 7 of 7 within ×1.5, ratios 0.77–0.98 (2-pair Student-t lowest).
HELD_OUT_N = 2000
HELD_OUT_50 = {name: t for name, t in HELD_OUT.items() if t.dim_x == 50
               and not name.startswith(("Normal CDF @", "Half-cube @", "Asinh @"))}


def test_estimate_mi_auto_on_the_held_out_wide_tasks():
  ratios, outs = {}, {}
  for name, task in HELD_OUT_50.items():
    x, y = task.sample(jax.random.key(6), HELD_OUT_N)
    assert x.shape == (HELD_OUT_N, task.dim_x) and y.shape == (HELD_OUT_N, task.dim_y)
    outs[name] = est.estimate_mi(x, y)
    assert "ksg_copula left out: d_x + d_y = 100 > log2(N/k)" in outs[name].reason
    ratios[name] = outs[name].value / task.mi
  within = [n for n, r in ratios.items() if 1 / 1.5 <= r <= 1.5]
  assert len(HELD_OUT_50) == 7 and len(within) >= 6, {n: round(r, 2) for n, r in ratios.items()}
  assert max(ratios.values()) < 1.15, ratios  # no held-out task is overestimated by more
  # The task the previous rule max(copula, KSG, norms) failed, ×1.8 there: KSG on all 100 normal
  # scores errs high on a Student-t (measured ×1.7 at N = 2000). Within 10 % now, from the norms.
  task = HELD_OUT_50["Student-t 50 × 50 (dof=5)"]
  assert 0.9 < ratios[task.name] < 1.1 and outs[task.name].method == "ksg_norms", outs[task.name]
  ksg = est.estimate_mi(*task.sample(jax.random.key(6), HELD_OUT_N), "ksg_copula")
  assert ksg.value > 1.4 * task.mi, ksg


def test_copula_candidate_is_extrapolated_in_n_where_the_wishart_correction_falls_short():
  task = HELD_OUT_50["Student-t 50 × 50 (dof=2)"]  # identity dispersion: no linear dependence
  x, y = task.sample(jax.random.key(6), HELD_OUT_N)
  wishart = float(est.gaussian_copula_mi(x, y))  # measured 0.54: a finite-N excess ∝ 1/N
  out = est.estimate_mi(x, y, "copula")  # measured 0.09 (0.01 at N = 5000)
  assert wishart > 0.3 and abs(out.value) < 0.2, (wishart, out)
  # The extrapolation moved it by 0.45, more than half its value: `auto` does not admit it.
  auto_out = est.estimate_mi(x, y)
  assert "copula" not in auto_out.admitted and "copula not admitted" in auto_out.reason
  x_other = task.sample(jax.random.key(7), HELD_OUT_N)[0]  # independent of y
  out = est.estimate_mi(x_other, y)  # measured: copula −0.04, norms 0.02, summary −0.01
  assert all(abs(v) < 0.1 for v in out.candidates.values()), out
  small = est.estimate_mi(x[:150], y[:150])  # N/2 <= d_x + d_y: no halves
  assert "copula not extrapolated" in small.reason and "ksg_summary left out" in small.reason
  assert set(small.candidates) == {"copula", "ksg_norms"}


def test_estimate_mi_rejects_bad_input_with_one_clear_error():
  x = np.random.default_rng(0).standard_normal((100, 3))
  with pytest.raises(ValueError, match="constant"):
    est.estimate_mi(np.hstack([x, np.ones((100, 1))]), x)
  with pytest.raises(ValueError, match="more samples than dimensions"):
    est.estimate_mi(x[:5], x[:5])
  bad = x.copy()
  bad[3, 1] = np.nan
  with pytest.raises(ValueError, match="non-finite"):
    est.estimate_mi(bad, x)
  with pytest.raises(ValueError, match="Unknown method"):
    est.estimate_mi(x, x, method="best")


def test_train_critic_on_a_data_set_gives_a_held_out_estimate_without_recompiling(caplog):
  task = TASKS["Multinormal 2 × 2 (2-pair)"]
  kwargs = dict(batch_size=64, steps=300, eval_every=50, patience=2, val_fraction=0.2,
                test_fraction=0.2)
  fits = []
  with jax.log_compiles(True), caplog.at_level(logging.WARNING):
    for seed, lr in ((0, 3e-3), (1, 5e-3)):  # new data, key and learning rate: same program
      caplog.clear()
      fits.append(est.train_critic(jax.random.key(seed),
                                   task.sample(jax.random.key(10 + seed), 1000), **kwargs))
      compiled = [r for r in caplog.records if "compil" in r.getMessage().lower()
                  and "run" in r.getMessage()]
      assert (len(compiled) > 0) == (seed == 0), [r.getMessage() for r in compiled]
  for fit in fits:
    assert isinstance(fit, training.CriticFit) and fit.train_curve.shape == (300,)
    assert 50 <= int(fit.best_step) <= int(fit.stop_step) <= 300
    # held out (200 test pairs), small critic: positive and within ×1.5 of 1.02 nats
    assert 0.68 < float(fit.estimate) < 1.53, fit.estimate
    assert fit.scores(*task.sample(jax.random.key(9), 8)).shape == (8, 8)


@pytest.mark.parametrize("name", ["nwj", "dv", "mine", "smile"])
def test_every_bound_trains_through_train_critic_held_out_positive(name):
  task = TASKS["Bivariate normal 1 × 1"]  # 0.41 nats
  fit = est.train_critic(jax.random.key(0), task.sample(jax.random.key(1), 1000),
                         estimator=name, batch_size=64, steps=300, eval_every=50)
  assert 0.0 < float(fit.estimate) < 0.7, fit.estimate
  assert np.isfinite(fit.validation)


def test_train_critic_rejects_bad_settings():
  data = TASKS["Bivariate normal 1 × 1"].sample(jax.random.key(0), 100)
  with pytest.raises(ValueError, match="multiple of `eval_every`"):
    est.train_critic(jax.random.key(0), data, steps=250, eval_every=100)
  with pytest.raises(ValueError, match="exceeds"):
    est.train_critic(jax.random.key(0), data, batch_size=256, steps=100, eval_every=100)
  with pytest.raises(ValueError, match="too few samples"):
    est.train_critic(jax.random.key(0), (data[0][:5], data[1][:5]), steps=10, eval_every=10)


def test_train_critic_keeps_the_constant_critic_when_nothing_beats_it():
  key_x, key_y = jax.random.split(jax.random.key(3))
  x, y = jax.random.normal(key_x, (600, 2)), jax.random.normal(key_y, (600, 2))  # independent
  fit = est.train_critic(jax.random.key(0), (x, y), estimator="nwj", batch_size=64, steps=200,
                         eval_every=50)
  assert abs(float(fit.estimate)) < 0.05, fit.estimate
  if int(fit.best_step) == 0:  # no checkpoint beat 0 on validation: exactly 0, validation 0
    assert float(fit.estimate) == 0.0 and float(fit.validation) == 0.0
  else:
    assert float(fit.validation) > 0.0
  out = est.estimate_mi(x, y, "critic", estimator="infonce", batch_size=64, steps=100,
                        eval_every=50)
  assert out.method == "critic" and abs(out.value) < 0.05
