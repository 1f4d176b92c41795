"""KoLeo, TiCo, DCL / DCLW and alignment-uniformity, and the spread estimators they use.

Each against an independent NumPy float64 implementation written from the paper's formula (the
references below; `tests/test_objectives.py` runs its generic battery on the registered ones with
them), against a PyTorch transcription of the peer code with torch.autograd (DINOv2's `KoLeoLoss`,
the DCL reference code with lightly's DCLW weights, the TiCo pseudo-code as in sayannag's and
lightly's `TiCoLoss`, Wang & Isola's `align_loss` / `uniform_loss`), and on closed forms.

Tolerances: float64 values vs NumPy / PyTorch rtol 1e-10 (1e-12 for closed forms); gradients vs
torch.autograd rtol 1e-9 (+ 1e-12 of the largest entry); gradients vs central finite differences
(float64, h = 1e-6) rtol 1e-5, atol 1e-8; float32 comparisons state theirs inline.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats
from scipy.special import logsumexp

import distributed_idioms as idioms
from jaxssl import estimators, objectives
from jaxssl.evaluate import diagnostics
from torch_compat import import_torch

# ----------------------------------------------------------------------------------------------
# Independent NumPy float64 references, written from the formulas (also used by
# tests/test_objectives.py).


def _normalize(x, eps=1e-12):
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


def np_koleo(z, eps=1e-8):
  """−mean_i log(‖u_i − u_ν(i) + ε‖ + ε), ν(i) = argmax_{j≠i} u_iᵀu_j, mean over the views."""
  views = z[None] if z.ndim == 2 else z
  terms = []
  for x in views:
    u = _normalize(x, eps)
    dots = u @ u.T
    np.fill_diagonal(dots, -np.inf)
    neighbour = np.argmax(dots, axis=1)
    distance = np.sqrt(np.sum((u - u[neighbour] + eps) ** 2, axis=1))
    terms.append(np.mean(np.log(distance + eps)))
  term = np.mean(terms)
  return -term, {"nn_log_distance": term}


def np_tico(z1, z2, state, beta=0.9, rho=8.0):
  u1, u2 = _normalize(z1), _normalize(z2)
  n = len(u1)
  c = beta * np.asarray(state.covariance) + (1 - beta) * sum(np.outer(x, x) for x in u1) / n
  invariance = -np.mean([u1[i] @ u2[i] for i in range(n)])
  contrast = np.mean([u1[i] @ c @ u1[i] for i in range(n)])
  terms = {"invariance": invariance, "covariance_contrast": contrast}
  return invariance + rho * contrast, terms, (c,)


def np_dcl(z1, z2, temperature=0.1, weighted=False, sigma=0.5):
  u = [_normalize(z1), _normalize(z2)]
  n = len(z1)
  cosine = np.sum(u[0] * u[1], axis=1)
  w = 2 - n * np.exp(cosine / sigma) / np.sum(np.exp(cosine / sigma)) if weighted else np.ones(n)
  alignment, uniformity = [], []
  for a in (0, 1):
    b = 1 - a
    for i in range(n):
      negatives = [u[a][i] @ u[c][j] / temperature for c in (a, b) for j in range(n) if j != i]
      alignment.append(-w[i] * (u[a][i] @ u[b][i]) / temperature)
      uniformity.append(logsumexp(negatives))
  terms = {"alignment": np.mean(alignment), "uniformity": np.mean(uniformity)}
  return terms["alignment"] + terms["uniformity"], terms


def np_uniformity(u, t=2.0):
  n = len(u)
  return np.log(np.mean([np.exp(-t * np.sum((u[i] - u[j]) ** 2))
                         for i in range(n) for j in range(n) if i != j]))


def np_alignment_uniformity(z1, z2, t=2.0, alpha=2.0, lam=1.0):
  u1, u2 = _normalize(z1), _normalize(z2)
  alignment = np.mean(np.linalg.norm(u1 - u2, axis=1) ** alpha)
  unif_1, unif_2 = np_uniformity(u1, t), np_uniformity(u2, t)
  terms = {"alignment": alignment, "uniformity": (unif_1 + unif_2) / 2, "uniformity_1": unif_1,
           "uniformity_2": unif_2}
  return alignment + lam * terms["uniformity"], terms


def _views(n=16, d=4, seed=0):
  rng = np.random.default_rng(seed)
  base = rng.normal(size=(n, d))
  return [base + 0.5 * rng.normal(size=(n, d)) for _ in range(2)]


def tico_state(d, seed=1):
  a = np.random.default_rng(seed).normal(size=(d, d)) * 0.1
  return objectives.TiCoState(covariance=0.05 * np.eye(d) + a @ a.T)


# ----------------------------------------------------------------------------------------------
# KoLeo and its estimator.


@pytest.mark.parametrize("shape", [(16, 4), (3, 16, 4)])
def test_koleo_value_and_gradient_match_numpy_float64(shape):
  z = np.random.default_rng(0).normal(size=shape)
  want = np_koleo(z)
  with jax.enable_x64(True):
    fn = jax.jit(objectives.koleo)
    loss, metrics = fn(jnp.asarray(z))
    assert loss.dtype == jnp.float64
    np.testing.assert_allclose(loss, want[0], rtol=1e-10)
    np.testing.assert_allclose(metrics["nn_log_distance"], want[1]["nn_log_distance"], rtol=1e-10)
    grad = jax.jit(jax.grad(lambda x: objectives.koleo(x)[0]))(jnp.asarray(z))
    h = 1e-6
    for flat in np.random.default_rng(1).choice(z.size, size=4, replace=False):
      idx = np.unravel_index(flat, shape)
      plus, minus = z.copy(), z.copy()
      plus[idx] += h
      minus[idx] -= h
      fd = (fn(jnp.asarray(plus))[0] - fn(jnp.asarray(minus))[0]) / (2 * h)
      np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-8, err_msg=str(idx))


def test_koleo_matches_dinov2_torch_value_and_gradient():
  """DINOv2's `KoLeoLoss.forward` transcribed (normalise with ε, neighbour by the largest inner
  product, `nn.PairwiseDistance(2, eps=1e-8)`, −log(d + ε).mean()), float64, against autograd."""
  torch = import_torch()

  def dinov2_koleo(x, eps=1e-8):
    x = torch.nn.functional.normalize(x, eps=eps, p=2, dim=-1)
    with torch.no_grad():
      dots = torch.mm(x, x.t())
      n = x.shape[0]
      dots.view(-1)[:: (n + 1)].fill_(-1)
      _, neighbour = torch.max(dots, dim=1)
    distances = torch.nn.PairwiseDistance(2, eps=1e-8)(x, x[neighbour])
    return -torch.log(distances + eps).mean()

  z = np.random.default_rng(2).normal(size=(32, 8)) * 3.0
  tz = torch.tensor(z, requires_grad=True)
  tloss = dinov2_koleo(tz)
  tloss.backward()
  with jax.enable_x64(True):
    loss, grad = jax.jit(jax.value_and_grad(lambda x: objectives.koleo(x)[0]))(jnp.asarray(z))
  np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
  want = tz.grad.numpy()
  np.testing.assert_allclose(grad, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("n", [5, 8, 13])
def test_koleo_of_equally_spaced_points_on_a_circle(n):
  """N points equally spaced on a great circle (rotated into D = 6): every nearest neighbour is at
  chord 2 sin(π/N), so KoLeo = −log(2 sin(π/N)) exactly at ε = 0; the default ε = 1e-8 moves it
  by < 1e-7 (relative)."""
  angle = 2 * np.pi * np.arange(n) / n
  circle = np.stack([np.cos(angle), np.sin(angle)], axis=1)
  rotation = np.linalg.qr(np.random.default_rng(n).normal(size=(6, 6)))[0][:, :2]
  z = 2.5 * circle @ rotation.T  # any scale: KoLeo normalises
  want = -np.log(2 * np.sin(np.pi / n))
  with jax.enable_x64(True):
    np.testing.assert_allclose(objectives.koleo(jnp.asarray(z), eps=0.0)[0], want, rtol=1e-12)
    np.testing.assert_allclose(objectives.koleo(jnp.asarray(z))[0], want, rtol=1e-7)


@pytest.mark.parametrize("d", [2, 3, 7])
def test_koleo_of_a_regular_simplex(d):
  """The D + 1 vertices of a regular simplex on the unit sphere: all pairwise distances are
  √(2 + 2/D), so KoLeo = −½ log(2 + 2/D)."""
  vertices = _normalize(np.eye(d + 1) - 1.0 / (d + 1))  # in R^{D+1}, spanning D dimensions
  with jax.enable_x64(True):
    got = objectives.koleo(jnp.asarray(vertices), eps=0.0)[0]
  np.testing.assert_allclose(got, -0.5 * np.log(2 + 2 / d), rtol=1e-12)


def test_koleo_searches_neighbours_within_each_view():
  """(V, N, D): the second view is the first plus 1e-6 noise; searched across views every
  neighbour would be the example's own other view (KoLeo ≈ 13.8), within each view the value is
  the mean of the two single-view values."""
  rng = np.random.default_rng(3)
  z = rng.normal(size=(16, 4))
  views = np.stack([z, z + 1e-6 * rng.normal(size=z.shape)])
  with jax.enable_x64(True):
    got = objectives.koleo(jnp.asarray(views))[0]
    single = [objectives.koleo(jnp.asarray(v))[0] for v in views]
    pooled = objectives.koleo(jnp.asarray(views.reshape(32, 4)))[0]
  np.testing.assert_allclose(got, np.mean(single), rtol=1e-12)
  assert float(pooled) > float(got) + 10.0


def test_nn_log_distance_is_the_kozachenko_leonenko_entropy_up_to_constants():
  """kl_entropy(x, k=1) = ψ(N) + γ + log V_d + d · nn_log_distance(x, eps=0), V_d the unit-ball
  volume: float64, rtol 1e-10, on unnormalised data in d = 1, 3, 5."""
  rng = np.random.default_rng(4)
  with jax.enable_x64(True):
    for d in (1, 3, 5):
      x = rng.normal(size=(200, d)) * np.linspace(0.5, 2.0, d)
      term = estimators.nn_log_distance(jnp.asarray(x), eps=0.0)
      log_unit_ball = 0.5 * d * np.log(np.pi) - special.gammaln(0.5 * d + 1.0)
      want = float(estimators.kl_entropy(jnp.asarray(x), k=1))
      got = special.digamma(200) + np.euler_gamma + log_unit_ball + d * float(term)
      np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=f"d = {d}")


def test_koleo_is_minus_nn_log_distance_of_the_normalised_rows():
  z = np.random.default_rng(5).normal(size=(24, 5))
  with jax.enable_x64(True):
    u = jnp.asarray(_normalize(z, 1e-8))
    np.testing.assert_allclose(objectives.koleo(jnp.asarray(z))[0],
                               -estimators.nn_log_distance(u), rtol=1e-12)


def test_koleo_duplicate_and_zero_rows_stay_finite_and_nan_propagates():
  """Duplicate rows: distance ε·√D (the ε added to the difference), a finite loss and gradient
  (float32). A zero row: finite too. A NaN row: a NaN loss."""
  z = jax.random.normal(jax.random.key(0), (16, 4))
  for bad in (z.at[3].set(z[5]), z.at[3].set(0.0)):
    loss, grad = jax.jit(jax.value_and_grad(lambda x: objectives.koleo(x)[0]))(bad)
    assert jnp.isfinite(loss) and jnp.all(jnp.isfinite(grad))
  duplicate = objectives.koleo(z.at[3].set(z[5]))[1]["nn_log_distance"]
  assert duplicate < objectives.koleo(z)[1]["nn_log_distance"] - 1.0
  assert jnp.isnan(jax.jit(objectives.koleo)(z.at[3, 1].set(jnp.nan))[0])


def test_koleo_dtypes():
  z = np.random.default_rng(6).normal(size=(16, 4))
  got = objectives.koleo(jnp.asarray(z, jnp.bfloat16))[0]
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(got, objectives.koleo(jnp.asarray(z, jnp.bfloat16).astype(
      jnp.float32))[0], rtol=1e-6)
  with jax.enable_x64(True):
    assert objectives.koleo(jnp.asarray(z))[0].dtype == jnp.float64
    assert objectives.koleo(jnp.asarray(z, jnp.float32))[0].dtype == jnp.float32


@pytest.mark.parametrize("z,mention", [
    (jnp.ones((8,)), "(8,)"), (jnp.ones((2, 8, 4, 1)), "(2, 8, 4, 1)"),
    (jnp.ones((8, 4), jnp.int32), "int32"), (jnp.ones((1, 4)), "batch of at least 2"),
    (jnp.ones((3, 1, 4)), "batch of at least 2")])
def test_koleo_bad_input_raises_one_clear_value_error(z, mention):
  with pytest.raises(ValueError, match="^koleo: ") as err:
    objectives.koleo(z)
  assert mention in str(err.value)


def test_estimators_bad_input():
  for fn in (estimators.nn_log_distance, estimators.log_gaussian_potential):
    name = fn.__name__
    with pytest.raises(ValueError, match=f"^{name}: .*shape \\(N, d\\)"):
      fn(jnp.ones((8,)))
    with pytest.raises(ValueError, match=f"^{name}: needs at least 2 rows"):
      fn(jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=f"^{name}: .*float"):
      fn(jnp.ones((4, 3), jnp.int32))


@pytest.mark.parametrize("views", [1, 3])
@pytest.mark.parametrize("idiom", idioms.IDIOMS)
def test_koleo_in_every_distribution_idiom(idiom, views):
  """KoLeo is not in the objective registry, so not in the matrix of
  tests/test_objectives_distributed.py: the same check here (8 CPU devices, float64, rtol 1e-10),
  for (N, D) and (V, N, D) embeddings (the batch, N, is split)."""
  n, d_in, d = 16, 5, 4
  with jax.enable_x64(True):
    keys = jax.random.split(jax.random.key(7), 2)
    data = (jax.random.normal(keys[0], (n, views, d_in)) * 0.7 + 0.1,)  # batch first
    w = jax.random.normal(keys[1], (d_in, d)) / np.sqrt(d_in)

    def loss(w, data, axis_name):
      z = jnp.moveaxis(data[0] @ w, 1, 0)  # (V, n, D)
      return objectives.koleo(z[0] if views == 1 else z, axis_name=axis_name)

    mesh = idioms.make_mesh("b")
    idioms.check(idioms.run(idiom, loss, w, data, mesh), idioms.reference(loss, w, data),
                 f"koleo V={views} / {idiom}")


# ----------------------------------------------------------------------------------------------
# TiCo.


def test_tico_matches_the_pseudo_code_in_torch():
  """The TiCo pseudo-code as sayannag's / lightly's `TiCoLoss` (normalise, B = z1ᵀz1/N,
  C = βC + (1 − β)B, loss = −mean⟨z1, z2⟩ + ρ mean z1 C z1ᵀ; lightly adds a constant 1), float64,
  from a non-zero old C: loss, new C and both inputs' gradients against autograd."""
  torch = import_torch()
  z1, z2 = _views(seed=8)
  c_old = np.asarray(tico_state(4).covariance)

  def torch_tico(c, x_1, x_2, beta=0.9, rho=8.0):
    z_1 = torch.nn.functional.normalize(x_1, dim=-1)
    z_2 = torch.nn.functional.normalize(x_2, dim=-1)
    b = torch.mm(z_1.T, z_1) / z_1.shape[0]
    c = beta * c + (1 - beta) * b
    loss = -(z_1 * z_2).sum(dim=1).mean() + rho * (torch.mm(z_1, c) * z_1).sum(dim=1).mean()
    return loss, c

  t1, t2 = (torch.tensor(z, requires_grad=True) for z in (z1, z2))
  tloss, tc = torch_tico(torch.tensor(c_old), t1, t2)
  tloss.backward()
  with jax.enable_x64(True):
    state = objectives.TiCoState(covariance=jnp.asarray(c_old))

    def loss_and_state(a, b):
      loss, _, new = objectives.tico(a, b, state)
      return loss, new

    (loss, new), grads = jax.jit(jax.value_and_grad(loss_and_state, (0, 1), has_aux=True))(
        jnp.asarray(z1), jnp.asarray(z2))
  np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
  np.testing.assert_allclose(new.covariance, tc.detach().numpy(), rtol=1e-10, atol=1e-15)
  for got, want in zip(grads, (t1.grad.numpy(), t2.grad.numpy())):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_tico_closed_forms():
  """From C = 0 with identical views: orthonormal rows (N = D) give C = (1 − β)I/N and
  loss = −1 + ρ(1 − β)/N; N copies of one row give loss = −1 + ρ(1 − β) (collapse is penalised
  N times more). Float32, rtol 1e-6."""
  n, beta, rho = 8, 0.9, 8.0
  eye = jnp.eye(n) * 3.0
  loss, metrics, state = objectives.tico(eye, eye, objectives.tico_init(n))
  np.testing.assert_allclose(loss, -1 + rho * (1 - beta) / n, rtol=1e-6)
  np.testing.assert_allclose(metrics["invariance"], -1.0, rtol=1e-6)
  np.testing.assert_allclose(state.covariance, (1 - beta) * np.eye(n) / n, rtol=1e-6, atol=1e-8)
  same = jnp.tile(eye[:1], (n, 1))
  np.testing.assert_allclose(objectives.tico(same, same, objectives.tico_init(n))[0],
                             -1 + rho * (1 - beta), rtol=1e-6)


