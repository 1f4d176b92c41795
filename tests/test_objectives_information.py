"""SIGReg / LeJEPA, MMCR, EMP-SSL (total coding rate), FroSSL and their estimators.

Each against an independent NumPy float64 transcription of the paper's formula (tests/
np_information.py) -- values rtol 1e-10, float64 -- and against a PyTorch float64 transcription of
the official code (LeJEPA's SIGReg, Yerxa et al.'s MMCR loss, EMP-SSL's TotalCodingRate and
Similarity_Loss, the FroSSL authors' solo-learn loss) for value and gradient (torch.autograd),
rtol 1e-9; closed forms where they exist. The generic battery (finite-difference gradients, NaN,
zero rows, bad input, batch of one, docstrings) runs on the registered 'pair' forms through the
CASES of tests/test_objectives.py, and the distribution matrix through
tests/test_objectives_distributed.py.
"""
import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

import distributed_idioms as idioms
import np_information as ref
from jaxssl import estimators
from jaxssl import objectives
from jaxssl.train.loop import objective_kwargs
from torch_compat import import_torch

V, N, D, M = 3, 12, 5, 7


@pytest.fixture(autouse=True)
def float64():
  with jax.enable_x64(True):
    yield


def _views(seed=0, v=V, n=N, d=D):
  """Correlated views with unequal scales per dimension (every term active)."""
  rng = np.random.default_rng(seed)
  base = rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d)
  return np.stack([base + 0.4 * rng.normal(size=(n, d)) for _ in range(v)])


def _directions(seed=1, d=D, m=M):
  return np.random.default_rng(seed).normal(size=(d, m))  # normalised by the objectives


def _close(got, want, rtol=1e-10, what=""):
  np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol,
                             atol=rtol * max(np.max(np.abs(want)), 1e-3), err_msg=what)


# ----------------------------------------------------------------------------------------------
# Values against the NumPy formulas (float64, rtol 1e-10).


def test_epps_pulley_matches_numpy_and_its_shapes():
  x = np.random.default_rng(0).normal(size=(40, 6)) * 1.3 + 0.2
  want = ref.epps_pulley(x)
  _close(estimators.epps_pulley(jnp.asarray(x)), want)
  _close(estimators.epps_pulley(jnp.asarray(x[:, 2])), want[2])  # (N,) -> scalar
  stacked = np.stack([x, 2 * x])
  _close(estimators.epps_pulley(jnp.asarray(stacked)),
         np.stack([want, ref.epps_pulley(2 * x)]))  # (..., N, M) -> (..., M)
  _close(estimators.epps_pulley(jnp.asarray(x), knots=9, t_max=5.0),
         ref.epps_pulley(x, knots=9, t_max=5.0))


@pytest.mark.parametrize("local", [False, True])
def test_sigreg_and_lejepa_match_numpy(local):
  z, a = _views(), _directions()
  local_z = _views(seed=5, v=2) if local else None
  got, terms = objectives.lejepa(jnp.asarray(z), None if local_z is None else jnp.asarray(local_z),
                                 directions=jnp.asarray(a))
  want, want_terms = ref.lejepa(z, local_z, directions=a)
  _close(got, want)
  for key in want_terms:
    _close(terms[key], want_terms[key], what=key)
  _close(objectives.sigreg(jnp.asarray(z), directions=a)[0], ref.sigreg(z, a))
  _close(objectives.sigreg(jnp.asarray(z[0]), directions=a)[0], ref.sigreg(z[:1], a))  # (N, D)


@pytest.mark.parametrize("name", ["mmcr", "emp_ssl", "frossl"])
def test_multiview_objectives_match_numpy(name):
  z = _views()
  fn, np_fn = {"mmcr": (objectives.mmcr, ref.mmcr), "emp_ssl": (objectives.emp_ssl, ref.emp_ssl),
               "frossl": (objectives.frossl, ref.frossl)}[name]
  (got, terms), (want, want_terms) = fn(jnp.asarray(z)), np_fn(z)
  assert got.dtype == jnp.float64
  _close(got, want, what=name)
  assert set(terms) == set(want_terms)
  for key in want_terms:
    _close(terms[key], want_terms[key], what=f"{name}: {key}")


