"""Total coding rate and EMP-SSL (Yu et al. 2020; Tong, Chen, Ma & LeCun 2023)."""
import numbers
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.covariance import coding_rate_unreplicated
from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives import _multiview
from jaxssl.objectives._registry import register


def total_coding_rate(
    z: jax.Array,
    *,
    eps: float = 0.2,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Total coding rate as a loss to minimise: loss = −R(Z), R = ½ logdet(I + D/(N·ε) ZᵀZ).

  R is `jaxssl.estimators.covariance.coding_rate` (nats) of the batch Z (N, D), or the mean over
  views of R(Z_v) for views-first (V, N, D), of the embeddings *as given* (EMP-SSL normalises them
  first; `emp_ssl` does). Its sign follows the reference code's `TotalCodingRate`, which returns
  −R: minimising the loss expands the batch. ε enters as D/(N·ε), as in that code (the papers'
  ε²). A regulariser, not an objective on its own (nothing aligns the views), so it is not
  registered for the training engine.

  >>> z = jax.random.normal(jax.random.key(0), (256, 32))
  >>> loss, metrics = total_coding_rate(z)
  >>> bool(loss == -metrics["coding_rate"])
  True

  Args:
    z: embeddings, shape (N, D) or views-first (V, N, D), float.
    eps: ε > 0, the distortion (the papers' ε²).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      ZᵀZ is summed over the shards: value and parameter gradient equal those on the concatenated
      global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: the scalar −R (float32, float64 for float64 inputs) and `coding_rate`
    (R in nats, the mean over views) in metrics.

  References:
    Yu, Chan, You, Song & Ma, "Learning Diverse and Discriminative Representations via the
    Principle of Maximal Coding Rate Reduction", NeurIPS 2020, https://arxiv.org/abs/2006.08558
    Tong, Chen, Ma & LeCun, "EMP-SSL: Towards Self-Supervised Learning in One Training Epoch",
    2023, https://arxiv.org/abs/2304.03977
  """
  if jnp.ndim(z) not in (2, 3):
    raise ValueError(f"total_coding_rate: z must have shape (batch, dim) or (views, batch, dim) "
                     f"but has shape {jnp.shape(z)}. Got z: {jnp.shape(z)} {jnp.result_type(z)}.")
  views = z[None] if jnp.ndim(z) == 2 else z
  _multiview.check_views("total_coding_rate", ("z",), views)
  dtype = _common.compute_dtype(views)
  if isinstance(eps, numbers.Real) and not eps > 0:
    raise ValueError(f"total_coding_rate: `eps` must be positive, found {eps!r}.")
  rate = jnp.mean(coding_rate_unreplicated(views.astype(dtype), eps, axis_name))
  return collectives.finish(-rate, {"coding_rate": rate}, axis_name)


def emp_ssl(
    z: jax.Array,
    *,
    tcr_eps: float = 0.2,
    inv_coef: float = 200.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """EMP-SSL loss: −mean_v R(Z_v) + λ_inv · (−mean_{v,n} cos(z_v,n, z̄_n)).

  With every embedding L2-normalised, z_v,n ← z_v,n / ‖z_v,n‖, and z̄_n = mean_v z_v,n,
    coding_rate = mean_v R(Z_v),  R(Z) = ½ logdet(I + D/(N·ε) ZᵀZ)   (nats, per view (N, D)),
    invariance  = −mean_{v,n} cos(z_v,n, z̄_n)                      (the mean is not normalised:
                                                                      the cosine normalises it),
    loss = −coding_rate + λ_inv · invariance,
  as the official code (`TotalCodingRate` returns −R; `Similarity_Loss` returns −cos): the loss
  *expands* every view's batch. lightly's `EMPSSLLoss` adds +R instead (its `tcr_loss` returns
  ½ logdet, not its negative), which would contract the batch; this follows the paper's code.
  ε (`tcr_eps`) enters as D/(N·ε), as in that code (the paper's ε² = 0.2). The paper uses 20–200
  fixed-size patches per image as views; the 'pair' registration has two.

  Registered as 'emp_ssl' (kind 'pair'): `fn(z1, z2, **kw)` stacks the two views.

  >>> z = jax.random.normal(jax.random.key(0), (4, 128, 32))
  >>> loss, metrics = emp_ssl(z)
  >>> sorted(metrics)
  ['coding_rate', 'invariance']

  Args:
    z: embeddings, views-first (V, N, D), float (normalised here).
    tcr_eps: ε > 0 of the coding rate (the paper's ε²).
    inv_coef: λ_inv, the weight of the invariance term.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss (float32, float64 for float64 inputs) and the unweighted terms
    `coding_rate` (mean_v R(Z_v), nats) and `invariance` (−mean cosine to the views' mean).

  References:
    Tong, Chen, Ma & LeCun, "EMP-SSL: Towards Self-Supervised Learning in One Training Epoch",
    2023, https://arxiv.org/abs/2304.03977
    Yu, Chan, You, Song & Ma, "Learning Diverse and Discriminative Representations via the
    Principle of Maximal Coding Rate Reduction", NeurIPS 2020, https://arxiv.org/abs/2006.08558
  """
  _multiview.check_views("emp_ssl", ("z",), z)
  _multiview.check_global_batch("emp_ssl", _multiview.global_batch_size(z.shape[1], axis_name), z)
  dtype = _common.compute_dtype(z)
  z = _common.l2_normalize(z.astype(dtype))  # per example: no batch statistics needed
  if isinstance(tcr_eps, numbers.Real) and not tcr_eps > 0:
    raise ValueError(f"emp_ssl: `tcr_eps` must be positive, found {tcr_eps!r}.")
  # Per shard, not yet typed replicated: `finish` marks the whole loss once.
  rate = jnp.mean(coding_rate_unreplicated(z, tcr_eps, axis_name))
  mean = _common.l2_normalize(jnp.mean(z, axis=0))
  cosine = jnp.mean(jnp.sum(z * mean, axis=-1), axis=0)  # (n,): mean over views per example
  invariance = -collectives.global_mean(cosine, axis_name)
  loss = -rate + inv_coef * invariance
  return collectives.finish(loss, {"coding_rate": rate, "invariance": invariance}, axis_name)


register("emp_ssl", kind="pair")(_multiview.as_pair(emp_ssl))
