"""A convolution whose input gradient is a matrix product: fast on XLA:CPU, same numbers.

XLA:CPU lowers the input gradient of a strided convolution (a convolution of the dilated output
gradient) to a slow generic kernel. `conv_general_dilated_matmul_grads` keeps XLA's forward pass
and filter gradient and writes the input gradient as a product plus col2im (Chellapilla et al.
2006):

  ∂L/∂x = col2im(∂L/∂y · Wᵀ)           -- (N·H'·W', C') x (C', kh·kw·C); each of the kh·kw column
                                           blocks padded back into place and summed

History, measured on the 2-core CPU (batch 512, docs/performance.md): with XLA's default YNNPACK
convolutions the filter gradient was also an im2col product (Pᵀ·∂L/∂y; 1.22x faster steps, 772 ->
632 ms); since `jaxssl.platform` gives convolutions back to XLA's own kernels, XLA's filter
gradient is the faster one (demo model step ~313 -> ~295 ms, separate processes). Use it on the
CPU only; GPUs and TPUs have fast native convolution gradients.
Supports NHWC inputs, HWIO kernels, explicit padding, strides, no dilation, feature_group_count 1.
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax

_DIMENSION_NUMBERS = ('NHWC', 'HWIO', 'NHWC')


def _conv(x, w, strides, padding):
  return lax.conv_general_dilated(x, w, strides, padding, dimension_numbers=_DIMENSION_NUMBERS)


def _out_size(size, pad, k, s):
  return (size + pad[0] + pad[1] - k) // s + 1


def _patch_slices(shape, kernel_shape, strides, padding):
  """(start, limit) of each kernel tap's strided slice of the padded input, in HWIO order."""
  n, h, w, c = shape
  kh, kw = kernel_shape
  ho, wo = (_out_size(h, padding[0], kh, strides[0]), _out_size(w, padding[1], kw, strides[1]))
  slices = []
  for i in range(kh):
    for j in range(kw):
      start = (0, i, j, 0)
      limit = (n, i + (ho - 1) * strides[0] + 1, j + (wo - 1) * strides[1] + 1, c)
      slices.append((start, limit))
  return slices, (ho, wo)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_matmul_grads(x, w, strides, padding):
  return _conv(x, w, strides, padding)


def _fwd(x, w, strides, padding):
  return _conv(x, w, strides, padding), (x, w)


def _bwd(strides, padding, residuals, dy):
  x, w = residuals
  kh, kw, c, c_out = w.shape
  n, h, wd = x.shape[:3]
  padded = (n, h + sum(padding[0]), wd + sum(padding[1]), c)  # the zero-padded input's shape
  slices, (ho, wo) = _patch_slices(x.shape, (kh, kw), strides, padding)
  dy2 = dy.reshape(-1, c_out)
  dw = jax.vjp(lambda w: _conv(x, w, strides, padding), w)[1](dy)[0]  # XLA's filter gradient
  dcols = (dy2 @ w.reshape(kh * kw * c, c_out).T).reshape(n, ho, wo, kh * kw, c)
  dxp = jnp.zeros(padded, dy.dtype)
  zero = jnp.zeros((), dy.dtype)
  for tap, (start, limit) in enumerate(slices):
    # Undo the strided slice: interior padding puts the values back at stride distance.
    config = [(0, 0, 0),
              (start[1], padded[1] - limit[1], strides[0] - 1),
              (start[2], padded[2] - limit[2], strides[1] - 1),
              (0, 0, 0)]
    dxp = dxp + lax.pad(dcols[..., tap, :], zero, config)
  dx = dxp[:, padding[0][0]:padding[0][0] + h, padding[1][0]:padding[1][0] + wd, :]
  return dx.astype(x.dtype), dw


_conv_matmul_grads.defvjp(_fwd, _bwd)


def conv_general_dilated_matmul_grads(lhs, rhs, window_strides, padding, lhs_dilation=None,
                                      rhs_dilation=None, dimension_numbers=None,
                                      feature_group_count=1, precision=None,
                                      preferred_element_type=None):
  """Drop-in for `lax.conv_general_dilated` (as `flax.linen.Conv(conv_general_dilated=...)`)."""
  del precision, preferred_element_type
  if isinstance(padding, str) or feature_group_count != 1 or any(
      d not in (None, 1) and tuple(d) != (1,) * len(d) for d in (lhs_dilation, rhs_dilation)):
    raise ValueError('conv_general_dilated_matmul_grads supports explicit padding, no dilation '
                     'and feature_group_count=1 only.')
  expected = lax.conv_dimension_numbers(lhs.shape, rhs.shape, _DIMENSION_NUMBERS)
  if dimension_numbers is not None and lax.conv_dimension_numbers(
      lhs.shape, rhs.shape, dimension_numbers) != expected:
    raise ValueError(f'Expected NHWC/HWIO/NHWC dimension numbers, got {dimension_numbers}.')
  padding = tuple(tuple(p) for p in padding)
  return _conv_matmul_grads(lhs, rhs, tuple(window_strides), padding)
