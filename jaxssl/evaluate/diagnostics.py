"""Diagnostics of embeddings: rank, spectrum, alignment, uniformity, entropy, MI, collapse.

Every function is a pure function of (N, D) arrays (one view `z`, or two views `z1`, `z2` whose rows
are paired), jitted (one compilation per shape). Information quantities are in nats. `diagnose`
bundles them into a dict of floats for logging, and `is_collapsed` reads that dict.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.estimators.critic_bounds import infonce
from jaxssl.estimators.gaussian import gaussian_entropy
from jaxssl.estimators.knn import kl_entropy, ksg_mi
from jaxssl.estimators.logdet import logdet_entropy
from jaxssl.estimators.pairwise import (component_entropy, pairwise_bd_entropy,
                                       pairwise_kl_entropy)


def _check(z, name="z", min_rows=1):
  z = jnp.asarray(z)
  if z.ndim != 2:
    raise ValueError(f"`{name}` must be an (N, D) embedding array, found shape {z.shape}.")
  if z.shape[0] < min_rows:
    raise ValueError(f"`{name}` needs at least {min_rows} rows, found {z.shape[0]}.")
  return z.astype(jnp.promote_types(z.dtype, jnp.float32))


def _check_pair(z1, z2):
  z1, z2 = _check(z1, "z1"), _check(z2, "z2")
  if z1.shape != z2.shape:
    raise ValueError(f"The two views must have the same shape (N, D), found {z1.shape} and "
                     f"{z2.shape}.")
  return z1, z2


# Embeddings larger than this (a diverging run) are treated as unusable, like non-finite ones: their
# squares summed over a batch overflow float32 (3.4e38) inside the SVD, which then makes LAPACK
# print "illegal value" to stderr and return NaN anyway.
MAX_ABS = 1e15


def usable(*zs) -> jax.Array:
  """True when every entry of every array is finite and at most `MAX_ABS` in magnitude."""
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(z) & (jnp.abs(z) <= MAX_ABS)) for z in zs]))


def _l2_normalise(z):
  return z / jnp.maximum(jnp.linalg.norm(z, axis=1, keepdims=True), 1e-12)


@jax.jit
def rankme(z, eps: float = 1e-7) -> jax.Array:
  """RankMe = exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁ + ε, σ the singular values of z (not centred).

  Between 1 and min(N, D): D for an orthogonal set of D equal-norm rows, r for r equal non-zero
  singular values. Garrido, Balestriero, Najman, LeCun, "RankMe: Assessing the downstream
  performance of pretrained self-supervised representations by their rank", ICML 2023, eq. (1).
  """
  z = _check(z)
  s = jnp.linalg.svd(z, compute_uv=False)
  p = s / jnp.maximum(jnp.sum(s), jnp.finfo(s.dtype).tiny) + eps
  return jnp.exp(-jnp.sum(p * jnp.log(p)))


@jax.jit
def eigenspectrum(z) -> jax.Array:
  """Eigenvalues of the centred covariance (1/N) Σ_i (z_i − z̄)(z_i − z̄)ᵀ, descending, ≥ 0.

  The spectrum whose decay shows dimensional collapse (Jing et al., "Understanding dimensional
  collapse in contrastive self-supervised learning", ICLR 2022, fig. 1).
  """
  z = _check(z)
  zc = z - jnp.mean(z, axis=0)
  s = jnp.linalg.svd(zc, compute_uv=False)  # σ²/N are the eigenvalues; the SVD keeps small ones
  lam = s**2 / z.shape[0]
  return jnp.zeros(z.shape[1], lam.dtype).at[: lam.shape[0]].set(lam)  # N < D: pad with zeros


@jax.jit
def effective_rank(z) -> jax.Array:
  """Participation ratio (Σ_k λ_k)² / Σ_k λ_k² of the covariance eigenvalues λ (0 if all are 0).

  D for an isotropic covariance, r for r equal non-zero eigenvalues; unlike RankMe it is centred and
  weights the spectrum by λ = σ²/N. Gao et al., "A theory of multineuronal dimensionality, dynamics
  and measurement", bioRxiv 2017 (the "participation ratio" dimensionality).
  """
  lam = eigenspectrum(z)
  return jnp.sum(lam) ** 2 / jnp.maximum(jnp.sum(lam**2), jnp.finfo(lam.dtype).tiny)


@jax.jit
def alignment(z1, z2, alpha: float = 2.0) -> jax.Array:
  """Alignment E_i ‖ẑ1_i − ẑ2_i‖₂^α of the L2-normalised positive pairs (0 is perfect alignment).

  Wang & Isola, "Understanding contrastive representation learning through alignment and uniformity
  on the hypersphere", ICML 2020, eq. (4) (`align_loss`).
  """
  z1, z2 = _check_pair(z1, z2)
  return jnp.mean(jnp.linalg.norm(_l2_normalise(z1) - _l2_normalise(z2), axis=1) ** alpha)


@jax.jit
def uniformity(z, t: float = 2.0) -> jax.Array:
  """Uniformity log E_{i<j} exp(−t ‖ẑ_i − ẑ_j‖²) of the L2-normalised rows; 0 when all coincide.

  Lower is more uniform (≈ −t·2 = −4 for many points spread over a high-dimensional sphere). Wang &
  Isola, ICML 2020, eq. (5) (`uniform_loss`). Cost O(N²·D) time and O(N²) memory.
  """
  z = _l2_normalise(_check(z, min_rows=2))
  n = z.shape[0]
  sq = jnp.maximum(2.0 - 2.0 * (z @ z.T), 0.0)  # ‖a − b‖² = 2 − 2 a·b on the unit sphere
  off = ~jnp.eye(n, dtype=bool)  # mean over i ≠ j equals the mean over i < j (symmetric)
  return jax.nn.logsumexp(jnp.where(off, -t * sq, -jnp.inf)) - jnp.log(n * (n - 1.0))


@jax.jit
def normalised_std(z) -> jax.Array:
  """Mean over dimensions of the std of the L2-normalised embeddings, times √D.

  ≈ 1 for embeddings spread isotropically over the sphere, 0 for complete collapse (the collapse
  monitor of Lightly and of the SimSiam paper, Chen & He 2021, fig. 2, rescaled by √D).
  """
  z = _l2_normalise(_check(z))
  return jnp.mean(jnp.std(z, axis=0)) * jnp.sqrt(z.shape[1])


@jax.jit
def embedding_std(z) -> jax.Array:
  """Mean over dimensions of the per-dimension standard deviation of the raw embeddings.

  Scale-dependent on purpose: it sees the "shrinking" collapse z → constant that the scale-free
  RankMe, uniformity and normalised_std miss. VICReg's variance term holds it at ≥ γ = 1 (Bardes,
  Ponce, LeCun, ICLR 2022, eq. 1); a batch-normalised projector starts near 1.
  """
  return jnp.mean(jnp.std(_check(z), axis=0))


@jax.jit
def infonce_mi(z1, z2, temperature: float = 0.1) -> jax.Array:
  """InfoNCE lower bound on I(z1; z2) (nats) with the fixed critic f(a, b) = cos(a, b)/τ.

  Î = log N + (1/N) Σ_i [f_ii − logsumexp_j f_ij] ≤ log N, with N the batch size: use a large
  evaluation batch (van den Oord et al. 2018; Poole et al. 2019, eq. 12). A lower bound for any τ.
  """
  z1, z2 = _check_pair(z1, z2)
  return infonce(_l2_normalise(z1) @ _l2_normalise(z2).T / temperature)


def random_projection(key: jax.Array, dim_in: int, dim_out: int) -> jax.Array:
  """A (dim_in, dim_out) matrix with orthonormal columns drawn uniformly (QR of a Gaussian)."""
  if not 1 <= dim_out <= dim_in:
    raise ValueError(f"Projection dimension must lie in [1, D={dim_in}], found {dim_out}.")
  q, r = jnp.linalg.qr(jax.random.normal(key, (dim_in, dim_out)))
  return q * jnp.sign(jnp.diagonal(r))


def ksg_mi_projected(z1, z2, key: jax.Array, *, dim: int = 4, k: int = 3) -> jax.Array:
  """KSG estimate (nats) of I(Pᵀz1; Pᵀz2) for one random orthonormal projection P (D × dim).

  The projected coordinates are standardised (MI is invariant to it); NaN when one of them is
  constant (KSG needs continuous variables). By the data-processing inequality
  I(Pᵀz1; Pᵀz2) ≤ I(z1; z2); KSG itself is consistent but biased low for large MI.
  Kraskov, Stögbauer, Grassberger, Phys. Rev. E 69, 066138 (2004), algorithm 1.
  """
  z1, z2 = _check_pair(z1, z2)
  p = random_projection(key, z1.shape[1], dim)
  x, y = z1 @ p, z2 @ p
  sx, sy = jnp.std(x, axis=0), jnp.std(y, axis=0)
  mi = ksg_mi((x - jnp.mean(x, 0)) / jnp.maximum(sx, 1e-12),
              (y - jnp.mean(y, 0)) / jnp.maximum(sy, 1e-12), k=k)
  return jnp.where(jnp.minimum(sx.min(), sy.min()) > 0, mi, jnp.nan)


def kl_entropy_projected(z, key: jax.Array, *, dim: int = 4, k: int = 3) -> jax.Array:
  """Kozachenko–Leonenko kNN entropy (nats) of Pᵀz for one random orthonormal projection P.

  kNN estimators are unusable in hundreds of dimensions, so this is a low-dimensional view of the
  embedding's spread, not an estimate of H(z). Kozachenko & Leonenko 1987; consistent, −inf when
  rows repeat.
  """
  z = _check(z)
  return kl_entropy(z @ random_projection(key, z.shape[1], dim), k=k)


def pairwise_excess_entropy(z, sigma, *, bound: str) -> jax.Array:
  """A pairwise mixture-entropy bound minus the entropy of one component, in [0, log N] nats.

  H_• − (D/2)·log(2πeσ²) = log N − (1/N) Σ_i logsumexp_j(−‖z_i − z_j‖²/cσ²)  (c = 2 'kl', 8 'bd').

  The bounds themselves (`jaxssl.estimators.pairwise_kl_entropy` / `pairwise_bd_entropy`) carry
  the constant (D/2)·log(2πeσ²) of one N(z_i, σ²I), which does not depend on the embeddings (1460
  nats at D = 512, σ = 1) and hides the part that moves; this is that part: 0 when every row is
  the same point, log N when the rows are far apart on the scale σ.
  """
  estimator = {"kl": pairwise_kl_entropy, "bd": pairwise_bd_entropy}[bound]
  return estimator(z, sigma) - component_entropy(z.shape[1], sigma)


def covariance_rank(z) -> jax.Array:
  """Numerical rank of the centred covariance of z: singular values of z − z̄ above
  max(N, D)·eps·σ_max (NumPy's `matrix_rank` rule)."""
  zc = z - jnp.mean(z, axis=0)
  s = jnp.linalg.svd(zc, compute_uv=False)
  tol = s[0] * max(z.shape) * jnp.finfo(s.dtype).eps
  return jnp.sum(s > tol).astype(jnp.float32)


@functools.partial(jax.jit, static_argnames=("with_gaussian",))
def cheap_diagnostics(z1, z2, beta, sigma, temperature, *, with_gaussian):
  """The `CHEAP_KEYS` diagnostics (and `gaussian_entropy`, `gaussian_rank` when `with_gaussian`)
  as a dict of scalar arrays: jit-able, for `diagnose` and for the online diagnostics during
  pretraining. `gaussian_entropy` is NaN where the covariance is singular (`gaussian_rank` < D):
  the entropy of a Gaussian on a lower-dimensional support is −∞, which says nothing more than the
  rank does."""
  out = {
      "rankme": rankme(z1),
      "effective_rank": effective_rank(z1),
      "normalised_std": normalised_std(z1),
      "embedding_std": embedding_std(z1),
      "alignment": alignment(z1, z2),
      "uniformity": uniformity(z1),
      "logdet_entropy": logdet_entropy(z1, beta),
      "pairwise_kl_excess_entropy": pairwise_excess_entropy(z1, sigma, bound="kl"),
      "pairwise_bd_excess_entropy": pairwise_excess_entropy(z1, sigma, bound="bd"),
      "infonce_mi": infonce_mi(z1, z2, temperature),
  }
  if with_gaussian:
    rank = covariance_rank(z1)
    out["gaussian_rank"] = rank
    out["gaussian_entropy"] = jnp.where(rank == z1.shape[1], gaussian_entropy(z1), jnp.nan)
  return out


CHEAP_KEYS = ("rankme", "effective_rank", "normalised_std", "embedding_std", "alignment",
              "uniformity", "logdet_entropy", "pairwise_kl_excess_entropy",
              "pairwise_bd_excess_entropy", "infonce_mi")
FULL_KEYS = ("kl_entropy_proj", "ksg_mi_proj")
GAUSSIAN_KEYS = ("gaussian_entropy", "gaussian_rank")



def diagnose(z1, z2, key: jax.Array, *, cheap: bool = True, beta: float = 1.0,
             sigma: float = 1.0, temperature: float = 0.1, proj_dim: int = 4,
             k: int = 3) -> dict[str, float]:
  """All diagnostics of two views' embeddings (rows paired), as a dict of Python floats.

  Single-view quantities are computed on z1. Keys: `n`, `dim`, `finite` (1.0 or 0.0), `rankme`,
  `effective_rank`, `normalised_std`, `embedding_std`, `alignment`, `uniformity`,
  `logdet_entropy` (β), `pairwise_kl_excess_entropy` / `pairwise_bd_excess_entropy` (upper /
  lower bounds on the entropy of the mixture of N(z_i, σ²I) above one component's, in [0, log N]:
  `pairwise_excess_entropy`), `gaussian_entropy` and `gaussian_rank` (only when N > D; the entropy
  is NaN when the covariance is singular, rank < D), `infonce_mi` (critic cos/τ, ≤ log N); with
  `cheap=False`
  also the kNN estimators on a random `proj_dim`-dimensional projection: `kl_entropy_proj`,
  `ksg_mi_proj`. Entropies are of the raw (unnormalised) embeddings, so they depend on their scale.
  Non-finite embeddings (or entries beyond `MAX_ABS`) give `finite` = 0 and NaN for every
  estimate (no estimator is run).

  Cost: O(N·D² + N²·D) (SVD, covariance, pairwise distances); the kNN estimators add O(N²·proj_dim).
  """
  z1, z2 = _check_pair(z1, z2)
  n, d = z1.shape
  if n < 2:
    raise ValueError(f"diagnose needs at least 2 rows per view, found {n}.")
  out = {"n": float(n), "dim": float(d)}
  keys = CHEAP_KEYS + (GAUSSIAN_KEYS if n > d else ()) + (() if cheap else FULL_KEYS)
  if not bool(usable(z1, z2)):  # non-finite, or beyond MAX_ABS: no estimator is run
    return {**out, "finite": 0.0, **{name: math.nan for name in keys}}
  out["finite"] = 1.0
  values = cheap_diagnostics(z1, z2, jnp.float32(beta), jnp.float32(sigma),
                             jnp.float32(temperature), with_gaussian=n > d)
  if not cheap:
    k_proj = min(k, n - 1)
    values["kl_entropy_proj"] = kl_entropy_projected(z1, key, dim=min(proj_dim, d), k=k_proj)
    values["ksg_mi_proj"] = ksg_mi_projected(z1, z2, key, dim=min(proj_dim, d), k=k_proj)
  return {**out, **{name: float(v) for name, v in values.items()}}


def is_collapsed(diag: dict, *, rank_fraction: float = 0.02,
                 uniformity_threshold: float = -0.1) -> tuple[bool, str]:
  """Flags a collapsed representation from a `diagnose` dict; returns (collapsed, reason).

  Collapsed when any of:
    * the embeddings are not finite (`finite` == 0): training diverged;
    * `uniformity` > −0.1 (t = 2): the normalised embeddings lie in a cap of mean squared chord
      ≲ 0.05 around one direction — complete collapse (healthy values are about −2 to −4);
    * `rankme` < max(1.5, 2 % of D): the embeddings span about one direction, or under 2 % of the
      available dimensions — dimensional collapse (Garrido et al. 2023 find downstream accuracy
      falls steeply with RankMe).
  The reason is "" when not collapsed.
  """
  missing = [key for key in ("finite", "dim", "rankme", "uniformity") if key not in diag]
  if missing:
    raise KeyError(f"is_collapsed needs the keys {missing} of a `diagnose` dict; found "
                   f"{sorted(diag)}.")
  if not diag["finite"] or not np.isfinite([diag["rankme"], diag["uniformity"]]).all():
    return True, "non-finite embeddings or diagnostics: training diverged"
  if diag["uniformity"] > uniformity_threshold:
    return True, (f"uniformity {diag['uniformity']:.3f} > {uniformity_threshold}: embeddings "
                  f"collapsed to one direction")
  min_rank = max(1.5, rank_fraction * diag["dim"])
  if diag["rankme"] < min_rank:
    return True, (f"RankMe {diag['rankme']:.2f} < {min_rank:.2f} (of D = {int(diag['dim'])}): "
                  f"dimensional collapse")
  return False, ""


def collapse_warning(diag: dict, *, rank_fraction: float = 0.1,
                     min_std: float = 0.1) -> tuple[bool, str]:
  """An early warning of collapse from a `diagnose` dict; returns (warning, reason).

  Fires when `is_collapsed` does, or when
    * RankMe < 10 % (`rank_fraction`) of min(N, D), the most it can be (N = `n` rows, D = `dim`):
      the embeddings use under a tenth of the available dimensions (dimensional collapse; healthy
      SSL projectors keep a large fraction, Garrido et al. 2023);
    * `embedding_std` < 0.1 (`min_std`): the embeddings shrink towards one point (the collapse of
      VICReg without its variance term; RankMe and uniformity are scale-free and miss it). The
      reference scale is VICReg's γ = 1; objectives that L2-normalise z leave its scale free, so
      for them this criterion is a heuristic.
  The reason is "" without a warning.
  """
  collapsed, reason = is_collapsed(diag)
  if collapsed:
    return True, reason
  min_rank = rank_fraction * min(diag.get("n", diag["dim"]), diag["dim"])
  if diag["rankme"] < min_rank:
    return True, (f"RankMe {diag['rankme']:.2f} < {min_rank:.2f} ({rank_fraction:.0%} of "
                  f"min(N, D)): the embeddings use few of their dimensions")
  if diag.get("embedding_std", math.inf) < min_std:
    return True, (f"embedding_std {diag['embedding_std']:.3g} < {min_std}: the embeddings shrink "
                  f"towards one point")
  return False, ""