def test_tico_one_step_state_by_hand_and_no_gradient_into_the_old_state():
  z1, z2 = jax.random.normal(jax.random.key(2), (2, 32, 6))
  old = objectives.TiCoState(covariance=jnp.asarray(tico_state(6).covariance, jnp.float32))
  step = jax.jit(lambda s: objectives.tico(z1, z2, s))
  _, _, new = step(old)
  u = _normalize(np.asarray(z1, np.float64))
  want = 0.9 * np.asarray(old.covariance, np.float64) + 0.1 * u.T @ u / 32
  np.testing.assert_allclose(new.covariance, want, rtol=1e-5, atol=1e-7)  # float32
  assert new.covariance.dtype == jnp.float32
  grad = jax.jit(jax.grad(lambda s: step(s)[0]))(old)
  assert not np.any(grad.covariance)


def test_tico_state_must_match_the_dimension():
  z = jnp.ones((8, 4))
  with pytest.raises(ValueError, match=r"^tico: .*tico_init\(4\)"):
    objectives.tico(z, z, objectives.tico_init(5))
  with pytest.raises(ValueError, match=r"^tico: .*tico_init\(4\)"):
    objectives.tico(z, z, objectives.corinfomax_init(4))


# ----------------------------------------------------------------------------------------------
# DCL and DCLW.

