"""Linear probe: multinomial logistic regression on frozen features (SSL linear evaluation).

The caller extracts features once. The probe standardises them with the training mean and standard
deviation and fits logits = x Wᵀ + b (no batch norm, no augmentation) by minimising

  L(W, b) = (1/N) Σ_i −log softmax(x_i Wᵀ + b)_{y_i} + (λ/2) ‖W‖²_F

with minibatch Adam on a cosine learning-rate schedule, the whole loop one jitted `lax.scan`. The
weight decay λ is picked from a small grid by top-1 on a held-out slice of the training set (all
grid values are trained at once as one stacked (G·C, D) matrix, so a grid of 6 costs about twice
one fit), and the chosen λ is refitted on the whole training set.

Why Adam and not L-BFGS: on Fashion-MNIST random-ReLU features (60k×512, 10 classes, 2 CPU cores)
10 epochs of Adam (batch 1024, lr 1e-2) reach 85.5 % test top-1 in ~1 s of CPU time, while
full-batch `optax.lbfgs` needs ~100 ms per iteration and 100 iterations (10 s) for 85.4 %; 300
iterations (50 s) reach a lower objective at the same test accuracy.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

DEFAULT_WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _check_shapes(train_x, train_y, test_x, test_y, num_classes):
  if num_classes < 2:
    raise ValueError(f"num_classes must be >= 2, found {num_classes}.")
  if train_x.ndim != 2 or test_x.ndim != 2:
    raise ValueError(f"Features must be (N, D) arrays, found train_x {train_x.shape} and test_x "
                     f"{test_x.shape}; flatten the encoder output first.")
  if train_x.shape[1] != test_x.shape[1]:
    raise ValueError(f"Train and test features must have the same dimension D, found "
                     f"{train_x.shape[1]} and {test_x.shape[1]}.")
  for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
    if y.shape != (x.shape[0],):
      raise ValueError(f"{name}_y must have shape ({x.shape[0]},) to match {name}_x {x.shape}, "
                       f"found {y.shape}.")
    if not jnp.issubdtype(y.dtype, jnp.integer):
      raise ValueError(f"{name}_y must hold integer class ids, found dtype {y.dtype}.")
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
      raise ValueError(f"{name}_x must be numeric, found dtype {x.dtype}.")
  if train_x.shape[0] < 2 or test_x.shape[0] < 1:
    raise ValueError(f"Need at least 2 training and 1 test example, found {train_x.shape[0]} and "
                     f"{test_x.shape[0]}.")


@functools.partial(jax.jit, static_argnames=("n_val",))
def _prepare(train_x, train_y, test_x, test_y, key, *, n_val):
  """Checks, standardisation with the train statistics, and a random held-out split, in one jit."""
  train_x, test_x = train_x.astype(jnp.float32), test_x.astype(jnp.float32)
  train_y, test_y = train_y.astype(jnp.int32), test_y.astype(jnp.int32)
  checks = {"finite": jnp.all(jnp.isfinite(train_x)) & jnp.all(jnp.isfinite(test_x)),
            "lo": jnp.minimum(jnp.min(train_y), jnp.min(test_y)),
            "hi": jnp.maximum(jnp.max(train_y), jnp.max(test_y))}
  mean = jnp.mean(train_x, axis=0)
  scale = 1.0 / jnp.maximum(jnp.std(train_x, axis=0), 1e-6)
  x, xt = (train_x - mean) * scale, (test_x - mean) * scale
  order = jnp.argsort(jax.random.uniform(key, (x.shape[0],)))  # a permutation; compiles faster
  val, fit = order[:n_val], order[n_val:]
  return checks, (x, train_y), (xt, test_y), (x[fit], train_y[fit]), (x[val], train_y[val])


def _logits(params, x, num_classes):
  """Stacked heads: params w (G, C, D), b (G, C) -> logits (N, G, C)."""
  g, _, d = params["w"].shape
  return (x @ params["w"].reshape(g * num_classes, d).T).reshape(-1, g, num_classes) + params["b"]


def _loss(params, x, y, wds, num_classes):
  """Σ_g [mean CE of head g + (λ_g/2)‖W_g‖²]; separable, so its gradient trains each head alone."""
  logp = jax.nn.log_softmax(_logits(params, x, num_classes), axis=-1)
  nll = -jnp.take_along_axis(logp, y[:, None, None], axis=-1)[..., 0]  # (B, G)
  reg = 0.5 * wds * jnp.sum(params["w"] ** 2, axis=(1, 2))  # (G,)
  return jnp.sum(jnp.mean(nll, axis=0) + reg)


@functools.partial(jax.jit, static_argnames=("num_classes", "steps", "batch_size"))
def _fit(x, y, wds, key, *, num_classes, steps, batch_size, learning_rate):
  """`steps` of Adam with a cosine schedule on minibatches drawn uniformly with replacement."""
  opt = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))
  # W stored as (G, C, D): its gradient is then gᵀx, ~1.5x faster on XLA:CPU than xᵀg for (D, C).
  params = {"w": jnp.zeros((wds.shape[0], num_classes, x.shape[1]), jnp.float32),
            "b": jnp.zeros((wds.shape[0], num_classes), jnp.float32)}
  grad_fn = jax.grad(_loss)

  def step(carry, idx):
    params, state = carry
    updates, state = opt.update(grad_fn(params, x[idx], y[idx], wds, num_classes), state, params)
    return (optax.apply_updates(params, updates), state), None

  batches = jax.random.randint(key, (steps, batch_size), 0, x.shape[0])
  (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), batches)
  return params


@functools.partial(jax.jit, static_argnames=("num_classes",))
def _evaluate(params, x, y, *, num_classes):
  """Top-1 and top-5 hit counts and mean cross-entropy of each stacked head, each shape (G,).

  Ties between equal logits go to the lower class id (as `lax.top_k`).
  """
  logits = _logits(params, x, num_classes)
  _, top = jax.lax.top_k(logits, min(5, num_classes))  # (N, G, 5)
  hit = top == y[:, None, None]
  top1 = jnp.sum(hit[..., 0], axis=0)
  top5 = jnp.sum(jnp.any(hit, axis=-1), axis=0)
  logp = jax.nn.log_softmax(logits, axis=-1)
  nll = -jnp.mean(jnp.take_along_axis(logp, y[:, None, None], axis=-1)[..., 0], axis=0)
  return top1, top5, nll


def linear_probe(train_x, train_y, test_x, test_y, *, num_classes: int, key: jax.Array,
                 weight_decays=DEFAULT_WEIGHT_DECAYS, val_fraction: float = 0.1,
                 epochs: int = 10, batch_size: int = 1024, learning_rate: float = 1e-2,
                 min_steps: int = 200) -> dict[str, float]:
  """Linear (multinomial logistic) probe on frozen features; accuracies in percent (0–100).

  Minimises mean CE + (λ/2)‖W‖² on standardised features (train mean/std) with Adam; λ is chosen
  from `weight_decays` by top-1 on a held-out `val_fraction` of the training set (ties: lower CE),
  then refitted on all training data. Linear evaluation as in Kolesnikov et al. 2019 / SimCLR
  (Chen et al. 2020, appendix B.5: L2-regularised logistic regression, λ from a validation split).

  Example:
    >>> r = linear_probe(ftr, ytr, fte, yte, num_classes=10, key=jax.random.key(0))
    >>> r["top1"], r["top5"]

  Args:
    train_x, test_x: features, shape (N, D), any real dtype, NumPy or JAX.
    train_y, test_y: integer labels in [0, num_classes), shape (N,).
    num_classes: number of classes C.
    key: PRNG key for the validation split and the minibatch order.
    weight_decays: grid of λ; a single value skips the validation split.
    val_fraction: share of the training set held out to pick λ.
    epochs: length of training, in passes over the data: epochs·N/batch_size Adam steps on
      minibatches drawn uniformly with replacement.
    batch_size, learning_rate: minibatch size and peak learning rate (cosine decay to 0).
    min_steps: at least this many steps, however small the training set.

  Returns:
    dict with `top1`, `top5` (test, %), `train_top1` (%), `val_top1` (held-out top-1 of the
    chosen λ, NaN without a grid) and `weight_decay` (the chosen λ).
  """
  train_x, test_x = jnp.asarray(train_x), jnp.asarray(test_x)
  train_y, test_y = jnp.asarray(train_y), jnp.asarray(test_y)
  _check_shapes(train_x, train_y, test_x, test_y, num_classes)
  wds = tuple(float(w) for w in weight_decays)
  if not wds or min(wds) < 0:
    raise ValueError(f"weight_decays must be a non-empty grid of values >= 0, found {wds}.")
  n_val = int(round(val_fraction * train_x.shape[0])) if len(wds) > 1 else 0
  if len(wds) > 1 and not 1 <= n_val < train_x.shape[0]:
    raise ValueError(f"val_fraction={val_fraction} leaves no validation or no training example "
                     f"out of {train_x.shape[0]}; pass one weight decay for tiny data sets.")
  split_key, fit_key, final_key = jax.random.split(key, 3)
  checks, (x, y), (xt, yt), fit_set, val_set = _prepare(train_x, train_y, test_x, test_y,
                                                        split_key, n_val=n_val)
  if not bool(checks["finite"]):
    raise ValueError("Features hold NaN or inf values: the encoder diverged or the features were "
                     "not extracted correctly.")
  if int(checks["lo"]) < 0 or int(checks["hi"]) >= num_classes:
    raise ValueError(f"Labels must lie in [0, num_classes={num_classes}), found range "
                     f"[{int(checks['lo'])}, {int(checks['hi'])}].")

  def fit(x, y, wds, key):
    bs = min(batch_size, x.shape[0])
    steps = max(min_steps, epochs * x.shape[0] // bs)
    return _fit(x, y, jnp.asarray(wds, jnp.float32), key, num_classes=num_classes, steps=steps,
                batch_size=bs, learning_rate=learning_rate)

  val_top1 = float("nan")
  if len(wds) > 1:
    params = fit(*fit_set, wds, fit_key)
    hits, _, nll = _evaluate(params, *val_set, num_classes=num_classes)
    best = int(np.lexsort((np.asarray(nll), -np.asarray(hits)))[0])
    val_top1, wds = 100.0 * int(hits[best]) / n_val, (wds[best],)

  params = fit(x, y, wds, final_key)
  top1, top5, _ = _evaluate(params, xt, yt, num_classes=num_classes)
  train_top1, _, _ = _evaluate(params, x, y, num_classes=num_classes)
  pct = lambda hits, n: 100.0 * int(hits[0]) / n
  return {"top1": pct(top1, xt.shape[0]), "top5": pct(top5, xt.shape[0]),
          "train_top1": pct(train_top1, x.shape[0]), "val_top1": val_top1,
          "weight_decay": wds[0]}
