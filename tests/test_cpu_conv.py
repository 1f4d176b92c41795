"""The matmul-gradient convolution equals XLA's convolution in value and in both gradients."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxssl.models.convnet import ConvNet
from jaxssl.models.cpu_conv import conv_general_dilated_matmul_grads

DN = ('NHWC', 'HWIO', 'NHWC')


@pytest.mark.parametrize('shape,kernel,stride,padding', [
    ((3, 14, 14, 4), (3, 3, 4, 8), 1, ((1, 1), (1, 1))),
    ((2, 14, 14, 6), (3, 3, 6, 5), 2, ((1, 1), (1, 1))),
    ((2, 7, 7, 3), (3, 3, 3, 4), 2, ((1, 1), (1, 1))),    # odd size: the last row/column unused
    ((2, 9, 8, 2), (2, 3, 2, 3), 1, ((0, 1), (2, 0))),    # asymmetric kernel and padding
])
def test_value_and_gradients_match_xla(shape, kernel, stride, padding):
  kx, kw, ky = jax.random.split(jax.random.PRNGKey(0), 3)
  x = jax.random.normal(kx, shape)
  w = jax.random.normal(kw, kernel)
  ref = lambda x, w: lax.conv_general_dilated(x, w, (stride, stride), padding,
                                              dimension_numbers=DN)
  ours = lambda x, w: conv_general_dilated_matmul_grads(x, w, (stride, stride), padding,
                                                        dimension_numbers=DN)
  y_ref, vjp_ref = jax.vjp(ref, x, w)
  y, vjp = jax.vjp(ours, x, w)
  dy = jax.random.normal(ky, y.shape)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
  for got, want in zip(vjp(dy), vjp_ref(dy)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums of ~500 terms


def test_convnet_gradients_do_not_depend_on_the_switch():
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 28, 28, 1))
  grads = []
  for matmul_grads in (False, True):
    model = ConvNet(stages=((8, 1), (16, 2)), space_to_depth=2, matmul_grads=matmul_grads)
    variables = model.init(jax.random.PRNGKey(0), x)

    def loss(params):
      h, _ = model.apply({**variables, 'params': params}, x, mutable=['batch_stats'])
      return jnp.sum(h ** 2)

    grads.append(jax.grad(loss)(variables['params']))
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), *grads)


def test_unsupported_arguments_raise():
  x, w = jnp.zeros((1, 8, 8, 2)), jnp.zeros((3, 3, 2, 2))
  with pytest.raises(ValueError, match='explicit padding'):
    conv_general_dilated_matmul_grads(x, w, (1, 1), 'SAME')
  with pytest.raises(ValueError, match='dilation'):
    conv_general_dilated_matmul_grads(x, w, (1, 1), ((1, 1), (1, 1)), rhs_dilation=(2, 2))
  with pytest.raises(ValueError, match='NHWC'):
    conv_general_dilated_matmul_grads(x, w, (1, 1), ((1, 1), (1, 1)),
                                      dimension_numbers=('NCHW', 'OIHW', 'NCHW'))


def test_flax_conv_accepts_it():
  conv = nn.Conv(4, (3, 3), strides=2, padding=1, conv_general_dilated=(
      conv_general_dilated_matmul_grads))
  x = jnp.ones((2, 10, 10, 3))
  variables = conv.init(jax.random.PRNGKey(0), x)
  assert conv.apply(variables, x).shape == (2, 5, 5, 4)
