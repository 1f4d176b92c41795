"""SIGReg and LeJEPA (Balestriero & LeCun 2025): invariance plus a sliced test of Gaussianity."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.gaussianity import check_quadrature, epps_pulley_unreplicated
from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives import _multiview
from jaxssl.objectives._registry import register


def _directions(name, dim, dtype, directions, key, num_slices):
  """The (D, M) unit projection directions: given, or drawn from `key` (exactly one of them)."""
  if (directions is None) == (key is None):
    raise ValueError(f"{name}: pass exactly one of `directions` (a (D, num_slices) array of unit "
                     "columns) or `key` (a PRNG key to draw them from, the same on every shard); "
                     f"got {'both' if key is not None else 'neither'}.")
  if directions is None:
    if int(num_slices) != num_slices or num_slices < 1:
      raise ValueError(f"{name}: `num_slices` must be a positive integer, found {num_slices!r}.")
    directions = jax.random.normal(key, (dim, int(num_slices)), dtype)
  elif jnp.ndim(directions) != 2 or jnp.shape(directions)[0] != dim:
    raise ValueError(f"{name}: `directions` must have shape (D, num_slices) = ({dim}, M) for "
                     f"embeddings of dimension {dim}, found shape {jnp.shape(directions)}.")
  directions = jnp.asarray(directions, dtype)
  # Unit columns (as the reference code normalises its Gaussian draws); no gradient.
  return jax.lax.stop_gradient(_common.l2_normalize(directions.T).T)


def _sigreg(z, directions, knots, t_max, axis_name):
  """Mean Epps–Pulley statistic of the (V, n, D) views along the (D, M) directions."""
  # Per shard, not yet typed replicated: `finish` marks the whole loss once.
  return jnp.mean(epps_pulley_unreplicated(z @ directions, knots, t_max, axis_name))


def sigreg(
    z: jax.Array,
    *,
    directions: Optional[jax.Array] = None,
    key: Optional[jax.Array] = None,
    num_slices: int = 1024,
    knots: int = 17,
    t_max: float = 3.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """SIGReg: Sketched Isotropic Gaussian Regularisation of a batch of embeddings.

  SIGReg(Z) = mean_{v, m} T(Z_v a_m),  T(x) = N·∫|φ̂_x(t) − e^{−t²/2}|² e^{−t²/2} dt,

  the Epps–Pulley statistic (`jaxssl.estimators.gaussianity.epps_pulley`) of the projections of
  each view Z_v (N, D) on M unit directions a_m, averaged over views and directions. The
  normalisation is the LeJEPA reference code's: N times the weighted integral (N the global batch),
  the integral over ℝ as a doubled trapezoidal rule on [0, t_max] with `knots` knots and the window
  e^{−t²/2}, and the mean (not the sum) over directions and views. By Cramér–Wold, every projection
  is standard normal iff Z ~ N(0, I): SIGReg pushes the embeddings towards the isotropic Gaussian,
  the maximum-entropy law at its covariance. For standard normal data its expectation is ≈ 1.05
  (the ECF's own variance), not 0; a collapsed batch gives a value that grows like N.

  Directions are drawn from `key` (a standard normal (D, M) matrix, columns normalised to unit
  length, as the reference code does each step), or given; exactly one of the two. Inside
  `shard_map`/`pmap` the key (or the directions) must be the same on every shard, e.g. a step key
  folded from replicated state.

  >>> z = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = sigreg(z, key=jax.random.key(1))
  >>> sorted(metrics)
  ['sigreg']

  Args:
    z: embeddings, shape (N, D) or views-first (V, N, D), float.
    directions: (D, M) projection directions (normalised to unit columns here), or None.
    key: PRNG key to draw `num_slices` directions from, or None.
    num_slices: M, the number of directions drawn from `key`.
    knots: quadrature knots on [0, t_max].
    t_max: upper end of the integration interval.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      the ECF is a mean over the global batch and N the global batch size: value and parameter
      gradient equal those on the concatenated global batch (the idiom table of
      `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: the scalar SIGReg statistic (float32, float64 for float64 inputs) and
    `sigreg` (the same value) in metrics.

  References:
    Balestriero & LeCun, "LeJEPA: Provable and Scalable Self-Supervised Learning Without the
    Heuristics", 2025, https://arxiv.org/abs/2511.08544
    Epps & Pulley, "A test for normality based on the empirical characteristic function",
    Biometrika 70 (1983), https://doi.org/10.1093/biomet/70.3.723
  """
  if jnp.ndim(z) not in (2, 3):
    raise ValueError(f"sigreg: z must have shape (batch, dim) or (views, batch, dim) but has shape "
                     f"{jnp.shape(z)}. Got z: {jnp.shape(z)} {jnp.result_type(z)}.")
  views = z[None] if jnp.ndim(z) == 2 else z
  _multiview.check_views("sigreg", ("z",), views)
  check_quadrature("sigreg", knots, t_max)
  _multiview.check_global_batch(
      "sigreg", _multiview.global_batch_size(views.shape[1], axis_name), z)
  dtype = _common.compute_dtype(views)
  directions = _directions("sigreg", views.shape[2], dtype, directions, key, num_slices)
  value = _sigreg(views.astype(dtype), directions, knots, t_max, axis_name)
  return collectives.finish(value, {"sigreg": value}, axis_name)


def lejepa(
    global_z: jax.Array,
    local_z: Optional[jax.Array] = None,
    *,
    lambda_: float = 0.05,
    directions: Optional[jax.Array] = None,
    key: Optional[jax.Array] = None,
    num_slices: int = 1024,
    knots: int = 17,
    t_max: float = 3.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """LeJEPA loss: (1 − λ)·invariance + λ·SIGReg over the global and local views.

  With c_n = mean over the global views of z_v,n (the prediction target of every view),
    invariance = mean_{v, n, j} (z_v,nj − c_nj)²   over all views v, global and local,
    sigreg     = SIGReg of all views (`sigreg`: mean over views and directions of the Epps–Pulley
                 statistic, the same directions for every view),
  as in the reference code (`(centers − views).square().mean()`: a mean over the coordinates too,
  not a squared Euclidean distance). λ = 0.05 is the paper's default, its one hyper-parameter. No
  stop-gradient, predictor or target network: SIGReg alone prevents collapse.

  Registered as 'lejepa' (kind 'pair'): `fn(z1, z2, **kw)` stacks the two views as two global
  views; it takes `key=`, which the training engine passes (a fold of the step key).

  >>> views = jax.random.normal(jax.random.key(0), (2, 128, 16))
  >>> loss, metrics = lejepa(views, key=jax.random.key(1))
  >>> sorted(metrics)
  ['invariance', 'sigreg']

  Args:
    global_z: embeddings of the global views, views-first (Vg, N, D), float.
    local_z: embeddings of the local views (Vl, N, D), or None.
    lambda_: λ, the weight of SIGReg (the invariance term has 1 − λ).
    directions: (D, M) projection directions for SIGReg, or None.
    key: PRNG key to draw `num_slices` directions from, or None (exactly one of the two).
    num_slices: M, the number of directions drawn from `key`.
    knots: quadrature knots of the Epps–Pulley integral on [0, t_max].
    t_max: upper end of the integration interval.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss (float32, float64 for float64 inputs) and the unweighted terms
    `invariance` and `sigreg`.

  References:
    Balestriero & LeCun, "LeJEPA: Provable and Scalable Self-Supervised Learning Without the
    Heuristics", 2025, https://arxiv.org/abs/2511.08544
  """
  if local_z is None:
    names, arrays = ("global_z",), (global_z,)
  else:
    names, arrays = ("global_z", "local_z"), (global_z, local_z)
  _multiview.check_views("lejepa", names, *arrays, same_views=False)
  check_quadrature("lejepa", knots, t_max)
  v, n_local, dim = jnp.shape(global_z)
  _multiview.check_global_batch(
      "lejepa", _multiview.global_batch_size(n_local, axis_name), global_z)
  dtype = _common.compute_dtype(*arrays)
  directions = _directions("lejepa", dim, dtype, directions, key, num_slices)
  views = jnp.concatenate([a.astype(dtype) for a in arrays])
  centres = jnp.mean(views[:v], axis=0)
  # Per example: mean over views and coordinates; then the mean over the global batch.
  invariance = collectives.global_mean(jnp.mean((views - centres) ** 2, axis=(0, 2)), axis_name)
  sig = _sigreg(views, directions, knots, t_max, axis_name)
  loss = (1.0 - lambda_) * invariance + lambda_ * sig
  return collectives.finish(loss, {"invariance": invariance, "sigreg": sig}, axis_name)


register("lejepa", kind="pair", takes_key=True)(_multiview.as_pair(lejepa))
