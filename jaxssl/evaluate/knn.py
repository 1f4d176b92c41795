"""Weighted k-nearest-neighbour classifier on frozen features (Wu et al. 2018, InstDisc).

Each test feature votes with its k most cosine-similar training features, neighbour j weighing
exp(s_j/τ) for the class y_j; the class with the largest vote wins. This is the kNN monitor of
InstDisc and solo-learn (k = 20 and 200, τ = 0.07). Test rows are processed in chunks, so memory is
O(chunk_size · N_train), never (N_test, N_train) at once.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np


def _normalise(x):
  x = x.astype(jnp.float32)
  return x / jnp.maximum(jnp.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@functools.partial(jax.jit, static_argnames=("ks", "num_classes", "chunk_size"))
def _knn_votes(train_x, train_y, test_x, temperature, *, ks, num_classes, chunk_size):
  train = _normalise(train_x)
  test = _normalise(test_x)
  n_test = test.shape[0]
  n_chunks = -(-n_test // chunk_size)
  test = jnp.pad(test, ((0, n_chunks * chunk_size - n_test), (0, 0)))
  k_max = max(ks)
  rows = jnp.arange(chunk_size)[:, None]

  def chunk(q):
    sims, idx = jax.lax.top_k(q @ train.T, k_max)  # descending cosine similarity
    # exp((s − s_max)/τ) ∝ exp(s/τ): no overflow or underflow to 0 for small τ; normalised below.
    # (A max-reduction, not sims[:, :1]: XLA:CPU turns that slice of top_k into a 50x slower sort.)
    weights = jnp.exp((sims - jnp.max(sims, axis=1, keepdims=True)) / temperature)
    labels = train_y[idx]
    out = []
    for k in ks:
      w = jnp.where(jnp.arange(k_max) < k, weights, 0.0)
      votes = jnp.zeros((chunk_size, num_classes), jnp.float32).at[rows, labels].add(w)
      out.append(votes / jnp.sum(votes, axis=1, keepdims=True))
    return jnp.stack(out)

  votes = jax.lax.map(chunk, test.reshape(n_chunks, chunk_size, -1))  # (chunks, K, chunk, C)
  return jnp.moveaxis(votes, 1, 0).reshape(len(ks), -1, num_classes)[:, :n_test]


def _as_ks(k) -> tuple[int, ...]:
  ks = (int(k),) if isinstance(k, (int, np.integer)) else tuple(int(v) for v in k)
  if not ks or min(ks) < 1:
    raise ValueError(f"k must be a positive int or a non-empty sequence of them, found {k!r}.")
  return ks


def usable_k(ks: Sequence[int], num_train: int) -> tuple[tuple[int, ...], str]:
  """The neighbour counts a training split of `num_train` rows allows, and a note if any changed.

  Each k larger than the split becomes `num_train` (every training row votes); duplicates are
  dropped, the order kept. The note says what was changed and why ('' when nothing was), for the
  evaluation report: a small folder of images is how most users try a tool first.

  >>> usable_k((20, 200), 72)
  ((20, 72), 'kNN k=200 > the 72 training images: used k=72')
  """
  ks = _as_ks(ks)
  usable = tuple(dict.fromkeys(min(k, num_train) for k in ks))
  clipped = [k for k in ks if k > num_train]
  note = ''
  if clipped:
    note = (f"kNN k={', '.join(map(str, clipped))} > the {num_train} training images: used "
            f'k={num_train}')
  return usable, note


def knn_classify(train_x, train_y, test_x, *, k: int | Sequence[int] = (20, 200),
                 temperature: float = 0.07, num_classes: int,
                 chunk_size: int = 1024) -> dict[int, jax.Array]:
  """Temperature-weighted cosine kNN votes for each test row and each k.

  votes_k(x)_c = Σ_{j ∈ N_k(x), y_j = c} exp(s_j/τ) / Σ_{j ∈ N_k(x)} exp(s_j/τ),
  s_j = cos(x, x_j), N_k(x) the k training rows of largest s_j (Wu et al. 2018, eq. 8;
  solo-learn `WeightedKNNClassifier`).

  Example:
    >>> votes = knn_classify(ftr, ytr, fte, num_classes=10)
    >>> predictions = jnp.argmax(votes[200], axis=1)

  Args:
    train_x: training features, shape (N, D).
    train_y: integer labels in [0, num_classes), shape (N,).
    test_x: query features, shape (M, D).
    k: neighbour count(s), each <= N.
    temperature: τ of the vote weights.
    num_classes: number of classes C.
    chunk_size: test rows per chunk; peak memory ≈ chunk_size · N floats.

  Returns:
    dict k -> votes of shape (M, C), each row summing to 1 (the normalised weighted vote).
  """
  train_x, test_x, train_y = jnp.asarray(train_x), jnp.asarray(test_x), jnp.asarray(train_y)
  if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
    raise ValueError(f"Features must be (N, D) and (M, D) arrays with the same D, found train_x "
                     f"{train_x.shape} and test_x {test_x.shape}.")
  if train_y.shape != (train_x.shape[0],) or not jnp.issubdtype(train_y.dtype, jnp.integer):
    raise ValueError(f"train_y must be integer labels of shape ({train_x.shape[0]},), found "
                     f"{train_y.dtype} {train_y.shape}.")
  ks = _as_ks(k)
  if max(ks) > train_x.shape[0]:
    raise ValueError(f"k={max(ks)} exceeds the {train_x.shape[0]} training examples.")
  if temperature <= 0:
    raise ValueError(f"temperature must be > 0, found {temperature}.")
  if int(jnp.min(train_y)) < 0 or int(jnp.max(train_y)) >= num_classes:
    raise ValueError(f"train_y must lie in [0, num_classes={num_classes}), found range "
                     f"[{int(jnp.min(train_y))}, {int(jnp.max(train_y))}].")
  chunk_size = max(1, min(chunk_size, test_x.shape[0]))
  votes = _knn_votes(train_x, train_y.astype(jnp.int32), test_x, jnp.float32(temperature),
                     ks=ks, num_classes=num_classes, chunk_size=chunk_size)
  return {k: votes[i] for i, k in enumerate(ks)}


def knn_accuracy(train_x, train_y, test_x, test_y, *, k: int | Sequence[int] = (20, 200),
                 temperature: float = 0.07, num_classes: int,
                 chunk_size: int = 1024) -> dict[str, float]:
  """Top-1 and top-5 accuracy (%) of the weighted cosine kNN classifier (see `knn_classify`).

  Ties between equal votes go to the lower class id (as `lax.top_k`).

  Returns:
    {'knn_top1_k{k}': %, 'knn_top5_k{k}': %} for each k.
  """
  test_y = jnp.asarray(test_y)
  if test_y.shape != (jnp.shape(test_x)[0],):
    raise ValueError(f"test_y must have shape ({jnp.shape(test_x)[0]},), found {test_y.shape}.")
  votes = knn_classify(train_x, train_y, test_x, k=k, temperature=temperature,
                       num_classes=num_classes, chunk_size=chunk_size)
  out = {}
  for kk, v in votes.items():
    _, top = jax.lax.top_k(v, min(5, num_classes))
    hit = top == test_y[:, None]
    out[f"knn_top1_k{kk}"] = 100.0 * int(jnp.sum(hit[:, 0])) / hit.shape[0]
    out[f"knn_top5_k{kk}"] = 100.0 * int(jnp.sum(jnp.any(hit, axis=1))) / hit.shape[0]
  return out
