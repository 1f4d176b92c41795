"""Linear probe and kNN classifier (jaxssl.evaluate.linear_probe, jaxssl.evaluate.knn)."""
import jax
import numpy as np
import pytest
import scipy.optimize
import scipy.special

from jaxssl.evaluate import knn_accuracy, knn_classify, linear_probe

N_TRAIN, N_TEST, DIM, CLASSES = 2000, 1000, 32, 10


def _blobs(seed, n, separation):
  """Gaussian blobs: class c has mean separation·e_c (first CLASSES coordinates), unit noise."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, CLASSES, n)
  x = rng.normal(size=(n, DIM)).astype(np.float32)
  x[np.arange(n), y] += separation
  return x, y


def test_probe_separable_features_reach_99_percent():
  x, y = _blobs(0, N_TRAIN, 12.0)  # margin 12/√2 ≈ 8.5 noise std between any two means
  xt, yt = _blobs(1, N_TEST, 12.0)
  r = linear_probe(x, y, xt, yt, num_classes=CLASSES, key=jax.random.key(0))
  assert r["top1"] >= 99.0
  assert r["train_top1"] >= 99.0
  assert r["val_top1"] >= 99.0
  assert r["top5"] >= r["top1"]
  assert r["weight_decay"] in (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def test_probe_random_labels_is_at_chance():
  x, _ = _blobs(0, N_TRAIN, 12.0)
  xt, _ = _blobs(1, N_TEST, 12.0)
  rng = np.random.default_rng(2)
  y, yt = rng.integers(0, CLASSES, N_TRAIN), rng.integers(0, CLASSES, N_TEST)
  r = linear_probe(x, y, xt, yt, num_classes=CLASSES, key=jax.random.key(0),
                   weight_decays=(1e-3,))
  # Chance is 10 %; 1000 test points give a standard deviation of 0.95 points: band ±4 (≈ 4σ).
  assert 6.0 <= r["top1"] <= 14.0
  # top-5 of 10 classes at chance is 50 % (σ 1.6 points).
  assert 43.0 <= r["top5"] <= 57.0
  assert r["top5"] >= r["top1"]
  assert np.isnan(r["val_top1"]) and r["weight_decay"] == 1e-3


def test_probe_matches_scipy_logistic_regression():
  """Overlapping blobs: the probe's test accuracy is that of the exact L2-regularised optimum."""
  x, y = _blobs(3, N_TRAIN, 2.5)
  xt, yt = _blobs(4, N_TEST, 2.5)
  lam = 1e-3
  r = linear_probe(x, y, xt, yt, num_classes=CLASSES, key=jax.random.key(1),
                   weight_decays=(lam,))

  mean, std = x.mean(0), x.std(0)
  xs, xts = (x - mean) / std, (xt - mean) / std

  def objective(theta):
    w, b = theta[:DIM * CLASSES].reshape(DIM, CLASSES), theta[DIM * CLASSES:]
    logits = xs @ w + b
    logp = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    p = np.exp(logp)
    p[np.arange(len(y)), y] -= 1.0
    grad_w = xs.T @ p / len(y) + lam * w
    value = -logp[np.arange(len(y)), y].mean() + 0.5 * lam * np.sum(w * w)
    return value, np.concatenate([grad_w.ravel(), p.mean(0)])

  theta = scipy.optimize.minimize(objective, np.zeros(DIM * CLASSES + CLASSES), jac=True,
                                  method="L-BFGS-B", options={"maxiter": 2000}).x
  w, b = theta[:DIM * CLASSES].reshape(DIM, CLASSES), theta[DIM * CLASSES:]
  reference = 100.0 * np.mean(np.argmax(xts @ w + b, 1) == yt)
  assert 50.0 < reference < 95.0  # the case is neither trivial nor hopeless
  assert abs(r["top1"] - reference) <= 1.5  # 15 of 1000 test points


def test_probe_is_deterministic_given_the_key():
  x, y = _blobs(3, N_TRAIN, 2.5)
  xt, yt = _blobs(4, N_TEST, 2.5)
  a = linear_probe(x, y, xt, yt, num_classes=CLASSES, key=jax.random.key(1), weight_decays=(1e-3,))
  b = linear_probe(x, y, xt, yt, num_classes=CLASSES, key=jax.random.key(1), weight_decays=(1e-3,))
  np.testing.assert_equal(a, b)  # NaN val_top1 compares equal here


