"""Train a critic by maximising a variational MI bound with optax (the loop is one `lax.scan`)."""
import inspect
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from jaxssl.estimators import critic_bounds

ESTIMATORS = {
    "infonce": critic_bounds.infonce,
    "nwj": critic_bounds.nwj,
    "tuba": critic_bounds.tuba,
    "dv": critic_bounds.dv,
    "mine": critic_bounds.mine,
    "js": critic_bounds.js,
    "smile": critic_bounds.smile,
}


def _takes_step(fn) -> bool:
  try:
    return "step" in inspect.signature(fn).parameters
  except (TypeError, ValueError):
    return False


def train_critic(key: jax.Array, sample_fn: Callable, critic, estimator, *, steps: int,
                 batch_size: int, lr: float, eval_batches: int = 16,
                 optimizer: optax.GradientTransformation | None = None):
  """Fits `critic` by gradient ascent on `estimator` and returns the MI estimate and its curve.

  Each step draws a fresh batch `x, y = sample_fn(key, batch_size)` (or
  `sample_fn(key, batch_size, step=step)` if `sample_fn` has a `step` parameter, e.g. for a
  schedule of true MI values), scores it with `critic.apply(params, x, y)` → (N, N), and takes an
  Adam step (or `optimizer`) on −estimator(scores). `mine` carries its moving-average state through
  the loop. The training loop is one jitted `lax.scan`.

  Example:
    >>> sample = lambda k, n: tasks.correlated_gaussian(k, n, d=20, mi=4.0)[:2]
    >>> mi, curve = train_critic(key, sample, SeparableCritic(), "infonce", steps=2000,
    ...                          batch_size=128, lr=5e-4)

  Args:
    key: PRNG key (initialisation, batches, evaluation).
    sample_fn: `(key, batch_size[, step]) -> (x, y)`, a jit-able sampler of positive pairs.
    critic: a Flax module with `__call__(x, y) -> (N, N)` scores (see `critics`).
    estimator: a name in `ESTIMATORS` or a callable `scores -> scalar` to maximise.
    steps: number of training steps.
    batch_size: N pairs per step.
    lr: Adam learning rate (ignored when `optimizer` is given).
    eval_batches: fresh batches the final estimate is averaged over (sampled at the last step).
    optimizer: an optax transformation to use instead of Adam.

  Returns:
    `(estimate, curve)`: the estimator's mean over `eval_batches` fresh batches with the trained
    critic (nats), and the per-step training-batch estimates, shape (steps,).
  """
  if steps < 1 or batch_size < 2 or eval_batches < 1:
    raise ValueError(
        f"Need steps >= 1, batch_size >= 2 and eval_batches >= 1; found steps={steps}, "
        f"batch_size={batch_size}, eval_batches={eval_batches}.")
  if isinstance(estimator, str):
    if estimator not in ESTIMATORS:
      raise ValueError(f"Unknown estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}.")
    estimator = ESTIMATORS[estimator]
  stateful = estimator is critic_bounds.mine
  if stateful:
    def estimate(scores, state):
      return critic_bounds.mine(scores, state)
    init_state = critic_bounds.mine_init()
  else:
    def estimate(scores, state):
      return estimator(scores), state
    init_state = ()

  with_step = _takes_step(sample_fn)

  def sample(k, step):
    return sample_fn(k, batch_size, step=step) if with_step else sample_fn(k, batch_size)

  opt = optimizer if optimizer is not None else optax.adam(lr)
  key_init, key_train, key_eval = jax.random.split(key, 3)
  x0, y0 = sample(key_init, 0)
  params = critic.init(key_init, x0, y0)
  opt_state = opt.init(params)

  def loss(params, x, y, state):
    value, state = estimate(critic.apply(params, x, y), state)
    return -value, (value, state)

  def train_step(carry, inputs):
    params, opt_state, state = carry
    k, step = inputs
    x, y = sample(k, step)
    grads, (value, state) = jax.grad(loss, has_aux=True)(params, x, y, state)
    updates, opt_state = opt.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, state), value

  @jax.jit
  def run(params, opt_state, state):
    keys = jax.random.split(key_train, steps)
    (params, _, state), curve = jax.lax.scan(
        train_step, (params, opt_state, state), (keys, jnp.arange(steps)))

    def evaluate(k):
      x, y = sample(k, steps - 1)
      return estimate(critic.apply(params, x, y), state)[0]

    return jnp.mean(jax.lax.map(evaluate, jax.random.split(key_eval, eval_batches))), curve

  return run(params, opt_state, init_state)
