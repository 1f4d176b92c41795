"""Objectives against independent NumPy float64 implementations of REFERENCES.md's formulas.

Tolerances: values vs NumPy float64 rtol 1e-5 (float64, x64 on); gradients vs central finite
differences (float64, h = 1e-6) rtol 1e-5; float32 comparisons state theirs inline.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.special import logsumexp

import np_information
from jaxssl import objectives
from jaxssl.objectives import _corinfomax
from test_objectives_regularisers import np_alignment_uniformity, np_dcl, np_tico, tico_state
from torch_compat import import_torch

# ----------------------------------------------------------------------------------------------
# Independent NumPy float64 references, written from the formulas.


def _normalize(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


def _offdiag_sq(c):
  return np.sum(c**2) - np.sum(np.diag(c) ** 2)


def np_vicreg(z1, z2, sim=25.0, std=25.0, cov=1.0, gamma=1.0, eps=1e-4):
  d = z1.shape[1]
  inv = np.mean((z1 - z2) ** 2)

  def var_cov(z):
    s = np.sqrt(np.var(z, axis=0, ddof=1) + eps)
    return np.mean(np.maximum(gamma - s, 0.0)), _offdiag_sq(np.cov(z, rowvar=False)) / d

  (v1, c1), (v2, c2) = var_cov(z1), var_cov(z2)
  terms = {"invariance": inv, "variance": (v1 + v2) / 2, "covariance": c1 + c2}
  return sim * inv + std * terms["variance"] + cov * terms["covariance"], terms


def np_barlow(z1, z2, lambd=0.0051, eps=1e-5):
  n = z1.shape[0]

  def standardise(z):
    return (z - z.mean(0)) / np.sqrt(z.var(0) + eps)

  c = standardise(z1).T @ standardise(z2) / n
  on, off = np.sum((1 - np.diag(c)) ** 2), _offdiag_sq(c)
  return on + lambd * off, {"invariance": on, "redundancy": off}


def np_nt_xent(z1, z2, temperature=0.5):
  n = z1.shape[0]
  u = _normalize(np.concatenate([z1, z2]))
  s = u @ u.T / temperature
  align, unif = [], []
  for i in range(2 * n):
    others = [k for k in range(2 * n) if k != i]
    align.append(-s[i, (i + n) % (2 * n)])
    unif.append(np.log(np.sum(np.exp(s[i, others]))))
  terms = {"alignment": np.mean(align), "uniformity": np.mean(unif)}
  return terms["alignment"] + terms["uniformity"], terms


def np_spectral(z1, z2):
  n = z1.shape[0]
  pos = -2.0 * np.mean([z1[i] @ z2[i] for i in range(n)])
  neg = np.mean([(z1[i] @ z2[j]) ** 2 for i in range(n) for j in range(n) if i != j])
  return pos + neg, {"positive": pos, "negative": neg}


def np_w_mse(z1, z2, w_size=8, eps=0.0):
  n, d = z1.shape

  def whiten(x):
    xc = x - x.mean(0)
    cov = (1 - eps) * np.cov(x, rowvar=False) + eps * np.eye(d)
    return np.linalg.solve(np.linalg.cholesky(cov), xc.T).T

  cosines = []
  for s in range(0, n, w_size):
    w1, w2 = _normalize(whiten(z1[s:s + w_size])), _normalize(whiten(z2[s:s + w_size]))
    cosines.extend(np.sum(w1 * w2, axis=1))
  loss = 2 - 2 * np.mean(cosines)
  return loss, {"invariance": loss}


def np_corinfomax(z1, z2, state, alpha=250.0, la_r=0.01, la_mu=0.01, eps=1e-8):
  mu_old = [np.asarray(state.mu1), np.asarray(state.mu2)]
  r_old = [np.asarray(state.r1), np.asarray(state.r2)]
  z = [_normalize(z1), _normalize(z2)]
  n, d = z1.shape
  mus, rs, logdets = [], [], []
  for b in range(2):
    mu = la_mu * mu_old[b] + (1 - la_mu) * z[b].mean(0)
    zh = z[b] - mu
    r = la_r * r_old[b] + (1 - la_r) * zh.T @ zh / n
    mus.append(mu)
    rs.append(r)
    logdets.append(np.linalg.slogdet(r + eps * np.eye(d))[1])
  inv = np.mean((z[0] - z[1]) ** 2)
  cov = -(logdets[0] + logdets[1]) / d
  terms = {"invariance": inv, "logdet_1": logdets[0], "logdet_2": logdets[1], "covariance": cov}
  return alpha * inv + cov, terms, (mus[0], mus[1], rs[0], rs[1])


def np_entropy(z, entropy, beta=1.0, sigma=1.0):
  n, d = z.shape
  if entropy == "logdet":
    zc = z - z.mean(0)
    return 0.5 * np.linalg.slogdet(np.eye(d) + beta / n * zc.T @ zc)[1]
  c = {"pairwise_kl": 2.0, "pairwise_bd": 8.0}[entropy]
  sq = np.sum((z[:, None, :] - z[None, :, :]) ** 2, axis=-1)
  per_row = logsumexp(-sq / (c * sigma**2), axis=1) - np.log(n) - d / 2 * np.log(
      2 * np.pi * sigma**2)
  return d / 2 - np.mean(per_row)


def np_vicreg_entropy(z1, z2, entropy="logdet", sim=25.0):
  # Defaults as documented: logdet per dimension (β_H = 25, β = 32); pairwise in nats, β_H = 10.
  d = z1.shape[1]
  inv = np.mean((z1 - z2) ** 2)
  beta = 32.0 if entropy == "logdet" else 1.0
  h1, h2 = np_entropy(z1, entropy, beta=beta), np_entropy(z2, entropy, beta=beta)
  if entropy != "logdet":  # logged and optimised in excess of one component N(0, σ²I), σ = 1
    h1, h2 = h1 - d / 2 * np.log(2 * np.pi * np.e), h2 - d / 2 * np.log(2 * np.pi * np.e)
  penalty = 25.0 * (h1 + h2) / d if entropy == "logdet" else 10.0 * (h1 + h2)
  return sim * inv - penalty, {"invariance": inv, "entropy_1": h1, "entropy_2": h2}


def np_byol(p1, p2, t1, t2):
  r12 = np.mean(2 - 2 * np.sum(_normalize(p1) * _normalize(t2), axis=1))
  r21 = np.mean(2 - 2 * np.sum(_normalize(p2) * _normalize(t1), axis=1))
  return r12 + r21, {"regression_12": r12, "regression_21": r21}


def np_simsiam(p1, p2, z1, z2):
  c12 = np.mean(np.sum(_normalize(p1) * _normalize(z2), axis=1))
  c21 = np.mean(np.sum(_normalize(p2) * _normalize(z1), axis=1))
  return -0.5 * (c12 + c21), {"cosine_12": c12, "cosine_21": c21}


def np_moco_v3(q1, q2, k1, k2, temperature=0.2):
  def ce(q, k):
    logits = _normalize(q) @ _normalize(k).T / temperature
    return np.mean([logsumexp(logits[i]) - logits[i, i] for i in range(len(q))])

  c12, c21 = ce(q1, k2), ce(q2, k1)
  return 2 * temperature * (c12 + c21), {"infonce_12": c12, "infonce_21": c21}


def np_reconstruction(x, x_hat, sigma=1.0):
  n = x.shape[0]
  d = x[0].size
  sq = np.sum((x - x_hat).reshape(n, -1) ** 2, axis=1)
  nll = np.mean(sq / (2 * sigma**2) + d / 2 * np.log(2 * np.pi * sigma**2))
  return nll, {"nll_nats": nll, "mse": np.mean((x - x_hat) ** 2), "ba_term": -nll}


LEJEPA_DIRECTIONS = np.random.default_rng(11).normal(size=(4, 8))  # (D, M), D = 4 below
# name -> (numpy reference, number of array inputs, differentiable inputs, hyper-parameters)
CASES = {
    "vicreg": (np_vicreg, 2, (0, 1), {}),
    "barlow_twins": (np_barlow, 2, (0, 1), {}),
    "nt_xent": (np_nt_xent, 2, (0, 1), {}),
    "spectral_contrastive": (np_spectral, 2, (0, 1), {}),
    "w_mse": (functools.partial(np_w_mse, w_size=8), 2, (0, 1), {"w_size": 8}),
    "corinfomax": (np_corinfomax, 2, (0, 1), {}),
    "vicreg_logdet": (functools.partial(np_vicreg_entropy, entropy="logdet"), 2, (0, 1), {}),
    "vicreg_pairwise_kl": (functools.partial(np_vicreg_entropy, entropy="pairwise_kl"), 2, (0, 1),
                           {}),
    "vicreg_pairwise_bd": (functools.partial(np_vicreg_entropy, entropy="pairwise_bd"), 2, (0, 1),
                           {}),
    "byol": (np_byol, 4, (0, 1), {}),
    "simsiam": (np_simsiam, 4, (0, 1), {}),
    "moco_v3": (np_moco_v3, 4, (0, 1), {}),
    "reconstruction": (np_reconstruction, 2, (0, 1), {}),
    "tico": (np_tico, 2, (0, 1), {}),
    "dcl": (np_dcl, 2, (0, 1), {}),
    # DCLW's weights are under stop-gradient by default; finite differences see them move.
    "dclw": (functools.partial(np_dcl, weighted=True), 2, (0, 1), {"weight_gradient": True}),
    "alignment_uniformity": (np_alignment_uniformity, 2, (0, 1), {}),
    # Multi-view objectives as two stacked views (np_information's references); LeJEPA's SIGReg
    # with fixed directions instead of a key.
    "lejepa": (np_information.pair_lejepa(LEJEPA_DIRECTIONS), 2, (0, 1),
               {"directions": LEJEPA_DIRECTIONS}),
    "mmcr": (np_information.pair(np_information.mmcr), 2, (0, 1), {}),
    "emp_ssl": (np_information.pair(np_information.emp_ssl), 2, (0, 1), {}),
    "frossl": (np_information.pair(np_information.frossl), 2, (0, 1), {}),
}
N, D = 16, 4


def _arrays(name, n_arrays, seed=0):
  rng = np.random.default_rng(seed)
  shape = (N, 3, 2) if name == "reconstruction" else (N, D)
  base = rng.normal(size=shape)
  # Correlated views with std < 1 in some dimensions, so every term (VICReg's hinge included)
  # is active.
  scales = np.array([0.4, 0.8, 1.2, 1.6]) if len(shape) == 2 else 1.0
  return [(base + 0.5 * rng.normal(size=shape)) * scales for _ in range(n_arrays)]


def _corinfomax_state(d):
  rng = np.random.default_rng(1)
  a = rng.normal(size=(d, d)) * 0.1
  return _corinfomax.CorInfoMaxState(mu1=0.05 * rng.normal(size=d), mu2=np.zeros(d),
                                     r1=np.eye(d), r2=0.5 * np.eye(d) + a @ a.T)


# A non-trivial state per stateful objective (the old state enters the loss).
STATES = {"corinfomax": _corinfomax_state, "tico": tico_state}


def _state(name, d):
  return STATES[name](d)


def _call(name, arrays, **hp):
  obj = objectives.get(name)
  if obj.kind == "stateful":
    state = jax.tree.map(jnp.asarray, _state(name, jnp.shape(arrays[0])[-1]))
    return obj.fn(*arrays, state, **hp)
  return obj.fn(*arrays, **hp)


@functools.lru_cache(maxsize=None)
def _jitted(name):
  """One jitted call per objective, shared by the tests (one compile per dtype)."""
  hp = CASES[name][3]
  return jax.jit(lambda *x: _call(name, x, **hp))


def test_cases_cover_the_registry():
  aliases = {"vicreg_entropy"}  # = vicreg_logdet with the defaults, checked below
  assert set(CASES) == set(objectives.names()) - aliases
  z1, z2 = jax.random.normal(jax.random.key(0), (2, N, D))
  a, b = jax.jit(lambda x, y: (objectives.vicreg_entropy(x, y)[0],
                               objectives.get("vicreg_logdet").fn(x, y)[0]))(z1, z2)
  assert a == b


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_matches_numpy_float64(name):
  ref, n_arrays, _, hp = CASES[name]
  arrays = _arrays(name, n_arrays)
  args = arrays + ([_state(name, D)] if name in STATES else [])
  want = ref(*args)
  with jax.enable_x64(True):
    x = [jnp.asarray(a) for a in arrays]
    got = _jitted(name)(*x)
    assert got[0].dtype == jnp.float64
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, err_msg=name)
    assert set(got[1]) == set(want[1])
    for key in want[1]:
      np.testing.assert_allclose(got[1][key], want[1][key], rtol=1e-5, atol=1e-12,
                                 err_msg=f"{name}: {key}")
    if name in STATES:  # the new state is the moving-average formula by hand
      for g, w in zip(got[2], want[2]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name):
  _, n_arrays, argnums, hp = CASES[name]
  arrays = _arrays(name, n_arrays, seed=2)
  rng = np.random.default_rng(3)
  h = 1e-6
  with jax.enable_x64(True):
    x = [jnp.asarray(a) for a in arrays]
    loss = lambda *x: _jitted(name)(*x)[0]  # pylint: disable=unnecessary-lambda-assignment
    grads = jax.jit(jax.grad(lambda *x: _call(name, x, **hp)[0],
                             argnums=tuple(range(n_arrays))))(*x)
    for i in range(n_arrays):
      if i not in argnums:  # stop-gradient targets
        assert not np.any(grads[i]), f"{name}: target input {i} received a gradient"
        continue
      for flat in rng.choice(arrays[i].size, size=3, replace=False):
        idx = np.unravel_index(flat, arrays[i].shape)
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i][idx] += h
        minus[i][idx] -= h
        fd = (loss(*map(jnp.asarray, plus)) - loss(*map(jnp.asarray, minus))) / (2 * h)
        np.testing.assert_allclose(grads[i][idx], fd, rtol=1e-5, atol=1e-8,
                                   err_msg=f"{name}: d/d input{i}{idx}")
    if name in ("byol", "simsiam", "moco_v3"):  # targets under stop-gradient
      assert not np.any(grads[2]) and not np.any(grads[3])


# ----------------------------------------------------------------------------------------------
# Known cases.


def _whitened(n, d, seed=0):
  """Rows with mean exactly 0 and unbiased covariance exactly I."""
  z = np.random.default_rng(seed).normal(size=(n, d))
  z -= z.mean(0)
  return jnp.asarray(z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T,
                     jnp.float32)


def test_redundancy_objectives_penalise_collapse():
  n, d = 64, 8
  white = _whitened(n, d)
  collapsed = jnp.tile(white[:1], (n, 1))
  state = objectives.corinfomax_init(d)

  @jax.jit
  def losses(z):
    return (objectives.vicreg(z, z)[0], objectives.barlow_twins(z, z)[0],
            objectives.corinfomax(z, z, state)[0])

  (vw, bw, cw), (vc, bc, cc) = losses(white), losses(collapsed)
  # VICReg: whitened, identical views -> only ε-level terms; collapse -> μ·(1 − √ε) ≈ 24.75.
  assert vw < 1e-3
  np.testing.assert_allclose(vc, 25 * (1 - 1e-2), rtol=1e-4)
  # Barlow Twins: C ≈ I for whitened views; C = 0 for collapsed ones, so loss = D.
  assert bw < 1e-3
  np.testing.assert_allclose(bc, d, rtol=1e-4)
  # CorInfoMax from its initial state: the collapsed batch's R is 0.01·I plus a rank-one part,
  # so −logdet/D ≈ −2·log(0.01) = 9.2 nats, against about 4 for whitened embeddings.
  assert cc - cw > 4.0, (cc, cw)


def test_vicreg_entropy_penalises_collapse():
  n, d = 64, 8
  white = _whitened(n, d)
  collapsed = jnp.tile(white[:1], (n, 1))
  losses = jax.jit(lambda z: [objectives.vicreg_entropy(z, z, entropy=e)[0]
                              for e in objectives.ENTROPY_ESTIMATORS])
  for entropy, lw, lc in zip(objectives.ENTROPY_ESTIMATORS, losses(white), losses(collapsed)):
    assert lc - lw > 1.0, (entropy, lc, lw)


def test_nt_xent_large_temperature_is_log_2n_minus_1():
  z = jax.random.normal(jax.random.key(0), (32, 16))
  loss, _ = objectives.nt_xent(z, z, temperature=1e6)
  np.testing.assert_allclose(loss, np.log(2 * 32 - 1), rtol=1e-5)


def test_nt_xent_equals_optax_ntxent():
  """optax 0.2.8's `ntxent` averages −log softmax over all 2N positive pairs, with the anchor
  excluded from its own denominator -- the same loss; it clips squared norms at float eps
  where we clip norms at 1e-12, which only matters for near-zero embeddings. Float32, rtol 1e-5.
  """
  z1, z2 = jax.random.normal(jax.random.key(1), (2, 24, 8))
  labels = jnp.concatenate([jnp.arange(24), jnp.arange(24)])

  @jax.jit
  def both(temperature):
    return (objectives.nt_xent(z1, z2, temperature=temperature)[0],
            optax.ntxent(jnp.concatenate([z1, z2]), labels, temperature))

  for temperature in (0.1, 0.5, 2.0):
    ours, theirs = both(temperature)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, err_msg=f"τ = {temperature}")


def test_corinfomax_one_step_state_by_hand():
  z1, z2 = jax.random.normal(jax.random.key(2), (2, 32, 6))
  loss = jax.jit(lambda s: objectives.corinfomax(z1, z2, s))
  _, _, state = loss(objectives.corinfomax_init(6))
  u = np.asarray(z1, np.float64)
  u /= np.linalg.norm(u, axis=1, keepdims=True)
  mu = 0.99 * u.mean(0)  # μ = λ_μ·0 + (1 − λ_μ)·mean
  r = 0.01 * np.eye(6) + 0.99 * (u - mu).T @ (u - mu) / 32  # R = λ_R·I + (1 − λ_R)·ẑᵀẑ/N
  np.testing.assert_allclose(state.mu1, mu, rtol=1e-5, atol=1e-7)  # float32
  np.testing.assert_allclose(state.r1, r, rtol=1e-5, atol=1e-7)
  # The state carries no gradient: d loss / d old state is zero.
  grad = jax.jit(jax.grad(lambda s: loss(s)[0]))(objectives.corinfomax_init(6))
  assert all(not np.any(g) for g in jax.tree.leaves(grad))


def _covariance_like(n=512, d=64, seed=0):
  z = np.random.default_rng(seed).normal(size=(n, d)) @ np.diag(np.linspace(0.2, 2.0, d))
  z /= np.linalg.norm(z, axis=1, keepdims=True)
  zc = z - z.mean(0)
  return 0.01 * np.eye(d) + 0.99 * zc.T @ zc / n


def test_corinfomax_logdet_float64_and_float32_paths_agree():
  """Float64 Cholesky (x64) vs the float32 eigenvalue path on a realistic R (D = 64, eigenvalues
  ~1e-3..5e-2): values to rtol 1e-5 (logdet ≈ −280), gradients (R + εI)⁻¹ to rtol 1e-3."""
  r = _covariance_like()
  want = np.linalg.slogdet(r + 1e-8 * np.eye(64))[1]
  with jax.enable_x64(True):
    r32 = jnp.asarray(r, jnp.float32)
    v64, g64 = jax.jit(jax.value_and_grad(lambda m: _corinfomax._logdet_float64(m, 1e-8)))(r32)
    v32, g32 = jax.jit(jax.value_and_grad(lambda m: _corinfomax._logdet_float32(m, 1e-8)))(r32)
  np.testing.assert_allclose(v64, want, rtol=1e-6)
  np.testing.assert_allclose(v32, want, rtol=1e-5)
  inv = np.linalg.inv(r)
  np.testing.assert_allclose(g64, inv, rtol=1e-3, atol=1e-3 * np.abs(inv).max())
  np.testing.assert_allclose(g32, inv, rtol=1e-3, atol=1e-3 * np.abs(inv).max())


def test_corinfomax_float32_path_without_x64_matches_float64():
  z1, z2 = jax.random.normal(jax.random.key(4), (2, 128, 16))
  loss, metrics, _ = jax.jit(objectives.corinfomax)(z1, z2, objectives.corinfomax_init(16))
  assert loss.dtype == jnp.float32
  want, terms, _ = np_corinfomax(np.asarray(z1, np.float64), np.asarray(z2, np.float64),
                                 objectives.corinfomax_init(16))
  np.testing.assert_allclose(loss, want, rtol=1e-4)
  np.testing.assert_allclose(metrics["logdet_1"], terms["logdet_1"], rtol=1e-4)


def test_corinfomax_float32_path_survives_where_float32_cholesky_fails():
  """A singular R (fewer rows than dimensions, λ_R = 0): float32 Cholesky of R + 1e-8·I is NaN,
  the eigenvalue path stays finite; its gradient at R = I (all eigenvalues equal) is I/(1 + ε)."""
  z = np.random.default_rng(0).normal(size=(8, 32))
  r = jnp.asarray(z.T @ z / 8, jnp.float32)
  cholesky_logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(r + 1e-8 * jnp.eye(32)))))
  assert not jnp.isfinite(cholesky_logdet)
  assert jnp.isfinite(_corinfomax._logdet_float32(r, 1e-8))
  g = jax.grad(lambda m: _corinfomax._logdet_float32(m, 1e-8))(jnp.eye(5))
  np.testing.assert_allclose(g, np.eye(5), atol=1e-6)


@pytest.mark.parametrize("name", ["vicreg", "nt_xent", "corinfomax", "byol", "reconstruction"])
def test_jitted_and_not_jitted_agree(name):
  """The value tests run jitted; not jitted, the same code gives the same numbers (float32,
  rtol 1e-5). One objective per family keeps the op-by-op compilations few."""
  _, n_arrays, _, hp = CASES[name]
  arrays = [jnp.asarray(a, jnp.float32) for a in _arrays(name, n_arrays)]
  eager, jitted = _call(name, arrays, **hp), _jitted(name)(*arrays)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), eager, jitted)


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_embeddings_give_nan_loss(name):
  """Documented behaviour: a NaN anywhere in the online embeddings makes the loss NaN (so the
  engine's non-finite guard skips the step); CorInfoMax's new state is NaN too."""
  _, n_arrays, _, hp = CASES[name]
  arrays = [jnp.asarray(a, jnp.float32) for a in _arrays(name, n_arrays)]
  arrays[0] = arrays[0].at[(3,) + (1,) * (arrays[0].ndim - 1)].set(jnp.nan)
  out = _jitted(name)(*arrays)
  assert jnp.isnan(out[0]), name
  if name == "corinfomax":
    assert jnp.isnan(out[2].r1).any() and jnp.isnan(out[2].mu1).any()
  if name == "tico":
    assert jnp.isnan(out[2].covariance).any()


@pytest.mark.parametrize("name", objectives.names())
def test_zero_rows_give_finite_loss_and_gradient(name):
  """An all-zero embedding row (a dead ReLU projector, a padded example): finite loss and finite
  gradient w.r.t. every input, float32, for every registered objective (l2_normalize is x / eps
  there, as PyTorch's F.normalize, instead of differentiating sqrt at 0)."""
  obj = objectives.get(name)
  n_arrays = 4 if obj.kind.startswith("predictor") else 2
  hp = CASES[name][3] if name in CASES else {}
  arrays = [jnp.asarray(a, jnp.float32).at[3].set(0.0) for a in _arrays(name, n_arrays)]
  loss, grads = jax.jit(jax.value_and_grad(lambda *x: _call(name, x, **hp)[0],
                                           tuple(range(n_arrays))))(*arrays)
  assert jnp.isfinite(loss), name
  for i, g in enumerate(grads):
    assert jnp.all(jnp.isfinite(g)), (name, i)


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-12), ("float32", 1e-6)])
def test_l2_normalize_matches_torch_value_and_gradient(dtype, rtol):
  """Value and vector-Jacobian product against torch.nn.functional.normalize (eps 1e-12) on
  ordinary, zero, tiny (‖x‖ < eps) and large rows. Tolerance: rtol as given plus rtol times the
  largest entry (the zero row's gradient is cotangent / eps = 1e12 × cotangent in both)."""
  torch = import_torch()
  from jaxssl.objectives._common import l2_normalize
  rng = np.random.default_rng(0)
  x = rng.normal(size=(6, 5))
  x[1] = 0.0
  x[2] = 1e-14 * rng.normal(size=5) if dtype == "float64" else 1e-14
  x[3] *= 1e6
  x = x.astype(dtype)
  cotangent = rng.normal(size=x.shape).astype(dtype)
  with jax.enable_x64(dtype == "float64"):
    value, vjp = jax.vjp(l2_normalize, jnp.asarray(x))
    (grad,) = vjp(jnp.asarray(cotangent))
  tx = torch.tensor(x, requires_grad=True)
  tvalue = torch.nn.functional.normalize(tx, dim=-1)
  tvalue.backward(torch.tensor(cotangent))
  for got, want in ((value, tvalue.detach().numpy()), (grad, tx.grad.numpy())):
    assert np.asarray(got).dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.max(np.abs(want)))
  assert np.all(np.isfinite(grad)) and np.allclose(np.asarray(grad)[1], cotangent[1] / 1e-12,
                                                   rtol=rtol)