_SMALL_NUM = np.log(1e-45)  # the reference code's mask of the positive in the denominator


def _assert_pair_matches_torch(fn, z1, z2, tloss, t1, t2):
  """fn(z1, z2)'s float64 loss and gradients equal the torch transcription's (`tloss` after
  `backward()`, leaves t1, t2): value rtol 1e-10, gradients rtol 1e-9 + 1e-12 of the largest."""
  with jax.enable_x64(True):
    loss, grads = jax.jit(jax.value_and_grad(lambda a, b: fn(a, b)[0], (0, 1)))(
        jnp.asarray(z1), jnp.asarray(z2))
  np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
  for got, want in zip(grads, (t1.grad.numpy(), t2.grad.numpy())):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("weighted,weight_gradient", [(False, False), (True, False),
                                                      (True, True)])
def test_dcl_matches_the_reference_code_in_torch(weighted, weight_gradient):
  """The DCL reference code's `_one_way_loss` transcribed (normalised inputs, positive masked with
  log 1e-45), the two directions averaged; DCLW's weight 2 − N·softmax(⟨z1, z2⟩/σ), detached as
  lightly's `negative_mises_fisher_weights`, or differentiated as the reference code's (which
  lacks the factor N). Float64, values rtol 1e-10, gradients vs autograd rtol 1e-9."""
  torch = import_torch()
  z1, z2 = _views(seed=9)
  n, temperature, sigma = len(z1), 0.1, 0.5

  def weight_fn(a, b):
    cosine = (a * b).sum(dim=1)
    cosine = cosine if weight_gradient else cosine.detach()
    return 2 - n * torch.nn.functional.softmax(cosine / sigma, dim=0)

  def one_way(a, b):
    positive_loss = -(a * b).sum(dim=1) / temperature
    if weighted:
      positive_loss = positive_loss * weight_fn(a, b)
    neg_similarity = torch.cat((torch.mm(a, a.t()), torch.mm(a, b.t())), dim=1) / temperature
    neg_mask = torch.eye(n, dtype=a.dtype).repeat(1, 2)
    negative_loss = torch.logsumexp(neg_similarity + neg_mask * _SMALL_NUM, dim=1)
    return (positive_loss + negative_loss).mean()

  t1, t2 = (torch.tensor(z, requires_grad=True) for z in (z1, z2))
  u1, u2 = (torch.nn.functional.normalize(t, dim=1) for t in (t1, t2))
  tloss = 0.5 * (one_way(u1, u2) + one_way(u2, u1))
  tloss.backward()
  _assert_pair_matches_torch(
      functools.partial(objectives.dcl, weighted=weighted, weight_gradient=weight_gradient),
      z1, z2, tloss, t1, t2)


