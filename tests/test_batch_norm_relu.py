"""`BatchNormReLU` (closed-form backward) against flax's `BatchNorm` followed by `relu`."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.models.batch_norm_relu import BatchNormReLU, batch_norm_relu
from jaxssl.models.convnet import ConvNet


class _FlaxBNReLU(nn.Module):
  @nn.compact
  def __call__(self, x, use_running_average):
    return nn.relu(nn.BatchNorm(use_running_average=use_running_average, momentum=0.9,
                                name='BatchNorm_0')(x))


class _Ours(nn.Module):
  @nn.compact
  def __call__(self, x, use_running_average):
    return BatchNormReLU(name='BatchNorm_0')(x, use_running_average=use_running_average)


@pytest.mark.parametrize('shape', [(16, 5, 5, 8), (32, 12)])
def test_values_gradients_and_running_stats_match_flax(shape):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(1.0, 2.0, shape), jnp.float32)
  target = jnp.asarray(rng.normal(size=shape), jnp.float32)
  flax_model, ours = _FlaxBNReLU(), _Ours()
  variables = flax_model.init(jax.random.key(0), x, True)
  params = jax.tree.map(lambda p: p + jnp.asarray(rng.normal(0, 0.3, p.shape), p.dtype),
                        variables['params'])  # non-trivial scale and bias
  assert jax.tree.structure(ours.init(jax.random.key(0), x, True)) == jax.tree.structure(variables)

  def loss(model, params, x):
    y, updates = model.apply({'params': params, 'batch_stats': variables['batch_stats']}, x,
                             False, mutable=['batch_stats'])
    return jnp.sum((y - target) ** 2 * jnp.arange(y.size).reshape(y.shape) / y.size), (y, updates)

  (l_ref, (y_ref, up_ref)), g_ref = jax.value_and_grad(
      lambda p, x: loss(flax_model, p, x), argnums=(0, 1), has_aux=True)(params, x)
  (l_ours, (y_ours, up_ours)), g_ours = jax.jit(jax.value_and_grad(
      lambda p, x: loss(ours, p, x), argnums=(0, 1), has_aux=True))(params, x)
  np.testing.assert_allclose(y_ours, y_ref, rtol=1e-5, atol=1e-5)  # float32 rounding
  np.testing.assert_allclose(l_ours, l_ref, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(g_ours), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  for a, b in zip(jax.tree.leaves(up_ours), jax.tree.leaves(up_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # Evaluation mode normalises with the running statistics, as flax does.
  stats = {'params': params, 'batch_stats': up_ref['batch_stats']}
  np.testing.assert_allclose(ours.apply(stats, x, True), flax_model.apply(stats, x, True),
                             rtol=1e-5, atol=1e-5)


def test_statistics_carry_no_gradient():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(8, 3)), jnp.float32)
  grad = jax.grad(lambda x: batch_norm_relu(x, jnp.ones(3), jnp.zeros(3))[1].sum())(x)
  np.testing.assert_array_equal(grad, 0.0)


def test_convnet_closed_form_bn_matches_flax_batch_norm():
  x = jnp.asarray(np.random.default_rng(2).normal(size=(8, 28, 28, 1)), jnp.float32)
  kw = dict(stages=((8, 1), (16, 2)), space_to_depth=2)
  ours, ref = ConvNet(**kw), ConvNet(closed_form_bn=False, **kw)
  variables = ref.init(jax.random.key(0), x)

  def features(model, params):
    return model.apply({'params': params, 'batch_stats': variables['batch_stats']}, x,
                       mutable=['batch_stats'])[0].sum()

  g_ours = jax.grad(lambda p: features(ours, p))(variables['params'])
  g_ref = jax.grad(lambda p: features(ref, p))(variables['params'])
  for a, b in zip(jax.tree.leaves(g_ours), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
