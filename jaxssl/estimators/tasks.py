"""Ground-truth tasks: samplers whose mutual information or entropy is known in closed form (nats).

MI tasks return `(x, y, true_mi)`, entropy tasks `(x, true_entropy)`; samples are float32 JAX arrays
of shape (n, d) and the true values Python floats (computed in float64). Closed forms follow Czyż et
al., "Beyond Normal: On the Evaluation of Mutual Information Estimators", NeurIPS 2023 (the `bmi`
benchmark).
"""
import dataclasses
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


# ---------------------------------------------------------------------------------------------
# The "Beyond Normal" benchmark suite (Czyż, Grabowski, Vogt, Beerenwinkel, Marx, NeurIPS 2023).
# Written from the paper's definitions; every transform below is an invertible map of one variable,
# so a transformed task keeps its base task's closed-form MI.
# ---------------------------------------------------------------------------------------------

def dense_correlation(dim_x: int, dim_y: int, off_diag: float = 0.5) -> np.ndarray:
  """Correlation matrix with every off-diagonal entry `off_diag` (the suite's "dense" task)."""
  d = dim_x + dim_y
  return np.eye(d) * (1.0 - off_diag) + off_diag


def sparse_correlation(dim_x: int, dim_y: int, n_interacting: int = 2,
                       strength: float = 2.0) -> np.ndarray:
  """The suite's "sparse" (2-pair) correlation: Corr(X_i, Y_i) = λ²/(1 + λ²) for i < n_interacting.

  Latent-variable model X_i = λ Z_i + E_i (i < n_interacting), X_i = λ V_i + E_i otherwise (same for
  Y with its own noise F_i), all latents N(0, 1): every variance is 1 + λ², the only cross terms
  are Cov(X_i, Y_i) = λ² for the interacting pairs. λ = 2 gives ρ = 0.8 and
  I = −n_interacting·½ log(1 − 0.64) = 1.0217 nats for two pairs.
  """
  if not 0 < n_interacting <= min(dim_x, dim_y):
    raise ValueError(f"`n_interacting` must be in 1..{min(dim_x, dim_y)}, found {n_interacting}.")
  corr = np.eye(dim_x + dim_y)
  rho = strength**2 / (1.0 + strength**2)
  for i in range(n_interacting):
    corr[i, dim_x + i] = corr[dim_x + i, i] = rho
  return corr


def normal_cdf(x):
  """Φ(x) = ½(1 + erf(x/√2)): maps a Gaussian coordinate to a uniform one (strictly increasing)."""
  return 0.5 * (1.0 + jax.scipy.special.erf(x / np.sqrt(2.0)))


def wiggly_x(x):
  """x + 0.4 sin x + 0.2 sin(1.7x + 1) + 0.03 sin(3.3x − 2.5): strictly increasing (slope ≥ 0.16)."""
  return x + 0.4 * jnp.sin(x) + 0.2 * jnp.sin(1.7 * x + 1.0) + 0.03 * jnp.sin(3.3 * x - 2.5)


def wiggly_y(y):
  """y − 0.4 sin(0.4y) + 0.17 sin(1.3y + 3.5) + 0.02 sin(4.3y − 2.5): strictly increasing."""
  return (y - 0.4 * jnp.sin(0.4 * y) + 0.17 * jnp.sin(1.3 * y + 3.5)
          + 0.02 * jnp.sin(4.3 * y - 2.5))


def spiral(x, i: int = 0, j: int = 1, speed: float | None = None):
  """x ↦ R_ij(speed·‖x‖²) x: rotates the (i, j) plane by an angle that grows with ‖x‖².

  A diffeomorphism of ℝ^d (its inverse rotates back by the same angle, as ‖R x‖ = ‖x‖), so the MI
  is unchanged. `speed` defaults to 1/d (the suite's normalised speed); R = exp(θ·A) with
  A the (i, j) generator of so(d) (A[i, j] = −1, A[j, i] = 1).
  """
  d = x.shape[-1]
  if not 0 <= i < j < d:
    raise ValueError(f"Need 0 <= i < j < d = {d}, found i = {i}, j = {j}.")
  theta = (1.0 / d if speed is None else speed) * jnp.sum(x * x, axis=-1)
  c, s = jnp.cos(theta), jnp.sin(theta)
  xi, xj = x[..., i], x[..., j]
  return x.at[..., i].set(c * xi - s * xj).at[..., j].set(s * xi + c * xj)


def swiss_roll(u):
  """u ∈ [0, 1] (shape (..., 1)) ↦ (t cos t, t sin t)/21 with t = 1.5π(1 + 2u): a 1-D curve in ℝ².

  An embedding (injective), so I(swiss_roll(U); Y) = I(U; Y).
  """
  t = 1.5 * np.pi * (1.0 + 2.0 * u[..., 0])
  return jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=-1) / 21.0