def test_dcl_closed_forms():
  """Orthonormal identical views (N = D): every positive scores 1/τ, every negative 0, so
  DCL = −1/τ + log(2N − 2); DCLW equals it (equal cosines: w = 1). τ → ∞: log(2N − 2), where
  NT-Xent tends to log(2N − 1). Float32, rtol 1e-6."""
  n = 8
  eye = jnp.eye(n) * 0.5
  want = -1 / 0.1 + np.log(2 * n - 2)
  np.testing.assert_allclose(objectives.dcl(eye, eye)[0], want, rtol=1e-6)
  np.testing.assert_allclose(objectives.get("dclw").fn(eye, eye)[0], want, rtol=1e-6)
  z = jax.random.normal(jax.random.key(3), (32, 16))
  np.testing.assert_allclose(objectives.dcl(z, z, temperature=1e6)[0], np.log(62), rtol=1e-6)


def test_dclw_weights_have_mean_one_and_favour_distant_pairs():
  """w_i = 2 − N·softmax(cos_i/σ): mean 1, larger for the pairs with the smaller cosine. Read off
  DCLW − DCL = −mean((w − 1)·s_ii) on views where the pair cosines differ. Float64."""
  z1, z2 = _views(seed=10)
  with jax.enable_x64(True):
    base = objectives.dcl(jnp.asarray(z1), jnp.asarray(z2))[1]["alignment"]
    weighted = objectives.get("dclw").fn(jnp.asarray(z1), jnp.asarray(z2))[1]["alignment"]
  u1, u2 = _normalize(z1), _normalize(z2)
  cosine = np.sum(u1 * u2, axis=1)
  w = 2 - len(z1) * special.softmax(cosine / 0.5)
  np.testing.assert_allclose(np.mean(w), 1.0, rtol=1e-12)
  assert np.corrcoef(w, cosine)[0, 1] < -0.9
  np.testing.assert_allclose(weighted - base, -np.mean((w - 1) * cosine / 0.1), rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# Alignment and uniformity, and the Gaussian potential.


@pytest.mark.parametrize("alpha,t", [(2.0, 2.0), (1.0, 1.0)])
def test_alignment_uniformity_matches_wang_isola_torch(alpha, t):
  """Wang & Isola's `align_loss` and `uniform_loss` (torch.pdist) on F.normalize'd views,
  loss = align + λ(unif(x) + unif(y))/2, float64, against autograd (α = 1 too: the zero-safe
  power agrees with torch's where no pair coincides)."""
  torch = import_torch()
  z1, z2 = _views(seed=11)

  def align_loss(x, y):
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()

  def uniform_loss(x):
    return torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()

  t1, t2 = (torch.tensor(z, requires_grad=True) for z in (z1, z2))
  x, y = (torch.nn.functional.normalize(v, dim=1) for v in (t1, t2))
  tloss = align_loss(x, y) + 0.5 * (uniform_loss(x) + uniform_loss(y))
  tloss.backward()
  _assert_pair_matches_torch(
      functools.partial(objectives.alignment_uniformity, alpha=alpha, t=t), z1, z2, tloss, t1, t2)


def test_uniformity_closed_forms():
  """An antipodal pair: ‖u_1 − u_2‖² = 4, so uniformity = −4t. The four points ±e1, ±e2: each has
  two neighbours at squared distance 2 and one at 4, uniformity = log((2e^{−2t} + e^{−4t})/3).
  Alignment: 0 for identical views, 2^α for antipodal ones. Float64, rtol 1e-12."""
  with jax.enable_x64(True):
    pair = jnp.array([[3.0, 0.0, 0.0], [-2.0, 0.0, 0.0]])
    for t in (1.0, 2.0):
      np.testing.assert_allclose(estimators.log_gaussian_potential(_normalize_j(pair), t), -4 * t,
                                 rtol=1e-12)
    cross = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    _, m = objectives.alignment_uniformity(cross, -cross)
    np.testing.assert_allclose(m["uniformity"], np.log((2 * np.exp(-4) + np.exp(-8)) / 3),
                               rtol=1e-12)
    np.testing.assert_allclose(m["alignment"], 4.0, rtol=1e-12)
    _, m = objectives.alignment_uniformity(cross, 2 * cross, alpha=1.0)
    assert m["alignment"] == 0.0


def _normalize_j(z):
  return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def test_log_gaussian_potential_is_minus_a_renyi_quadratic_entropy():
  """(d/2)·log(π/t) − log_gaussian_potential(z, t) = −log mean_{i≠j} N(z_i − z_j; 0, 2σ²I) with
  σ² = 1/(4t): the leave-one-out Rényi-2 entropy of the Parzen estimate with kernel N(0, σ²I)
  (scipy's multivariate normal density), float64, rtol 1e-10."""
  rng = np.random.default_rng(12)
  z = rng.normal(size=(20, 3)) * 0.3
  for t in (0.5, 2.0):
    sigma2 = 1 / (4 * t)
    density = stats.multivariate_normal(np.zeros(3), 2 * sigma2 * np.eye(3))
    pairs = [density.pdf(z[i] - z[j]) for i in range(20) for j in range(20) if i != j]
    with jax.enable_x64(True):
      got = 1.5 * np.log(np.pi / t) - estimators.log_gaussian_potential(jnp.asarray(z), t)
    np.testing.assert_allclose(got, -np.log(np.mean(pairs)), rtol=1e-10)


def test_diagnostics_uniformity_is_the_estimator_on_normalised_rows():
  z = np.random.default_rng(13).normal(size=(32, 6))
  with jax.enable_x64(True):
    np.testing.assert_allclose(diagnostics.uniformity(jnp.asarray(z)),
                               estimators.log_gaussian_potential(jnp.asarray(_normalize(z))),
                               rtol=1e-12)
    np.testing.assert_allclose(diagnostics.uniformity(jnp.asarray(z)),
                               np_uniformity(_normalize(z)), rtol=1e-10)
