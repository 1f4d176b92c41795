"""Differentiable spread estimators of a batch of embeddings: nearest-neighbour distances and the
Gaussian potential.

Both are entropy estimates up to constants and are what the regularisers in `jaxssl.objectives`
maximise or minimise:

* `nn_log_distance`, the mean log distance to the nearest neighbour, is the data term of the
  Kozachenko–Leonenko 1-NN entropy estimate (`kl_entropy` with k = 1):
  Ĥ_KL = ψ(N) + γ + log V_d + d · nn_log_distance (ε = 0). KoLeo (Sablayrolles et al. 2019; the
  DINOv2 regulariser) is its negative on L2-normalised embeddings.
* `log_gaussian_potential`, log E_{i≠j} exp(−t‖z_i − z_j‖²), is Wang & Isola's (2020) uniformity
  on L2-normalised embeddings and minus a leave-one-out estimate of Rényi's quadratic entropy of
  the embeddings smoothed by N(0, σ²I), σ² = 1/(4t): Ĥ₂ = (d/2)·log(π/t) − log_gaussian_potential.

Unlike `kl_entropy` (concrete inputs, blocked and exact k-th neighbour search), these are plain jnp
functions with a gradient: O(N²·d) time and an (N, N) matrix in memory, for batch sizes of
training. With `axis_name` (inside `shard_map`/`pmap`, the batch split over the axis) every shard
gathers the global batch and computes the global value, with the parameter gradient of the idiom
table of `jaxssl.objectives` (`lax.pmean` after `jax.grad` inside `pmap` /
`shard_map(check_vma=False)`, nothing under `shard_map(check_vma=True)`).
"""
import functools

import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks
from jaxssl.parallel import collectives as dist


def _check(name, z, axis_name):
  """One ValueError for a bad shape or dtype, or fewer than 2 rows in the global batch."""
  if jnp.ndim(z) != 2:
    raise ValueError(f"{name}: `z` must have shape (N, d), found shape {jnp.shape(z)}.")
  if not jnp.issubdtype(jnp.result_type(z), jnp.floating):
    raise ValueError(f"{name}: `z` must be a float array, found dtype {jnp.result_type(z)}.")
  if jnp.shape(z)[1] == 0:
    raise ValueError(f"{name}: `z` has dimension d = 0 (shape {jnp.shape(z)}); embeddings need "
                     "d >= 1.")
  n_global = jnp.shape(z)[0] * (1 if axis_name is None else dist.num_shards(axis_name))
  if n_global < 2:
    raise ValueError(f"{name}: needs at least 2 rows in the (global) batch, found {n_global}.")


def _global(z, axis_name):
  """The global batch, with the gradient of the idiom (`jaxssl.parallel.collectives.gather_rows`)."""
  return z if axis_name is None else dist.gather_rows(z, axis_name)[0]


def _finish(value, axis_name):
  return value if axis_name is None else dist.replicated(value, axis_name)


def _squared_distances(z):
  sq_norm = jnp.sum(z * z, axis=1)
  return jnp.maximum(sq_norm[:, None] + sq_norm[None, :] - 2.0 * z @ z.T, 0.0)


def _nearest_neighbours(z: jax.Array) -> jax.Array:
  """Index of each row's nearest other row (Euclidean), shape (N,), without gradient.

  Chosen by the smallest ‖z_j‖² − 2 z_i·z_j over j ≠ i; for L2-normalised rows that is the
  largest inner product, DINOv2's choice. Ties go to the lowest index.
  """
  z = jax.lax.stop_gradient(z)
  score = jnp.sum(z * z, axis=1)[None, :] - 2.0 * z @ z.T
  score = jnp.where(jnp.eye(z.shape[0], dtype=bool), jnp.inf, score)
  return jnp.argmin(score, axis=1)


@functools.partial(jax.jit, static_argnames="axis_name")
def _nn_log_distance(z, eps, axis_name):
  z = _global(z.astype(_checks.float_dtype(z)), axis_name)
  neighbour = z[_nearest_neighbours(z)]
  # As torch.nn.functional.pairwise_distance: ε is added to the difference, which keeps the norm
  # (and its gradient) finite for duplicate rows.
  distance = jnp.linalg.norm(z - neighbour + eps, axis=1)
  return _finish(jnp.mean(jnp.log(distance + eps)), axis_name)


