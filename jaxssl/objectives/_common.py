"""Input checks and small numerical helpers shared by the objectives."""
from typing import Optional

import jax
import jax.numpy as jnp


def compute_dtype(*arrays: jax.Array) -> jnp.dtype:
  """float32, or float64 if an input is float64 (x64 on); bf16/f16 inputs are cast up to float32."""
  return jnp.promote_types(jnp.result_type(*arrays), jnp.float32)


def check_embeddings(objective: str, names: tuple[str, ...], *arrays, rank: Optional[int] = 2,
                     min_batch: int = 1) -> None:
  """Raises one ValueError if the arrays are not equal-shaped float arrays of the expected rank.

  Args:
    objective: name used in the message.
    names: argument names, one per array.
    *arrays: the inputs.
    rank: required rank, or None for "at least 2" (reconstruction: (batch, ...)).
    min_batch: smallest allowed leading dimension (the global batch size when the objective
      gathers over a mapped axis).
  """
  problems = []
  shapes = ", ".join(f"{n}: {jnp.shape(a)} {jnp.result_type(a)}" for n, a in zip(names, arrays))
  for name, a in zip(names, arrays):
    ndim = jnp.ndim(a)
    if rank is not None and ndim != rank:
      problems.append(f"{name} must have rank {rank} (batch, dim) but has shape {jnp.shape(a)}")
    elif rank is None and ndim < 2:
      problems.append(f"{name} must have shape (batch, ...) with rank >= 2 but has shape "
                      f"{jnp.shape(a)}")
    if not jnp.issubdtype(jnp.result_type(a), jnp.floating):
      problems.append(f"{name} must be a float array but has dtype {jnp.result_type(a)} "
                      "(cast it, e.g. x.astype(jnp.float32))")
  if not problems and len({jnp.shape(a) for a in arrays}) > 1:
    problems.append("all inputs must have the same shape")
  if not problems and jnp.shape(arrays[0])[0] < min_batch:
    problems.append(f"needs a batch of at least {min_batch} (its batch statistics or negatives are "
                    f"undefined otherwise) but got {jnp.shape(arrays[0])[0]}")
  if problems:
    raise ValueError(f"{objective}: " + "; ".join(problems) + f". Got {shapes}.")


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
  """Rows divided by max(‖x‖, eps), as `torch.nn.functional.normalize`; NaN rows stay NaN.

  The gradient is finite everywhere, PyTorch's too: ‖x‖ is differentiated as 0 at x = 0 (where
  `sqrt` has no derivative), so a row with ‖x‖ < eps, the all-zero row included, is x / eps with
  Jacobian I / eps.
  """
  squared = jnp.sum(x * x, axis=-1, keepdims=True)
  positive = squared > 0  # False for zero and NaN rows; a NaN row stays NaN through x / eps
  norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)
  return x / jnp.maximum(norm, eps)


def off_diagonal(m: jax.Array) -> jax.Array:
  """The square matrix with its diagonal set to zero."""
  return m * (1.0 - jnp.eye(m.shape[0], dtype=m.dtype))
