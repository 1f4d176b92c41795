"""`jaxssl bench estimators`: KSG and Kozachenko–Leonenko in JAX against a SciPy cKDTree reference.

Correlated Gaussians (N samples, d dimensions for each of X and Y), the same float64 data for both
implementations. Each JAX estimator is called once first (compilation + run, reported separately),
then both implementations are timed `--repeats` times, interleaved so that a busy machine slows
both alike; the table reports medians and the speed-up SciPy time / JAX time.

  python -m jaxssl.bench.estimators --n 10000 --d 10
"""
import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from jaxssl.estimators import knn


def scipy_ksg_mi(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
  """KSG algorithm 1 with cKDTree (max-norm): the reference implementation."""
  n = x.shape[0]
  joint = np.hstack([x, y])
  eps = cKDTree(joint).query(joint, k=k + 1, p=np.inf, workers=-1)[0][:, -1]
  radius = np.nextafter(eps, 0)  # count strictly closer than eps
  n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True, workers=-1) - 1
  n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True, workers=-1) - 1
  return float(special.digamma(k) + special.digamma(n)
               - np.mean(special.digamma(n_x + 1) + special.digamma(n_y + 1)))


def scipy_kl_entropy(x: np.ndarray, k: int = 3) -> float:
  """Kozachenko–Leonenko with cKDTree (Euclidean): the reference implementation."""
  n, d = x.shape
  r = cKDTree(x).query(x, k=k + 1, workers=-1)[0][:, -1]
  log_unit_ball = 0.5 * d * np.log(np.pi) - special.gammaln(0.5 * d + 1)
  return float(special.digamma(n) - special.digamma(k) + log_unit_ball + d * np.mean(np.log(r)))


def _timed(fn):
  start = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - start


def run(n=10000, d=10, k=3, block_size=None, repeats=3, dtype="float64", rho=0.6, seed=0):
  """Runs the comparison and returns one dict per estimator (values in nats, times in seconds)."""
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((n, d))
  y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))
  if dtype == "float32":  # both implementations see the same (float32-representable) values
    x, y = x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)
  cases = [
      ("ksg_mi", lambda: scipy_ksg_mi(x, y, k),
       lambda xj, yj: knn.ksg_mi(xj, yj, k, block_size=block_size)),
      ("kl_entropy", lambda: scipy_kl_entropy(x, k),
       lambda xj, yj: knn.kl_entropy(xj, k, block_size=block_size)),
  ]
  results = []
  with jax.enable_x64(dtype == "float64"):
    xj, yj = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    for name, ref_fn, jax_fn in cases:
      _, first = _timed(lambda: float(jax_fn(xj, yj)))
      ref_times, jax_times = [], []
      for _ in range(repeats):
        ref_value, t = _timed(ref_fn)
        ref_times.append(t)
        value, t = _timed(lambda: float(jax_fn(xj, yj)))
        jax_times.append(t)
      results.append(dict(
          estimator=name, scipy=ref_value, jax=value, abs_diff=abs(value - ref_value),
          scipy_s=statistics.median(ref_times), jax_s=statistics.median(jax_times),
          jax_first_call_s=first,
          speedup=statistics.median(ref_times) / statistics.median(jax_times)))
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--n", type=int, default=10000, help="samples")
  parser.add_argument("--d", type=int, default=10, help="dimension of X and of Y")
  parser.add_argument("--k", type=int, default=3, help="neighbour order")
  parser.add_argument("--block-size", type=int, default=None,
                      help="query rows per block (JAX; default 64 on CPU, 1024 on GPU/TPU)")
  parser.add_argument("--repeats", type=int, default=3, help="timed runs of each implementation")
  parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                      help="JAX precision; SciPy always computes in float64")
  parser.add_argument("--tolerance", type=float, default=1e-6,
                      help="largest accepted |JAX − SciPy| in nats")
  args = parser.parse_args(argv)
  print(f"# KSG / KL entropy, N={args.n}, d={args.d}, k={args.k}, JAX {args.dtype} on "
        f"{jax.devices()[0].platform} (block {args.block_size or knn.default_block_size()}) "
        "vs SciPy cKDTree (workers=-1); "
        f"median of {args.repeats}")
  results = run(args.n, args.d, args.k, args.block_size, args.repeats, args.dtype)
  print(f"{'estimator':<11} {'scipy':>14} {'jax':>14} {'|diff|':>9} {'scipy s':>8} {'jax s':>7} "
        f"{'speed-up':>8} {'1st call s':>10}")
  for r in results:
    print(f"{r['estimator']:<11} {r['scipy']:>14.9f} {r['jax']:>14.9f} {r['abs_diff']:>9.1e} "
          f"{r['scipy_s']:>8.3f} {r['jax_s']:>7.3f} {r['speedup']:>7.1f}x "
          f"{r['jax_first_call_s']:>10.3f}")
  bad = [r["estimator"] for r in results if not r["abs_diff"] <= args.tolerance]
  if bad:
    print(f"MISMATCH: {bad} differ from SciPy by more than {args.tolerance:g} nats")
    return 1
  print(f"all estimates agree with SciPy to {args.tolerance:g} nats")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
