"""Train a critic by maximising a variational MI bound, with a held-out estimate and early stopping.

`train_critic(key, (x, y), ...)` splits a data set into train / validation / test parts, trains
the critic on minibatches of the train part (Adam, one jitted `lax.while_loop` of `lax.scan`
chunks), evaluates the bound on the whole validation part every `eval_every` steps, keeps the
parameters of the best validation value, stops after `patience` evaluations without improvement,
and reports the bound of the kept critic on the **test** part, which neither training nor the
stopping rule has seen. For a fixed critic, NWJ and (in expectation over the partition term) DV
are lower bounds on I(X; Y) on fresh samples, so a held-out value well below the training value
is a sign of over-fitting, not of more information.

The compiled program is cached by (critic, estimator, shapes, steps, batch size, …): a second call
with new data of the same shape, a new key or a new learning rate reuses it (the learning rate is
an input of the program, not a constant).
"""
import functools
import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxssl.estimators import _checks, critic_bounds

ESTIMATORS = {
    "infonce": critic_bounds.infonce,
    "nwj": critic_bounds.nwj,
    "tuba": critic_bounds.tuba,
    "dv": critic_bounds.dv,
    "mine": critic_bounds.mine,
    "js": critic_bounds.js,
    "smile": critic_bounds.smile,
}
# What the held-out value is computed with: MINE is DV with a moving-average gradient, JS's f-GAN
# objective is no MI estimate (its critic is read by the DV formula, as in Poole et al.'s code).
_EVALUATE_WITH = {"mine": "dv", "js": "dv"}


class CriticFit(NamedTuple):
  """What `train_critic` returns (all values in nats).

  estimate: the bound of the kept critic on the test part (fresh batches for a sampler).
  validation: its value on the validation part at the kept step (what early stopping maximised;
    0 when the constant critic was kept).
  params: the kept critic's parameters; `fit.scores(x, y)` scores a new batch with them.
  critic: the Flax module.
  train_curve: per-step training-batch values, shape (steps,); NaN after the stop.
  val_curve: validation values every `eval_every` steps, shape (steps // eval_every,); NaN after.
  best_step: the step whose parameters were kept (0: none beat the constant critic, whose estimate
    0 is returned; `params` are then the initial ones); stop_step: the last step run.
  """
  estimate: jax.Array
  validation: jax.Array
  params: Any
  critic: Any
  train_curve: jax.Array
  val_curve: jax.Array
  best_step: jax.Array
  stop_step: jax.Array

  def scores(self, x, y) -> jax.Array:
    """The trained critic's (N, N) score matrix on a batch."""
    return self.critic.apply(self.params, x, y)


def default_critic():
  """A concatenated critic MLP([x, y]) 16-8 (the Beyond Normal benchmark's protocol)."""
  from jaxssl.estimators.critics import ConcatCritic  # noqa: PLC0415 (lazy Flax import)
  return ConcatCritic(hidden=(16, 8))


def _takes_step(fn) -> bool:
  try:
    return "step" in inspect.signature(fn).parameters
  except (TypeError, ValueError):
    return False


def _resolve(estimator):
  if isinstance(estimator, str):
    if estimator not in ESTIMATORS:
      raise ValueError(f"Unknown estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}.")
    return ESTIMATORS[estimator], ESTIMATORS[_EVALUATE_WITH.get(estimator, estimator)]
  return estimator, estimator


def _split(key, x, y, val_fraction, test_fraction):
  n = x.shape[0]
  n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
  n_train = n - n_val - n_test
  if min(n_val, n_test) < 2 or n_train < 2:
    raise ValueError(
        f"The split leaves too few samples: N = {n} gives {n_train} train, {n_val} validation and "
        f"{n_test} test samples (each needs >= 2); use more samples or other fractions.")
  perm = jax.random.permutation(key, n)
  x, y = x[perm], y[perm]
  return ((x[:n_train], y[:n_train]), (x[n_train:n_train + n_val], y[n_train:n_train + n_val]),
          (x[n_train + n_val:], y[n_train + n_val:]))


