"""VICReg with an entropy estimator in place of variance + covariance (Shwartz-Ziv et al. 2023)."""
import functools
from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.estimators.logdet import logdet_entropy
from jaxssl.estimators.pairwise import component_entropy, pairwise_bd_entropy
from jaxssl.estimators.pairwise import pairwise_kl_entropy
from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register

ENTROPY_ESTIMATORS = ("logdet", "pairwise_kl", "pairwise_bd")
DEFAULT_ENTROPY_COEFF = {"logdet": 25.0, "pairwise_kl": 10.0, "pairwise_bd": 10.0}


@register("vicreg_entropy", kind="pair")
def vicreg_entropy(
    z1: jax.Array,
    z2: jax.Array,
    *,
    entropy: str = "logdet",
    sim_coeff: float = 25.0,
    entropy_coeff: Optional[float] = None,
    beta: float = 32.0,
    sigma: float = 1.0,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """VICReg's invariance term plus an entropy estimate of each branch's embeddings.

  loss = λ·inv − β_H·[Ĥ(z1) + Ĥ(z2)] / s,   inv = mean_{n,j} (z1_nj − z2_nj)²,

  with Ĥ in nats from `jaxssl.estimators`:
    'logdet':      Ĥ = ½ logdet(I + (β/N) ẑᵀẑ)                               (`logdet_entropy`);
    'pairwise_kl': Kolchinsky–Tracey upper bound on the entropy of (1/N) Σ_i N(z_i, σ²I)
                   (`pairwise_kl_entropy`);
    'pairwise_bd': the Bhattacharyya lower bound on the same mixture entropy
                   (`pairwise_bd_entropy`),
  and s = D for 'logdet' (nats per dimension: the log-det is a sum over D eigenvalues) but s = 1
  for the pairwise bounds (what the embeddings can change of them is the spread term, between 0
  and log N whatever D is). For the pairwise bounds Ĥ is that spread term, the bound minus the
  entropy (D/2)·log(2πeσ²) of one component (`jaxssl.estimators.pairwise.component_entropy`): the
  same gradient, but a loss and `entropy_*` terms that show what moves (the constant is 1460 nats
  at D = 512, σ = 1, and made the logged loss ≈ −940 whatever the embeddings did).

  Shwartz-Ziv et al. (2023) read VICReg as I(Z1; Z2) ≥ H(Z) − E[−log q(z2|z1)]: the invariance
  term bounds the conditional part, the entropy estimate replaces variance + covariance.

  Defaults (the paper's coefficients were not available; these are this project's choice, from a
  sweep on Fashion-MNIST -- experiments/check_objectives_fmnist.py's 192-step run, linear probe
  vs 70.4 % at random init): λ = 25; 'logdet' β_H = 25, β = 32 (β = 1: 68.2 %, 32: 77.2 %,
  512: 76.6 %: with β = 1 the log-det barely pushes eigenvalues below 1/β, allowing dimensional
  collapse); pairwise β_H = 10, σ = 1 (β_H = 25/D as with s = D: 65.8 % KL / 59.6 % BD, far too
  weak; ≈ 10: 74.0 / 77.4 %; σ = 4 or 16 at the weak β_H: 53–54 %).

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics = vicreg_entropy(z1, z2, entropy="pairwise_kl")
  >>> sorted(metrics)
  ['entropy_1', 'entropy_2', 'invariance']

  Args:
    z1: embeddings of the first view, shape (N, D), float.
    z2: embeddings of the second view, shape (N, D), float.
    entropy: the estimator, one of 'logdet', 'pairwise_kl', 'pairwise_bd'.
    sim_coeff: λ, weight of the invariance term.
    entropy_coeff: β_H, weight of the entropy term; None: 25 for 'logdet', 10 for the pairwise
      bounds.
    beta: β, covariance scale of the LogDet estimator (used by 'logdet' only).
    sigma: σ, mixture-component width of the pairwise estimators (used by 'pairwise_*' only).
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value and parameter gradient equal those on the concatenated global batch (the idiom
      table of `jaxssl.objectives`).

  Returns:
    `(loss, metrics)`: scalar loss and the unweighted terms `invariance`, `entropy_1`,
    `entropy_2` (nats; for the pairwise bounds, in excess of one component's entropy, in
    [0, log N]).

  References:
    Shwartz-Ziv, Balestriero, Kawaguchi, Rudner & LeCun, "An Information-Theoretic Perspective on
    Variance-Invariance-Covariance Regularization", NeurIPS 2023, https://arxiv.org/abs/2303.00633
    Kolchinsky & Tracey, "Estimating Mixture Entropy with Pairwise Distances", Entropy 2017,
    https://arxiv.org/abs/1706.02419
  """
  if entropy == "logdet":
    estimator = functools.partial(logdet_entropy, beta=beta)
  elif entropy == "pairwise_kl":
    estimator = functools.partial(pairwise_kl_entropy, sigma=sigma)
  elif entropy == "pairwise_bd":
    estimator = functools.partial(pairwise_bd_entropy, sigma=sigma)
  else:
    raise ValueError(f"vicreg_entropy: unknown entropy estimator {entropy!r}; valid: "
                     f"{', '.join(ENTROPY_ESTIMATORS)}.")
  _common.check_embeddings("vicreg_entropy", ("z1", "z2"), z1, z2)
  dtype = _common.compute_dtype(z1, z2)
  z1 = collectives.gather_batch(z1.astype(dtype), axis_name)
  z2 = collectives.gather_batch(z2.astype(dtype), axis_name)
  _common.check_embeddings("vicreg_entropy", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  d = z1.shape[1]
  invariance = jnp.mean((z1 - z2) ** 2)
  # The global batch is already on every shard, so the estimators run without axis_name.
  entropy_1 = estimator(z1)
  entropy_2 = estimator(z2)
  if entropy != "logdet":  # the part that moves: the bound minus one component's entropy
    entropy_1 = entropy_1 - component_entropy(d, sigma).astype(dtype)
    entropy_2 = entropy_2 - component_entropy(d, sigma).astype(dtype)
  scale = d if entropy == "logdet" else 1
  if entropy_coeff is None:
    entropy_coeff = DEFAULT_ENTROPY_COEFF[entropy]
  loss = sim_coeff * invariance - entropy_coeff * (entropy_1 + entropy_2) / scale
  metrics = {"invariance": invariance, "entropy_1": entropy_1, "entropy_2": entropy_2}
  return collectives.finish(loss, metrics, axis_name)


def _with_estimator(entropy: str):
  """`vicreg_entropy` with the estimator fixed (keeps the docstring)."""
  return functools.update_wrapper(functools.partial(vicreg_entropy, entropy=entropy),
                                  vicreg_entropy)


# One line per registered variant.
register("vicreg_logdet", kind="pair")(_with_estimator("logdet"))
register("vicreg_pairwise_kl", kind="pair")(_with_estimator("pairwise_kl"))
register("vicreg_pairwise_bd", kind="pair")(_with_estimator("pairwise_bd"))
