"""Histogram (binning) plug-in entropy and mutual information, with the Miller–Madow correction.

Each dimension is cut into `bins` equal-width bins over the data's range (or `value_range`); a
sample's cell is the tuple of its bin indices. Occupied cells are counted by sorting the rows of
cell indices, so memory is O(N·d) however many cells there are (bins^d may be astronomically
large).
"""
import functools

import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks


def _cells(x, bins, value_range):
  """Bin index per sample and dimension (N, d) int32, and the bin width per dimension (d,)."""
  if value_range is None:
    low, high = jnp.min(x, axis=0), jnp.max(x, axis=0)
  else:
    low = jnp.full(x.shape[1], value_range[0], x.dtype)
    high = jnp.full(x.shape[1], value_range[1], x.dtype)
  width = (high - low) / bins
  safe = jnp.where(width > 0, width, 1.0)  # a constant dimension: every sample in bin 0
  idx = jnp.clip(jnp.floor((x - low) / safe), 0, bins - 1).astype(jnp.int32)
  return idx, jnp.where(width > 0, width, 1.0)


def _plugin_entropy(cells):
  """Plug-in entropy (nats) of the empirical distribution of the rows of `cells`, and #occupied."""
  n = cells.shape[0]
  order = jnp.lexsort(tuple(cells[:, j] for j in reversed(range(cells.shape[1]))))
  s = cells[order]
  new = jnp.concatenate([jnp.ones((1,), bool), jnp.any(s[1:] != s[:-1], axis=1)])
  segment = jnp.cumsum(new) - 1
  counts = jax.ops.segment_sum(jnp.ones(n), segment, num_segments=n)
  p = counts / n
  h = -jnp.sum(jnp.where(counts > 0, p * jnp.log(jnp.where(counts > 0, p, 1.0)), 0.0))
  return h, jnp.sum(new)


def _static_range(value_range):
  if value_range is None:
    return None
  low, high = (float(v) for v in value_range)
  if not high > low:
    raise ValueError(f"`value_range` must be (low, high) with high > low, found {value_range}.")
  return (low, high)


def _check_bins(bins):
  if int(bins) != bins or bins < 1:
    raise ValueError(f"`bins` must be a positive integer, found {bins!r}.")


def binned_entropy(x, bins: int = 16, *, miller_madow: bool = True, value_range=None,
                   differential: bool = True) -> jax.Array:
  """Histogram estimate of the entropy of X in nats.

  Ĥ = −Σ_c p̂_c log p̂_c (+ (m − 1)/(2N) with Miller–Madow, m = number of occupied cells)
      (+ Σ_k log Δ_k if `differential`, Δ_k the bin width of dimension k).

  With `differential=True` this estimates the differential entropy h(X) (discrete entropy of the
  quantised X plus log cell volume); with `differential=False` it is the entropy of the discrete
  cells (use it for already-discrete data, e.g. integer labels with `bins` ≥ #values).

  Bias: the plug-in is biased *low* for the discrete entropy (by ≈ (m − 1)/(2N), which
  Miller–Madow adds back to first order); for h(X) add the discretisation error, which vanishes
  as the bins shrink (and the plug-in bias grows): consistent only with bins → ∞, bins^d/N → 0.

  Cost: O(N·d·log N) (sort), memory O(N·d).

  Args:
    x: samples, shape (N, d) or (N,).
    bins: bins per dimension.
    miller_madow: add the Miller–Madow correction (m − 1)/(2N).
    value_range: `(low, high)` for every dimension (samples outside fall into the edge bins);
      default each dimension's min and max.
    differential: add the log cell volume (estimate h(X) rather than the cells' entropy).

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.

  References:
    Miller, "Note on the bias of information estimates" (1955); Paninski, "Estimation of entropy and
    mutual information", Neural Computation 15 (2003).
  """
  x = _checks.as_samples(x, "x")
  _check_bins(bins)
  _checks.check_finite("x", x)
  return _binned_entropy(x, int(bins), bool(miller_madow), _static_range(value_range),
                         bool(differential))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _binned_entropy(x, bins, miller_madow, value_range, differential):
  n = x.shape[0]
  cells, width = _cells(x, bins, value_range)
  h, occupied = _plugin_entropy(cells)
  if miller_madow:
    h = h + (occupied - 1) / (2.0 * n)
  if differential:
    h = h + jnp.sum(jnp.log(width))
  return _checks.nan_if_nonfinite(h.astype(x.dtype), x)


def binned_mi(x, y, bins: int = 16, *, miller_madow: bool = True, value_range=None) -> jax.Array:
  """Histogram estimate of I(X; Y) in nats: Ĥ(X) + Ĥ(Y) − Ĥ(X, Y) on the same bins.

  Miller–Madow adds (m_x + m_y − m_xy − 1)/(2N) (the corrections of the three entropies).

  Bias: the plug-in is biased *high* (≈ (m_xy − m_x − m_y + 1)/(2N) > 0 for independent variables);
  Miller–Madow removes it to first order; coarse bins bias it low (quantisation loses information:
  I(Q(X); Q(Y)) ≤ I(X; Y)). Consistent only with bins → ∞, bins^(d_x+d_y)/N → 0.

  Cost: O(N·(d_x + d_y)·log N).

  Args:
    x: samples of X, shape (N, d_x) or (N,).
    y: samples of Y, shape (N, d_y) or (N,).
    bins: bins per dimension.
    miller_madow: apply the Miller–Madow correction.
    value_range: `(low, high)` for every dimension; default each dimension's min and max.

  Returns:
    A scalar in nats; NaN under `jit` if an input is not finite.
  """
  x = _checks.as_samples(x, "x")
  y = _checks.as_samples(y, "y")
  _checks.check_same_n(x, y)
  _check_bins(bins)
  _checks.check_finite("x", x)
  _checks.check_finite("y", y)
  return _binned_mi(x, y, int(bins), bool(miller_madow), _static_range(value_range))


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _binned_mi(x, y, bins, miller_madow, value_range):
  n = x.shape[0]
  cx, _ = _cells(x, bins, value_range)
  cy, _ = _cells(y, bins, value_range)
  hx, mx = _plugin_entropy(cx)
  hy, my = _plugin_entropy(cy)
  hxy, mxy = _plugin_entropy(jnp.concatenate([cx, cy], axis=1))
  mi = hx + hy - hxy
  if miller_madow:
    mi = mi + (mx + my - mxy - 1) / (2.0 * n)
  dtype = jnp.promote_types(x.dtype, y.dtype)
  return _checks.nan_if_nonfinite(mi.astype(dtype), x, y)
