"""Diagnostics of embeddings: rank, spectrum, alignment, uniformity, entropy, MI, collapse.

Every function is a pure function of (N, D) arrays (one view `z`, or two views `z1`, `z2` whose rows
are paired; `lidar` takes (Q, N, D): Q views of N images), jitted (one compilation per shape).
Information quantities are in nats. `diagnose` bundles them into a dict of floats for logging, and
`is_collapsed` reads that dict.
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
from jaxssl.estimators.spread import log_gaussian_potential


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


# LiDAR's constants: δ regularises Σ_w (absolute, in the embeddings' squared units); ε is added to
# the normalised eigenvalues, as in RankMe.
LIDAR_DELTA = 1e-4
LIDAR_EPS = 1e-8


def _check_views(z, name="z"):
  z = jnp.asarray(z)
  if z.ndim != 3:
    raise ValueError(f"`{name}` must be views-first embeddings (Q, N, D): Q augmented views of the "
                     f"same N images, found shape {z.shape}.")
  q, n, _ = z.shape
  if q < 2 or n < 2:
    raise ValueError(f"`{name}` needs at least 2 views (Q) of at least 2 images (N), found "
                     f"Q = {q}, N = {n} (shape {z.shape}).")
  return z.astype(jnp.promote_types(z.dtype, jnp.float32))


def _symmetric_gram_eigenvalues(m, d):
  """The D eigenvalues (descending, ≥ 0) of mᵀm (D × D) for m (K, D), from whichever of mᵀm and
  mmᵀ (K × K) is smaller: they share their non-zero eigenvalues."""
  g = m @ m.T if m.shape[0] < m.shape[1] else m.T @ m
  lam = jnp.maximum(jnp.linalg.eigvalsh(g)[::-1], 0.0)
  return jnp.zeros(d, lam.dtype).at[: lam.shape[0]].set(lam)  # K < D: D − K more zeros


@jax.jit
def lidar(z, *, delta: float = LIDAR_DELTA, eps: float = LIDAR_EPS) -> jax.Array:
  """LiDAR = exp(−Σ_k p_k log p_k), p_k = λ_k/‖λ‖₁ + ε, λ the eigenvalues of Σ_w^{−½} Σ_b Σ_w^{−½}.

  `z` is (Q, N, D): row i of `z[j]` is view j of image i. Each image is one class of the surrogate
  SSL task, with class mean μ_i = (1/Q) Σ_j z_ji and grand mean μ = (1/N) Σ_i μ_i:

    Σ_b = 1/(N − 1) · Σ_i (μ_i − μ)(μ_i − μ)ᵀ                      (between images)
    Σ_w = 1/(N (Q − 1)) · Σ_i Σ_j (z_ji − μ_i)(z_ji − μ_i)ᵀ + δ I   (within an image's views)

  both unbiased sample covariances, so Σ_w estimates the augmentations' covariance whatever Q is
  (Q = 2: Σ_w = (1/2N) Σ_i (z_1i − z_2i)(z_1i − z_2i)ᵀ + δI). LiDAR is the smooth rank of the
  linear-discriminant matrix: between 1 and min(D, N − 1); ≈ 1 when every image maps to the same
  point or the images vary along one direction only; high when many directions separate images
  while their views agree. Views that are pure noise around one point also score high (≈ D): the
  class means keep 1/Q of the view noise, Σ_b ≈ Σ_w/Q, a flat spectrum whatever Q. δ = 1e-4 and
  ε = 1e-8 are the defaults of the stable-pretraining library's LiDAR monitor (reimplementations
  use δ from 1e-6 to 1e-3); δ is absolute, in the embeddings' squared units: within-image variance
  far below it counts as none. Thilak, Huang, Saremi, Dinh, Goh, Nakkiran, Susskind, Littwin,
  "LiDAR: Sensing linear probing performance in joint embedding SSL architectures", ICLR 2024,
  section 3.

  Computed as the eigenvalues of L⁻¹ Σ_b L⁻ᵀ, Σ_w = LLᵀ (Cholesky; the same eigenvalues, those of
  Σ_w⁻¹Σ_b), from the smaller of its D × D and N × N Gram forms: O(Q·N·D² + D³/3 + min(N, D)³);
  on XLA:CPU a Cholesky at D = 1024 takes ~0.03 s, an eigendecomposition 1–3 s. Where rounding
  makes Σ_w + δI numerically indefinite (in float32, δ below ~1e-7 of Σ_w's largest eigenvalue),
  the Cholesky fails and Σ_w^{−½} comes from an eigendecomposition, its eigenvalues floored at δ.
  """
  z = _check_views(z)
  q, n, d = z.shape
  means = jnp.mean(z, axis=0)  # (N, D) class means μ_i
  between = (means - jnp.mean(means, axis=0)) / jnp.sqrt(n - 1.0)  # Σ_b = betweenᵀ between
  within = (z - means).reshape(q * n, d)
  sigma_w = within.T @ within / (n * (q - 1)) + delta * jnp.eye(d, dtype=z.dtype)
  chol = jnp.linalg.cholesky(sigma_w)

  def by_cholesky(_):
    return jax.scipy.linalg.solve_triangular(chol, between.T, lower=True).T  # (N, D): B L⁻ᵀ

  def by_eigh(_):
    lam_w, v = jnp.linalg.eigh(sigma_w)
    return (between @ v) / jnp.sqrt(jnp.maximum(lam_w, delta))  # B V Λ^{−½}

  b = jax.lax.cond(jnp.all(jnp.isfinite(chol)), by_cholesky, by_eigh, None)
  lam = _symmetric_gram_eigenvalues(b, d)  # eigenvalues of bᵀb, similar to Σ_w^{−½}Σ_bΣ_w^{−½}
  p = lam / jnp.maximum(jnp.sum(lam), jnp.finfo(lam.dtype).tiny) + eps
  return jnp.exp(-jnp.sum(p * jnp.log(p)))


# α-ReQ's fitting window: ranks 4 to 100 of the eigenspectrum (the top three eigenvalues left out).
ALPHA_REQ_RANKS = (4, 100)


@functools.partial(jax.jit, static_argnames=("first", "last"))
def alpha_req(z, *, first: int = ALPHA_REQ_RANKS[0], last: int = ALPHA_REQ_RANKS[1]) -> jax.Array:
  """α-ReQ: the decay α of the covariance eigenspectrum fitted as a power law, λ_i ≈ c · i^{−α}.

  λ_1 ≥ λ_2 ≥ … are the eigenvalues of the centred covariance (1/N) Σ_i (z_i − z̄)(z_i − z̄)ᵀ
  (those of `eigenspectrum`, here from the smaller of the D × D and N × N Gram matrices: a
  symmetric eigensolver, several times faster than an SVD on a CPU); α minimises the weighted least
  squares Σ_i w_i (log λ_i − log c + α log i)², w_i = 1/i, over the ranks `first` ≤ i ≤ `last`
  (4 to 100): the fit of the authors' code (`stringer_get_powerlaw` with
  `trange = np.arange(3, 100)`, github.com/kumarkrishna/fastssl, itself from Stringer et al.,
  Nature 2019). Eigenvalues that are numerically zero (λ_i ≤ λ_1 · max(N, D) · eps; a centred
  N × D matrix has at most N − 1 non-zero ones) are left out of the fit rather than given log 0;
  NaN when fewer than two ranks remain (a representation of rank ≤ 4, or constant). The scale c
  does not enter α. α near 1 went with good linear-probe accuracy in the paper; α → 0 is a flat,
  noise-like spectrum and a large α a few dominant directions. Agrawal, Mondal, Ghosh, Richards,
  "α-ReQ: Assessing representation quality in self-supervised learning by measuring eigenspectrum
  decay", NeurIPS 2022. `alpha_req_of_spectrum` fits eigenvalues computed elsewhere.
  """
  z = _check(z)
  if not 1 <= first < last:
    raise ValueError(f"alpha_req needs 1 <= first < last, found first={first}, last={last}.")
  lam = _symmetric_gram_eigenvalues(z - jnp.mean(z, axis=0), z.shape[1]) / z.shape[0]
  return _powerlaw_decay(lam, max(z.shape) * jnp.finfo(lam.dtype).eps, first, last)


@functools.partial(jax.jit, static_argnames=("first", "last"))
def alpha_req_of_spectrum(eigenvalues, *, rtol: float | None = None,
                          first: int = ALPHA_REQ_RANKS[0],
                          last: int = ALPHA_REQ_RANKS[1]) -> jax.Array:
  """`alpha_req`'s fit on given covariance eigenvalues (any order; sorted descending here).

  Eigenvalues ≤ λ_1 · `rtol` count as zero (default: D · eps of their dtype, D their number; pass
  max(N, D) · eps for those of an N × D sample, as `alpha_req` does).
  """
  lam = jnp.asarray(eigenvalues)
  if lam.ndim != 1:
    raise ValueError(f"`eigenvalues` must be one-dimensional, found shape {lam.shape}.")
  if not 1 <= first < last:
    raise ValueError(f"alpha_req needs 1 <= first < last, found first={first}, last={last}.")
  lam = jnp.sort(lam.astype(jnp.promote_types(lam.dtype, jnp.float32)))[::-1]
  return _powerlaw_decay(lam, lam.shape[0] * jnp.finfo(lam.dtype).eps if rtol is None else rtol,
                         first, last)


def _powerlaw_decay(lam, rtol, first, last):
  """α of the weighted (w_i = 1/i) least-squares fit log λ_i = log c − α log i over the ranks
  first..last of the descending `lam` whose values exceed λ_1 · rtol; NaN with fewer than two."""
  rank = jnp.arange(1, lam.shape[0] + 1, dtype=lam.dtype)
  keep = (rank >= first) & (rank <= last) & (lam > lam[0] * rtol) & (lam > 0)
  w = jnp.where(keep, 1.0 / rank, 0.0)
  x = jnp.log(rank)
  y = jnp.log(jnp.where(keep, lam, 1.0))
  sw = jnp.maximum(jnp.sum(w), jnp.finfo(lam.dtype).tiny)
  xc, yc = x - jnp.sum(w * x) / sw, y - jnp.sum(w * y) / sw
  alpha = -jnp.sum(w * xc * yc) / jnp.maximum(jnp.sum(w * xc**2), jnp.finfo(lam.dtype).tiny)
  return jnp.where(jnp.sum(keep) >= 2, alpha, jnp.nan)


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
  # The mean over i ≠ j equals the mean over i < j (symmetric).
  return log_gaussian_potential(_l2_normalise(_check(z, min_rows=2)), t)


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


@functools.partial(jax.jit, static_argnames=("with_gaussian", "with_lidar"))
def cheap_diagnostics(z1, z2, beta, sigma, temperature, *, with_gaussian, with_lidar=True):
  """The `CHEAP_KEYS` diagnostics (and `gaussian_entropy`, `gaussian_rank` when `with_gaussian`)
  as a dict of scalar arrays: jit-able, for `diagnose` and for the online diagnostics during
  pretraining. `gaussian_entropy` is NaN where the covariance is singular (`gaussian_rank` < D):
  the entropy of a Gaussian on a lower-dimensional support is −∞, which says nothing more than the
  rank does. `lidar` is of the Q = 2 views (z1, z2); `with_lidar=False` leaves it out (a caller
  with more views computes it)."""
  out = {
      "rankme": rankme(z1),
      **({"lidar": lidar(jnp.stack([z1, z2]))} if with_lidar else {}),
      "alpha_req": alpha_req(z1),
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


CHEAP_KEYS = ("rankme", "lidar", "alpha_req", "effective_rank", "normalised_std", "embedding_std",
              "alignment", "uniformity", "logdet_entropy", "pairwise_kl_excess_entropy",
              "pairwise_bd_excess_entropy", "infonce_mi")
FULL_KEYS = ("kl_entropy_proj", "ksg_mi_proj")
GAUSSIAN_KEYS = ("gaussian_entropy", "gaussian_rank")



def diagnose(z1, z2, key: jax.Array, *, cheap: bool = True, beta: float = 1.0,
             sigma: float = 1.0, temperature: float = 0.1, proj_dim: int = 4,
             k: int = 3, views=None) -> dict[str, float]:
  """All diagnostics of two views' embeddings (rows paired), as a dict of Python floats.

  Single-view quantities are computed on z1. Keys: `n`, `dim`, `finite` (1.0 or 0.0), `rankme`,
  `lidar` (of the two views z1, z2, Q = 2, or of `views`), `lidar_views` (its Q), `alpha_req`,
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

  `views`, (Q, N', D) embeddings of Q augmented views of N' images (views first, as `lidar`
  takes them), gives LiDAR more views per image than the two of z1, z2: their class means and
  within-image covariance are then better estimated.

  Cost: O(N·D² + N²·D) (SVD, covariance, pairwise distances); the kNN estimators add O(N²·proj_dim).
  """
  z1, z2 = _check_pair(z1, z2)
  n, d = z1.shape
  if n < 2:
    raise ValueError(f"diagnose needs at least 2 rows per view, found {n}.")
  if views is not None:
    views = _check_views(views, "views")
    if views.shape[2] != d:
      raise ValueError(f"`views` must have the views' dimension D = {d}, found shape "
                       f"{views.shape}.")
  out = {"n": float(n), "dim": float(d)}
  keys = CHEAP_KEYS + (GAUSSIAN_KEYS if n > d else ()) + (() if cheap else FULL_KEYS)
  q = float(2 if views is None else views.shape[0])
  if not bool(usable(z1, z2, *(() if views is None else (views,)))):  # no estimator is run
    values = {name: math.nan for name in keys}
    out["finite"] = 0.0
  else:
    out["finite"] = 1.0
    values = _estimates(z1, z2, key, views, beta=beta, sigma=sigma, temperature=temperature,
                        proj_dim=proj_dim, k=k, cheap=cheap)
  for name in keys:  # in CHEAP_KEYS' order, with LiDAR's Q right after it
    out[name] = float(values[name])
    if name == "lidar":
      out["lidar_views"] = q
  return out


def _estimates(z1, z2, key, views, *, beta, sigma, temperature, proj_dim, k, cheap):
  """`diagnose`'s estimates as a dict of scalar arrays (its inputs checked and usable)."""
  n, d = z1.shape
  values = cheap_diagnostics(z1, z2, jnp.float32(beta), jnp.float32(sigma),
                             jnp.float32(temperature), with_gaussian=n > d,
                             with_lidar=views is None)
  if views is not None:
    values["lidar"] = lidar(views)
  if not cheap:
    k_proj = min(k, n - 1)
    values["kl_entropy_proj"] = kl_entropy_projected(z1, key, dim=min(proj_dim, d), k=k_proj)
    values["ksg_mi_proj"] = ksg_mi_projected(z1, z2, key, dim=min(proj_dim, d), k=k_proj)
  return values


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
