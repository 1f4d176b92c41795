"""Mutual-information and entropy estimators, bounds, critics and ground-truth tasks (all in nats).

Pure functions of arrays (`ksg_mi(x, y, k=3)`) or of a critic score matrix (`infonce(scores)` with
`scores[i, j] = f(x_i, y_j)`); jit- and vmap-able; each docstring states the formula, the source,
the bias direction and the cost. Estimators that need batch statistics (`infonce`, `logdet_entropy`,
`pairwise_*_entropy`, `coding_rate`, `covariance_renyi2_entropy`, `epps_pulley`) take
`axis_name=` for `shard_map`/`pmap`, with the value and the gradient of the concatenated batch in
every idiom (the table of `jaxssl.objectives`: `pmean`, never `psum`).

Bad inputs (mismatched sample counts, k >= N, d = 0, non-finite values) raise `ValueError` when the
arrays are concrete; under `jit` shape errors still raise and non-finite values give a NaN result.

The Flax critics and the optax training loop are imported on first use, so the estimators (which
`jaxssl.objectives` uses) depend on JAX alone.
"""
import importlib

from jaxssl.estimators import tasks
from jaxssl.estimators.auto import METHODS, MIEstimate, estimate_mi
from jaxssl.estimators.binning import binned_entropy, binned_mi
from jaxssl.estimators.copula import gaussian_copula_mi, rank_gaussianize
from jaxssl.estimators.covariance import coding_rate, covariance_renyi2_entropy
from jaxssl.estimators.critic_bounds import (MineState, barber_agakov, dv, infonce, js, mine,
                                             mine_init, nwj, smile, tuba)
from jaxssl.estimators.gaussian import gaussian_entropy, gaussian_mi
from jaxssl.estimators.gaussianity import epps_pulley
from jaxssl.estimators.kde import kde_entropy, scott_bandwidth
from jaxssl.estimators.knn import kl_entropy, ksg_mi, weighted_kl_entropy
from jaxssl.estimators.logdet import logdet_entropy
from jaxssl.estimators.pairwise import pairwise_bd_entropy, pairwise_kl_entropy
from jaxssl.estimators.renyi import renyi_entropy, renyi_mi
from jaxssl.estimators.spread import log_gaussian_potential, nn_log_distance

_LAZY = {"SeparableCritic": "critics", "ConcatCritic": "critics", "BilinearCritic": "critics",
         "train_critic": "training", "ESTIMATORS": "training", "CriticFit": "training",
         "default_critic": "training"}


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(f"jaxssl.estimators.{_LAZY[name]}"), name)
  raise AttributeError(f"module 'jaxssl.estimators' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "tasks",
    # one call: a rule that picks the estimator
    "estimate_mi", "MIEstimate", "METHODS",
    # critic bounds
    "infonce", "nwj", "tuba", "dv", "mine", "mine_init", "MineState", "js", "smile",
    "barber_agakov",
    # critics and training
    "SeparableCritic", "ConcatCritic", "BilinearCritic", "train_critic", "ESTIMATORS",
    "CriticFit", "default_critic",
    # non-parametric and closed-form
    "ksg_mi", "kl_entropy", "weighted_kl_entropy", "kde_entropy", "scott_bandwidth",
    "binned_entropy", "binned_mi", "gaussian_copula_mi", "rank_gaussianize",
    "gaussian_entropy", "gaussian_mi", "logdet_entropy", "pairwise_kl_entropy",
    "pairwise_bd_entropy", "renyi_entropy", "renyi_mi",
    # differentiable spread of a batch (KoLeo, uniformity)
    "nn_log_distance", "log_gaussian_potential",
    # spectral entropy surrogates of ZᵀZ (MCR², EMP-SSL, FroSSL) and Gaussianity (SIGReg)
    "coding_rate", "covariance_renyi2_entropy", "epps_pulley",
]