def nn_log_distance(z: jax.Array, *, eps: float = 1e-8, axis_name=None) -> jax.Array:
  """Mean log distance to the nearest neighbour, (1/N) Σ_i log(r_i + ε), in nats.

  r_i = ‖z_i − z_ν(i) + ε·1‖₂ with ν(i) = argmin_{j≠i} ‖z_i − z_j‖ chosen without gradient (the
  ε inside the norm is PyTorch's `pairwise_distance`, the one outside DINOv2's KoLeo loss; with
  ε = 0 this is exactly (1/N) Σ_i log r_i). The gradient reaches z_i and its neighbour.

  Relation to the Kozachenko–Leonenko estimate with k = 1 (`kl_entropy(z, k=1)`, Kraskov et al.
  2004, eq. (20)), at ε = 0 and d the dimension of z:
    Ĥ_KL = ψ(N) − ψ(1) + log V_d + d · nn_log_distance(z),   ψ(1) = −γ,
    V_d = π^{d/2} / Γ(d/2 + 1), the volume of the unit d-ball.
  So maximising it maximises the 1-NN entropy estimate at fixed N and d. On L2-normalised
  embeddings (KoLeo) the points lie on the (d − 1)-sphere, whose own 1-NN estimate has d − 1 in
  place of d and the volume of the unit (d − 1)-ball: the same data term, other constants.

  Bias: as `kl_entropy` with k = 1 (consistent, neither bound; its variance is the largest of the
  k-NN estimates); duplicate rows give log(ε·√d + ε) instead of −∞.

  Cost: O(N²·d) time, an (N, N) matrix in memory (N the global batch under `axis_name`).

  >>> nn_log_distance(jnp.array([[0.0], [1.0], [3.0]]), eps=0.0)  # log(1·1·2)/3
  Array(0.23104906, dtype=float32)

  Args:
    z: samples, shape (N, d), float, N >= 2 (the global batch with `axis_name`).
    eps: ε of the norm and of the log (DINOv2: 1e-8); 0 for the exact data term.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None.

  Returns:
    A scalar, float32 (float64 for float64 inputs under x64).

  References:
    Kozachenko & Leonenko, "Sample estimate of the entropy of a random vector", Problems Inform.
    Transmission 23 (1987); Sablayrolles, Douze, Schmid & Jégou, "Spreading vectors for similarity
    search", ICLR 2019, https://arxiv.org/abs/1806.03198
  """
  _check("nn_log_distance", z, axis_name)
  return _nn_log_distance(z, eps, axis_name)


@functools.partial(jax.jit, static_argnames="axis_name")
def _log_gaussian_potential(z, t, axis_name):
  z = _global(z.astype(_checks.float_dtype(z)), axis_name)
  n = z.shape[0]
  off = ~jnp.eye(n, dtype=bool)
  value = jax.nn.logsumexp(jnp.where(off, -t * _squared_distances(z), -jnp.inf))
  return _finish(value - jnp.log(n * (n - 1.0)), axis_name)


def log_gaussian_potential(z: jax.Array, t: float = 2.0, *, axis_name=None) -> jax.Array:
  """log E_{i≠j} exp(−t‖z_i − z_j‖²) over the pairs of distinct rows, in nats (≤ 0).

  On L2-normalised rows this is Wang & Isola's uniformity (lower is more uniform; 0 when all rows
  coincide). It is minus a leave-one-out estimate of Rényi's quadratic entropy of the rows smoothed
  by N(0, σ²I) with σ² = 1/(4t): with p̂ = (1/N) Σ_i N(z_i, σ²I), ∫p̂² = E_{i,j} N(z_i − z_j; 0,
  2σ²I) and, leaving out i = j,
    Ĥ₂ = −log E_{i≠j} (π/t)^{−d/2} exp(−t‖z_i − z_j‖²) = (d/2)·log(π/t) − log_gaussian_potential.

  Bias: the leave-one-out (U-statistic) form of the potential is unbiased for E exp(−t‖X − X'‖²);
  its log is biased low (Jensen), so Ĥ₂ is biased high, by O(1/N). Cost: O(N²·d) time, an (N, N)
  matrix in memory.

  >>> z = jnp.array([[1.0, 0.0], [-1.0, 0.0]])  # an antipodal pair: ‖z_1 − z_2‖² = 4
  >>> log_gaussian_potential(z)  # −t·4 = −8
  Array(-8., dtype=float32)

  Args:
    z: samples, shape (N, d), float, N >= 2 (the global batch with `axis_name`).
    t: the kernel's inverse scale t > 0 (Wang & Isola: 2).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None.

  Returns:
    A scalar, float32 (float64 for float64 inputs under x64).

  References:
    Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and
    Uniformity on the Hypersphere", ICML 2020, https://arxiv.org/abs/2005.10242; Príncipe,
    "Information Theoretic Learning: Renyi's Entropy and Kernel Perspectives", Springer 2010
    (the quadratic entropy of a Parzen estimate).
  """
  _check("log_gaussian_potential", z, axis_name)
  return _log_gaussian_potential(z, t, axis_name)
