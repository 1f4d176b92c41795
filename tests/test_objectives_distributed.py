"""Distribution contract of every registered objective on 8 CPU devices.

For each objective the loss value, the metrics (and CorInfoMax's new state) and the gradients
w.r.t. every input must equal the single-device ones on the concatenated batch, under
(a) `jax.jit` with the batch sharded by a NamedSharding (Auto and Explicit mesh axes),
(b) `jax.shard_map` with `axis_name` (check_vma True and False), gradient taken inside,
(c) `jax.pmap` with `axis_name`, gradient taken inside.
Tolerance (float32): rtol 1e-4 plus atol 1e-5·max|reference| -- the same global-batch arithmetic
in a different reduction order. A per-shard gradient that were a psum over shards would be 8×
the reference and fail by far.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import objectives

N, D, DEVICES = 16, 4, 8
HYPER = {"w_mse": {"w_size": 8}}  # sub-batches of 8 rows straddle the 2-row shards
RTOL = 1e-4
# `vicreg_entropy` is registered `vicreg_logdet` with the defaults: tested once.
NAMES = [n for n in objectives.names() if n != "vicreg_entropy"]
# shard_map(check_vma=False) transposes collectives as pmap does (tested for every objective);
# one objective per splice helper: gather_batch (nt_xent), global_sum (byol).
NO_VMA_NAMES = ["nt_xent", "byol"]
# Explicit mesh axes (`jax.make_mesh`'s default) replicate before batch-level matrices; one
# objective per helper (gather_batch, + state, gather_constant) plus w_mse's reshape.
EXPLICIT_NAMES = ["nt_xent", "w_mse", "corinfomax", "moco_v3"]


def _inputs(name):
  obj = objectives.get(name)
  n_arrays = 4 if obj.kind.startswith("predictor") else 2
  shape = (N, 3, 2) if obj.kind == "reconstruction" else (N, D)
  keys = jax.random.split(jax.random.key(7), n_arrays)
  arrays = tuple(jax.random.normal(k, shape) * 0.7 + 0.1 for k in keys)
  state = None
  if obj.kind == "stateful":
    state = obj.init_state(D)
    a = jax.random.normal(jax.random.key(3), (D, D)) * 0.1
    # A non-trivial state, so that the old mean and covariance enter the loss.
    state = state._replace(mu1=jnp.full((D,), 0.05), r2=state.r2 * 0.5 + a @ a.T)
  return obj, arrays, state


def _loss_fn(obj, state, axis_name):
  hp = dict(HYPER.get(obj.name, {}), axis_name=axis_name)

  def loss(*arrays):
    if obj.kind == "stateful":
      value, metrics, new_state = obj.fn(*arrays, state, **hp)
      return value, (metrics, new_state)
    value, metrics = obj.fn(*arrays, **hp)
    return value, (metrics, None)

  return loss


@functools.lru_cache(maxsize=None)
def _reference(name):
  obj, arrays, state = _inputs(name)
  argnums = tuple(range(len(arrays)))
  (value, aux), grads = jax.jit(jax.value_and_grad(_loss_fn(obj, state, None), argnums,
                                                   has_aux=True))(*arrays)
  return obj, arrays, state, value, aux, grads


def _close(got, want, what):
  got, want = np.asarray(got), np.asarray(want)
  atol = 1e-5 * max(float(np.max(np.abs(want))), 1e-3)
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=what)


def _check(name, value, aux, grads, ref):
  _, _, _, ref_value, ref_aux, ref_grads = ref
  _close(value, ref_value, f"{name}: loss")
  jax.tree.map(lambda g, w: _close(g, w, f"{name}: metrics/state"), aux, ref_aux)
  for i, (g, w) in enumerate(zip(grads, ref_grads)):
    assert g.shape == w.shape, (name, i, g.shape, w.shape)
    _close(g, w, f"{name}: gradient w.r.t. input {i}")


@pytest.fixture(scope="module")
def mesh_auto():
  return jax.make_mesh((DEVICES,), ("b",), axis_types=(jax.sharding.AxisType.Auto,))


def test_eight_devices():
  assert jax.device_count() == DEVICES


@pytest.mark.parametrize("name,axis_type", [(n, "Auto") for n in NAMES] +
                         [(n, "Explicit") for n in EXPLICIT_NAMES])
def test_jit_sharded_batch(name, axis_type):
  ref = _reference(name)
  obj, arrays, state, *_ = ref
  mesh = jax.make_mesh((DEVICES,), ("b",), axis_types=(getattr(jax.sharding.AxisType,
                                                               axis_type),))
  sharded = [jax.device_put(a, NamedSharding(mesh, P("b"))) for a in arrays]
  argnums = tuple(range(len(arrays)))
  fn = jax.jit(jax.value_and_grad(_loss_fn(obj, state, None), argnums, has_aux=True))
  (value, aux), grads = fn(*sharded)
  assert "b" in str(grads[0].sharding.spec)  # gradients come back batch-sharded
  _check(name, value, aux, grads, ref)


@pytest.mark.parametrize("name,check_vma", [(n, True) for n in NAMES] +
                         [(n, False) for n in NO_VMA_NAMES])
def test_shard_map(name, check_vma, mesh_auto):
  ref = _reference(name)
  obj, arrays, state, *_ = ref
  argnums = tuple(range(len(arrays)))
  loss = _loss_fn(obj, state, "b")

  def per_shard(*local):
    (value, aux), grads = jax.value_and_grad(loss, argnums, has_aux=True)(*local)
    return value[None], value, aux, grads

  # out_specs=P() for the loss, metrics and state: with check_vma=True this also checks that they
  # are typed replicated.
  fn = jax.jit(jax.shard_map(per_shard, mesh=mesh_auto, in_specs=P("b"),
                             out_specs=(P("b"), P(), P(), P("b")), check_vma=check_vma))
  sharded = [jax.device_put(a, NamedSharding(mesh_auto, P("b"))) for a in arrays]
  values, value, aux, grads = fn(*sharded)
  assert values.shape == (DEVICES,)
  for v in values:  # every shard sees the global loss
    _close(v, ref[3], f"{name}: per-shard loss")
  _check(name, value, aux, grads, ref)


@pytest.mark.parametrize("name", NAMES)
def test_pmap(name):
  ref = _reference(name)
  obj, arrays, state, *_ = ref
  argnums = tuple(range(len(arrays)))
  loss = _loss_fn(obj, state, "b")
  fn = jax.pmap(jax.value_and_grad(loss, argnums, has_aux=True), axis_name="b")
  stacked = [a.reshape(DEVICES, N // DEVICES, *a.shape[1:]) for a in arrays]
  (values, aux), grads = fn(*stacked)
  for v in values:
    _close(v, ref[3], f"{name}: per-device loss")
  aux = jax.tree.map(lambda x: x[0], aux)
  grads = [g.reshape(N, *g.shape[2:]) for g in grads]
  _check(name, values[0], aux, grads, ref)


@pytest.mark.parametrize("mode", ["shard_map_vma", "shard_map_no_vma", "pmap"])
def test_parameter_gradients_sum_over_shards(mode, mesh_auto):
  """What the training step must do with per-shard parameter gradients (linear encoder w).

  Under pmap and shard_map(check_vma=False) the per-shard gradients are partial sums: their psum
  is the global gradient. Under shard_map(check_vma=True) with replicated w, jax.grad already
  returns the psum -- adding another would give 8× -- and the per-shard partial is not the answer.
  """
  x1, x2 = jax.random.normal(jax.random.key(0), (2, N, 6))
  w = jax.random.normal(jax.random.key(1), (6, D))

  def loss(w, a, b, axis_name=None):
    return objectives.vicreg(a @ w, b @ w, axis_name=axis_name)[0]

  want = jax.grad(loss)(w, x1, x2)

  def grads(w, a, b):
    g = jax.grad(loss)(w, a, b, "b")
    return g, jax.lax.psum(g, "b")

  if mode == "pmap":
    raw, summed = jax.pmap(grads, axis_name="b", in_axes=(None, 0, 0))(
        w, x1.reshape(DEVICES, -1, 6), x2.reshape(DEVICES, -1, 6))
    raw, summed = raw[0], summed[0]
  else:
    fn = jax.jit(jax.shard_map(grads, mesh=mesh_auto, in_specs=(P(), P("b"), P("b")),
                               out_specs=(P(), P()), check_vma=mode == "shard_map_vma"))
    raw, summed = fn(w, *[jax.device_put(x, NamedSharding(mesh_auto, P("b"))) for x in (x1, x2)])
  if mode == "shard_map_vma":
    _close(raw, want, "automatic psum")
    _close(summed, DEVICES * want, "a second psum over-counts")
  else:
    _close(summed, want, "psum of per-shard gradients")
    assert not np.allclose(raw, want, rtol=0.1)


def test_two_axis_mesh_tuple_axis_name():
  """A batch split over two mesh axes, named by a tuple, gathers in the global row order."""
  mesh = jax.make_mesh((2, 4), ("x", "y"), axis_types=(jax.sharding.AxisType.Auto,) * 2)
  ref = _reference("nt_xent")
  obj, arrays, state, *_ = ref
  loss = _loss_fn(obj, state, ("x", "y"))

  def per_shard(*local):
    (value, aux), grads = jax.value_and_grad(loss, (0, 1), has_aux=True)(*local)
    return value[None], aux, grads

  spec = P(("x", "y"))
  fn = jax.jit(jax.shard_map(per_shard, mesh=mesh, in_specs=spec, out_specs=(spec, P(), spec)))
  values, aux, grads = fn(*[jax.device_put(a, NamedSharding(mesh, spec)) for a in arrays])
  _check("nt_xent", values[0], aux, grads, ref)


def test_naive_psum_gradient_is_wrong_under_pmap():
  """Why the helpers avoid transposing collectives: a psum-based loss under pmap over-counts.

  The same centred second moment written with psum gives 8× the gradient under pmap (psum's
  transpose is a psum there), while `gather_batch` gives the exact one.
  """
  from jaxssl.objectives import _distributed
  z = jax.random.normal(jax.random.key(0), (N, D))

  def global_loss(z):
    zc = z - z.mean(0)
    return jnp.sum((zc.T @ zc) ** 2)

  def psum_loss(z):
    mean = jax.lax.psum(z.sum(0), "b") / N
    return jnp.sum(jax.lax.psum((z - mean).T @ (z - mean), "b") ** 2)

  def gather_loss(z):
    return global_loss(_distributed.gather_batch(z, "b"))

  want = jax.grad(global_loss)(z)
  stacked = z.reshape(DEVICES, N // DEVICES, D)
  naive = jax.pmap(jax.grad(psum_loss), axis_name="b")(stacked).reshape(N, D)
  exact = jax.pmap(jax.grad(gather_loss), axis_name="b")(stacked).reshape(N, D)
  np.testing.assert_allclose(naive, DEVICES * want, rtol=1e-3, atol=1e-3)
  np.testing.assert_allclose(exact, want, rtol=1e-3, atol=1e-4)
