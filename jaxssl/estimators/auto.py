"""`estimate_mi(x, y, method='auto')`: one call that picks an MI estimator by a rule on the data."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.estimators import _checks, copula, gaussian, knn

METHODS = ("auto", "gaussian", "copula", "ksg", "ksg_euclidean", "ksg_copula", "ksg_norms",
           "critic")


class MIEstimate(NamedTuple):
  """value: the estimate in nats; method: the method that produced it; candidates: every value the
  rule looked at, by method name."""
  value: float
  method: str
  candidates: dict


def _validate(x, y):
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  n, d = x.shape[0], x.shape[1] + y.shape[1]
  for name, a in (("x", x), ("y", y)):
    a_np = np.asarray(a)
    bad = int(np.sum(~np.isfinite(a_np)))
    if bad:
      raise ValueError(f"estimate_mi: `{name}` holds {bad} non-finite value(s) (NaN or inf); "
                       "filter or impute them first.")
    const = np.flatnonzero(np.ptp(a_np, axis=0) == 0)
    if const.size:
      raise ValueError(f"estimate_mi: column(s) {const.tolist()} of `{name}` are constant (they "
                       "carry no information and make the covariance singular); drop them.")
  if d >= n:
    raise ValueError(f"estimate_mi: needs more samples than dimensions, found N = {n} and "
                     f"d_x + d_y = {d}; use more samples or reduce the dimension first.")
  return x, y


def estimate_mi(x, y, method: str = "auto", *, k: int = 3, key: jax.Array | None = None,
                **critic_kwargs) -> MIEstimate:
  """Estimates I(X; Y) in nats with `method`; `'auto'` picks by a rule that uses only the data.

  The rule (`method='auto'`): both variables are rank-Gaussianised per coordinate
  (`copula.rank_gaussianize`, g(x)_ij = Φ⁻¹(rank/(N + 1)), which leaves the MI unchanged), then
  three estimates are computed on the normal scores g(x), g(y):
    * "copula" G = Gaussian MI with the Wishart bias correction (`gaussian_copula_mi`): exact
      when the copula of (X, Y) is Gaussian (any monotone marginals), otherwise typically low (it
      sees only the scores' covariance; ≈ 0 for the Student-t tasks, which have none);
    * "ksg_copula" K = KSG, k = `k`, Euclidean within-space norms (`ksg_mi(...,
      metric="euclidean")`): consistent for any dependence, biased *low* in dimension at finite
      N (≈ unbiased in 1–2 dimensions);
    * "ksg_norms" R = KSG of the 1-D norms ‖g(x)‖, ‖g(y)‖ (each rank-Gaussianised again): by the
      data-processing inequality I(‖g(X)‖; ‖g(Y)‖) ≤ I(X; Y), and a 1-D KSG is nearly unbiased,
      so R is a low-dimensional lower estimate. It captures dependence through a shared scale
      (scale mixtures such as the multivariate t, common volatility), where G ≈ 0 and K carries
      the dimension bias; elsewhere it is far below the other two and never chosen.
  All three err low (in population G can exceed I only for non-Gaussian copulas with strong
  linear correlation, which none of the suite's tasks has), so the rule returns max(G, K, R) and
  names the one that won. Caveat: R was added after the suite showed the Student-t failures of
  max(G, K) (34 of 39 within ×1.5; max(G, K, R): see experiments/results/estimators/suite.md);
  the rule has not been validated on a second, independent suite. It still fails on the 5 × 5
  spiral (non-monotone mixing that only K sees, with its dimension bias).

  Other methods: "gaussian" (`gaussian_mi`, bias-corrected), "copula" (G), "ksg" (`ksg_mi` on the
  raw data), "ksg_euclidean", "ksg_copula" (K), "ksg_norms" (R), "critic" (`train_critic` with its defaults on the
  rank-Gaussianised data; `key` and `critic_kwargs` go to it; its held-out estimate). The caller's data are used as
  given (standardise or not: the rank-based methods do not care).

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,).
    method: one of `METHODS`.
    k: neighbour order of the KSG methods.
    key: PRNG key for "critic" (default `jax.random.key(0)`).
    **critic_kwargs: passed to `train_critic` for "critic".

  Returns:
    `MIEstimate(value, method, candidates)`.

  Raises:
    ValueError: a non-finite value, a constant column, N <= d_x + d_y, mismatched rows, or an
      unknown method.
  """
  if method not in METHODS:
    raise ValueError(f"Unknown method {method!r}; choose one of {METHODS}.")
  x, y = _validate(x, y)
  if method == "gaussian":
    values = {"gaussian": gaussian.gaussian_mi(x, y, bias_correction=True)}
  elif method == "ksg":
    values = {"ksg": knn.ksg_mi(x, y, k)}
  elif method == "ksg_euclidean":
    values = {"ksg_euclidean": knn.ksg_mi(x, y, k, metric="euclidean")}
  elif method == "critic":
    from jaxssl.estimators import training  # noqa: PLC0415 (lazy optax/Flax import)
    fit = training.train_critic(jax.random.key(0) if key is None else key,
                                (copula.rank_gaussianize(x), copula.rank_gaussianize(y)),
                                **critic_kwargs)
    values = {"critic": fit.estimate}
  else:
    gx, gy = copula.rank_gaussianize(x), copula.rank_gaussianize(y)
    values = {}
    if method in ("auto", "copula"):
      values["copula"] = gaussian.gaussian_mi(gx, gy, bias_correction=True)
    if method in ("auto", "ksg_copula"):
      values["ksg_copula"] = knn.ksg_mi(gx, gy, k, metric="euclidean")
    if method in ("auto", "ksg_norms"):
      norms = [copula.rank_gaussianize(jnp.linalg.norm(g, axis=1, keepdims=True)) for g in (gx, gy)]
      values["ksg_norms"] = knn.ksg_mi(*norms, k)
  values = {name: float(v) for name, v in values.items()}
  best = max(values, key=values.get)
  return MIEstimate(values[best], best, values)