def test_estimators_match_numpy_on_both_gram_sides():
  for n, d in ((12, 5), (4, 9)):  # N ≥ D: the D×D Gram; N < D: the N×N one for the Rényi-2
    z = np.random.default_rng(n).normal(size=(n, d))
    _close(estimators.coding_rate(jnp.asarray(z)), ref.coding_rate(z))
    _close(estimators.coding_rate(jnp.asarray(z), eps=0.5), ref.coding_rate(z, eps=0.5))
    _close(estimators.covariance_renyi2_entropy(jnp.asarray(z)), ref.renyi2(z))
  z = _views()
  _close(estimators.coding_rate(jnp.asarray(z)), [ref.coding_rate(v) for v in z])
  _close(estimators.covariance_renyi2_entropy(jnp.asarray(z)), [ref.renyi2(v) for v in z])
  loss, terms = objectives.total_coding_rate(jnp.asarray(z[0]))
  _close(terms["coding_rate"], ref.coding_rate(z[0]))
  assert loss == -terms["coding_rate"]


def test_pair_registrations_stack_two_views():
  z1, z2 = jnp.asarray(_views(v=2))
  a = jnp.asarray(_directions())
  for name, fn, kw in (("lejepa", objectives.lejepa, {"directions": a}),
                       ("mmcr", objectives.mmcr, {}), ("emp_ssl", objectives.emp_ssl, {}),
                       ("frossl", objectives.frossl, {})):
    assert objectives.get(name).kind == "pair"
    got, want = objectives.get(name).fn(z1, z2, **kw), fn(jnp.stack([z1, z2]), **kw)
    jax.tree.map(lambda g, w: np.testing.assert_array_equal(g, w), got, want)
  assert objectives.get("lejepa").takes_key
  assert not any(objectives.get(n).takes_key for n in ("mmcr", "emp_ssl", "frossl", "vicreg"))
  assert "sigreg" not in objectives.names() and "total_coding_rate" not in objectives.names()


# ----------------------------------------------------------------------------------------------
# PyTorch transcriptions of the official code: value and torch.autograd gradient (float64,
# rtol 1e-9).


def _torch_quadrature(torch, knots=17, t_max=3.0):
  t = torch.linspace(0, t_max, knots, dtype=torch.float64)
  dt = t_max / (knots - 1)
  weights = torch.full((knots,), 2 * dt, dtype=torch.float64)
  weights[[0, -1]] = dt
  window = torch.exp(-t.square() / 2.0)
  return t, window, weights * window


def _torch_sigreg(torch, proj, a):
  """LeJEPA's reference SIGReg.forward (the minimal example), with its directions A given."""
  t, phi, weights = _torch_quadrature(torch)
  a = a / a.norm(p=2, dim=0)
  x_t = (proj @ a).unsqueeze(-1) * t
  err = (x_t.cos().mean(-3) - phi).square() + x_t.sin().mean(-3).square()
  statistic = (err @ weights) * proj.size(-2)
  return statistic.mean()


def _torch_lejepa(torch, proj, a, lamb=0.05):
  """The reference training step: inv = (proj.mean(0) − proj)² mean, all views global."""
  inv_loss = (proj.mean(0) - proj).square().mean()
  return _torch_sigreg(torch, proj, a) * lamb + inv_loss * (1 - lamb)


def _torch_mmcr(torch, z, lmbda=5e-3):
  """Yerxa et al.'s MMCR_Loss.forward (one device) on views-first z: z_local is (B, C, n_aug)."""
  z = torch.nn.functional.normalize(z, dim=-1)
  z_local = z.permute(1, 2, 0)
  centroids = torch.mean(z_local, dim=-1)
  local_nuc = torch.linalg.svdvals(z_local).sum()
  global_nuc = torch.linalg.svdvals(centroids).sum()
  return lmbda * local_nuc / z_local.shape[0] - global_nuc


def _torch_emp_ssl(torch, z, eps=0.2, patch_sim=200.0, tcr=1.0):
  """EMP-SSL main.py: normalised projections, Similarity_Loss, cal_TCR with TotalCodingRate."""
  f = torch.nn.functional
  z_list = [f.normalize(v, p=2) for v in z]
  stacked = torch.stack(z_list, dim=0)
  z_avg = stacked.mean(dim=0)
  z_sim = sum(f.cosine_similarity(stacked[i], z_avg, dim=1).mean() for i in range(len(z_list)))
  loss_contract = -z_sim / len(z_list)

  def total_coding_rate(x):  # TotalCodingRate.forward: −compute_discrimn_loss(X.T)
    w = x.T
    p, m = w.shape
    return -torch.logdet(torch.eye(p, dtype=w.dtype) + p / (m * eps) * w.matmul(w.T)) / 2.0

  loss_tcr = sum(total_coding_rate(x) for x in z_list) / len(z_list)
  return patch_sim * loss_contract + tcr * loss_tcr