@pytest.mark.parametrize("name", ["vicreg", "nt_xent", "corinfomax", "byol", "reconstruction"])
def test_bfloat16_inputs_are_computed_in_float32(name):
  """Every objective casts through the same `compute_dtype`; five of them, one per family."""
  _, n_arrays, _, hp = CASES[name]
  arrays = [jnp.asarray(a, jnp.bfloat16) for a in _arrays(name, n_arrays)]
  got = _jitted(name)(*arrays)
  want = _jitted(name)(*[a.astype(jnp.float32) for a in arrays])
  assert got[0].dtype == jnp.float32
  np.testing.assert_allclose(got[0], want[0], rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# Bad input.

def _bad_inputs(kind):
  good = jnp.ones((8, 4))
  n = 4 if kind.startswith("predictor") else 2
  yield "mismatched shapes", [good] * (n - 1) + [jnp.ones((8, 5))], "(8, 5)"
  yield "integer dtype", [good] * (n - 1) + [jnp.ones((8, 4), jnp.int32)], "int32"
  if kind != "reconstruction":
    yield "rank 3", [jnp.ones((8, 4, 1))] * n, "(8, 4, 1)"
  yield "rank 1", [jnp.ones((8,))] * n, "(8,)"


@pytest.mark.parametrize("name", objectives.names())
def test_bad_input_raises_one_clear_value_error(name):
  obj = objectives.get(name)
  for what, arrays, mention in _bad_inputs(obj.kind):
    with pytest.raises(ValueError, match=f"^{name}: ") as err:  # a variant names itself
      _call(name, arrays)
    assert mention in str(err.value), (what, str(err.value))


@pytest.mark.parametrize("name", sorted(set(objectives.names()) - {
    "byol", "simsiam", "reconstruction"}))
def test_batch_of_one_is_rejected_where_statistics_need_two(name):
  n = 4 if objectives.get(name).kind.startswith("predictor") else 2
  with pytest.raises(ValueError, match="batch of at least 2"):
    _call(name, [jnp.ones((1, 4))] * n)


@pytest.mark.parametrize("name", ["byol", "simsiam", "reconstruction"])
def test_per_example_objectives_accept_a_batch_of_one(name):
  n = 4 if objectives.get(name).kind.startswith("predictor") else 2
  assert jnp.isfinite(_call(name, [jnp.ones((1, 4))] * n)[0])


def test_local_batch_of_one_is_fine_when_the_global_batch_is_larger():
  z1, z2 = jax.random.normal(jax.random.key(5), (2, 8, 4))
  want = objectives.vicreg(z1, z2)[0]
  got = jax.pmap(lambda a, b: objectives.vicreg(a, b, axis_name="i")[0], axis_name="i")(
      z1[:, None], z2[:, None])
  np.testing.assert_allclose(got, np.full(8, want), rtol=1e-5)


def test_specific_errors():
  z = jnp.ones((24, 4))
  with pytest.raises(ValueError, match="multiple of w_size=16"):
    objectives.w_mse(z, z, w_size=16)
  with pytest.raises(ValueError, match="w_size > 4 or eps > 0"):
    objectives.w_mse(z, z, w_size=4)
  with pytest.raises(ValueError, match=r"corinfomax_init\(4\)"):
    objectives.corinfomax(z, z, objectives.corinfomax_init(5))
  with pytest.raises(ValueError, match="logdet, pairwise_kl, pairwise_bd"):
    objectives.vicreg_entropy(z, z, entropy="knn")


# ----------------------------------------------------------------------------------------------
# Registry and documentation.


def test_registry():
  names = objectives.names()
  assert names == sorted(names)
  kinds = {n: objectives.get(n).kind for n in names}
  assert kinds["corinfomax"] == "stateful" and kinds["byol"] == "predictor_target"
  assert kinds["moco_v3"] == "predictor_target" and kinds["simsiam"] == "predictor_stopgrad"
  assert kinds["reconstruction"] == "reconstruction" and kinds["vicreg"] == "pair"
  for n in names:
    obj = objectives.get(n)
    assert obj.kind in objectives.KINDS
    assert (obj.init_state is not None) == (obj.kind == "stateful")
  with pytest.raises(ValueError, match=r"valid names: (\w+, )*barlow_twins, byol"):
    objectives.get("simclr")
  with pytest.raises(ValueError, match="already registered"):
    objectives.register("vicreg", kind="pair")(objectives.vicreg)
  with pytest.raises(ValueError, match="valid kinds"):
    objectives.register("x", kind="triple")


def test_registering_a_new_objective_is_one_line():
  objectives.register("_test_vicreg_no_cov", kind="pair")(
      functools.partial(objectives.vicreg, cov_coeff=0.0))
  try:
    z1, z2 = jax.random.normal(jax.random.key(0), (2, 8, 4))
    loss, m = objectives.get("_test_vicreg_no_cov").fn(z1, z2)
    np.testing.assert_allclose(loss, 25 * m["invariance"] + 25 * m["variance"], rtol=1e-6)
    with pytest.raises(ValueError, match="^_test_vicreg_no_cov: all inputs must have the same"):
      objectives.get("_test_vicreg_no_cov").fn(z1, z2[:, :3])  # the variant names itself
  finally:
    objectives._registry._REGISTRY.pop("_test_vicreg_no_cov")


@pytest.mark.parametrize("name", sorted(CASES) + ["vicreg_entropy"])
def test_docstrings_are_complete(name):
  doc = getattr(objectives, name, None) or objectives.get(name).fn
  doc = doc.__doc__
  for section in ("Args:", "Returns:", "References:", "https://"):
    assert section in doc, (name, section)
