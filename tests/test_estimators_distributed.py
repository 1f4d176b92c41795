"""`axis_name=`: every estimator that takes it gives the single-device value and gradient on 8 shards.

Each estimator is applied to a small linear map of the inputs (replicated parameters `w`); value and
parameter gradient must equal those on the concatenated batch on one device, float64, rtol 1e-10
(+ 1e-10 of the largest entry), in every idiom of `distributed_idioms.IDIOMS` with its ordinary
reduction (`lax.pmean` after `jax.grad` inside `pmap` / `shard_map(check_vma=False)`, nothing
elsewhere). InfoNCE's critic is separable with global negatives: the user all-gathers the second
view's embeddings with a plain `jax.lax.all_gather`.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import distributed_idioms as idioms
from distributed_idioms import float64  # noqa: F401 (autouse fixture: x64 in every test)
from jaxssl.estimators import infonce, logdet_entropy, pairwise_bd_entropy, pairwise_kl_entropy
from jaxssl.estimators import log_gaussian_potential, nn_log_distance
from jaxssl.estimators import coding_rate, covariance_renyi2_entropy, epps_pulley

SHARDS, N, D_IN, D = 8, 32, 5, 3
EMBEDDING_ESTIMATORS = {"logdet_entropy": logdet_entropy,
                        "pairwise_kl_entropy": pairwise_kl_entropy,
                        "pairwise_bd_entropy": pairwise_bd_entropy,
                        "nn_log_distance": nn_log_distance,
                        "log_gaussian_potential": log_gaussian_potential,
                        "coding_rate": coding_rate,
                        "covariance_renyi2_entropy": covariance_renyi2_entropy,
                        # one statistic per column: their mean, a scalar to differentiate
                        "epps_pulley": lambda z, axis_name: jnp.mean(
                            epps_pulley(z, axis_name=axis_name))}
NAMES = list(EMBEDDING_ESTIMATORS) + ["infonce"]


@pytest.fixture(scope="module")
def mesh():
  return idioms.make_mesh("batch")


def _case(name):
  """(loss(w, data, axis_name), w, data) for estimator `name`."""
  kx, ky, kw = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(kx, (N, D_IN)) * jnp.arange(1.0, D_IN + 1.0) + 3.0
  w = jax.random.normal(kw, (D_IN, D)) / np.sqrt(D_IN)
  if name in EMBEDDING_ESTIMATORS:
    fn = EMBEDDING_ESTIMATORS[name]
    return lambda w, data, axis_name: (fn(data[0] @ w, axis_name=axis_name), {}), w, (x,)
  y = x + 0.5 * jax.random.normal(ky, (N, D_IN))  # correlated pairs (x_i, y_i)

  def loss(w, data, axis_name):
    zx, zy = data[0] @ w, data[1] @ w
    if axis_name is not None:  # this shard's rows against the global batch: (n, N)
      zy = jax.lax.all_gather(zy, axis_name, tiled=True)
    return infonce(zx @ zy.T, axis_name=axis_name), {}

  return loss, w, (x, y)


@functools.lru_cache(maxsize=None)
def _reference(name):
  with jax.enable_x64(True):
    return idioms.reference(*_case(name))


@pytest.mark.parametrize("idiom", idioms.IDIOMS)
@pytest.mark.parametrize("name", NAMES)
def test_every_idiom_gives_the_single_device_value_and_gradient(name, idiom, mesh):
  loss, w, data = _case(name)
  got = idioms.run(idiom, loss, w, data, mesh, axis="batch")
  idioms.check(got, _reference(name), f"{name} / {idiom}")


def test_psum_of_pmap_gradients_over_counts(mesh):
  """Why the docs say pmean: under pmap a plain-psum LogDet is exact with `pmean` of the parameter
  gradients (the harness's reduction), and 8× with the `psum` the docs used to ask for."""
  def naive_logdet(z, axis_name=None):
    n = z.shape[0] * (SHARDS if axis_name else 1)
    total = jnp.sum(z, 0) if axis_name is None else jax.lax.psum(jnp.sum(z, 0), axis_name)
    zc = z - total / n
    gram = zc.T @ zc if axis_name is None else jax.lax.psum(zc.T @ zc, axis_name)
    return 0.5 * jnp.linalg.slogdet(jnp.eye(z.shape[1]) + gram / n)[1]

  loss, w, data = _case("logdet_entropy")
  naive = lambda w, data, axis_name: (naive_logdet(data[0] @ w, axis_name), {})
  want = idioms.reference(naive, w, data)
  idioms.check(idioms.run("pmap_pmean", naive, w, data, mesh, axis="batch"), want, "pmean")
  psum_of_grads = jax.pmap(lambda w, x: jax.lax.psum(jax.grad(lambda w: naive(w, (x,), "batch")[0])(
      w), "batch"), axis_name="batch", in_axes=(None, 0))(w, data[0].reshape(SHARDS, -1, D_IN))
  np.testing.assert_allclose(psum_of_grads[0], SHARDS * want[2], rtol=1e-10)


def test_infonce_rejects_wrong_sharded_shape(mesh):
  run = jax.shard_map(lambda s: infonce(s, axis_name="batch"), mesh=mesh, in_specs=P("batch"),
                      out_specs=P())
  with pytest.raises(ValueError, match="global batch"):
    jax.jit(run)(jax.device_put(jnp.ones((64, 32)), NamedSharding(mesh, P("batch"))))
