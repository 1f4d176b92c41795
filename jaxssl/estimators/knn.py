"""k-nearest-neighbour estimators: KSG mutual information and Kozachenko–Leonenko entropy.

Both are brute force on the accelerator: the queries are split into row blocks of `block_size`
(`lax.map`), and each block's distances to all N points are computed, reduced to what the estimator
needs (the k-th neighbour distance, the neighbour counts) and dropped. Time O(N²·d), memory
O(block_size·N); no tree, no O(N²) buffer (N = 50k with the accelerator default of 1024 rows per
block needs a few 200 MB blocks; N = 10k runs on a CPU in about a second). The k-th
smallest distance is exact (ties included): one chunked min-pass over the row, then k masked-min
passes over the k·64 candidates of the k chunks with the smallest minima — far faster on XLA:CPU
than `lax.top_k` or a sort.

Under `jit` the value checks cannot raise: a NaN or inf in the input gives a NaN estimate.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaln
from scipy import special

from jaxssl.estimators import _checks

_DIM_CHUNK = 16  # feature dimensions unrolled per distance pass (fused into one loop by XLA)
_CHUNK = 64  # columns per chunk in the k-th-neighbour search and the counts


def default_block_size() -> int:
  """Query rows per block: small on CPU (the block's rows stay in cache), large on accelerators."""
  return 64 if jax.default_backend() == "cpu" else 1024


def _blocked_rows(fn, arrays, block_size):
  """`fn(start, *blocks)` over row blocks of `arrays` (`lax.map`), rows concatenated back."""
  n = arrays[0].shape[0]
  block = int(min(block_size or default_block_size(), n))
  n_blocks = -(-n // block)
  pad = n_blocks * block - n
  blocks = tuple(
      jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)).reshape((n_blocks, block) + a.shape[1:])
      for a in arrays)
  starts = jnp.arange(n_blocks) * block
  out = jax.lax.map(lambda args: fn(args[0], *args[1:]), (starts,) + blocks)
  return jax.tree.map(lambda o: o.reshape((n_blocks * block,) + o.shape[2:])[:n], out)