def _mixture_icdf(u, weights, means, iters: int = 48):
  """Inverse CDF of the 1-D Gaussian mixture Σ w_k N(m_k, 1) by bisection on [−10, 10]."""
  weights, means = jnp.asarray(weights), jnp.asarray(means)
  cdf = lambda x: jnp.sum(weights * normal_cdf(x[..., None] - means), axis=-1)

  def body(_, bounds):
    lo, hi = bounds
    mid = 0.5 * (lo + hi)
    below = cdf(mid) < u
    return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

  lo, hi = jax.lax.fori_loop(0, iters, body, (jnp.full_like(u, -10.0), jnp.full_like(u, 10.0)))
  return 0.5 * (lo + hi)


def bimodal_x(u):
  """Inverse CDF of 0.3 N(0, 1) + 0.7 N(5, 1): uniform → bimodal (strictly increasing)."""
  return _mixture_icdf(u, (0.3, 0.7), (0.0, 5.0))


def bimodal_y(u):
  """Inverse CDF of 0.5 N(−1, 1) + 0.5 N(3, 1)."""
  return _mixture_icdf(u, (0.5, 0.5), (-1.0, 3.0))


def standardize(x):
  """Each coordinate to mean 0, standard deviation 1 over the samples (ddof 0), as the suite does."""
  x = jnp.asarray(x)
  return (x - jnp.mean(x, axis=0)) / jnp.std(x, axis=0)


@dataclasses.dataclass(frozen=True)
class Task:
  """One benchmark task: `task.sample(key, n)` → (x, y) of shapes (n, dim_x), (n, dim_y).

  `mi` is the closed-form I(X; Y) in nats; `family` one of "1-d", "embedding", "multinormal",
  "student", "transformed" (the paper's groups).
  """
  name: str
  family: str
  dim_x: int
  dim_y: int
  mi: float
  sampler: Callable = dataclasses.field(repr=False, compare=False)

  def sample(self, key, n: int, *, standardized: bool = True):
    """n samples (float32); `standardized`: each coordinate to mean 0 and std 1, as in the suite."""
    x, y = self.sampler(key, n)
    if standardized:
      x, y = standardize(x), standardize(y)
    return x, y


def _gaussian_task(name, family, cov, dim_x):
  cov = np.asarray(cov, np.float64)
  def sampler(key, n):
    return split_gaussian(key, n, cov, dim_x)[:2]
  return Task(name, family, dim_x, cov.shape[0] - dim_x, _gaussian_mi_from_cov(cov, dim_x), sampler)


def _student_task(dim_x, dim_y, dof, name=None, family="student", dispersion=None):
  dispersion = np.eye(dim_x + dim_y) if dispersion is None else np.asarray(dispersion, np.float64)

  def sampler(key, n):
    return student_t(key, n, dim_x=dim_x, dim_y=dim_y, dof=dof, dispersion=dispersion)[:2]
  return Task(name or f"Student-t {dim_x} × {dim_y} (dof={dof})", family, dim_x, dim_y,
              student_t_mi(dispersion, dim_x, dof), sampler)


def _transform_task(base: Task, fx, fy, name: str, family: str = "transformed", dim_x=None):
  def sampler(key, n):
    x, y = base.sampler(key, n)
    return fx(x), fy(y)
  return Task(name, family, dim_x or base.dim_x, base.dim_y, base.mi, sampler)


def _additive_task(epsilon):
  def sampler(key, n):
    return additive_uniform(key, n, epsilon)[:2]
  mi = additive_uniform(jax.random.key(0), 1, epsilon)[2]
  return Task(f"Uniform 1 × 1 (additive noise={epsilon})", "1-d", 1, 1, mi, sampler)


