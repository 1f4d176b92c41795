"""KoLeo: the Kozachenko–Leonenko nearest-neighbour regulariser (Sablayrolles et al. 2019)."""
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.spread import nn_log_distance
from jaxssl.objectives import _common
from jaxssl.parallel import collectives


def koleo(
    z: jax.Array,
    *,
    eps: float = 1e-8,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """KoLeo regulariser: minus the mean log distance of each embedding to its nearest neighbour.

  On the L2-normalised rows u_i = z_i / max(‖z_i‖, ε) of a batch,
    loss = −(1/N) Σ_i log(‖u_i − u_ν(i) + ε‖ + ε),   ν(i) = argmin_{j≠i} ‖u_i − u_j‖,
  the neighbour (for unit rows the largest inner product u_iᵀu_j, DINOv2's choice) chosen without
  gradient, as DINOv2's `KoLeoLoss` (one ε = 1e-8 for the normalisation, for `pairwise_distance`'s
  ε added to the difference, and inside the log). Up to constants it is minus the
  Kozachenko–Leonenko 1-NN entropy estimate of the embeddings, divided by D
  (`jaxssl.estimators.nn_log_distance`, whose docstring gives the constants): minimising it spreads
  the batch uniformly over the sphere. A regulariser, not a training objective by itself: DINOv2
  adds 0.1 × KoLeo to its DINO + iBOT loss; it is not in the objective registry.

  Views: z of shape (V, N, D) holds V views of the same N examples; the nearest neighbour is then
  searched within each view (across views it would be the example's own other view) and the loss
  is the mean over the views. DINOv2 sums over its two global crops, i.e. V × this value.

  >>> z = jax.random.normal(jax.random.key(0), (256, 32))
  >>> loss, metrics = koleo(z)
  >>> sorted(metrics)
  ['nn_log_distance']

  Args:
    z: embeddings, shape (N, D) or (V, N, D) (views first), float.
    eps: ε of the normalisation, of the distance and of the log (DINOv2: 1e-8).
    axis_name: mapped axis the batch (N) is split over (inside `shard_map`/`pmap`), or None. With
      it the neighbours are searched in the global batch, and value and parameter gradient equal
      those on the concatenated global batch (the idiom table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: the scalar loss and `nn_log_distance` (= −loss, nats; mean over views).

  References:
    Sablayrolles, Douze, Schmid & Jégou, "Spreading vectors for similarity search", ICLR 2019,
    https://arxiv.org/abs/1806.03198; Oquab et al., "DINOv2: Learning Robust Visual Features
    without Supervision", TMLR 2024, https://arxiv.org/abs/2304.07193
  """
  if jnp.ndim(z) not in (2, 3):
    raise ValueError(f"koleo: z must have shape (N, D) or (V, N, D) (views first) but has shape "
                     f"{jnp.shape(z)}. Got z: {jnp.shape(z)} {jnp.result_type(z)}.")
  _common.check_embeddings("koleo", ("z",), z, rank=jnp.ndim(z))
  views = z[None] if jnp.ndim(z) == 2 else z
  batch = jnp.moveaxis(views.astype(_common.compute_dtype(z)), 0, 1)  # (N, V, D): batch first
  batch = collectives.gather_batch(batch, axis_name)
  _common.check_embeddings("koleo", ("z (global batch)",), batch, rank=None, min_batch=2)
  u = _common.l2_normalize(batch, eps)
  # The global batch is on every shard already: the estimator runs without axis_name.
  term = jnp.mean(jnp.stack([nn_log_distance(u[:, v], eps=eps) for v in range(u.shape[1])]))
  return collectives.finish(-term, {"nn_log_distance": term}, axis_name)
