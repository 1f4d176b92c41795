"""BYOL: regression of a momentum target's projection (Grill et al. 2020)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


def cosine(a: jax.Array, b: jax.Array) -> jax.Array:
  """Row-wise cosine similarity of two (N, D) arrays."""
  return jnp.sum(_common.l2_normalize(a) * _common.l2_normalize(b), axis=1)


@register("byol", kind="predictor_target")
def byol(
    p1: jax.Array,
    p2: jax.Array,
    t1: jax.Array,
    t2: jax.Array,
    *,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """BYOL's symmetrised regression loss between online predictions and target projections.

  loss = mean_n [2 − 2·cos(p1_n, sg(t2_n))] + mean_n [2 − 2·cos(p2_n, sg(t1_n))],
  the sum over both view orders as in the paper (each term is ‖p̄ − t̄‖² of unit vectors). The
  targets come from the target network, an EMA of the online network (τ = 0.99 on CIFAR, or
  0.996 → 1 on a cosine schedule); they are put under stop-gradient here.

  >>> p1, p2, t1, t2 = jax.random.normal(jax.random.key(0), (4, 256, 32))
  >>> loss, metrics = byol(p1, p2, t1, t2)
  >>> sorted(metrics)
  ['regression_12', 'regression_21']

  Args:
    p1: online predictions of view 1, shape (N, D), float.
    p2: online predictions of view 2, shape (N, D), float.
    t1: target projections of view 1, shape (N, D), float (no gradient).
    t2: target projections of view 2, shape (N, D), float (no gradient).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and its terms `regression_12` (p1 against t2) and
    `regression_21` (p2 against t1).

  References:
    Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning",
    NeurIPS 2020, https://arxiv.org/abs/2006.07733
  """
  _common.check_embeddings("byol", ("p1", "p2", "t1", "t2"), p1, p2, t1, t2)
  dtype = _common.compute_dtype(p1, p2, t1, t2)
  p1, p2 = p1.astype(dtype), p2.astype(dtype)
  t1, t2 = (jax.lax.stop_gradient(t.astype(dtype)) for t in (t1, t2))
  regression_12 = collectives.global_mean(2.0 - 2.0 * cosine(p1, t2), axis_name)
  regression_21 = collectives.global_mean(2.0 - 2.0 * cosine(p2, t1), axis_name)
  loss = regression_12 + regression_21
  metrics = {"regression_12": regression_12, "regression_21": regression_21}
  return collectives.finish(loss, metrics, axis_name)
