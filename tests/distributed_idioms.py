"""The distribution idioms users write (the idiom table of `jaxssl.objectives`), as one harness for
the matrix tests.

A case is `loss(w, data, axis_name) -> (value, aux)`: `w` replicated parameters (a small linear map
applied to the inputs, so there is a parameter gradient to reduce), `data` a tuple of arrays with
the batch first, `axis_name` None on one device / under `jax.jit`, the mapped axis otherwise.
`run(idiom, ...)` returns `(values, aux, grad_w)` the way a user of that idiom gets them, with the
idiom's ordinary reduction of the parameter gradient and nothing else; `values` holds the loss of
every shard where the idiom exposes it (pmap), else the one replicated loss.
"""
import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

# (idiom, what the user writes); the table of jaxssl.objectives' docstring.
IDIOMS = (
    "jit",                           # jax.jit on global batch-sharded arrays, no axis_name
    "shard_map_vma_grad_outside",    # jax.grad(shard_map(loss, check_vma=True))
    "shard_map_vma_grad_inside",     # shard_map(jax.grad(loss), check_vma=True): JAX sums
    "shard_map_novma_grad_outside",  # jax.grad(shard_map(loss, check_vma=False))
    "shard_map_novma_pmean",         # shard_map(pmean(jax.grad(loss)), check_vma=False)
    "pmap_pmean",                    # pmap(pmean(jax.grad(loss))): the Flax / BYOL idiom
)
# float64 throughout: the same global-batch arithmetic in another reduction order, so 1e-10 of the
# largest entry is far above rounding (~1e-15) and far below any scaling by the 8 shards.
RTOL = 1e-10


SHARDS = 8


@pytest.fixture(autouse=True)
def float64():
  """x64 on for each test of a module that imports this fixture, restored afterwards."""
  with jax.enable_x64(True):
    yield


def make_mesh(axis):
  """The 8 CPU devices as one Auto mesh axis named `axis`."""
  assert jax.device_count() == SHARDS, "tests/conftest.py sets 8 CPU devices"
  return jax.make_mesh((SHARDS,), (axis,), axis_types=(jax.sharding.AxisType.Auto,))


def _value_and_grad(loss, axis_name):
  return jax.value_and_grad(lambda w, *data: loss(w, data, axis_name), has_aux=True)


def reference(loss, w, data):
  """Value, aux and parameter gradient on one device, on the concatenated batch."""
  (value, aux), grad = jax.jit(_value_and_grad(loss, None))(w, *data)
  return value, aux, grad


def run(idiom, loss, w, data, mesh, axis="b"):
  """(values, aux, grad_w) of `loss` under `idiom`, the batch split over mesh axis (or axes) `axis`."""
  spec = P(axis)
  n_shards = int(np.prod([mesh.shape[a] for a in (axis if isinstance(axis, tuple) else (axis,))]))
  if idiom == "pmap_pmean":
    def body(w, *data):
      (value, aux), grad = _value_and_grad(loss, axis)(w, *data)
      return value, aux, jax.lax.pmean(grad, axis)

    stacked = [d.reshape(n_shards, -1, *d.shape[1:]) for d in data]
    values, aux, grads = jax.pmap(body, axis_name=axis, in_axes=(None,) + (0,) * len(data))(
        w, *stacked)
    return values, jax.tree.map(lambda a: a[0], aux), grads[0]

  sharded = [jax.device_put(d, NamedSharding(mesh, spec)) for d in data]
  if idiom == "jit":
    (value, aux), grad = jax.jit(_value_and_grad(loss, None))(w, *sharded)
    return value, aux, grad
  check_vma = "_vma_" in idiom
  in_specs = (P(),) + (spec,) * len(data)
  if idiom.endswith("grad_outside"):
    mapped = jax.shard_map(lambda w, *data: loss(w, data, axis), mesh=mesh, in_specs=in_specs,
                           out_specs=(P(), P()), check_vma=check_vma)
    (value, aux), grad = jax.jit(jax.value_and_grad(mapped, has_aux=True))(w, *sharded)
    return value, aux, grad

  def body(w, *data):
    (value, aux), grad = _value_and_grad(loss, axis)(w, *data)
    return value, aux, grad if check_vma else jax.lax.pmean(grad, axis)

  return jax.jit(jax.shard_map(body, mesh=mesh, in_specs=in_specs, out_specs=(P(), P(), P()),
                               check_vma=check_vma))(w, *sharded)


def close(got, want, what):
  got, want = np.asarray(got), np.asarray(want)
  atol = RTOL * max(float(np.max(np.abs(want), initial=0.0)), 1e-3)
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=what)


def check(got, want, what):
  """`got` from `run` equals `want` from `reference`: every shard's value, the aux, the gradient."""
  values, aux, grad = got
  want_value, want_aux, want_grad = want
  for value in np.atleast_1d(np.asarray(values)):
    close(value, want_value, f"{what}: loss")
  jax.tree.map(lambda g, r: close(g, r, f"{what}: metrics/state"), aux, want_aux)
  assert np.shape(grad) == np.shape(want_grad)
  close(grad, want_grad, f"{what}: parameter gradient")
