"""Reconstruction through a Gaussian decoder: the Barber–Agakov bound on I(X; Z)."""
import math
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


@register("reconstruction", kind="reconstruction")
def reconstruction(
    x: jax.Array,
    x_hat: jax.Array,
    *,
    sigma: float = 1.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Negative log-likelihood of x under the Gaussian decoder q(x|z) = N(x̂(z), σ²I), in nats.

  nll = mean_n [‖x_n − x̂_n‖² / 2σ² + (D/2)·log(2πσ²)],   D = size of one example,
  and the Barber–Agakov bound reads I(X; Z) ≥ H(X) − nll: minimising the loss (= nll) maximises
  a lower bound on the information the representation z keeps about the input. H(X) does not
  depend on the model, so `ba_term` = −nll = E[log q(x|z)] is the part of the bound that is
  logged. With σ = 1 the loss is ½·D·mse plus a constant.

  >>> x, x_hat = jax.random.normal(jax.random.key(0), (2, 8, 28, 28, 1))
  >>> loss, metrics = reconstruction(x, x_hat)
  >>> sorted(metrics)
  ['ba_term', 'mse', 'nll_nats']

  Args:
    x: inputs, shape (N, ...), float (e.g. images scaled to [0, 1]).
    x_hat: decoder means x̂(z), the same shape, float.
    sigma: σ, the decoder's fixed standard deviation, in the units of x.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: loss = `nll_nats` (per example), `mse` (mean over examples and entries)
    and `ba_term` (= −nll_nats).

  References:
    Barber & Agakov, "The IM Algorithm: A Variational Approach to Information Maximization",
    NeurIPS 2003, https://papers.nips.cc/paper/2410
    Poole, Ozair, van den Oord, Alemi & Tucker, "On Variational Bounds of Mutual Information",
    ICML 2019, https://arxiv.org/abs/1905.06922
  """
  _common.check_embeddings("reconstruction", ("x", "x_hat"), x, x_hat, rank=None)
  dtype = _common.compute_dtype(x, x_hat)
  n = x.shape[0]
  sq = jnp.sum(((x.astype(dtype) - x_hat.astype(dtype)) ** 2).reshape(n, -1), axis=1)
  d = math.prod(x.shape[1:])
  const = 0.5 * d * math.log(2.0 * math.pi * sigma**2)
  nll = collectives.global_mean(sq / (2.0 * sigma**2) + const, axis_name)
  mse = collectives.global_mean(sq / d, axis_name)
  metrics = {"nll_nats": nll, "mse": mse, "ba_term": -nll}
  return collectives.finish(nll, metrics, axis_name)
