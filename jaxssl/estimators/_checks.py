"""Input checks shared by the estimators.

Shapes are static, so shape errors are raised under `jit` as well. Values are not: the finiteness
check runs only when the array is concrete (not a tracer). Under `jit`/`vmap` the estimators
instead return NaN when an input holds a NaN or an infinity (see `nan_if_nonfinite`), so a bad
value is never turned into a finite-looking number.
"""
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
  return not isinstance(x, jax.core.Tracer)


def float_dtype(x):
  return jnp.promote_types(jnp.result_type(x), jnp.float32)


def as_samples(x, name: str = "x") -> jax.Array:
  """`x` as a float array of shape (N, d); a 1-D array is read as N samples of dimension 1."""
  x = jnp.asarray(x)
  if jnp.issubdtype(x.dtype, jnp.complexfloating) or x.dtype == jnp.bool_:
    raise ValueError(f"`{name}` must hold real numbers, found dtype {x.dtype}.")
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim != 2:
    raise ValueError(
        f"`{name}` must have shape (N, d) (or (N,) for d = 1), found shape {x.shape}.")
  if x.shape[0] == 0:
    raise ValueError(f"`{name}` has no samples (shape {x.shape}); pass at least one row.")
  if x.shape[1] == 0:
    raise ValueError(
        f"`{name}` has dimension d = 0 (shape {x.shape}); each sample needs at least one feature.")
  return x.astype(float_dtype(x))


@jax.jit
def _count_non_finite(x):
  return jnp.sum(~jnp.isfinite(x))


def _on_host(x) -> bool:
  return not isinstance(x, jax.Array) or all(d.platform == "cpu" for d in x.devices())


def check_finite(name: str, x) -> None:
  """Raises ValueError when a concrete `x` holds NaN or ±inf; does nothing for tracers."""
  if not is_concrete(x):
    return
  # On the host NumPy reads the buffer in place; on an accelerator only the count is copied back.
  bad = (int(np.sum(~np.isfinite(np.asarray(x)))) if _on_host(x)
         else int(_count_non_finite(x)))
  if bad:
    raise ValueError(
        f"`{name}` holds {bad} non-finite value(s) (NaN or inf); estimators need finite inputs. "
        "Filter or impute them first.")


def check_same_n(x, y, xname: str = "x", yname: str = "y") -> None:
  if x.shape[0] != y.shape[0]:
    raise ValueError(
        f"`{xname}` and `{yname}` must have the same number of samples (rows), found "
        f"{x.shape[0]} for {xname} and {y.shape[0]} for {yname}.")


def check_k(k: int, n: int) -> None:
  if int(k) != k or k < 1:
    raise ValueError(f"`k` must be a positive integer, found {k!r}.")
  if k >= n:
    raise ValueError(
        f"`k` must be smaller than the number of samples N, found k = {k} and N = {n}; "
        "use more samples or a smaller k.")


def nan_if_nonfinite(value: jax.Array, *arrays) -> jax.Array:
  """`value` where every input is finite, NaN otherwise (the jit-safe form of `check_finite`)."""
  ok = jnp.array(True)
  for a in arrays:
    ok = ok & jnp.all(jnp.isfinite(a))
  return jnp.where(ok, value, jnp.nan)


def check_scores(scores, name: str = "scores", square: bool = True) -> jax.Array:
  scores = jnp.asarray(scores)
  if scores.ndim != 2:
    raise ValueError(
        f"`{name}` must be a score matrix of shape (N, N) with scores[i, j] = f(x_i, y_j), found "
        f"shape {scores.shape}.")
  if square and scores.shape[0] != scores.shape[1]:
    raise ValueError(
        f"`{name}` must be square (N, N) with the positive pairs on the diagonal, found shape "
        f"{scores.shape}.")
  if scores.shape[0] < 2:
    raise ValueError(f"`{name}` needs N >= 2 samples, found shape {scores.shape}.")
  check_finite(name, scores)
  return scores
