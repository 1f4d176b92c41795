"""Distribution contract of every registered objective on 8 CPU devices, in every idiom users write.

For each objective the loss, the metrics (and CorInfoMax's new state) and the gradient w.r.t. the
parameters `w` of a linear map applied to the inputs (replicated parameters, as an encoder's) must
equal the single-device ones on the concatenated batch, float64, rtol 1e-10 (+ 1e-10 of the largest
entry), in each idiom of `distributed_idioms.IDIOMS` with that idiom's ordinary reduction: nothing
under `jax.jit` or `shard_map(check_vma=True)` (JAX sums), `lax.pmean` after `jax.grad` inside
`pmap` / `shard_map(check_vma=False)`. A gradient scaled by the shard count fails by a factor of 8.
"""
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import distributed_idioms as idioms
from distributed_idioms import float64  # noqa: F401 (autouse fixture: x64 in every test)
from jaxssl import objectives

N, D_IN, D, DEVICES = 16, 5, 4, 8
HYPER = {"w_mse": {"w_size": 8},  # sub-batches of 8 rows straddle the 2-row shards
         # SIGReg's directions must be the same on every shard: fixed ones (or one key).
         "lejepa": {"directions": np.random.default_rng(3).normal(size=(D, 8))}}
# `vicreg_entropy` is registered `vicreg_logdet` with the defaults: tested once.
NAMES = [n for n in objectives.names() if n != "vicreg_entropy"]
# Explicit mesh axes (`jax.make_mesh`'s default) replicate before batch-level matrices; one
# objective per helper (gather_batch, + state, gather_constant) plus w_mse's reshape.
EXPLICIT_NAMES = ["nt_xent", "w_mse", "corinfomax", "moco_v3"]


# A non-trivial state per stateful objective, so that the old state enters the loss (`a` is a
# random (D, D) matrix).
NONTRIVIAL_STATE = {
    "corinfomax": lambda s, a: s._replace(mu1=jnp.full((D,), 0.05), r2=s.r2 * 0.5 + a @ a.T),
    "tico": lambda s, a: s._replace(covariance=0.05 * jnp.eye(D) + a @ a.T),
}


@pytest.fixture(scope="module")
def mesh():
  return idioms.make_mesh("b")


def _case(name):
  """(loss(w, data, axis_name), w, data) for objective `name`: its inputs are data @ w."""
  obj = objectives.get(name)
  n_arrays = 4 if obj.kind.startswith("predictor") else 2
  keys = jax.random.split(jax.random.key(7), n_arrays + 2)
  data = tuple(jax.random.normal(k, (N, D_IN)) * 0.7 + 0.1 for k in keys[:n_arrays])
  w = jax.random.normal(keys[-1], (D_IN, D)) / np.sqrt(D_IN)
  state = None
  if obj.kind == "stateful":
    a = jax.random.normal(keys[-2], (D, D)) * 0.1
    state = NONTRIVIAL_STATE[name](obj.init_state(D), a)
    state = jax.tree.map(lambda s: s.astype(jnp.float64), state)
  hp = HYPER.get(name, {})

  def loss(w, data, axis_name):
    z = [x @ w for x in data]
    if state is not None:
      value, metrics, new_state = obj.fn(*z, state, axis_name=axis_name, **hp)
      return value, (metrics, new_state)
    return obj.fn(*z, axis_name=axis_name, **hp)

  return loss, w, data


@functools.lru_cache(maxsize=None)
def _reference(name):
  with jax.enable_x64(True):
    loss, w, data = _case(name)
    return idioms.reference(loss, w, data)


def test_eight_devices():
  assert jax.device_count() == DEVICES


@pytest.mark.parametrize("idiom", idioms.IDIOMS)
@pytest.mark.parametrize("name", NAMES)
def test_every_idiom_gives_the_single_device_value_and_gradient(name, idiom, mesh):
  loss, w, data = _case(name)
  got = idioms.run(idiom, loss, w, data, mesh)
  idioms.check(got, _reference(name), f"{name} / {idiom}")


@pytest.mark.parametrize("name", EXPLICIT_NAMES)
def test_jit_on_explicit_mesh_axes(name):
  """Explicit axes: gradients w.r.t. the batch-sharded embeddings themselves (a parameter gradient
  x.T @ dz contracts the sharded batch axis, which Explicit mode asks the caller to shard)."""
  mesh = jax.make_mesh((DEVICES,), ("b",), axis_types=(jax.sharding.AxisType.Explicit,))
  loss, w, data = _case(name)
  embed = [x @ w for x in data]
  # The case's loss with w = I: the embeddings are the differentiated inputs.
  fn = jax.value_and_grad(lambda *z: loss(jnp.eye(D), z, None), tuple(range(len(embed))),
                          has_aux=True)
  want = jax.jit(fn)(*embed)
  got = jax.jit(fn)(*[jax.device_put(z, NamedSharding(mesh, P("b"))) for z in embed])
  jax.tree.map(lambda g, r: idioms.close(g, r, f"{name} / jit, Explicit axes"), got, want)


@pytest.mark.parametrize("idiom", ["shard_map_vma_grad_inside", "shard_map_novma_pmean"])
def test_two_axis_mesh_tuple_axis_name(idiom):
  """A batch split over two mesh axes, named by a tuple, gathers in the global row order."""
  mesh = jax.make_mesh((2, 4), ("x", "y"), axis_types=(jax.sharding.AxisType.Auto,) * 2)
  loss, w, data = _case("nt_xent")
  got = idioms.run(idiom, loss, w, data, mesh, axis=("x", "y"))
  idioms.check(got, _reference("nt_xent"), f"nt_xent / {idiom} over ('x', 'y')")