def test_probe_rejects_bad_inputs():
  x, y = _blobs(0, 100, 1.0)
  kw = dict(num_classes=CLASSES, key=jax.random.key(0))
  with pytest.raises(ValueError, match="train_y must have shape"):
    linear_probe(x, y[:-1], x, y, **kw)
  with pytest.raises(ValueError, match="same dimension"):
    linear_probe(x, y, x[:, :5], y, **kw)
  bad = x.copy()
  bad[3, 3] = np.nan
  with pytest.raises(ValueError, match="NaN or inf"):
    linear_probe(bad, y, x, y, **kw)
  with pytest.raises(ValueError, match=r"\[0, num_classes=10\)"):
    linear_probe(x, y + 5, x, y, **kw)
  with pytest.raises(ValueError, match="integer class ids"):
    linear_probe(x, y.astype(np.float32), x, y, **kw)


# --- kNN ---------------------------------------------------------------------------------------


def _numpy_knn_votes(train, labels, test, k, tau, num_classes):
  """solo-learn's WeightedKNNClassifier in NumPy: top-k cosine neighbours vote exp(s/τ)."""
  norm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
  sims = norm(test) @ norm(train).T
  idx = np.argsort(-sims, axis=1)[:, :k]
  votes = np.zeros((len(test), num_classes))
  for i in range(len(test)):
    for j in idx[i]:
      votes[i, labels[j]] += np.exp(sims[i, j] / tau)
  return votes / votes.sum(1, keepdims=True)


def test_knn_k1_on_training_points_returns_their_labels():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(300, 16)).astype(np.float32)
  y = rng.integers(0, 7, 300)
  votes = knn_classify(x, y, x, k=1, num_classes=7)[1]
  np.testing.assert_array_equal(np.argmax(votes, 1), y)
  np.testing.assert_allclose(votes, np.eye(7)[y], atol=1e-6)  # the one neighbour casts every vote


@pytest.mark.parametrize("chunk_size", [1024, 7])  # 7 does not divide 50: the padded last chunk
def test_knn_matches_numpy_reference(chunk_size):
  rng = np.random.default_rng(1)
  train = rng.normal(size=(400, 8)).astype(np.float32)
  labels = rng.integers(0, 6, 400)
  test = rng.normal(size=(50, 8)).astype(np.float32)
  test_y = rng.integers(0, 6, 50)
  votes = knn_classify(train, labels, test, k=(5, 40), temperature=0.1, num_classes=6,
                       chunk_size=chunk_size)
  acc = knn_accuracy(train, labels, test, test_y, k=(5, 40), temperature=0.1, num_classes=6,
                     chunk_size=chunk_size)
  assert sorted(acc) == ["knn_top1_k40", "knn_top1_k5", "knn_top5_k40", "knn_top5_k5"]
  for k in (5, 40):
    ref = _numpy_knn_votes(train, labels, test, k, 0.1, 6)
    np.testing.assert_allclose(votes[k], ref, atol=1e-5)
    order = np.argsort(-ref, axis=1, kind="stable")
    assert acc[f"knn_top1_k{k}"] == pytest.approx(100 * np.mean(order[:, 0] == test_y))
    top5 = 100 * np.mean((order[:, :5] == test_y[:, None]).any(1))
    assert acc[f"knn_top5_k{k}"] == pytest.approx(top5)
    assert acc[f"knn_top5_k{k}"] >= acc[f"knn_top1_k{k}"]


def test_knn_small_temperature_does_not_underflow():
  rng = np.random.default_rng(2)
  train = rng.normal(size=(100, 4)).astype(np.float32)
  labels = rng.integers(0, 3, 100)
  votes = knn_classify(train, labels, train[:10] + 0.5, k=20, temperature=1e-3, num_classes=3)[20]
  assert np.all(np.isfinite(votes))
  np.testing.assert_allclose(votes.sum(1), 1.0, rtol=1e-6)


def test_knn_rejects_bad_inputs():
  x = np.zeros((10, 4), np.float32)
  y = np.zeros(10, np.int32)
  with pytest.raises(ValueError, match="exceeds the 10 training examples"):
    knn_classify(x, y, x, k=20, num_classes=2)
  with pytest.raises(ValueError, match="same D"):
    knn_classify(x, y, x[:, :3], k=1, num_classes=2)
  with pytest.raises(ValueError, match="num_classes=2"):
    knn_classify(x, y + 3, x, k=1, num_classes=2)