def _torch_frossl(torch, z, invariance_weight=1.0):
  """solo-learn's frossl_loss_func (the FroSSL authors' multi-view implementation)."""
  v, n, d = z.shape
  z = torch.nn.functional.normalize(z, dim=1)
  cov = torch.matmul(z.transpose(1, 2), z) if n > d else torch.matmul(z, z.transpose(1, 2))
  trace = torch.sum(torch.diagonal(cov, dim1=1, dim2=2), dim=1)
  cov = cov / trace.unsqueeze(-1).unsqueeze(-1)
  fro = torch.linalg.norm(cov, dim=(1, 2), ord="fro")
  regularization = torch.sum(2 * torch.log(fro))
  average = torch.mean(z, dim=0).repeat(v, 1, 1)
  invariance = v * d * invariance_weight * torch.nn.functional.mse_loss(z, average)
  return regularization + invariance


@pytest.mark.parametrize("name", ["lejepa", "sigreg", "mmcr", "emp_ssl", "frossl", "frossl_n<d"])
def test_value_and_gradient_match_a_torch_transcription_of_the_official_code(name):
  torch = import_torch()
  z = _views(seed=3, v=2 if name == "lejepa" else V, d=16 if name == "frossl_n<d" else D)
  a = _directions(d=z.shape[-1])
  ours = {
      "lejepa": lambda x: objectives.lejepa(x, directions=a)[0],
      "sigreg": lambda x: objectives.sigreg(x, directions=a)[0],
      "mmcr": lambda x: objectives.mmcr(x)[0],
      "emp_ssl": lambda x: objectives.emp_ssl(x)[0],
      "frossl": lambda x: objectives.frossl(x)[0],
      "frossl_n<d": lambda x: objectives.frossl(x)[0],
  }[name]
  theirs = {
      "lejepa": lambda x: _torch_lejepa(torch, x, torch.tensor(a)),
      "sigreg": lambda x: _torch_sigreg(torch, x, torch.tensor(a)),
      "mmcr": lambda x: _torch_mmcr(torch, x),
      "emp_ssl": lambda x: _torch_emp_ssl(torch, x),
      "frossl": lambda x: _torch_frossl(torch, x),
      "frossl_n<d": lambda x: _torch_frossl(torch, x),
  }[name]
  value, grad = jax.jit(jax.value_and_grad(ours))(jnp.asarray(z))
  tz = torch.tensor(z, requires_grad=True)
  tvalue = theirs(tz)
  tvalue.backward()
  _close(value, tvalue.item(), rtol=1e-9, what=f"{name}: value")
  _close(grad, tz.grad.numpy(), rtol=1e-9, what=f"{name}: gradient")


def test_estimator_gradients_match_torch():
  """coding_rate (EMP-SSL's compute_discrimn_loss) and the Rényi-2 entropy (−log ‖A‖²_F, A the
  trace-normalised ZᵀZ) on un-normalised batches, both Gram sides: float64, rtol 1e-9."""
  torch = import_torch()
  for n, d in ((12, 5), (4, 9)):
    z = np.random.default_rng(n).normal(size=(n, d))
    for ours, theirs in (
        (lambda x: estimators.coding_rate(x, eps=0.3),
         lambda x: torch.logdet(torch.eye(d, dtype=x.dtype) + d / (n * 0.3) * x.T @ x) / 2),
        (estimators.covariance_renyi2_entropy,
         lambda x: -torch.log(torch.sum((x.T @ x / torch.trace(x.T @ x)) ** 2)))):
      value, grad = jax.value_and_grad(ours)(jnp.asarray(z))
      tz = torch.tensor(z, requires_grad=True)
      tvalue = theirs(tz)
      tvalue.backward()
      _close(value, tvalue.item(), rtol=1e-9)
      _close(grad, tz.grad.numpy(), rtol=1e-9)


# ----------------------------------------------------------------------------------------------
# Closed forms.