def train_critic(key: jax.Array, data, critic=None, estimator="infonce", *, steps: int = 4000,
                 batch_size: int = 256, lr: float = 3e-3, eval_every: int = 200,
                 patience: int | None = 3, val_fraction: float = 0.25,
                 test_fraction: float = 0.25, eval_size: int = 1024,
                 optimizer: optax.GradientTransformation | None = None) -> CriticFit:
  """Fits `critic` by gradient ascent on a variational bound; returns a held-out estimate.

  Example:
    >>> x, y = tasks.beyond_normal_tasks()[20].sample(key, 5000)
    >>> fit = train_critic(key, (x, y), estimator="nwj")
    >>> fit.estimate, fit.best_step, fit.val_curve   # test-part estimate, stopping, curves

  Data: `data = (x, y)`, arrays (N, d_x), (N, d_y) of paired samples, are split at random into
  train / validation / test parts (`val_fraction`, `test_fraction`); each step draws `batch_size`
  train rows without replacement. Or `data` is a jit-able sampler `(key, n[, step]) -> (x, y)`:
  each step draws a fresh batch, and the validation and test sets are `eval_size` fresh samples
  each (a sampler with a `step` parameter receives the step, e.g. for a schedule of true MI; its
  evaluation sets are drawn at the last step).

  Early stopping: every `eval_every` steps the bound is evaluated on the whole validation set;
  the parameters with the best value are kept and training stops after `patience` evaluations
  without improvement (`patience=None`: run all `steps`). The estimate is the kept critic's bound
  on the test set. The candidates include the constant critic f ≡ c, whose value is exactly 0
  under every bound here (InfoNCE, DV, SMILE for any c, NWJ for c = 1): when no checkpoint beats
  0 on validation, the fit reports `best_step = 0` and an estimate of exactly 0 ("no dependence
  the critic could find"), not the test value of an over-fitted critic. This is model selection
  on the validation part, not a clamp of the test value: a kept critic's test value can still be
  below 0 by sampling noise (measured on the suite: experiments/results/estimators/suite.md).

  Heavy tails: on raw (standardised) Student-t data with ν <= 2 the held-out NWJ / DV values of a
  trained critic reached −7 to −319 nats (outliers in the test part give e^f huge); rank-Gaussianise
  the inputs first (`copula.rank_gaussianize`, MI-invariant; `estimate_mi(method='critic')`
  does). `mine` trains with MINE's moving-average gradient and `js` with the f-GAN JS
  objective; both are evaluated with the DV formula.

  Defaults: the Beyond Normal benchmark's protocol (a small concatenated critic 16-8,
  `default_critic()`, batch 256, a held-out half, early stopping every few hundred steps) with
  Adam 3e-3 (the benchmark uses 0.1) and at most 4000 steps; checked on a few suite tasks, not
  tuned by a sweep. The separable 256-256 → 32 critic over-fits 2500 samples once d >= 3. Suite
  results (a smaller budget): experiments/results/estimators/suite.md.

  Compilation: one per (critic, estimator, data shapes, steps, batch size, eval_every, patience,
  optimizer); `lr` and the data are inputs, so repeated calls reuse the compiled program (a
  custom `optimizer` object is part of the cache key: reuse the same object).

  Args:
    key: PRNG key (split, initialisation, batches).
    data: `(x, y)` arrays or a sampler, see above.
    critic: a Flax module with `__call__(x, y) -> (N, N)` scores (`critics`); default
      `default_critic()`.
    estimator: a name in `ESTIMATORS` or a callable `scores -> scalar` to maximise.
    steps: the most training steps, a multiple of `eval_every`.
    batch_size: pairs per step.
    lr: Adam learning rate (ignored when `optimizer` is given).
    eval_every: steps between validation evaluations (and the stopping checks).
    patience: evaluations without improvement before stopping; None: no early stopping.
    val_fraction, test_fraction: parts of a data set held out for stopping and for the estimate.
    eval_size: validation and test samples drawn from a sampler.
    optimizer: an optax transformation to use instead of Adam(lr).

  Returns:
    A `CriticFit` (estimate, validation, params, critic, train_curve, val_curve, best_step,
    stop_step).
  """
  if batch_size < 2 or eval_every < 1 or steps < eval_every or steps % eval_every:
    raise ValueError(
        f"Need batch_size >= 2 and `steps` a positive multiple of `eval_every`; found "
        f"steps={steps}, eval_every={eval_every}, batch_size={batch_size}.")
  if patience is not None and patience < 1:
    raise ValueError(f"`patience` must be >= 1 or None, found {patience}.")
  train_fn, eval_fn = _resolve(estimator)
  critic = default_critic() if critic is None else critic
  key_split, key_run = jax.random.split(key)
  if callable(data):
    sampler, with_step = data, _takes_step(data)
    arrays = None
  else:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
      raise ValueError("`data` must be a pair `(x, y)` of arrays or a sampler `(key, n) -> (x, y)`.")
    x = _checks.as_samples(data[0], "x")
    y = _checks.as_samples(data[1], "y")
    _checks.check_same_n(x, y)
    _checks.check_finite("x", x)
    _checks.check_finite("y", y)
    arrays = _split(key_split, x, y, val_fraction, test_fraction)
    if batch_size > arrays[0][0].shape[0]:
      raise ValueError(f"`batch_size` = {batch_size} exceeds the {arrays[0][0].shape[0]} training "
                       "samples; use a smaller batch or more data.")
    sampler, with_step = None, False
  opt = optimizer if optimizer is not None else _ADAM
  program = _program(critic, train_fn, eval_fn, sampler, with_step, int(steps), int(batch_size),
                     int(eval_every), patience, int(eval_size), opt)
  out = program(key_run, jnp.asarray(lr, jnp.float32), arrays)
  return CriticFit(*out[:3], critic, *out[3:])


