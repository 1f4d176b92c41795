"""CorInfoMax: correlative information maximisation (Ozsoy et al. 2022)."""
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxssl.objectives import _common
from jaxssl.parallel import collectives
from jaxssl.objectives._registry import register


class CorInfoMaxState(NamedTuple):
  """Moving means μ (D,) and moving covariances R (D, D) of the two branches."""
  mu1: jax.Array
  mu2: jax.Array
  r1: jax.Array
  r2: jax.Array


def corinfomax_init(dim: int, dtype=jnp.float32) -> CorInfoMaxState:
  """Initial CorInfoMax state: μ = 0 and R = I for both branches.

  Args:
    dim: embedding dimension D.
    dtype: dtype of the state (float32; float64 needs x64).

  Returns:
    A `CorInfoMaxState`.
  """
  zeros = jnp.zeros((dim,), dtype)
  eye = jnp.eye(dim, dtype=dtype)
  return CorInfoMaxState(mu1=zeros, mu2=zeros, r1=eye, r2=eye)


def _x64_enabled() -> bool:
  return jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64


def _logdet_float64(m: jax.Array, eps: float) -> jax.Array:
  """logdet(M + εI) by a float64 Cholesky factorisation (needs x64), as the reference code."""
  m64 = m.astype(jnp.float64) + eps * jnp.eye(m.shape[0], dtype=jnp.float64)
  chol = jnp.linalg.cholesky(m64)
  return (2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))).astype(m.dtype)


def _logdet_float32(m: jax.Array, eps: float) -> jax.Array:
  """logdet(M + εI) = Σ log(max(λ_i(M), 0) + ε) from the eigenvalues of the symmetric M.

  For float32 without x64: rounding can make the smallest eigenvalues of a PSD matrix slightly
  negative, where a Cholesky factorisation would fail (NaN) at ε = 1e-8; the eigenvalues are
  clipped at 0 instead. The gradient, V diag(1/(λ + ε)) Vᵀ = (M + εI)⁻¹ off the clipped
  directions, uses eigenvalues only, so repeated eigenvalues (R = I at the start) are harmless.
  A NaN in M gives a NaN log-determinant.
  """
  eigenvalues = jnp.linalg.eigvalsh(m)
  return jnp.sum(jnp.log(jnp.maximum(eigenvalues, 0.0) + eps))


def _logdet(m, eps):
  if _x64_enabled():
    return _logdet_float64(m, eps)
  return _logdet_float32(m, eps)


def _branch(z, mu_old, r_old, la_mu, la_r):
  n = z.shape[0]
  mu = la_mu * jax.lax.stop_gradient(mu_old) + (1.0 - la_mu) * jnp.mean(z, axis=0)
  z_hat = z - mu
  r = la_r * jax.lax.stop_gradient(r_old) + (1.0 - la_r) * (z_hat.T @ z_hat) / n
  return mu, r