def test_epps_pulley_closed_forms():
  t = np.linspace(0.0, 3.0, 17)
  weights = np.full(17, 3.0 / 16 * 2)
  weights[[0, -1]] /= 2
  weights *= np.exp(-t**2 / 2)
  # A collapsed batch (every sample 0): φ̂ ≡ 1, T = N Σ_k w_k (1 − e^{−t_k²/2})², rtol 1e-12.
  _close(estimators.epps_pulley(jnp.zeros((50,))), 50 * np.sum(weights * (1 - np.exp(-t**2 / 2))
                                                              ** 2), rtol=1e-12)
  # Exact standard-normal quantiles: φ̂ ≈ φ, T < 1e-3 (5e-4 at N = 100).
  q = norm.ppf((np.arange(100) + 0.5) / 100)
  assert estimators.epps_pulley(jnp.asarray(q)) < 1e-3
  # Standard normal data: E[T] = Σ_k w_k (1 − e^{−t_k²}) (the ECF's variance) exactly, for any N;
  # 20000 columns of N = 64, within 4 standard errors of the mean (≈ 0.007).
  x = np.random.default_rng(0).normal(size=(64, 20000))
  stats = np.asarray(estimators.epps_pulley(jnp.asarray(x)))
  expected = np.sum(weights * (1 - np.exp(-t**2)))
  assert abs(stats.mean() - expected) < 4 * stats.std() / np.sqrt(stats.size), (stats.mean(),
                                                                               expected)


def test_sigreg_closed_forms():
  """A collapsed batch (every embedding 0) projects to 0 on every direction: SIGReg =
  N Σ_k w_k (1 − e^{−t_k²/2})², whatever the directions, ≈ 0.37·N; an isotropic Gaussian batch
  stays near its null expectation ≈ 1.05. LeJEPA of identical global views is λ·SIGReg."""
  t = np.linspace(0.0, 3.0, 17)
  weights = np.full(17, 3.0 / 8)
  weights[[0, -1]] /= 2
  collapsed = 64 * np.sum(weights * np.exp(-t**2 / 2) * (1 - np.exp(-t**2 / 2)) ** 2)
  loss, _ = objectives.sigreg(jnp.zeros((2, 64, 8)), key=jax.random.key(0), num_slices=32)
  _close(loss, collapsed, rtol=1e-12)
  gaussian = jax.random.normal(jax.random.key(1), (2, 512, 8))
  loss, _ = objectives.sigreg(gaussian, key=jax.random.key(2), num_slices=256)
  assert 0.7 < loss < 1.5 < collapsed / 10
  z = jnp.asarray(_views(v=1))
  loss, terms = objectives.lejepa(jnp.concatenate([z, z]), directions=_directions())
  assert terms["invariance"] == 0.0
  _close(loss, 0.05 * terms["sigreg"], rtol=1e-14)


def test_sigreg_directions_from_the_key_are_unit_normal_draws():
  """key -> a standard normal (D, M) draw with unit columns: the same loss as passing them."""
  z = jnp.asarray(_views())
  key = jax.random.key(3)
  drawn = jax.random.normal(key, (D, 11), jnp.float64)
  _close(objectives.sigreg(z, key=key, num_slices=11)[0],
         objectives.sigreg(z, directions=drawn / jnp.linalg.norm(drawn, axis=0))[0], rtol=1e-12)
  assert objectives.sigreg(z, key=jax.random.key(4), num_slices=11)[0] != objectives.sigreg(
      z, key=key, num_slices=11)[0]


def test_coding_rate_and_renyi2_closed_forms():
  eps = 0.2
  q = np.linalg.qr(np.random.default_rng(0).normal(size=(16, 16)))[0]
  cols = jnp.asarray(q[:, :6])  # N = 16, D = 6, ZᵀZ = I_6
  _close(estimators.coding_rate(cols, eps=eps), 3 * np.log(1 + 6 / (16 * eps)), rtol=1e-12)
  rows = jnp.asarray(q[:5, :])  # N = 5, D = 16, ZZᵀ = I_5
  _close(estimators.coding_rate(rows, eps=eps), 2.5 * np.log(1 + 16 / (5 * eps)), rtol=1e-12)
  _close(estimators.covariance_renyi2_entropy(cols), np.log(6), rtol=1e-12)
  _close(estimators.covariance_renyi2_entropy(rows), np.log(5), rtol=1e-12)
  line = jnp.outer(jnp.arange(1.0, 9.0), jnp.array([1.0, -2.0, 0.5]))  # rank one
  assert abs(estimators.covariance_renyi2_entropy(line)) < 1e-12