_ADAM = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)


@functools.lru_cache(maxsize=64)
def _program(critic, train_fn, eval_fn, sampler, with_step, steps, batch_size, eval_every,
             patience, eval_size, opt):
  """The jitted training program for one configuration (cached: one compilation per shape)."""
  stateful = train_fn is critic_bounds.mine
  n_evals = steps // eval_every

  def objective(scores, state):
    if stateful:
      return critic_bounds.mine(scores, state)
    return train_fn(scores), state

  def draw(k, step, n):
    return sampler(k, n, step=step) if with_step else sampler(k, n)

  def run(key, lr, arrays):
    k_init, k_train, k_val, k_test = jax.random.split(key, 4)
    if arrays is None:
      train = None
      val = draw(k_val, steps - 1, eval_size)
      test = draw(k_test, steps - 1, eval_size)
      x0, y0 = draw(k_init, 0, batch_size)
    else:
      train, val, test = arrays
      x0, y0 = train[0][:batch_size], train[1][:batch_size]
    params = critic.init(k_init, x0, y0)
    opt_state = opt.init(params)
    if hasattr(opt_state, "hyperparams") and "learning_rate" in opt_state.hyperparams:
      opt_state.hyperparams["learning_rate"] = lr
    state0 = critic_bounds.mine_init() if stateful else ()

    def batch(k, step):
      if train is None:
        return draw(k, step, batch_size)
      idx = jax.random.choice(k, train[0].shape[0], (batch_size,), replace=False)
      return train[0][idx], train[1][idx]

    def loss(p, xb, yb, state):
      value, state = objective(critic.apply(p, xb, yb), state)
      return -value, (value, state)

    def train_step(carry, step):
      p, o, state = carry
      xb, yb = batch(jax.random.fold_in(k_train, step), step)
      grads, (value, state) = jax.grad(loss, has_aux=True)(p, xb, yb, state)
      updates, o = opt.update(grads, o, p)
      return (optax.apply_updates(p, updates), o, state), value

    def evaluate(p, split):
      return eval_fn(critic.apply(p, *split))

    def cond(c):
      i, since_best = c[0], c[6]
      go = i < n_evals
      if patience is not None:
        go = go & (since_best < patience)
      return go

    def body(c):
      i, p, o, state, best_p, best_v, since_best, best_i, curve, vals = c
      steps_i = i * eval_every + jnp.arange(eval_every)
      (p, o, state), values = jax.lax.scan(train_step, (p, o, state), steps_i)
      curve = jax.lax.dynamic_update_slice(curve, values, (i * eval_every,))
      v = evaluate(p, val)
      vals = vals.at[i].set(v)
      better = v > best_v  # a NaN validation value never counts as an improvement
      best_p = jax.tree.map(lambda new, old: jnp.where(better, new, old), p, best_p)
      return (i + 1, p, o, state, best_p, jnp.where(better, v, best_v),
              jnp.where(better, 0, since_best + 1), jnp.where(better, i, best_i), curve, vals)

    zero = jnp.zeros((), jnp.int32)
    # The constant critic (best index −1) scores 0 under every bound: a trained checkpoint is kept
    # only when its validation value beats it.
    init = (zero, params, opt_state, state0, params, jnp.zeros((), jnp.float32), zero, zero - 1,
            jnp.full((steps,), jnp.nan, jnp.float32), jnp.full((n_evals,), jnp.nan, jnp.float32))
    i, _, _, _, best_p, best_v, _, best_i, curve, vals = jax.lax.while_loop(cond, body, init)
    estimate = jnp.where(best_i >= 0, evaluate(best_p, test), 0.0)
    return estimate, best_v, best_p, curve, vals, (best_i + 1) * eval_every, i * eval_every

  return jax.jit(run)