@register("corinfomax", kind="stateful", init_state=corinfomax_init)
def corinfomax(
    z1: jax.Array,
    z2: jax.Array,
    state: CorInfoMaxState,
    *,
    alpha: float = 250.0,
    la_R: float = 0.01,  # pylint: disable=invalid-name
    la_mu: float = 0.01,
    eps: float = 1e-8,
    axis_name: Optional[collectives.AxisName] = None,
) -> tuple[jax.Array, dict[str, jax.Array], CorInfoMaxState]:
  """CorInfoMax loss, with the moving means and covariances it carries between steps.

  With z L2-normalised per example, per branch b:
    μ_b ← λ_μ·μ_b + (1 − λ_μ)·mean_n z_b,n,
    R_b ← λ_R·sg(R_b) + (1 − λ_R)·ẑ_bᵀẑ_b / N,   ẑ_b = z_b − μ_b (the updated μ_b),
    loss = α·mean_{n,j}(z1_nj − z2_nj)² − [logdet(R_1 + εI) + logdet(R_2 + εI)] / D.
  The log-determinant is a float64 Cholesky factorisation when x64 is enabled (as the reference
  code) and otherwise a float32 eigenvalue path, Σ log(max(λ_i, 0) + ε), which stays finite where
  float32 rounding leaves R numerically indefinite; the two agree to float32 precision on
  well-conditioned R. A NaN in the embeddings makes the loss and the new state NaN: the caller
  skipping a non-finite step must also keep the old state.

  >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 256, 32))
  >>> loss, metrics, state = corinfomax(z1, z2, corinfomax_init(32))
  >>> sorted(metrics)
  ['covariance', 'invariance', 'logdet_1', 'logdet_2']

  Args:
    z1: embeddings of the first view, shape (N, D), float (normalised here).
    z2: embeddings of the second view, shape (N, D), float.
    state: `CorInfoMaxState` from `corinfomax_init(D)` or the previous step.
    alpha: α, weight of the invariance (MSE) term (250 on CIFAR-10).
    la_R: λ_R, weight of the old covariance in its moving average.
    la_mu: λ_μ, weight of the old mean in its moving average.
    eps: ε added to the diagonal inside the log-determinants.
    axis_name: mapped axis the batch is split over (inside `shard_map`/`pmap`), or None. With it,
      value, parameter gradient (the idiom table of `jaxssl.objectives`) and new state equal
      those on the concatenated global batch; the new state and metrics are replicated across the
      axis.

  Returns:
    `(loss, metrics, new_state)`: the scalar loss; `invariance` (the MSE), `logdet_1`, `logdet_2`
    (nats) and `covariance` (= −(logdet_1 + logdet_2)/D) in metrics; the updated state, under
    stop-gradient.

  References:
    Ozsoy, Hamdan, Arik, Yuret & Erdogan, "Self-Supervised Learning with an Information
    Maximization Criterion", NeurIPS 2022, https://arxiv.org/abs/2209.07999
  """
  _common.check_embeddings("corinfomax", ("z1", "z2"), z1, z2)
  d = z1.shape[1]
  expected = {"mu1": (d,), "mu2": (d,), "r1": (d, d), "r2": (d, d)}
  found = {k: jnp.shape(v) for k, v in state._asdict().items()}
  if found != expected:
    raise ValueError(f"corinfomax: state shapes {found} do not match embeddings of dimension {d} "
                     f"(expected {expected}); create it with corinfomax_init({d}).")
  dtype = _common.compute_dtype(z1, z2)
  z1 = _common.l2_normalize(collectives.gather_batch(z1.astype(dtype), axis_name))
  z2 = _common.l2_normalize(collectives.gather_batch(z2.astype(dtype), axis_name))
  _common.check_embeddings("corinfomax", ("z1 (global batch)", "z2 (global batch)"), z1, z2,
                           min_batch=2)
  state_dtypes = jax.tree.map(lambda x: jnp.result_type(x), state)
  state = jax.tree.map(lambda x: jnp.asarray(x, dtype), state)
  mu1, r1 = _branch(z1, state.mu1, state.r1, la_mu, la_R)
  mu2, r2 = _branch(z2, state.mu2, state.r2, la_mu, la_R)
  invariance = jnp.mean((z1 - z2) ** 2)
  logdet_1 = _logdet(r1, eps)
  logdet_2 = _logdet(r2, eps)
  covariance = -(logdet_1 + logdet_2) / d
  loss = alpha * invariance + covariance
  metrics = {"invariance": invariance, "logdet_1": logdet_1, "logdet_2": logdet_2,
             "covariance": covariance}
  # The state keeps its dtype from step to step (a scan carry must not change type).
  new_state = CorInfoMaxState(mu1=mu1, mu2=mu2, r1=r1, r2=r2)
  new_state = jax.tree.map(lambda x, t: x.astype(t), new_state, state_dtypes)
  loss, (metrics, new_state) = collectives.finish(loss, (metrics, new_state), axis_name)
  return loss, metrics, new_state