def _pairwise_over_dims(q, pts_t, term, combine):
  """Distances (B, N) from queries `q` (B, d) to points `pts_t` (d, N), reduced over dimensions.

  `term(a, b)` is the per-dimension contribution and `combine` the reduction (max for the max-norm,
  add for the squared Euclidean distance). Dimensions are unrolled in chunks of `_DIM_CHUNK`, so
  XLA fuses each chunk into one loop over the (B, N) grid with no (B, N, d) intermediate.
  """
  d = q.shape[1]

  def chunk(qc, pc):
    out = term(qc[:, 0:1], pc[0:1, :])
    for j in range(1, qc.shape[1]):
      out = combine(out, term(qc[:, j:j + 1], pc[j:j + 1, :]))
    return out

  if d <= _DIM_CHUNK:
    return chunk(q, pts_t)
  # Pad the feature axis with zeros (a zero difference changes neither a max nor a sum).
  n_chunks = -(-d // _DIM_CHUNK)
  pad = n_chunks * _DIM_CHUNK - d
  q = jnp.pad(q, ((0, 0), (0, pad)))
  pts_t = jnp.pad(pts_t, ((0, pad), (0, 0)))

  def body(c, acc):
    lo = c * _DIM_CHUNK
    qc = jax.lax.dynamic_slice_in_dim(q, lo, _DIM_CHUNK, axis=1)
    pc = jax.lax.dynamic_slice_in_dim(pts_t, lo, _DIM_CHUNK, axis=0)
    return combine(acc, chunk(qc, pc))

  init = jnp.zeros((q.shape[0], pts_t.shape[1]), q.dtype)
  return jax.lax.fori_loop(0, n_chunks, body, init)


def _chebyshev(q, pts_t):
  """Max-norm distances (B, N)."""
  return _pairwise_over_dims(q, pts_t, lambda a, b: jnp.abs(a - b), jnp.maximum)


def _sq_euclidean(q, pts_t):
  """Squared Euclidean distances (B, N), from coordinate differences (no cancellation)."""
  return _pairwise_over_dims(q, pts_t, lambda a, b: jnp.square(a - b), jnp.add)


def _smallest_k_indices(values, k):
  """Column indices of the k smallest entries of each row of `values` (B, M), by repeated argmin."""
  cols = jnp.arange(values.shape[1])
  picked = []
  for _ in range(k):
    idx = jnp.argmin(values, axis=1)
    picked.append(idx)
    values = jnp.where(cols[None, :] == idx[:, None], jnp.inf, values)
  return jnp.stack(picked, axis=1)


def _kth_smallest(dist, k, exact_fn=None):
  """The k-th smallest exact distance (1-based, ties counted) in each row of `dist` (B, Np).

  The columns are cut into chunks of `_CHUNK`: the k smallest entries of a row lie in the k chunks
  with the smallest minima (an entry below the k-th smallest chunk minimum has its chunk among
  those), so one min-pass over `dist` plus a look at k·_CHUNK candidates suffices. If `dist` is
  approximate, `exact_fn(cols)` gives the exact distances to the candidate columns `cols` (B, m);
  otherwise the candidates are read from `dist`.
  """
  b, n_pad = dist.shape
  n_chunks = n_pad // _CHUNK
  chunked = dist.reshape(b, n_chunks, _CHUNK)
  # (Chunked reductions: XLA:CPU vectorises these far better than one long row reduction.)
  chosen = _smallest_k_indices(jnp.min(chunked, axis=2), min(k, n_chunks))
  if exact_fn is None:
    candidates = jnp.take_along_axis(chunked, chosen[:, :, None], axis=1).reshape(b, -1)
  else:
    candidates = exact_fn((chosen[:, :, None] * _CHUNK + jnp.arange(_CHUNK)).reshape(b, -1))
  return _kth_smallest_brute(candidates, k)


def _count_below(dist, threshold):
  """#{j : dist[i, j] < threshold[i]} per row, as a chunked (vectorisable) reduction."""
  b, n_pad = dist.shape
  below = (dist < threshold[:, None]).reshape(b, n_pad // _CHUNK, _CHUNK)
  return jnp.sum(jnp.sum(below, axis=2, dtype=jnp.int32), axis=1)


def _kth_smallest_brute(values, k):
  """The k-th smallest entry (1-based, ties counted) of each row, by k masked-min passes.

  (XLA:CPU's sort and top_k are one to two orders of magnitude slower for small k.)
  """
  prev = jnp.full(values.shape[:1], -jnp.inf, values.dtype)
  result = jnp.full(values.shape[:1], jnp.inf, values.dtype)
  found = jnp.zeros(values.shape[:1], bool)
  for _ in range(k):  # each pass: the next distinct value and how many entries are <= it
    m = jnp.min(jnp.where(values > prev[:, None], values, jnp.inf), axis=1)
    hit = (~found) & (jnp.sum(values <= m[:, None], axis=1) >= k)
    result = jnp.where(hit, m, result)
    found = found | hit
    prev = m
  return result


def _pad_points(a, fill):
  """Pads the rows of `a` (N, d) with `fill` up to a multiple of `_CHUNK`."""
  pad = -a.shape[0] % _CHUNK
  return jnp.pad(a, ((0, pad), (0, 0)), constant_values=fill)


@functools.partial(jax.jit, static_argnames=("k", "block_size", "metric"))
def _ksg_counts(x, y, k, block_size, metric="chebyshev"):
  # Padding points at +inf are at distance +inf from every query: never neighbours, never counted.
  px, py = _pad_points(x, jnp.inf), _pad_points(y, jnp.inf)
  pxt, pyt = px.T, py.T

  def block(start, xb, yb):
    del start
    # Within-space distances; squared Euclidean keeps the order (and so the counts) of Euclidean.
    within = _chebyshev if metric == "chebyshev" else _sq_euclidean
    dx = within(xb, pxt)
    dy = within(yb, pyt)

    # The query itself sits at distance 0, so the (k+1)-th smallest joint distance including it is
    # the k-th neighbour's distance excluding it (duplicates included).
    eps = _kth_smallest(jnp.maximum(dx, dy), k + 1)
    self_counted = (eps > 0).astype(jnp.int32)
    n_x = _count_below(dx, eps) - self_counted
    n_y = _count_below(dy, eps) - self_counted
    return n_x, n_y

  return _blocked_rows(block, (x, y), block_size)


@functools.partial(jax.jit, static_argnames=("k", "block_size", "metric"))
def _ksg_mi(x, y, k, block_size, metric="chebyshev"):
  dtype = x.dtype
  n_x, n_y = _ksg_counts(x, y, k, block_size, metric)
  mean_psi = jnp.mean(digamma((n_x + 1).astype(dtype)) + digamma((n_y + 1).astype(dtype)))
  mi = digamma(jnp.asarray(k, dtype)) + digamma(jnp.asarray(x.shape[0], dtype)) - mean_psi
  return _checks.nan_if_nonfinite(mi, x, y)


_METRICS = ("chebyshev", "euclidean")


def ksg_mi(x, y, k: int = 3, *, block_size: int | None = None,
           metric: str = "chebyshev") -> jax.Array:
  """Kraskov–Stögbauer–Grassberger estimate of I(X; Y) in nats (KSG algorithm 1).

  Î = ψ(k) + ψ(N) − (1/N) Σ_i [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)],

  where ε_i is the max-norm distance from (x_i, y_i) to its k-th nearest neighbour in the joint
  space, ‖(x, y)‖ = max(‖x‖_∞, ‖y‖_∞), and n_x(i) = #{j ≠ i : ‖x_j − x_i‖_∞ < ε_i} (likewise n_y).
  With `metric="euclidean"` the within-space norms are Euclidean, ‖(x, y)‖ = max(‖x‖₂, ‖y‖₂) (the
  formula is unchanged: the ball volumes cancel because the joint norm is the max of the two; the
  default of the `bmi` benchmark's KSG, Czyż et al. 2023).

  Example:
    >>> x, y, true_mi = tasks.correlated_gaussian(jax.random.key(0), 5000, d=1, rho=0.9)
    >>> ksg_mi(x, y)  # ≈ 0.83 = −½ log(1 − 0.81)

  Bias: consistent (N → ∞ at fixed k), neither an upper nor a lower bound. At finite N it is
  biased towards zero in high dimension: on correlated Gaussians with 0.5–4 nats at N = 5000 it is
  within 4 % for d = 1 per variable but 15–25 % low for d = 5 and 45–52 % low for d = 10 (the
  bias grows with MI). Estimator 2, smaller k (k = 1: still 13–18 % / 38–42 % low) and the LNC
  correction do not remove it. It is ≈ 0 for independent variables.

  Cost: O(N²·(d_x + d_y)) time, O(block_size·N) memory (row blocks, no tree).

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,), rows paired with `x`.
    k: neighbour order, 1 <= k < N (KSG recommend 2–4).
    block_size: query rows per block (default 64 on CPU, 1024 on accelerators); peak memory is
      about 4 × block_size × N floats.
    metric: within-space norm, "chebyshev" (KSG's max-norm, the default) or "euclidean". On the
      Beyond Normal suite (N = 5000) Euclidean is higher by up to +0.1 nats at 25 × 25, where both
      are far below the truth (0.2 of 1.02 nats): see experiments/results/estimators/.

  Returns:
    A scalar in nats (float32, or float64 under x64 with float64 inputs); NaN under `jit` if an
    input is not finite.

  References:
    Kraskov, Stögbauer, Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138
    (2004), https://arxiv.org/abs/cond-mat/0305641.
  """
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  n = x.shape[0]
  _checks.check_k(k, n)
  _checks.check_finite("x", x)
  _checks.check_finite("y", y)
  if metric not in _METRICS:
    raise ValueError(f"`metric` must be one of {_METRICS}, found {metric!r}.")
  dtype = jnp.promote_types(x.dtype, y.dtype)
  return _ksg_mi(x.astype(dtype), y.astype(dtype), int(k), block_size or default_block_size(),
                 metric)


@functools.partial(jax.jit, static_argnames=("k", "block_size", "fast_distances"))
def _knn_sq_radius(x, k, block_size, fast_distances):
  n = x.shape[0]
  if fast_distances:
    x = x - jnp.mean(x, axis=0)  # translation invariant; keeps |x| small for the matmul form
  px = _pad_points(x, 0.0)
  pxt = px.T
  sq_norm = jnp.sum(px * px, axis=1)
  cols = jnp.arange(px.shape[0])

  def block(start, xb):
    if not fast_distances:  # exact; padding at +inf; the query itself comes first (distance 0)
      sq = jnp.where(cols[None, :] >= n, jnp.inf, _sq_euclidean(xb, pxt))
      return _kth_smallest(sq, k + 1)
    # |a|² + |b|² − 2a·b only *selects* candidate chunks; their distances are recomputed exactly.
    sq = jnp.maximum(jnp.sum(xb * xb, axis=1)[:, None] + sq_norm[None, :] - 2.0 * (xb @ pxt), 0.0)
    sq = jnp.where(cols[None, :] >= n, jnp.inf, sq)
    rows = start + jnp.arange(xb.shape[0])
    sq = jnp.where(cols[None, :] == rows[:, None], -1.0, sq)  # the query's own chunk is a candidate

    def exact(c):
      diff = px[c] - xb[:, None, :]
      return jnp.where(c >= n, jnp.inf, jnp.sum(diff * diff, axis=2))

    return _kth_smallest(sq, k + 1, exact)

  return _blocked_rows(block, (x,), block_size)


@functools.partial(jax.jit, static_argnames=("k", "block_size", "fast_distances"))
def _kl_entropy(x, k, block_size, fast_distances):
  n, d = x.shape
  dtype = x.dtype
  sq_r = _knn_sq_radius(x, k, block_size, fast_distances)
  log_unit_ball = 0.5 * d * jnp.log(jnp.pi) - gammaln(0.5 * d + 1.0)
  h = (digamma(jnp.asarray(n, dtype)) - digamma(jnp.asarray(k, dtype)) + log_unit_ball
       + 0.5 * d * jnp.mean(jnp.log(sq_r)))
  return _checks.nan_if_nonfinite(h.astype(dtype), x)


def kl_entropy(x, k: int = 3, *, block_size: int | None = None,
               fast_distances: bool = False) -> jax.Array:
  """Kozachenko–Leonenko k-NN estimate of the differential entropy H(X) in nats (Euclidean).

  Ĥ = ψ(N) − ψ(k) + log V_d + (d/N) Σ_i log r_i,

  where r_i is the Euclidean distance from x_i to its k-th nearest neighbour and
  V_d = π^{d/2} / Γ(d/2 + 1) the volume of the unit d-ball.

  Bias: consistent (N → ∞ at fixed k), neither an upper nor a lower bound. At finite N it is
  biased *high* near the boundary of a bounded support, growing with d (uniform cube, N = 5000:
  +0.02 nats/dim at d = 3, +0.067 at d = 5, +0.145 at d = 10; `weighted_kl_entropy` removes most
  of it); on Gaussians it is within 0.02 nats/dim for d ≤ 10 when well conditioned (diagonal
  0.5..3), +0.05 at d = 10 for AR(1) ρ = 0.9, more for worse conditioning.
  Duplicate samples (r_i = 0) give −inf.

  Cost: O(N²·d) time, O(block_size·N) memory.

  Args:
    x: samples, shape (N, d) or (N,).
    k: neighbour order, 1 <= k < N.
    block_size: query rows per block (default 64 on CPU, 1024 on accelerators).
    fast_distances: select neighbours with the matmul form |a|² + |b|² − 2a·b (much faster for
      large d) and recompute the selected distances exactly. The selection can miss a neighbour
      when k-NN distances are below ≈ √eps·‖x − mean‖ (float32: ~3e-4 of the data's scale), e.g.
      for low-dimensional data with many samples; the default computes coordinate differences.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.

  References:
    Kozachenko, Leonenko, "Sample estimate of the entropy of a random vector", Problems Inform.
    Transmission 23 (1987); Kraskov et al. (2004), eq. (20).
  """
  x = _checks.as_samples(x, "x")
  n, d = x.shape
  _checks.check_k(k, n)
  _checks.check_finite("x", x)
  return _kl_entropy(x, int(k), block_size or default_block_size(), bool(fast_distances))


def _smallest_k_sorted(dist, k):
  """The k smallest entries (ascending, ties counted) of each row of `dist` (B, Np).

  Candidates as in `_kth_smallest` (the k chunks with the smallest minima), then `lax.top_k`.
  """
  b, n_pad = dist.shape
  chunked = dist.reshape(b, n_pad // _CHUNK, _CHUNK)
  chosen = _smallest_k_indices(jnp.min(chunked, axis=2), min(k, n_pad // _CHUNK))
  candidates = jnp.take_along_axis(chunked, chosen[:, :, None], axis=1).reshape(b, -1)
  return -jax.lax.top_k(-candidates, k)[0]


def bias_cancelling_weights(d: int, k_max: int, powers=(1, 2), k_min: int = 2) -> np.ndarray:
  """Minimum-norm weights over k = k_min..k_max: Σ w_k = 1, Σ w_k Γ(k + l/d)/Γ(k) = 0 (l ∈ powers).

  E[Ĥ_k] − H has terms c_l·Γ(k + l/d)/(Γ(k)·N^{l/d}) (Berrett, Samworth, Yuan 2019, Thm 1 and §3:
  l = 2, 4, … from the curvature of a smooth density; Sricharan, Wei, Hero 2013: l = 1 from the
  boundary of a bounded support), so Σ w_k Ĥ_k has no such terms for l in `powers`.
  """
  ks = np.arange(k_min, k_max + 1, dtype=np.float64)
  rows = [np.ones_like(ks)] + [np.exp(special.gammaln(ks + l / d) - special.gammaln(ks))
                               for l in powers]
  target = np.zeros(len(rows))
  target[0] = 1.0
  return np.linalg.lstsq(np.stack(rows), target, rcond=None)[0]


@functools.partial(jax.jit, static_argnames=("k_max", "block_size"))
def _weighted_kl_entropy(x, k_max, block_size):
  n, d = x.shape
  dtype = x.dtype
  px = _pad_points(x, jnp.inf)
  pxt = px.T

  def block(start, xb):
    del start  # the query itself is the first (distance 0) of the k_max + 1 smallest
    return _smallest_k_sorted(_sq_euclidean(xb, pxt), k_max + 1)[:, 1:]

  # k = 2..k_max (k = 1 is left out: one duplicate sample would make it −inf).
  sq_r = _blocked_rows(block, (x,), block_size)[:, 1:]
  ks = jnp.arange(2, k_max + 1, dtype=dtype)
  log_unit_ball = 0.5 * d * jnp.log(jnp.pi) - gammaln(0.5 * d + 1.0)
  h_k = (digamma(jnp.asarray(n, dtype)) - digamma(ks) + log_unit_ball
         + 0.5 * d * jnp.mean(jnp.log(sq_r), axis=0))
  w = jnp.asarray(bias_cancelling_weights(d, k_max), dtype)
  return _checks.nan_if_nonfinite(jnp.sum(w * h_k), x)


def weighted_kl_entropy(x, k_max: int = 64, *, block_size: int | None = None) -> jax.Array:
  """Bias-cancelling weighted Kozachenko–Leonenko entropy in nats: Ĥ_w = Σ_{k=2}^{k_max} w_k Ĥ_k.

  Ĥ_k is `kl_entropy` with neighbour order k; the weights (`bias_cancelling_weights`) sum to one
  and cancel the first boundary term (k/N)^{1/d} and the first interior term (k/N)^{2/d} of the
  bias (Berrett, Samworth & Yuan 2019 cancel the interior terms l = 2, 4, …; the boundary term
  follows Sricharan, Wei & Hero 2013).

  Bias: consistent, neither bound. Measured at N = 5000, k_max = 64 (mean ± std over 4 seeds, nats
  per dimension): uniform cube +0.003 ± 0.010 at d = 5 (`kl_entropy`: +0.067) and +0.032 ± 0.027
  at d = 10 (+0.145); Gaussians (diagonal, or AR(1) with ρ = 0.9) within 0.02 for d ≤ 5 but +0.06
  to +0.18 high at d = 10, where `kl_entropy` is within 0.05 — cancelling the boundary term
  amplifies the higher-order interior terms. Prefer it for bounded supports in d ≲ 5; its std is
  several times that of `kl_entropy`.

  Cost: O(N²·d) time plus a `lax.top_k` of k_max + 1 over (k_max + 1)·64 candidates per row
  (≈ 10× the time of `kl_entropy` on a CPU at N = 5000), O(block_size·N) memory.

  Args:
    x: samples, shape (N, d) or (N,).
    k_max: largest neighbour order, 4 <= k_max < N (three weights meet the three constraints).
    block_size: query rows per block (default 64 on CPU, 1024 on accelerators).

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.

  References:
    Berrett, Samworth, Yuan, "Efficient multivariate entropy estimation via k-nearest neighbour
    distances", Ann. Statist. 47 (2019), https://arxiv.org/abs/1606.00304; Sricharan, Wei, Hero,
    "Ensemble estimators for multivariate entropy estimation", IEEE Trans. Inf. Theory 59 (2013),
    https://arxiv.org/abs/1203.5829.
  """
  x = _checks.as_samples(x, "x")
  n, _ = x.shape
  _checks.check_k(k_max, n)
  if k_max < 4:
    raise ValueError(f"`k_max` must be >= 4 (orders 2..k_max give the three weights the "
                     f"constraints need), found {k_max}; pass a larger k_max.")
  _checks.check_finite("x", x)
  return _weighted_kl_entropy(x, int(k_max), block_size or default_block_size())