def beyond_normal_tasks(max_dim: int = 25) -> tuple[Task, ...]:
  """The tasks of the Beyond Normal benchmark with dim_x, dim_y <= `max_dim` (39 for 25, 40 for 50).

  Groups and parameters as in Czyż et al. (2023), Table/Appendix of tasks (bmi's `task_list`):
  1-d (bivariate normal ρ = 0.75, its normal-CDF "uniform" version, additive uniform noise
  ε = 0.1, 0.75, bimodal, wiggly, half-cube, Student-t ν = 1 and its asinh), the Swiss roll 2 × 1,
  multinormal dense (off-diagonal 0.5) and 2-pair (λ = 2) at 2, 3, 5, 25 (dense also 50),
  Student-t with identity dispersion (2×2 ν 1, 2; 3×3 ν 2, 3; 5×5 ν 2, 3), and transformed tasks
  (normal CDF, half-cube, spiral, spiral ∘ normal CDF of the 2-pair tasks at 3, 5, 25; asinh of
  Student-t 2×2 ν 1, 3×3 ν 2, 5×5 ν 2). The suite standardises every coordinate
  (`Task.sample(..., standardized=True)`).
  """
  binormal = _gaussian_task("Bivariate normal 1 × 1", "1-d", [[1.0, 0.75], [0.75, 1.0]], 1)
  uniform = _transform_task(binormal, normal_cdf, normal_cdf, "Uniform 1 × 1 (normal CDF)", "1-d")
  student_1 = _student_task(1, 1, 1, "Student-t 1 × 1 (dof=1)", "1-d")
  out = [
      binormal, uniform, _additive_task(0.1), _additive_task(0.75),
      _transform_task(uniform, bimodal_x, bimodal_y, "Bimodal 1 × 1", "1-d"),
      _transform_task(binormal, wiggly_x, wiggly_y, "Wiggly @ Bivariate normal 1 × 1", "1-d"),
      _transform_task(binormal, half_cube, half_cube, "Half-cube @ Bivariate normal 1 × 1", "1-d"),
      student_1,
      _transform_task(student_1, jnp.arcsinh, jnp.arcsinh, "Asinh @ Student-t 1 × 1 (dof=1)",
                      "1-d"),
      _transform_task(uniform, swiss_roll, lambda y: y, "Swiss roll 2 × 1", "embedding", dim_x=2),
  ]
  for d in (2, 3, 5, 25, 50):
    if d <= max_dim:
      out.append(_gaussian_task(f"Multinormal {d} × {d} (dense)", "multinormal",
                                dense_correlation(d, d), d))
  pair = {d: _gaussian_task(f"Multinormal {d} × {d} (2-pair)", "multinormal",
                            sparse_correlation(d, d), d) for d in (2, 3, 5, 25) if d <= max_dim}
  out += list(pair.values())
  out += [_student_task(dx, dx, dof) for dx, dof in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))
          if dx <= max_dim]
  spiral_x = lambda x: spiral(x, 0, 1)
  spiral_y = lambda y: spiral(y, 1, 2)
  for label, fx, fy in (("Normal CDF", normal_cdf, normal_cdf),
                        ("Half-cube", half_cube, half_cube),
                        ("Spiral", spiral_x, spiral_y)):
    out += [_transform_task(base, fx, fy, f"{label} @ {base.name}")
            for d, base in pair.items() if d >= 3]
  for d, base in pair.items():
    if d >= 3:
      cdf = _transform_task(base, normal_cdf, normal_cdf, f"Normal CDF @ {base.name}")
      out.append(_transform_task(cdf, spiral_x, spiral_y, f"Spiral @ {cdf.name}"))
  out += [_transform_task(_student_task(dx, dx, dof), jnp.arcsinh, jnp.arcsinh,
                          f"Asinh @ Student-t {dx} × {dx} (dof={dof})")
          for dx, dof in ((2, 1), (3, 2), (5, 2)) if dx <= max_dim]
  return tuple(out)



def wide_tasks(dims=(50, 100)) -> tuple[Task, ...]:
  """Tasks with d = 50 or 100 dimensions per variable (the width of SSL embeddings): 11 per d.

  Closed-form MI as in `beyond_normal_tasks`, the same families at the width the benchmark stops
  short of (it has one 50 × 50 task):
    * multinormal: dense (every off-diagonal 0.5; I = 1.62 nats at d = 50, 1.96 at d = 100) and
      2-pair (λ = 2, I = 1.02);
    * student: Student-t with identity dispersion, ν = 2, 3, 5 (all the MI in the shared scale:
      1.44, 1.20, 0.93 nats at d = 50; 1.78, 1.53, 1.25 at d = 100), and with the 2-pair
      dispersion, ν = 3 (I = 1.02 + the scale term: 2.22 / 2.55 nats);
    * transformed (invertible maps of each variable, so the base task's MI): normal CDF of the
      dense task, half-cube and spiral of the 2-pair task, asinh of Student-t ν = 2 and half-cube
      of the 2-pair Student-t.
  Sampling is one Cholesky factor and one (n, 2d) matrix product (plus a χ² draw for the
  Student-t), so 5000 samples of a 100 × 100 task take milliseconds.
  """
  out = []
  spiral_x = lambda x: spiral(x, 0, 1)
  spiral_y = lambda y: spiral(y, 1, 2)
  for d in dims:
    dense = _gaussian_task(f"Multinormal {d} × {d} (dense)", "multinormal",
                           dense_correlation(d, d), d)
    pair = _gaussian_task(f"Multinormal {d} × {d} (2-pair)", "multinormal",
                          sparse_correlation(d, d), d)
    t2 = _student_task(d, d, 2)
    t_pair = _student_task(d, d, 3, f"Student-t {d} × {d} (2-pair, dof=3)",
                           dispersion=sparse_correlation(d, d))
    out += [dense, pair, t2, _student_task(d, d, 3), _student_task(d, d, 5), t_pair,
            _transform_task(dense, normal_cdf, normal_cdf, f"Normal CDF @ {dense.name}"),
            _transform_task(pair, half_cube, half_cube, f"Half-cube @ {pair.name}"),
            _transform_task(pair, spiral_x, spiral_y, f"Spiral @ {pair.name}"),
            _transform_task(t2, jnp.arcsinh, jnp.arcsinh, f"Asinh @ {t2.name}"),
            _transform_task(t_pair, half_cube, half_cube, f"Half-cube @ {t_pair.name}")]
  return tuple(out)
