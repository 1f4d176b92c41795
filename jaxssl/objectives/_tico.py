"""TiCo: transformation invariance and covariance contrast (Zhu et al. 2022)."""
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


class TiCoState(NamedTuple):
  """The moving second-moment matrix C (D, D) of the first view's normalised embeddings."""
  covariance: jax.Array


def tico_init(dim: int, dtype=jnp.float32) -> TiCoState:
  """Initial TiCo state: C = 0, as in the paper's pseudo-code.

  Args:
    dim: embedding dimension D.
    dtype: dtype of the state (float32; float64 needs x64).

  Returns:
    A `TiCoState`.
  """
  return TiCoState(covariance=jnp.zeros((dim, dim), dtype))


@register("tico", kind="stateful", init_state=tico_init)
def tico(
    z1: jax.Array,
    z2: jax.Array,
    state: TiCoState,
    *,
    beta: float = 0.9,
    rho: float = 8.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array], TiCoState]:
  """TiCo loss, with the moving second-moment matrix it carries between steps.

  With z L2-normalised per example and N the batch size,
    C ← β·sg(C) + (1 − β)·z1ᵀz1 / N,
    loss = −(1/N) Σ_i ⟨z1_i, z2_i⟩ + (ρ/N) Σ_i z1_i C z1_iᵀ   (the updated C).
  As in the paper's pseudo-code (and the PyTorch implementations of sayannag and lightly), C is
  updated before the loss is computed: the old C enters under stop-gradient, the current batch's
  (1 − β)·z1ᵀz1/N term with its gradient, and the stored new C carries none. The covariance term
  (ρ/N) Σ_i z1_i C z1_iᵀ = ρ·Σ_t w_t mean_{i,j} ⟨z1_i, z1_j^(t)⟩² is a quadratic repulsion from
  the embeddings of past batches t (weights (1 − β)β^age from C = 0): an implicit memory bank of
  negatives (the paper's reading as MoCo), or Barlow Twins' redundancy penalty on a moving
  average. No constant 1 is added (lightly's loss is this + 1) and z is not centred (an early
  lightly version centred it).

  ρ = 8 is the paper's recommended value (as quoted by sayannag's TiCo-pytorch); lightly's
  `TiCoLoss` and that implementation's command-line default are ρ = 20. β = 0.9 in all of them.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics, state = tico(z1, z2, tico_init(32))
  >>> sorted(metrics)
  ['covariance_contrast', 'invariance']

  Args:
    z1: embeddings of the first view, shape (N, D), float (normalised here).
    z2: embeddings of the second view, shape (N, D), float.
    state: `TiCoState` from `tico_init(D)` or the previous step.
    beta: β, weight of the old C in its moving average.
    rho: ρ, weight of the covariance-contrast term.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value, parameter gradient (the idiom table of `jaxssl.objectives`) and new state equal
      those on the concatenated global batch; the new state and metrics are replicated across the
      axis.

  Returns:
    `(loss, metrics, new_state)`: the scalar loss; `invariance` (−mean cosine of the pairs) and
    `covariance_contrast` (mean_i z1_i C z1_iᵀ, unweighted) in metrics; the updated state, under
    stop-gradient.

  References:
    Zhu, Moraes, Karakulak, Sobol, Canziani & LeCun, "TiCo: Transformation Invariance and
    Covariance Contrast for Self-Supervised Visual Representation Learning", 2022,
    https://arxiv.org/abs/2206.10698
  """
  _common.check_embeddings("tico", ("z1", "z2"), z1, z2)
  d = z1.shape[1]
  found = np.shape(getattr(state, "covariance", None))
  if found != (d, d):
    raise ValueError(f"tico: the state must be a TiCoState with a ({d}, {d}) covariance to match "
                     f"embeddings of dimension {d}, found {type(state).__name__} with covariance "
                     f"shape {found}; create it with tico_init({d}).")
  dtype = _common.compute_dtype(z1, z2)
  z1 = _common.l2_normalize(collectives.gather_batch(z1.astype(dtype), axis_name))
  z2 = _common.l2_normalize(collectives.gather_batch(z2.astype(dtype), axis_name))
  _common.check_embeddings("tico", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  n = z1.shape[0]
  old = jax.lax.stop_gradient(jnp.asarray(state.covariance, dtype))
  covariance = beta * old + (1.0 - beta) * (z1.T @ z1) / n
  invariance = -jnp.mean(jnp.sum(z1 * z2, axis=1))
  contrast = jnp.mean(jnp.sum((z1 @ covariance) * z1, axis=1))
  loss = invariance + rho * contrast
  metrics = {"invariance": invariance, "covariance_contrast": contrast}
  # The state keeps its dtype from step to step (a scan carry must not change type).
  new_state = TiCoState(covariance=covariance.astype(jnp.result_type(state.covariance)))
  loss, (metrics, new_state) = collectives.finish(loss, (metrics, new_state), axis_name)
  return loss, metrics, new_state
