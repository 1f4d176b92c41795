"""Variational MI bounds from a critic score matrix (Poole et al. 2019; Song & Ermon 2020).

Every estimator takes `scores` of shape (N, N) with `scores[i, j] = f(x_i, y_j)` for a batch of N
pairs (x_i, y_i) ~ p(x, y): the diagonal holds the positive (joint) pairs, and the off-diagonal
entries i ≠ j stand in for samples of the product of marginals p(x)p(y). All values are in nats.
The returned scalar is the MI estimate; maximising it over the critic trains the critic (for `js`
and `smile` the gradient is that of a different training objective, see their docstrings).

Cost: O(N²) for every bound (the critic's own cost is separate).

References:
  Poole, Ozair, van den Oord, Alemi, Tucker, "On Variational Bounds of Mutual Information",
  ICML 2019, https://arxiv.org/abs/1905.06922.
  Song, Ermon, "Understanding the Limitations of Variational Mutual Information Estimators",
  ICLR 2020, https://arxiv.org/abs/1910.06222.
  Belghazi et al., "Mutual Information Neural Estimation", ICML 2018,
  https://arxiv.org/abs/1801.04062.
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks
from jaxssl.parallel import collectives as dist

sg = jax.lax.stop_gradient


def _as_float(a):
  return a.astype(_checks.float_dtype(a))


def _off_diagonal_logmeanexp(scores: jax.Array) -> jax.Array:
  """log of the mean of exp(scores[i, j]) over the N(N − 1) entries with i ≠ j."""
  n = scores.shape[0]
  masked = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, scores)
  return jax.nn.logsumexp(masked) - jnp.log(n * (n - 1.0))


def _joint_mean(scores: jax.Array) -> jax.Array:
  return jnp.mean(jnp.diagonal(scores))


def infonce(scores: jax.Array, *, axis_name=None) -> jax.Array:
  """InfoNCE (contrastive predictive coding) lower bound on I(X; Y), in nats.

  Î_NCE = log N + (1/N) Σ_i [f(x_i, y_i) − logsumexp_j f(x_i, y_j)]   (Poole et al. 2019).

  Bias: a lower bound on I(X; Y) in expectation (for any critic), and never above log N: each row
  term is ≤ 0, so Î ≤ log N (high bias when the true MI exceeds log N, low variance). The optimal
  critic is f(x, y) = log p(y|x) + c(y). Cost O(N²) (O(n·N) per shard with `axis_name`).

  Distributed: with `axis_name` (inside `shard_map`/`pmap`) `scores` holds this shard's rows
  against the global batch, shape (n, n·S) for S shards, scores[a, j] = f(x_{o+a}, y_j) with
  o = axis_index·n, so the positives sit at columns o + a (global negatives; gather the y
  embeddings with a plain `jax.lax.all_gather`). The value and the parameter gradients then equal
  those of the full (nS, nS) matrix, with the reductions of `logdet_entropy`.

  Example:
    >>> scores = critic(x, y)          # (N, N)
    >>> mi = infonce(scores)           # maximise over the critic's parameters

  Args:
    scores: critic scores, (N, N), or (n, n·S) with `axis_name`.
    axis_name: mapped axis of the batch shards, or None.

  Returns:
    A scalar MI estimate in nats.
  """
  scores = _checks.check_scores(scores, square=axis_name is None)
  if axis_name is not None:
    shards = dist.num_shards(axis_name)
    if scores.shape[1] != scores.shape[0] * shards:
      raise ValueError(
          f"With axis_name, `scores` must hold this shard's rows against the global batch, shape "
          f"(n, n * {shards}), found {scores.shape}.")
  return _infonce(scores, axis_name)


@functools.partial(jax.jit, static_argnames="axis_name")
def _infonce(scores, axis_name):
  scores = _as_float(scores)
  n_local, n_total = scores.shape
  if axis_name is None:
    positives = jnp.diagonal(scores)
  else:
    offset = jax.lax.axis_index(axis_name) * n_local
    cols = offset + jnp.arange(n_local)
    positives = jnp.take_along_axis(scores, cols[:, None], axis=1)[:, 0]
  row_terms = positives - jax.nn.logsumexp(scores, axis=1)
  total = jnp.sum(row_terms)
  if axis_name is not None:
    total = dist.global_sum(total, axis_name)
  value = jnp.log(n_total) + total / n_total
  return value if axis_name is None else dist.replicated(value, axis_name)


def tuba(scores: jax.Array, log_baseline: jax.Array | None = None) -> jax.Array:
  """Tractable unnormalised Barber–Agakov (TUBA) lower bound on I(X; Y), in nats.

  Î_TUBA = 1 + E_p[f(x, y) − log a(y)] − E_{p(x)p(y)}[e^{f(x, y)} / a(y)]   (Poole et al. 2019),

  with E_p over the diagonal and E_{p(x)p(y)} over the off-diagonal entries; the baseline a(y_j) > 0
  applies to column j (the y of each pair), given as `log_baseline` of shape (N,), default a = 1.

  Bias: unbiased estimate of a lower bound on I(X; Y) for any critic and baseline, tight at
  f(x, y) = log a(y) + log p(x, y)/(p(x)p(y)); high variance when the MI is large, as E e^f must be
  estimated from the off-diagonal pairs. Cost O(N²).

  Args:
    scores: (N, N) critic scores.
    log_baseline: log a(y_j) per column, shape (N,), or None for a = 1.

  Returns:
    A scalar MI estimate in nats.
  """
  scores = _checks.check_scores(scores)
  if log_baseline is not None:
    log_baseline = jnp.asarray(log_baseline)
    if log_baseline.shape != (scores.shape[1],):
      raise ValueError(
          f"`log_baseline` must have shape ({scores.shape[1]},) (one log a(y_j) per column), found "
          f"{log_baseline.shape}.")
    _checks.check_finite("log_baseline", log_baseline)
  return _tuba(scores, log_baseline)


@jax.jit
def _tuba(scores, log_baseline):
  scores = _as_float(scores)
  if log_baseline is not None:
    scores = scores - log_baseline.astype(scores.dtype)[None, :]
  return 1.0 + _joint_mean(scores) - jnp.exp(_off_diagonal_logmeanexp(scores))


def nwj(scores: jax.Array) -> jax.Array:
  """Nguyen–Wainwright–Jordan (NWJ, f-GAN KL, "MINE-f") lower bound on I(X; Y), in nats.

  Î_NWJ = E_p[f(x, y)] − e^{−1} E_{p(x)p(y)}[e^{f(x, y)}]   (TUBA with a(y) = e).

  Bias: unbiased estimate of a lower bound for any critic; tight at f = 1 + log p(x, y)/(p(x)p(y)).
  Variance grows exponentially with the true MI. Cost O(N²).
  """
  return _nwj(_checks.check_scores(scores))


@jax.jit
def _nwj(scores):
  scores = _as_float(scores)
  return _joint_mean(scores) - jnp.exp(_off_diagonal_logmeanexp(scores) - 1.0)


def dv(scores: jax.Array) -> jax.Array:
  """Donsker–Varadhan estimate of I(X; Y), in nats.

  Î_DV = E_p[f(x, y)] − log E_{p(x)p(y)}[e^{f(x, y)}]   (Donsker & Varadhan 1983).

  Bias: a lower bound on I(X; Y) in the population (tight at f = log p(x, y)/(p(x)p(y)) + c), but
  the batch estimate is biased *upwards* (log of a sample mean, Jensen), so it is not a lower bound
  at finite N ("dv_upper_lower_bound" in Poole et al.'s code). Cost O(N²).
  """
  return _dv(_checks.check_scores(scores))


@jax.jit
def _dv(scores):
  scores = _as_float(scores)
  return _joint_mean(scores) - _off_diagonal_logmeanexp(scores)


class MineState(NamedTuple):
  """Moving average of the partition term E_{p(x)p(y)} e^f for `mine` (log space)."""
  log_ema: jax.Array  # log of the (not yet bias-corrected) exponential moving average
  count: jax.Array  # number of updates so far


def mine_init() -> MineState:
  """The initial `MineState` (an empty moving average)."""
  return MineState(log_ema=jnp.array(-jnp.inf, jnp.float32), count=jnp.array(0, jnp.int32))


def mine(scores: jax.Array, state: MineState, *, momentum: float = 0.99
         ) -> tuple[jax.Array, MineState]:
  """MINE: the DV estimate with a moving-average-corrected gradient (Belghazi et al. 2018).

  Value: Î = E_p[f] − log E_{p(x)p(y)}[e^f] on the batch (as `dv`). Gradient:
  ∇E_p[f] − ∇E_{p(x)p(y)}[e^f] / m̂, with m̂ the bias-corrected exponential moving average (rate
  1 − `momentum`, current batch included) of the batch partition term E_{p(x)p(y)}[e^f], which
  reduces the bias of the DV gradient (whose denominator is otherwise the batch's own estimate).

  Bias: as `dv` (lower bound in the population, biased upwards at finite N). Cost O(N²).

  Example:
    >>> state = mine_init()
    >>> mi, state = mine(critic(x, y), state)

  Args:
    scores: (N, N) critic scores.
    state: the `MineState` from the previous step (`mine_init()` at the start).
    momentum: moving-average decay (MINE uses 0.99, i.e. rate α = 0.01).

  Returns:
    `(estimate, new_state)`.
  """
  return _mine(_checks.check_scores(scores), state, momentum)


@jax.jit
def _mine(scores, state, momentum):
  scores = _as_float(scores)
  log_partition = _off_diagonal_logmeanexp(scores)  # live
  log_ema = jnp.logaddexp(jnp.log(momentum) + state.log_ema.astype(scores.dtype),
                          jnp.log1p(-momentum) + sg(log_partition))
  count = state.count + 1
  log_ema_hat = log_ema - jnp.log1p(-momentum**count.astype(scores.dtype))
  surrogate = jnp.exp(log_partition - sg(log_ema_hat))  # gradient ∇E e^f / m̂, value irrelevant
  value = _joint_mean(scores) - sg(log_partition) - (surrogate - sg(surrogate))
  return value, MineState(log_ema=log_ema.astype(state.log_ema.dtype), count=count)


def _js_fgan(scores: jax.Array) -> jax.Array:
  """f-GAN lower bound on a Jensen–Shannon-type divergence: −E_p softplus(−f) − E_q softplus(f)."""
  n = scores.shape[0]
  diag = jnp.diagonal(scores)
  joint = -jnp.mean(jax.nn.softplus(-diag))
  marginal = (jnp.sum(jax.nn.softplus(scores)) - jnp.sum(jax.nn.softplus(diag))) / (n * (n - 1.0))
  return joint - marginal


def js(scores: jax.Array) -> jax.Array:
  """MI estimate from a critic trained with the Jensen–Shannon f-GAN objective, in nats.

  Gradient: that of the f-GAN JS objective −E_p softplus(−f) − E_{p(x)p(y)} softplus(f) (Nowozin et
  al. 2016), whose maximiser is f* = log p(x, y)/(p(x)p(y)). Value: the NWJ bound evaluated at
  f + 1, i.e. 1 + E_p f − E_{p(x)p(y)} e^f (Poole et al. 2019, "I_JS": the JS critic plugged into
  NWJ as f_NWJ = 1 + f_JS), which equals I(X; Y) at f*. (Poole et al.'s colab evaluates NWJ at f
  itself, which at f* gives I − 1/e.)

  Bias: a lower bound for any critic (it is a TUBA/NWJ bound); the JS-trained critic has lower
  variance than NWJ training. Cost O(N²).
  """
  return _js(_checks.check_scores(scores))


@jax.jit
def _js(scores):
  scores = _as_float(scores)
  estimate = 1.0 + _joint_mean(scores) - jnp.exp(_off_diagonal_logmeanexp(scores))
  objective = _js_fgan(scores)
  return objective + sg(estimate - objective)


def smile(scores: jax.Array, clip: float | None = 5.0) -> jax.Array:
  """SMILE estimate of I(X; Y), in nats (Song & Ermon 2020).

  Value: E_p[f] − log E_{p(x)p(y)}[clip(e^f, e^−τ, e^τ)] (DV with the partition term's density
  ratio clipped to [e^−τ, e^τ], τ = `clip`; `clip=None` gives DV). Gradient: that of the f-GAN JS
  objective (as in the authors' code), whose maximiser is f* = log p(x, y)/(p(x)p(y)).

  Bias: clipping trades variance for bias: the estimate's variance is bounded (by ~e^{2τ}/N) but it
  is biased once the density ratio leaves [e^−τ, e^τ] (MI ≳ τ): raising ratios below e^−τ
  inflates the partition term and lowers Î, capping ratios above e^τ raises it. Not a bound; as
  τ → ∞ it becomes DV. Cost O(N²).
  """
  return _smile(_checks.check_scores(scores), clip)


@jax.jit
def _smile(scores, clip):
  scores = _as_float(scores)
  clipped = scores if clip is None else jnp.clip(scores, -clip, clip)
  estimate = _joint_mean(scores) - _off_diagonal_logmeanexp(clipped)
  objective = _js_fgan(scores)
  return objective + sg(estimate - objective)


def barber_agakov(log_q: jax.Array, entropy_x) -> jax.Array:
  """Barber–Agakov lower bound I(X; Y) ≥ H(X) + E_p[log q(x|y)], in nats.

  Args:
    log_q: log q(x_i | y_i) of a decoder at the N positive pairs, shape (N,).
    entropy_x: the (known) entropy H(X) in nats.

  Bias: a lower bound for any decoder q (tight at q = p(x|y)); unbiased estimate of it. Cost O(N).

  References:
    Barber, Agakov, "The IM algorithm: a variational approach to information maximization",
    NeurIPS 2003.
  """
  log_q = jnp.asarray(log_q)
  if log_q.ndim != 1 or log_q.shape[0] == 0:
    raise ValueError(f"`log_q` must have shape (N,) with N >= 1, found {log_q.shape}.")
  _checks.check_finite("log_q", log_q)
  return _barber_agakov(log_q, entropy_x)


@jax.jit
def _barber_agakov(log_q, entropy_x):
  log_q = _as_float(log_q)
  return jnp.asarray(entropy_x, log_q.dtype) + jnp.mean(log_q)
