"""Critic-based bounds, critics and critic training."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp, softplus

from jaxssl.estimators import (BilinearCritic, ConcatCritic, SeparableCritic, barber_agakov, dv,
                               infonce, js, mine, mine_init, nwj, smile, tasks, train_critic, tuba)

SCORES = np.random.default_rng(0).normal(size=(6, 6)) * 2.0
OFF = ~np.eye(6, dtype=bool)


def _mean_exp_off(s):
  return np.exp(s[OFF]).mean()


@pytest.mark.parametrize("jitted", [False, True])
def test_bounds_match_hand_computed_values(jitted):
  s, n = SCORES, 6
  wrap = jax.jit if jitted else (lambda f: f)
  log_a = np.linspace(-1, 1, n)
  expected = {
      infonce: np.log(n) + np.mean(np.diag(s) - logsumexp(s, axis=1)),
      nwj: np.mean(np.diag(s)) - _mean_exp_off(s) / np.e,
      dv: np.mean(np.diag(s)) - np.log(_mean_exp_off(s)),
      js: 1 + np.mean(np.diag(s)) - _mean_exp_off(s),
      smile: np.mean(np.diag(s)) - np.log(_mean_exp_off(np.clip(s, -1.5, 1.5))),
  }
  for fn, want in expected.items():
    kwargs = {"clip": 1.5} if fn is smile else {}
    got = float(wrap(lambda x: fn(x, **kwargs))(jnp.asarray(s)))
    assert got == pytest.approx(want, rel=1e-5), fn.__name__  # float32: rel 1e-5
  shifted = s - log_a[None, :]
  assert float(wrap(tuba)(jnp.asarray(s), jnp.asarray(log_a))) == pytest.approx(
      1 + np.mean(np.diag(shifted)) - _mean_exp_off(shifted), rel=1e-5)
  assert float(barber_agakov(jnp.array([-1.0, -2.0, -3.0]), 4.0)) == pytest.approx(2.0)


def test_js_and_smile_gradients_are_the_fgan_js_objective_gradient():
  def js_objective(s):
    diag = jnp.diagonal(s)
    off = (jnp.sum(jax.nn.softplus(s)) - jnp.sum(jax.nn.softplus(diag))) / (6 * 5)
    return -jnp.mean(jax.nn.softplus(-diag)) - off

  s = jnp.asarray(SCORES)
  want = jax.grad(js_objective)(s)
  np.testing.assert_allclose(jax.grad(js)(s), want, atol=1e-6)
  np.testing.assert_allclose(jax.grad(smile)(s), want, atol=1e-6)
  # The objective value itself (checked independently with SciPy's softplus).
  diag = np.diag(SCORES)
  fgan = -softplus(-diag).mean() - softplus(SCORES[OFF]).mean()
  assert float(js_objective(s)) == pytest.approx(fgan, rel=1e-5)


def test_mine_value_state_and_moving_average_gradient():
  s1, s2 = jnp.asarray(SCORES), jnp.asarray(SCORES[::-1] * 0.5)
  state = mine_init()
  v1, state = mine(s1, state, momentum=0.9)
  assert float(v1) == pytest.approx(float(dv(s1)), rel=1e-6)
  # Step 1: the bias-corrected average is the batch's own partition, so the gradient is DV's.
  g1 = jax.grad(lambda s: mine(s, mine_init(), momentum=0.9)[0])(s1)
  np.testing.assert_allclose(g1, jax.grad(dv)(s1), atol=1e-6)
  # Step 2: gradient = ∇E_p f − ∇E_q e^f / m̂ with m̂ the bias-corrected moving average.
  m1, m2 = _mean_exp_off(SCORES), _mean_exp_off(SCORES[::-1] * 0.5)
  m_hat = (0.9 * 0.1 * m1 + 0.1 * m2) / (1 - 0.9**2)
  assert float(jnp.exp(state.log_ema)) == pytest.approx(0.1 * m1, rel=1e-5)
  v2, state2 = mine(s2, state, momentum=0.9)
  assert float(jnp.exp(state2.log_ema) / (1 - 0.9**2)) == pytest.approx(m_hat, rel=1e-5)
  g2 = jax.grad(lambda s: mine(s, state, momentum=0.9)[0])(s2)
  joint_grad = np.eye(6) / 6
  partition_grad = np.where(OFF, np.exp(np.asarray(s2)) / 30, 0.0)
  np.testing.assert_allclose(g2, joint_grad - partition_grad / m_hat, atol=1e-5)
  assert float(v2) == pytest.approx(float(dv(s2)), rel=1e-6)


def test_infonce_never_exceeds_log_n():
  for scale in (1.0, 10.0, 1000.0):
    s = jax.random.normal(jax.random.key(int(scale)), (32, 32)) * scale
    s = s + jnp.eye(32) * 3 * scale  # strongly favour the positives
    assert float(infonce(s)) <= np.log(32) + 1e-6


# Optimal critics: the true log density ratio of correlated Gaussians (d = 5), in closed form.
def _optimal_scores(n, mi, seed=0, d=5):
  x, y, true = tasks.correlated_gaussian(jax.random.key(seed), n, d=d, mi=mi)
  return tasks.correlated_gaussian_log_ratio(x, y, tasks.rho_for_mi(mi, d)), true


def test_infonce_with_optimal_critic_within_5_percent_of_min_mi_log_n():
  scores, true = _optimal_scores(1024, 2.0)  # true MI < log N = 6.93: tracks the MI
  assert abs(float(infonce(scores)) - true) < 0.05 * true
  scores, true = _optimal_scores(128, 10.0)  # true MI > log N = 4.85: saturates at log N
  target = min(true, np.log(128))
  assert abs(float(infonce(scores)) - target) < 0.05 * target
  assert float(infonce(scores)) <= np.log(128)


@pytest.mark.parametrize("mi", [1.0, 2.0])
def test_nwj_dv_js_tuba_with_optimal_critic_within_5_percent(mi):
  scores, true = _optimal_scores(1024, mi, seed=int(mi))
  assert abs(float(nwj(scores + 1.0)) - true) < 0.05 * true  # NWJ's optimum is 1 + log ratio
  assert abs(float(dv(scores)) - true) < 0.05 * true
  assert abs(float(dv(scores + 3.0)) - true) < 0.05 * true  # DV is shift invariant
  assert abs(float(js(scores)) - true) < 0.05 * true  # JS's optimum is the log ratio
  assert abs(float(tuba(scores)) - true) < 0.05 * true


def test_bad_scores_raise():
  with pytest.raises(ValueError, match="square"):
    infonce(jnp.ones((3, 4)))
  with pytest.raises(ValueError, match=r"shape \(N, N\)"):
    nwj(jnp.ones((3,)))
  with pytest.raises(ValueError, match="non-finite"):
    dv(jnp.ones((3, 3)).at[0, 1].set(jnp.nan))
  with pytest.raises(ValueError, match="log_baseline"):
    tuba(jnp.ones((3, 3)), jnp.ones(2))
  with pytest.raises(ValueError, match="log_q"):
    barber_agakov(jnp.ones((2, 2)), 1.0)


def test_critics_shapes_and_concat_critic_equals_explicit_pairs():
  key = jax.random.key(0)
  x, y = jax.random.normal(key, (5, 3)), jax.random.normal(key, (5, 2))
  for critic in (SeparableCritic(hidden=(8,), embed_dim=4), ConcatCritic(hidden=(8, 8)),
                 BilinearCritic()):
    params = critic.init(key, x, y)
    assert critic.apply(params, x, y).shape == (5, 5)
  critic = ConcatCritic(hidden=(8, 8))
  params = critic.init(key, x, y)["params"]
  scores = critic.apply({"params": params}, x, y)
  w1 = jnp.concatenate([params["first_x"]["kernel"], params["first_y"]["kernel"]], axis=0)
  pairs = jnp.concatenate([jnp.repeat(x, 5, axis=0), jnp.tile(y, (5, 1))], axis=1)
  h = jax.nn.relu(pairs @ w1 + params["first_x"]["bias"])
  rest = params["rest"]
  h = jax.nn.relu(h @ rest["Dense_0"]["kernel"] + rest["Dense_0"]["bias"])
  out = (h @ rest["Dense_1"]["kernel"] + rest["Dense_1"]["bias"]).reshape(5, 5)
  np.testing.assert_allclose(scores, out, atol=1e-5)
  bilinear = BilinearCritic()
  bp = bilinear.init(key, x, y)
  np.testing.assert_allclose(bilinear.apply(bp, x, y), x @ bp["params"]["w"] @ y.T, atol=1e-5)


def test_train_critic_learns_the_mi():
  sample = lambda k, n: tasks.correlated_gaussian(k, n, d=2, mi=1.0)[:2]
  critic = SeparableCritic(hidden=(32,), embed_dim=8)
  fit = train_critic(jax.random.key(0), sample, critic, "infonce", steps=400, batch_size=64,
                     lr=3e-3, eval_every=100, patience=None, eval_size=256)
  curve = fit.train_curve
  assert curve.shape == (400,) and fit.val_curve.shape == (4,)
  assert float(jnp.mean(curve[:10])) < 0.3  # starts near zero
  assert abs(float(fit.estimate) - 1.0) < 0.2  # InfoNCE on 256 fresh pairs tracks 1 nat
  # (train_critic with the stateful "mine" runs in test_estimators_bench's tiny experiment.)
  # A sampler with a `step` parameter receives the step: independent data, then MI = 1 nat.
  def staircase(k, n, step):
    rho = jnp.where(step < 200, 0.0, tasks.rho_for_mi(1.0, 2))
    x = jax.random.normal(k, (n, 2))
    return x, rho * x + jnp.sqrt(1 - rho**2) * jax.random.normal(jax.random.fold_in(k, 1), (n, 2))
  fit = train_critic(jax.random.key(2), staircase, critic, "infonce", steps=400, batch_size=64,
                     lr=3e-3, eval_every=100, patience=None, eval_size=256)
  assert abs(float(jnp.mean(fit.train_curve[100:200]))) < 0.15
  assert abs(float(fit.estimate) - 1.0) < 0.25
  with pytest.raises(ValueError, match="Unknown estimator"):
    train_critic(jax.random.key(0), sample, critic, "nope", steps=1, eval_every=1, batch_size=4)
