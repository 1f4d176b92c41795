"""LogDet entropy of a batch of embeddings (seed 004; Zhouyin & Liu 2021)."""
import chex
import jax
import jax.numpy as jnp


def logdet_entropy(z: jax.Array, beta: float = 1.0, *, axis_name=None) -> jax.Array:
  """LogDet entropy estimate Ĥ = ½ logdet(I + (β/N) ẑᵀẑ), in nats.

  ẑ is the batch centred over its N rows; D×D matrix, so cost O(N·D² + D³). With `axis_name`
  (inside `shard_map`/`pmap`) the mean and the Gram matrix are summed over that axis, so the value
  equals the one on the concatenated global batch.

  Bias: not a consistent estimator of the differential entropy; it is the Gaussian coding rate of
  the batch (a monotone surrogate of the entropy of a Gaussian with the batch's covariance), used by
  seed 004 (Shwartz-Ziv et al. 2023, "An Information-Theoretic Perspective on VICReg") as the
  entropy term of VICReg-LogDet.

  Args:
    z: embeddings, shape (N, D), float.
    beta: scale β of the covariance inside the log-determinant.
    axis_name: mapped axis to reduce the batch statistics over, or None.

  Returns:
    A scalar, float32 (float64 if x64 is enabled and `z` is float64).
  """
  chex.assert_rank(z, 2)
  dtype = jnp.promote_types(z.dtype, jnp.float32)
  z = z.astype(dtype)
  n = jnp.asarray(z.shape[0], dtype)
  total = jnp.sum(z, axis=0)
  if axis_name is not None:
    n = jax.lax.psum(n, axis_name)
    total = jax.lax.psum(total, axis_name)
  zc = z - total / n
  gram = zc.T @ zc
  if axis_name is not None:
    gram = jax.lax.psum(gram, axis_name)
  dim = z.shape[1]
  matrix = jnp.eye(dim, dtype=dtype) + (beta / n) * gram
  chol = jnp.linalg.cholesky(matrix)
  return jnp.sum(jnp.log(jnp.diagonal(chol)))