def test_multiview_closed_forms():
  """Identical views of a batch with orthonormal rows (N = 6 ≤ D = 10): MMCR = −N + λ√V (the
  centroids are the rows, each example's V×D matrix has one singular value √V); EMP-SSL =
  −(N/2)·log(1 + D/(N·ε)) − λ_inv (every cosine 1). FroSSL of identical views of six distinct
  one-hot rows: the column-normalised Gram has six unit eigenvalues (S₂ = log 6) and the
  invariance is 0, so the loss is −V·log 6."""
  q = np.linalg.qr(np.random.default_rng(1).normal(size=(10, 10)))[0][:6]
  z = jnp.asarray(np.stack([q] * 3)) * 2.5  # the normalisation removes the scale
  _close(objectives.mmcr(z)[0], -6 + 5e-3 * np.sqrt(3), rtol=1e-12)
  _close(objectives.mmcr(z, lmbda=0.0)[0], -6.0, rtol=1e-12)
  _close(objectives.emp_ssl(z)[0], -3 * np.log(1 + 10 / (6 * 0.2)) - 200.0, rtol=1e-12)
  perm = jnp.asarray(np.stack([np.eye(10)[[3, 1, 4, 0, 8, 5]]] * 2))  # N = 6 one-hot rows
  loss, terms = objectives.frossl(perm)
  assert terms["invariance"] == 0.0
  _close(terms["entropy"], np.log(6), rtol=1e-12)
  _close(loss, -2 * np.log(6), rtol=1e-12)


def test_collapse_is_penalised():
  """Every view and example the same vector: each loss is far above that of spread embeddings."""
  spread = jnp.asarray(_views(seed=7, n=64, d=8))
  collapsed = jnp.tile(spread[:, :1], (1, 64, 1))
  for fn in (lambda z: objectives.lejepa(z, key=jax.random.key(0))[0], lambda z: objectives.mmcr(
      z)[0], lambda z: objectives.emp_ssl(z)[0], lambda z: objectives.frossl(z)[0]):
    fn = jax.jit(fn)
    assert fn(collapsed) > fn(spread) + 1.0


def test_mmcr_gradient_is_finite_at_repeated_and_zero_singular_values():
  """Identical views (each example's V×D matrix of rank one: repeated zero singular values) and
  a zero row: the SVD's singular-value derivative U Vᵀ has no 1/(σ_i² − σ_j²), so finite."""
  z = jnp.tile(jnp.asarray(_views(v=1)), (3, 1, 1)).at[:, 2].set(0.0)
  grad = jax.jit(jax.grad(lambda x: objectives.mmcr(x)[0]))(z)
  assert jnp.all(jnp.isfinite(grad))


def test_float32_compute_for_float32_and_bfloat16_inputs():
  z = _views()
  for name, fn in (("lejepa", lambda x: objectives.lejepa(x, directions=_directions())),
                   ("mmcr", objectives.mmcr), ("emp_ssl", objectives.emp_ssl),
                   ("frossl", objectives.frossl)):
    with jax.enable_x64(False):
      got32 = jax.jit(fn)(jnp.asarray(z, jnp.float32))[0]
      got16 = jax.jit(fn)(jnp.asarray(z, jnp.bfloat16))[0]
    assert got32.dtype == jnp.float32 and got16.dtype == jnp.float32, name
    want = fn(jnp.asarray(z))[0]
    np.testing.assert_allclose(got32, want, rtol=1e-5, atol=1e-5, err_msg=name)  # float32
    np.testing.assert_allclose(got16, want, rtol=0.1, atol=0.1, err_msg=name)  # bf16 inputs


@pytest.mark.parametrize("idiom", idioms.IDIOMS)
@pytest.mark.parametrize("name", ["sigreg", "total_coding_rate"])
def test_unregistered_objectives_in_every_distribution_idiom(name, idiom):
  """The registered ones run in tests/test_objectives_distributed.py; these two here, with the
  same harness: 8 CPU devices, loss, metrics and parameter gradient as on one device, float64,
  rtol 1e-10. SIGReg draws its directions from one key, the same on every shard."""
  keys = jax.random.split(jax.random.key(7), 3)
  data = tuple(jax.random.normal(k, (16, 5)) * 0.7 + 0.1 for k in keys[:2])
  w = jax.random.normal(keys[2], (5, 4)) / np.sqrt(5)

  def loss(w, data, axis_name):
    z = jnp.stack([x @ w for x in data])
    if name == "sigreg":
      return objectives.sigreg(z, key=jax.random.key(5), num_slices=8, axis_name=axis_name)
    return objectives.total_coding_rate(z, axis_name=axis_name)

  got = idioms.run(idiom, loss, w, data, idioms.make_mesh("b"))
  idioms.check(got, idioms.reference(loss, w, data), f"{name} / {idiom}")


