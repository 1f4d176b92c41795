"""ConvNet's `downsample='patch'` stages are s x s, stride-s convolutions (zero-padded when odd)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.models.convnet import ConvNet, space_to_depth


@pytest.mark.parametrize('size', [8, 7])
def test_patch_stage_is_a_2x2_stride_2_convolution(size):
  x = jnp.asarray(np.random.default_rng(0).normal(size=(3, size, size, 5)), jnp.float32)
  kernel = jnp.asarray(np.random.default_rng(1).normal(size=(4 * 5, 6)), jnp.float32)
  ours = space_to_depth(x, 2, pad=True) @ kernel
  # Independent reference: XLA's convolution with the dense kernel folded back to (2, 2, C, C').
  ref = jax.lax.conv_general_dilated(
      x, kernel.reshape(2, 2, 5, 6), (2, 2), ((0, size % 2), (0, size % 2)),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)  # float32 sums in another order


def test_patch_convnet_shapes_and_bad_option():
  x = jnp.ones((2, 28, 28, 1))
  model = ConvNet(stages=((8, 1), (16, 2), (32, 2)), space_to_depth=2, pool_grid=2,
                  downsample='patch')
  variables = model.init(jax.random.key(0), x)
  assert variables['params']['Conv_1']['kernel'].shape == (4 * 8, 16)  # 14x14x8 -> 7x7x16
  assert variables['params']['Conv_2']['kernel'].shape == (4 * 16, 32)  # 7x7 (padded 8x8) -> 4x4
  features = model.apply(variables, x, mutable=['batch_stats'])[0]
  assert features.shape == (2, 4 * 32)
  with pytest.raises(ValueError, match="downsample must be 'conv' or 'patch'"):
    ConvNet(downsample='pool').init(jax.random.key(0), x)