@pytest.mark.parametrize("reduce,scale", [(jax.lax.pmean, 1.0), (jax.lax.psum, DEVICES)])
def test_habitual_reduction_under_check_vma(reduce, scale, mesh):
  """check_vma=True, jax.grad inside: the gradient of P() parameters is already the global one, so
  a habitual pmean is harmless (the docs' one rule: pmean, never psum) and a psum gives 8×."""
  loss, w, data = _case("nt_xent")

  def body(w, *local):
    return reduce(jax.grad(lambda w: loss(w, local, "b")[0])(w), "b")

  fn = jax.shard_map(body, mesh=mesh, in_specs=(P(),) + (P("b"),) * len(data), out_specs=P())
  grad = jax.jit(fn)(w, *[jax.device_put(x, NamedSharding(mesh, P("b"))) for x in data])
  idioms.close(grad, scale * _reference("nt_xent")[2], reduce.__name__)


@pytest.mark.parametrize("mode", ["shard_map_vma", "shard_map_novma", "pmap"])
def test_per_shard_losses_averaged_outside(mode, mesh):
  """jax.grad outside of a loss returned per shard (out_specs=P('b'), or pmap) and then averaged,
  as the docs say: the single-device gradient in each mapping."""
  loss, w, data = _case("byol")
  per_shard = lambda w, *local: loss(w, local, "b")[0][None]
  if mode == "pmap":
    mapped = jax.pmap(per_shard, axis_name="b", in_axes=(None,) + (0,) * len(data))
    data = [x.reshape(DEVICES, -1, D_IN) for x in data]
  else:
    mapped = jax.shard_map(per_shard, mesh=mesh, in_specs=(P(),) + (P("b"),) * len(data),
                           out_specs=P("b"), check_vma=mode == "shard_map_vma")
    data = [jax.device_put(x, NamedSharding(mesh, P("b"))) for x in data]
  grad = jax.jit(jax.grad(lambda w, *data: jnp.mean(mapped(w, *data))))(w, *data)
  idioms.close(grad, _reference("byol")[2], mode)


@pytest.mark.parametrize("in_spec,missing", [(P("x"), "['y']"), (P(), "['x', 'y']")])
def test_batch_not_split_over_every_named_axis_fails_at_trace_time(in_spec, missing):
  """check_vma=True, axis_name=('x', 'y') but the rows replicated over some of those axes: they
  would be gathered as copies; the helpers say so instead of returning a wrong loss and gradient."""
  mesh = jax.make_mesh((2, 4), ("x", "y"), axis_types=(jax.sharding.AxisType.Auto,) * 2)
  z = jnp.ones((N, D))
  fn = jax.shard_map(lambda a, b: objectives.vicreg(a, b, axis_name=("x", "y"))[0], mesh=mesh,
                     in_specs=in_spec, out_specs=P())
  with pytest.raises(ValueError, match=r"does not vary over " + re.escape(missing)):
    jax.jit(fn)(z, z)


def test_the_matrix_catches_a_gradient_scaled_by_the_shard_count(mesh):
  """The previous design (other shards under stop-gradient in every idiom) reproduces the issue's
  table: exact where JAX tracks the axis, 1/8 of the gradient under check_vma=False and pmap with
  pmean. `check` rejects it there, so the matrix above can fail."""
  loss, w, data = _case("vicreg")

  def stop_gradient_splice(w, data, axis_name):
    if axis_name is None:
      return loss(w, data, None)
    offset = jax.lax.axis_index(axis_name) * (N // DEVICES)
    z = []
    for x in data:
      local = x @ w
      everyone = jax.lax.stop_gradient(jax.lax.all_gather(local, axis_name, tiled=True))
      z.append(jax.lax.dynamic_update_slice_in_dim(everyone, local, offset, axis=0))
    value = objectives.vicreg(*z)[0]
    # Typed replicated under check_vma=True (out_specs=P()), the per-shard gradient kept.
    if jax.typeof(value).manual_axis_type.varying:
      value = (jax.lax.stop_gradient(jax.lax.pmax(jax.lax.stop_gradient(value), axis_name)) +
               jax.lax.psum(value - jax.lax.stop_gradient(value), axis_name))
    return value, {}

  want = idioms.reference(loss, w, data)[2]
  for idiom in idioms.IDIOMS[1:]:
    grad = idioms.run(idiom, stop_gradient_splice, w, data, mesh)[2]
    scale = 1.0 / DEVICES if "novma" in idiom or idiom.startswith("pmap") else 1.0
    np.testing.assert_allclose(grad, scale * want, rtol=1e-10, err_msg=idiom)
    if scale != 1.0:
      with pytest.raises(AssertionError):
        idioms.close(grad, want, idiom)


def test_local_rows_get_their_slice_of_the_gradient_under_check_vma(mesh):
  """Under shard_map(check_vma=True) jax.grad w.r.t. the local embeddings is their slice of the
  single-device gradient (what makes JAX's automatic psum over replicated parameters exact)."""
  z1, z2 = jax.random.normal(jax.random.key(0), (2, N, D))
  want = jax.grad(lambda a, b: objectives.barlow_twins(a, b)[0], (0, 1))(z1, z2)
  fn = jax.shard_map(jax.grad(lambda a, b: objectives.barlow_twins(a, b, axis_name="b")[0], (0, 1)),
                     mesh=mesh, in_specs=P("b"), out_specs=P("b"))
  got = jax.jit(fn)(*[jax.device_put(z, NamedSharding(mesh, P("b"))) for z in (z1, z2)])
  for g, r in zip(got, want):
    idioms.close(g, r, "local-row gradient")
