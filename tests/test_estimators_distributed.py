"""`axis_name=`: value and gradient on 8 shards equal those on the concatenated batch.

Checked under `shard_map` with `check_vma=True` (where `psum` transposes to a copy) and
`check_vma=False` and under `pmap` (where it transposes to another `psum`, the classic N×-gradient
trap). Tolerances: values rel 1e-5, gradients 1e-5 of the largest entry (float32).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl.estimators import infonce, logdet_entropy, pairwise_bd_entropy, pairwise_kl_entropy

SHARDS = 8


@pytest.fixture(scope="module")
def mesh():
  assert jax.device_count() >= SHARDS, "tests/conftest.py sets 8 CPU devices"
  return jax.make_mesh((SHARDS,), ("batch",))


def _sharded(fn, mesh, x, mode):
  """(values per shard, gradient) of `fn(local_rows, axis_name=...)` over row shards of `x`."""
  local = functools.partial(fn, axis_name="batch")
  if mode == "pmap":
    values, grads = jax.pmap(jax.value_and_grad(local), axis_name="batch")(
        x.reshape((SHARDS, -1) + x.shape[1:]))
    return values, grads.reshape(x.shape)

  def body(rows):
    value, grad = jax.value_and_grad(local)(rows)
    return value.reshape(1) if mode == "no_vma" else value, grad

  value_spec = P("batch") if mode == "no_vma" else P()  # replicated value under check_vma
  run = jax.shard_map(body, mesh=mesh, in_specs=P("batch"), out_specs=(value_spec, P("batch")),
                      check_vma=mode == "vma")
  return jax.jit(run)(jax.device_put(x, NamedSharding(mesh, P("batch"))))


def _check(fn, global_fn, mesh, x, mode):
  want_value, want_grad = jax.value_and_grad(global_fn)(x)
  values, grads = _sharded(fn, mesh, x, mode)
  np.testing.assert_allclose(np.broadcast_to(values, (SHARDS,)) if np.ndim(values) else values,
                             float(want_value), rtol=1e-5)
  scale = float(jnp.max(jnp.abs(want_grad)))
  assert scale > 0
  np.testing.assert_allclose(grads, want_grad, atol=1e-5 * scale, rtol=0)


MODES = ["vma", "no_vma", "pmap"]


@pytest.mark.parametrize("mode", MODES)
def test_embedding_estimators_match_the_concatenated_batch(mesh, mode):
  z = jax.random.normal(jax.random.key(0), (64, 5)) * jnp.arange(1.0, 6.0) + 3.0
  for fn in (logdet_entropy, pairwise_kl_entropy, pairwise_bd_entropy):
    _check(fn, fn, mesh, z, mode)


@pytest.mark.parametrize("mode", MODES)
def test_infonce_with_global_negatives_matches_the_full_score_matrix(mesh, mode):
  # Each shard holds its rows of the global (64, 64) score matrix; positives at the global diagonal.
  scores = jax.random.normal(jax.random.key(1), (64, 64)) * 2.0 + 4.0 * jnp.eye(64)
  _check(infonce, infonce, mesh, scores, mode)


def test_naive_collectives_would_fail_this_test(mesh):
  """The test above can fail: a naive psum-based estimator gives 8× gradients under pmap."""
  def naive_logdet(z, axis_name=None):
    n = z.shape[0] * (SHARDS if axis_name else 1)
    total = jnp.sum(z, 0) if axis_name is None else jax.lax.psum(jnp.sum(z, 0), axis_name)
    zc = z - total / n
    gram = zc.T @ zc if axis_name is None else jax.lax.psum(zc.T @ zc, axis_name)
    return 0.5 * jnp.linalg.slogdet(jnp.eye(z.shape[1]) + gram / n)[1]

  z = jax.random.normal(jax.random.key(2), (64, 5))
  _, want = jax.value_and_grad(naive_logdet)(z)
  _, grads = _sharded(naive_logdet, mesh, z, "pmap")
  np.testing.assert_allclose(grads, SHARDS * want, rtol=1e-4)


def test_parameter_gradients_are_global_under_check_vma(mesh):
  # z = w * x with w replicated: under check_vma the shards' gradients are summed automatically.
  x = jax.random.normal(jax.random.key(3), (64, 4))
  w = jnp.array([0.5, 1.0, 1.5, 2.0])
  for fn in (logdet_entropy, pairwise_kl_entropy):
    want = jax.grad(lambda w: fn(w * x))(w)
    run = jax.shard_map(lambda w, xs: jax.grad(lambda w: fn(w * xs, axis_name="batch"))(w),
                        mesh=mesh, in_specs=(P(), P("batch")), out_specs=P())
    got = jax.jit(run)(w, jax.device_put(x, NamedSharding(mesh, P("batch"))))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_infonce_rejects_wrong_sharded_shape(mesh):
  run = jax.shard_map(lambda s: infonce(s, axis_name="batch"), mesh=mesh, in_specs=P("batch"),
                      out_specs=P())
  with pytest.raises(ValueError, match="global batch"):
    jax.jit(run)(jax.device_put(jnp.ones((64, 32)), NamedSharding(mesh, P("batch"))))
