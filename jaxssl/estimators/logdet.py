"""LogDet entropy of a batch of embeddings (Zhouyin & Liu 2021; Shwartz-Ziv et al. 2023)."""
import functools

import chex
import jax
import jax.numpy as jnp

from jaxssl.estimators import _checks
from jaxssl.parallel import collectives as dist


def logdet_entropy(z: jax.Array, beta: float = 1.0, *, axis_name=None) -> jax.Array:
  """LogDet entropy estimate Ĥ = ½ logdet(I + (β/N) ẑᵀẑ), in nats.

  ẑ is the batch centred over its N rows; D×D matrix, so cost O(N·D² + D³).

  Bias: not a consistent estimator of the differential entropy; it is the Gaussian coding rate of
  the batch (a monotone surrogate of the entropy of a Gaussian with the batch's covariance), used by
  Shwartz-Ziv et al. (2023, "An Information-Theoretic Perspective on Variance-Invariance-Covariance
  Regularization") as the entropy term of VICReg-LogDet.

  Distributed: with `axis_name` (inside `shard_map`/`pmap`, `z` the shard's rows, equal shard
  sizes) the value equals the one on the concatenated global batch (typed replicated under
  `shard_map(check_vma=True)`), and gradients of parameters shared by the shards equal the
  single-device ones with each idiom's usual reduction: none under `shard_map(check_vma=True)`,
  `lax.pmean` after `jax.grad` inside `pmap` / `shard_map(check_vma=False)` (the idiom table of
  `jaxssl.objectives`).

  Args:
    z: embeddings, shape (N, D), float.
    beta: scale β of the covariance inside the log-determinant.
    axis_name: mapped axis to reduce the batch statistics over, or None.

  Returns:
    A scalar, float32 (float64 if x64 is enabled and `z` is float64).

  References:
    Zhouyin, Liu, "Understanding neural networks with logarithm determinant entropy estimator"
    (2021).
  """
  chex.assert_rank(z, 2)
  if z.shape[1] == 0:
    raise ValueError(f"`z` has dimension D = 0 (shape {z.shape}); embeddings need D >= 1.")
  return _logdet_entropy(z, beta, axis_name)


@functools.partial(jax.jit, static_argnames="axis_name")
def _logdet_entropy(z, beta, axis_name):
  dtype = _checks.float_dtype(z)
  z = z.astype(dtype)
  dim = z.shape[1]
  if axis_name is None:
    n = z.shape[0]
    zc = z - jnp.mean(z, axis=0)
    gram = zc.T @ zc
  else:
    n = z.shape[0] * dist.num_shards(axis_name)
    mean = dist.global_sum(jnp.sum(z, axis=0), axis_name) / n
    # Centre at the (constant) global mean c; Σ(z − μ)(z − μ)ᵀ = Σ(z − c)(z − c)ᵀ − N(μ − c)(μ − c)ᵀ
    # holds for any c, and keeps the gradient that flows through μ.
    centre = jax.lax.stop_gradient(mean)
    zc = z - centre
    shift = mean - centre  # exactly 0 in value
    gram = dist.global_sum(zc.T @ zc, axis_name) - n * jnp.outer(shift, shift)
  matrix = jnp.eye(dim, dtype=dtype) + (beta / n) * gram
  chol = jnp.linalg.cholesky(matrix)
  value = jnp.sum(jnp.log(jnp.diagonal(chol)))
  return value if axis_name is None else dist.replicated(value, axis_name)