# ----------------------------------------------------------------------------------------------
# Errors, registry, engine plumbing, documentation.


def test_errors_name_the_problem():
  z = jnp.ones((2, 8, 4))
  with pytest.raises(ValueError, match="^sigreg: pass exactly one of `directions`.*neither"):
    objectives.sigreg(z)
  with pytest.raises(ValueError, match="^lejepa: pass exactly one.*both"):
    objectives.lejepa(z, key=jax.random.key(0), directions=jnp.ones((4, 3)))
  with pytest.raises(ValueError, match=r"^lejepa: `directions` must have shape .* \(4, M\)"):
    objectives.lejepa(z, directions=jnp.ones((5, 3)))
  with pytest.raises(ValueError, match="^sigreg: `knots` must be an integer >= 2"):
    objectives.sigreg(z, key=jax.random.key(0), knots=1)
  with pytest.raises(ValueError, match="^lejepa: all inputs must have the same batch size and "
                     r"dimension.*local_z: \(6, 8, 5\)"):
    objectives.lejepa(z, jnp.ones((6, 8, 5)), key=jax.random.key(0))
  with pytest.raises(ValueError, match=r"^mmcr: z must have rank 3 \(views, batch, dim\)"):
    objectives.mmcr(jnp.ones((8, 4)))
  with pytest.raises(ValueError, match="^frossl: needs a batch of at least 2"):
    objectives.frossl(jnp.ones((2, 1, 4)))
  with pytest.raises(ValueError, match="^emp_ssl: z must be a float array.*int32"):
    objectives.emp_ssl(jnp.ones((2, 8, 4), jnp.int32))
  with pytest.raises(ValueError, match="^sigreg: z must have shape"):
    objectives.sigreg(jnp.ones((8,)), key=jax.random.key(0))
  with pytest.raises(ValueError, match="^coding_rate: `eps` must be positive"):
    estimators.coding_rate(jnp.ones((8, 4)), eps=0.0)
  with pytest.raises(ValueError, match=r"^epps_pulley: `x` must be a float array.*\(\)"):
    estimators.epps_pulley(jnp.float32(1.0))
  with pytest.raises(ValueError, match="^covariance_renyi2_entropy: .*shape"):
    estimators.covariance_renyi2_entropy(jnp.ones((8,)))


def test_engine_passes_a_key_and_config_kwargs_exclude_it():
  from jaxssl.errors import ConfigError
  from jaxssl.train.step import _objective_loss

  def cfg(**kwargs):
    return type("C", (), {"objective": type("O", (), {"kwargs": kwargs, "name": "lejepa"})})

  assert objective_kwargs(objectives.get("lejepa"), cfg(lambda_=0.1)) == {"lambda_": 0.1}
  with pytest.raises(ConfigError, match="Unknown objective.kwargs"):
    objective_kwargs(objectives.get("lejepa"), cfg(key=0))
  z = jnp.asarray(_views(v=2, n=8)).reshape(16, D)
  outputs = (None, z, None)

  def run(key):
    return _objective_loss(objectives.get("lejepa"), {}, outputs, None, (), key=key)[0]

  assert run(jax.random.key(0)) == run(jax.random.key(0)) != run(jax.random.key(1))


FUNCTIONS = (objectives.sigreg, objectives.lejepa, objectives.mmcr, objectives.total_coding_rate,
             objectives.emp_ssl, objectives.frossl, estimators.epps_pulley,
             estimators.coding_rate, estimators.covariance_renyi2_entropy)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_docstrings_are_complete_and_their_examples_run(fn):
  doc = fn.__doc__
  for section in ("Args:", "Returns:", "References:", "https://", ">>>"):
    assert section in doc, (fn.__name__, section)
  with jax.enable_x64(False):
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(fn, globs={"jax": jax, "jnp": jnp, fn.__name__: fn}):
      runner.run(test)
    assert runner.summarize(verbose=False).failed == 0, fn.__name__
