"""SimSiam: negative cosine with a stop-gradient target (Chen & He 2021)."""
from typing import Optional

import jax

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._byol import cosine
from jaxssl.objectives._registry import register


@register("simsiam", kind="predictor_stopgrad")
def simsiam(
    p1: jax.Array,
    p2: jax.Array,
    z1: jax.Array,
    z2: jax.Array,
    *,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """SimSiam's symmetrised negative cosine similarity.

  loss = −½·mean_n cos(p1_n, sg(z2_n)) − ½·mean_n cos(p2_n, sg(z1_n)),
  with p the predictor outputs and z the projections of the same online network; the
  stop-gradient on z (applied here) is what prevents collapse. Minimum −1.

  >>> p1, p2, z1, z2 = jax.random.normal(jax.random.key(0), (4, 256, 32))
  >>> loss, metrics = simsiam(p1, p2, z1, z2)
  >>> sorted(metrics)
  ['cosine_12', 'cosine_21']

  Args:
    p1: predictions of view 1, shape (N, D), float.
    p2: predictions of view 2, shape (N, D), float.
    z1: projections of view 1, shape (N, D), float (no gradient).
    z2: projections of view 2, shape (N, D), float (no gradient).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss = −(cosine_12 + cosine_21)/2 and the mean cosines
    `cosine_12` (p1 with z2) and `cosine_21` (p2 with z1).

  References:
    Chen & He, "Exploring Simple Siamese Representation Learning", CVPR 2021,
    https://arxiv.org/abs/2011.10566
  """
  _common.check_embeddings("simsiam", ("p1", "p2", "z1", "z2"), p1, p2, z1, z2)
  dtype = _common.compute_dtype(p1, p2, z1, z2)
  p1, p2 = p1.astype(dtype), p2.astype(dtype)
  z1, z2 = (jax.lax.stop_gradient(z.astype(dtype)) for z in (z1, z2))
  cosine_12 = collectives.global_mean(cosine(p1, z2), axis_name)
  cosine_21 = collectives.global_mean(cosine(p2, z1), axis_name)
  loss = -0.5 * (cosine_12 + cosine_21)
  metrics = {"cosine_12": cosine_12, "cosine_21": cosine_21}
  return collectives.finish(loss, metrics, axis_name)
