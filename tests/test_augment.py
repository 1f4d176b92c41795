"""Tests for jaxssl.augment: constructed images with known answers and NumPy / jax.image references.

Cheap transforms run eagerly and jitted (`_eager_and_jit`). Compound ones (crop, jitter, pipeline)
run jitted through `_jit`, which compiles at XLA:CPU's -O0: LLVM optimisation is ~4× the compile
time of these small programs on a shared 2-core machine, and does not change their semantics
(the default level agrees to 2e-6; the speed benchmark runs it).
"""
import colorsys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxssl import augment as A

KEY = jax.random.key(0)


def _jit(fn, **kwargs):
  return jax.jit(fn, compiler_options={"xla_backend_optimization_level": 0}, **kwargs)


def _rgb(h=12, w=16, seed=0):
  return np.random.RandomState(seed).rand(h, w, 3).astype(np.float32)


def _gray(h=12, w=16, seed=0):
  return np.random.RandomState(seed).rand(h, w, 1).astype(np.float32)


def _eager_and_jit(fn, *args):
  """fn(*args) eagerly and under jit; asserts they agree to 1e-6 and returns the eager result."""
  eager = np.asarray(fn(*args))
  jitted = np.asarray(_jit(fn)(*args))
  np.testing.assert_allclose(jitted, eager, atol=1e-6)
  return eager


# ------------------------------------------------------------------------------------------------
# Flip, solarize, grayscale, normalize.


def test_flip_p1_flips_and_p0_is_identity():
  x = _rgb()
  out = _eager_and_jit(lambda im, k: A.horizontal_flip(im, k, p=1.0), jnp.asarray(x), KEY)
  np.testing.assert_array_equal(out, x[:, ::-1])
  np.testing.assert_array_equal(A.horizontal_flip(jnp.asarray(x), KEY, p=0.0), x)


def test_apply_rates_are_p():
  # Each wrapper with probability p changes this image iff applied (blur with σ >= 1: σ = 0.1 is
  # the identity to float32), so its change rate over 4000 keys is Binomial(4000, p) / 4000; the
  # band is 4 sd (≤ 0.032). torchvision's RandomX(p) applies when torch.rand(1) < p: the same p.
  x = jnp.asarray(_rgb(6, 6))
  probs = dict(flip=0.5, grayscale=0.2, solarize=0.2, blur=0.1, color_jitter=0.8)
  fns = dict(flip=lambda k: A.horizontal_flip(x, k, p=probs["flip"]),
             grayscale=lambda k: A.to_grayscale(x, k, p=probs["grayscale"]),
             solarize=lambda k: A.solarize(x, k, p=probs["solarize"]),
             blur=lambda k: A.gaussian_blur(x, k, p=probs["blur"], sigma=(1.0, 2.0), kernel_size=3),
             color_jitter=lambda k: A.color_jitter(x, k, p=probs["color_jitter"]))
  changed = _jit(jax.vmap(lambda k: {name: jnp.any(fn(k) != x) for name, fn in fns.items()}))(
      jax.random.split(KEY, 4000))
  for name, p in probs.items():
    rate = float(np.mean(changed[name]))
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / 4000), (name, rate, p)


def test_solarize_p1_matches_numpy_and_p0_is_identity():
  x = _rgb()
  x[0, 0, 0] = 0.5  # exactly at the threshold: inverted (x >= threshold)
  out = _eager_and_jit(lambda im, k: A.solarize(im, k, p=1.0, threshold=0.5), jnp.asarray(x), KEY)
  np.testing.assert_array_equal(out, np.where(x >= 0.5, 1.0 - x, x))
  out = A.solarize(jnp.asarray(x), KEY, p=1.0, threshold=0.3)
  np.testing.assert_array_equal(out, np.where(x >= 0.3, 1.0 - x, x))
  np.testing.assert_array_equal(A.solarize(jnp.asarray(x), KEY, p=0.0), x)


def test_grayscale_matches_luma_keeps_channels():
  x = _rgb()
  out = _eager_and_jit(lambda im, k: A.to_grayscale(im, k, p=1.0), jnp.asarray(x), KEY)
  luma = 0.2989 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
  assert out.shape == x.shape
  for c in range(3):
    np.testing.assert_allclose(out[..., c], luma, atol=1e-6)
  np.testing.assert_array_equal(A.to_grayscale(jnp.asarray(x), KEY, p=0.0), x)
  g = _gray()
  np.testing.assert_array_equal(A.to_grayscale(jnp.asarray(g), KEY, p=1.0), g)


def test_normalize_matches_numpy():
  x = _rgb()
  mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
  out = np.asarray(A.normalize(jnp.asarray(x), mean, std))
  np.testing.assert_allclose(out, (x - np.array(mean)) / np.array(std), rtol=1e-6, atol=1e-6)
  out = np.asarray(A.normalize(jnp.asarray(_gray()), 0.286, 0.353))
  np.testing.assert_allclose(out, (_gray() - 0.286) / 0.353, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# Crop and resize.


def test_crop_full_box_is_identity():
  x = _rgb(16, 16)
  fn = _jit(lambda im, k: A.random_resized_crop(im, k, out_size=(16, 16), scale=(1.0, 1.0),
                                                ratio=(1.0, 1.0)))
  np.testing.assert_allclose(fn(jnp.asarray(x), KEY), x, atol=1e-5)


def test_crop_of_constant_is_constant_and_in_range():
  # Channel 0 constant 0.37, channels 1-2 random 0/1 pixels (the extremes), 64 keys.
  x = np.random.RandomState(1).randint(0, 2, (20, 24, 3)).astype(np.float32)
  x[..., 0] = 0.37
  fn = _jit(jax.vmap(lambda k: A.random_resized_crop(jnp.asarray(x), k, out_size=(9, 11))))
  outs = np.asarray(fn(jax.random.split(KEY, 64)))
  assert outs.shape == (64, 9, 11, 3) and outs.dtype == np.float32
  np.testing.assert_allclose(outs[..., 0], 0.37, atol=1e-6)
  assert outs.min() >= 0.0 and outs.max() <= 1.0
  assert outs[..., 1:].std() > 0.2  # the crops are not all blurred to gray


_resize = _jit(A.resized_crop, static_argnames=("out_size", "antialias"))
_scale_and_translate = _jit(
    lambda x, scale, shift, shape: jax.image.scale_and_translate(x, shape, (0, 1), scale, shift,
                                                                 "linear"),
    static_argnames="shape")


def test_resized_crop_known_answers_and_jax_image_references():
  x = jnp.asarray(_rgb(20, 24))
  # An integer box resized to its own size is the slice.
  out = _resize(x, jnp.array([3.0, 5.0, 10.0, 12.0]), out_size=(10, 12))
  np.testing.assert_allclose(out, np.asarray(x)[3:13, 5:17], atol=1e-5)
  # Fractional boxes, up- and downsampled: jax.image.scale_and_translate (linear, antialiased) of
  # the box's pixels (its crop_window), with the box shifted to the window's origin (boxes whose
  # samples stay within half a pixel of the window: jax.image zeros those past it, jaxssl clamps).
  for box, out_size in [((2.3, 1.7, 9.5, 13.2), (16, 20)), ((0.0, 3.1, 19.0, 17.4), (7, 5)),
                        ((4.4, 0.4, 3.8, 22.9), (9, 8))]:
    top, left, h, w = box
    wt, wl, wh, ww = (int(v) for v in A.crop_window(np.array(box), 20, 24))
    sy, sx = out_size[0] / h, out_size[1] / w
    shift = jnp.array([-(top - wt) * sy, -(left - wl) * sx])
    ref = _scale_and_translate(x[wt:wt + wh, wl:wl + ww], jnp.array([sy, sx]), shift,
                               shape=(*out_size, 3))
    np.testing.assert_allclose(_resize(x, jnp.asarray(box), out_size=out_size), ref, atol=1e-5,
                               err_msg=str(box))
  # The whole image: jax.image.resize, with and without antialiasing.
  for out_size, antialias in [((10, 12), True), ((40, 20), False)]:
    ref = jax.image.resize(x, (*out_size, 3), "linear", antialias=antialias)
    out = _resize(x, jnp.array([0.0, 0.0, 20.0, 24.0]), out_size=out_size, antialias=antialias)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_crop_window_rounds_edges_to_pixel_edges():
  cases = [((3.0, 5.0, 10.0, 12.0), (3, 5, 10, 12)),  # an integer box is its own window
           ((2.3, 1.7, 9.5, 13.2), (2, 2, 10, 13)),  # rows 2.3..11.8 -> 2..11, cols 1.7..14.9
           ((2.5, 0.49, 1.0, 0.02), (3, 0, 1, 1)),  # halves round up; at least one pixel
           ((18.7, 23.6, 1.3, 0.4), (19, 23, 1, 1))]  # clipped to the 20x24 image
  window = _jit(lambda b: A.crop_window(b, 20, 24))
  for box, expected in cases:
    np.testing.assert_array_equal(A.crop_window(np.array(box), 20, 24), expected, err_msg=str(box))
    np.testing.assert_array_equal(window(jnp.asarray(box)), expected, err_msg=str(box))


def test_resized_crop_reads_only_its_window():
  # Pixels outside the box's window changed to anything (here 7.0) leave the output unchanged, and
  # resizing the window alone with the shifted box gives the same output (a host-side crop).
  x = _rgb(20, 24)
  for box, out_size in [((2.3, 1.7, 9.5, 13.2), (16, 20)), ((5.0, 6.0, 4.0, 3.0), (12, 12)),
                        ((0.6, 0.0, 18.9, 24.0), (7, 9)), ((11.2, 20.1, 2.2, 3.7), (28, 28))]:
    top, left, h, w = (int(v) for v in A.crop_window(np.array(box), 20, 24))
    outside = np.full_like(x, 7.0)
    outside[top:top + h, left:left + w] = x[top:top + h, left:left + w]
    for antialias in (True, False):
      out = _resize(jnp.asarray(x), jnp.asarray(box), out_size=out_size, antialias=antialias)
      other = _resize(jnp.asarray(outside), jnp.asarray(box), out_size=out_size,
                      antialias=antialias)
      np.testing.assert_allclose(other, out, atol=1e-6, err_msg=str(box))
      shifted = jnp.asarray(box) - jnp.array([top, left, 0.0, 0.0])
      alone = _resize(jnp.asarray(x[top:top + h, left:left + w]), shifted, out_size=out_size,
                      antialias=antialias)
      np.testing.assert_allclose(alone, out, atol=1e-6, err_msg=str(box))
      window = x[top:top + h, left:left + w]
      assert window.min() - 1e-6 <= out.min() and out.max() <= window.max() + 1e-6


def test_sample_crop_box_inside_image_and_within_ranges():
  h, w = 28, 36
  scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
  boxes = np.asarray(_jit(jax.vmap(lambda k: A.sample_crop_box(k, h, w, scale=scale, ratio=ratio)))(
      jax.random.split(KEY, 2000)))
  top, left, bh, bw = boxes.T
  tol = 1e-4
  assert np.all(top >= -tol) and np.all(left >= -tol)
  assert np.all(top + bh <= h + tol) and np.all(left + bw <= w + tol)
  assert np.all(bh * bw / (h * w) >= scale[0] - tol) and np.all(bh * bw / (h * w) <= scale[1] + tol)
  assert np.all(bw / bh >= ratio[0] - tol) and np.all(bw / bh <= ratio[1] + tol)
  assert 0.2 < np.mean(bh * bw / (h * w)) < 0.7  # U(0.08, 1) has mean 0.54 before rejection


def test_sample_crop_box_fallback_is_torchvision_center_crop():
  # Area 1 at aspect 2 never fits a square: torchvision's fallback, the central crop of aspect 2.
  box = _jit(lambda k: A.sample_crop_box(k, 10, 10, scale=(1.0, 1.0), ratio=(2.0, 2.0)))(KEY)
  np.testing.assert_allclose(box, [2.5, 0.0, 5.0, 10.0], atol=1e-6)


# ------------------------------------------------------------------------------------------------
# Colour jitter.


def test_jitter_strength_zero_and_p0_are_identity():
  zero = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, p=1.0)
  for x in (_rgb(), _gray()):
    out = _eager_and_jit(lambda im, k: A.color_jitter(im, k, **zero), jnp.asarray(x), KEY)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(A.color_jitter(jnp.asarray(x), KEY, p=0.0), x)


def _np_luma(x):
  return 0.2989 * x[..., 0:1] + 0.587 * x[..., 1:2] + 0.114 * x[..., 2:3]


def _np_hue(x, delta):
  flat = [colorsys.hsv_to_rgb((h + delta) % 1.0, s, v)
          for h, s, v in (colorsys.rgb_to_hsv(*px) for px in x.reshape(-1, 3))]
  return np.asarray(flat, np.float32).reshape(x.shape)


def test_jitter_single_ops_match_numpy():
  x = _rgb()
  x[0, :3] = [[0.3, 0.3, 0.3], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # gray, pure red, black pixels
  off = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, p=1.0)
  cases = [
      (dict(brightness=(1.3, 1.3)), np.clip(1.3 * x, 0, 1)),
      (dict(contrast=(0.5, 0.5)), np.clip(0.5 * x + 0.5 * _np_luma(x).mean(), 0, 1)),
      (dict(saturation=(1.7, 1.7)), np.clip(1.7 * x - 0.7 * _np_luma(x), 0, 1)),
      (dict(hue=(0.1, 0.1)), _np_hue(x, 0.1)),
      (dict(hue=(-0.35, -0.35)), _np_hue(x, -0.35)),
  ]
  # All cases in one jitted function (one compile), and the brightness case eagerly too.
  outs = _jit(lambda im, k: [A.color_jitter(im, k, **{**off, **params}) for params, _ in cases])(
      jnp.asarray(x), KEY)
  for (params, ref), out in zip(cases, outs):
    np.testing.assert_allclose(out, ref, atol=2e-6, err_msg=str(params))
  eager = A.color_jitter(jnp.asarray(x), KEY, **{**off, **cases[0][0]})
  np.testing.assert_allclose(eager, cases[0][1], atol=2e-6)
  # The deterministic helpers agree with the same references.
  np.testing.assert_allclose(A.adjust_hue(jnp.asarray(x), 0.1), _np_hue(x, 0.1), atol=2e-6)
  np.testing.assert_allclose(A.adjust_saturation(jnp.asarray(x), 1.7), cases[2][1], atol=2e-6)
  np.testing.assert_allclose(A.adjust_contrast(jnp.asarray(x), 0.5), cases[1][1], atol=2e-6)
  np.testing.assert_allclose(A.adjust_brightness(jnp.asarray(x), 1.3), cases[0][1], atol=2e-6)


def test_jitter_grayscale_image_brightness_and_contrast():
  x = _gray()
  # C = 1: saturation and hue are identities; contrast blends with the image mean.
  out = A.color_jitter(jnp.asarray(x), KEY, brightness=0.0, contrast=(0.4, 0.4), saturation=0.5,
                       hue=0.2, p=1.0)
  np.testing.assert_allclose(out, 0.4 * x + 0.6 * x.mean(), atol=1e-6)
  # A random brightness factor in [0.6, 1.4]: out / x is one constant where nothing clipped.
  fn = _jit(jax.vmap(lambda k: A.color_jitter(jnp.asarray(x), k, brightness=0.4, contrast=0.0,
                                              p=1.0)))
  outs = np.asarray(fn(jax.random.split(KEY, 16)))
  factors = []
  for out in outs:
    inside = out < 1.0
    ratio = out[inside] / x[inside]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    factors.append(ratio[0])
  assert 0.6 - 1e-6 <= min(factors) and max(factors) <= 1.4 + 1e-6 and np.std(factors) > 0.05


def test_jitter_order_is_random():
  # brightness ×2 then contrast 0 gives mean(clip(2x)); contrast 0 then brightness ×2 gives
  # clip(2·mean(x)): both orders must occur (64 keys, each order with probability ½).
  keys = jax.random.split(KEY, 64)
  x = _gray() * 0.8
  fn = _jit(jax.vmap(lambda k: A.color_jitter(jnp.asarray(x), k, brightness=(2.0, 2.0),
                                              contrast=(0.0, 0.0), p=1.0)))
  levels = np.asarray(fn(keys)).reshape(64, -1)
  np.testing.assert_allclose(levels, np.broadcast_to(levels[:, :1], levels.shape), atol=1e-6)
  is_bc = np.isclose(levels[:, 0], np.clip(2 * x, 0, 1).mean(), atol=1e-5)
  is_cb = np.isclose(levels[:, 0], min(2 * x.mean(), 1.0), atol=1e-5)
  assert np.all(is_bc | is_cb) and 15 < is_bc.sum() < 49
  # Hue's position among the blend ops is random too: contrast 0 then hue ½ leaves the gray level
  # mean(luma(x)); hue ½ first changes the luma, hence the level.
  x = _rgb()
  fn = _jit(jax.vmap(lambda k: A.color_jitter(jnp.asarray(x), k, brightness=0.0,
                                              contrast=(0.0, 0.0), saturation=0.0, hue=(0.5, 0.5),
                                              p=1.0)))
  outs = np.asarray(fn(keys))
  first = np.isclose(outs[:, 0, 0, 0], _np_luma(_np_hue(x, 0.5)).mean(), atol=1e-5)
  last = np.isclose(outs[:, 0, 0, 0], _np_luma(x).mean(), atol=1e-5)
  assert np.all(first | last) and 15 < first.sum() < 49


# ------------------------------------------------------------------------------------------------
# Blur.


def _np_blur(x, sigma, kernel_size):
  r = kernel_size // 2
  t = np.arange(-r, r + 1)
  g = np.exp(-0.5 * (t / sigma) ** 2)
  g /= g.sum()
  pad = np.pad(x, ((r, r), (r, r), (0, 0)), mode="reflect")
  rows = sum(g[i] * pad[i:i + x.shape[0]] for i in range(kernel_size))
  return sum(g[i] * rows[:, i:i + x.shape[1]] for i in range(kernel_size))


def test_blur_matches_numpy_reflect_convolution():
  x = _rgb(12, 17)
  fn = lambda im, k: A.gaussian_blur(im, k, p=1.0, sigma=(1.3, 1.3), kernel_size=5)
  np.testing.assert_allclose(_eager_and_jit(fn, jnp.asarray(x), KEY), _np_blur(x, 1.3, 5),
                             atol=1e-5)
  out = A.gaussian_blur(jnp.asarray(_gray(28, 28)), KEY, p=1.0, sigma=0.7)  # default kernel: 3
  np.testing.assert_allclose(out, _np_blur(_gray(28, 28), 0.7, 3), atol=1e-5)
  np.testing.assert_array_equal(A.gaussian_blur(jnp.asarray(x), KEY, p=0.0), x)
  assert [A.default_kernel_size(s) for s in (224, 96, 32, 28, 8)] == [23, 9, 3, 3, 3]


def test_blur_keeps_constant_and_mean_and_reduces_variance():
  const = jnp.full((16, 16, 3), 0.6, jnp.float32)
  np.testing.assert_allclose(A.gaussian_blur(const, KEY, p=1.0), 0.6, atol=1e-6)
  x = _rgb(32, 32)
  fn = _jit(jax.vmap(lambda k: A.gaussian_blur(jnp.asarray(x), k, p=1.0, sigma=(0.8, 2.0),
                                               kernel_size=5)))
  for out in np.asarray(fn(jax.random.split(KEY, 4))):
    assert abs(out.mean() - x.mean()) < 2e-3  # border effects only (measured ≤ 4e-4)
    assert out.var() < 0.5 * x.var()  # white noise: σ = 0.8 keeps ≈ 0.15 of the variance


# ------------------------------------------------------------------------------------------------
# Pipeline.

SMALL_RGB = dict(
    crop=dict(out_size=(12, 12), scale=(0.2, 1.0)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.5),
    blur=dict(p=0.5, sigma=(0.1, 2.0)),
    solarize=dict(p=0.5),
)


def test_augment_all_p0_is_identity_and_uint8_is_scaled():
  x = _rgb()
  off = dict(flip=dict(p=0.0), color_jitter=dict(p=0.0), grayscale=dict(p=0.0), blur=dict(p=0.0),
             solarize=dict(p=0.0))
  np.testing.assert_array_equal(A.augment(jnp.asarray(x), KEY, off), x)
  u8 = (x * 255).astype(np.uint8)
  np.testing.assert_allclose(A.augment(jnp.asarray(u8), KEY, off), u8 / 255.0, atol=1e-7)


def test_augment_batch_equals_loop_dtype_range_determinism():
  images = jnp.asarray((np.random.RandomState(3).rand(16, 16, 16, 3) * 255).astype(np.uint8))
  batch_fn = _jit(lambda x, k: A.augment_batch(x, k, SMALL_RGB))
  batch = np.asarray(batch_fn(images, KEY))
  assert batch.shape == (16, 12, 12, 3) and batch.dtype == np.float32
  assert batch.min() >= 0.0 and batch.max() <= 1.0
  # vmap over the batch equals the per-example loop with the same keys.
  one_fn = _jit(lambda x, k: A.augment(x, k, SMALL_RGB))
  keys = jax.random.split(KEY, 16)
  loop = np.stack([np.asarray(one_fn(images[i], keys[i])) for i in range(16)])
  np.testing.assert_allclose(batch, loop, atol=1e-5)
  # Same key, same views; another key, other views.
  np.testing.assert_array_equal(np.asarray(batch_fn(images, KEY)), batch)
  assert np.abs(np.asarray(batch_fn(images, jax.random.key(1))) - batch).max() > 0.1
  # Images differ from each other's augmentations: keys are split per image.
  same = np.asarray(batch_fn(jnp.broadcast_to(images[:1], images.shape), KEY))
  assert np.abs(same[0] - same[1]).max() > 0.1


def test_two_views_fmnist_jit_by_preset_name():
  images = jnp.asarray(np.random.RandomState(4).randint(0, 256, (6, 28, 28, 1)).astype(np.uint8))
  fn = _jit(A.two_views, static_argnames=("config1", "config2"))
  v1, v2 = fn(images, KEY, "fmnist_view1", "fmnist_view2")
  assert v1.shape == v2.shape == (6, 28, 28, 1) and v1.dtype == v2.dtype == jnp.float32
  assert float(jnp.abs(v1 - v2).max()) > 0.1  # independent keys: the views differ
  # The same views from the dict configs.
  d1, d2 = _jit(lambda x, k: A.two_views(x, k, A.FMNIST_VIEW1, A.FMNIST_VIEW2))(images, KEY)
  np.testing.assert_allclose(v1, d1, atol=1e-5)
  np.testing.assert_allclose(v2, d2, atol=1e-5)
  # Before normalization the views lie in [0, 1]: undo (x − 0.286) / 0.353.
  raw = np.asarray(v1) * 0.3530 + 0.2860
  assert raw.min() >= -1e-5 and raw.max() <= 1 + 1e-5


def test_presets_and_configdict():
  assert set(A.PRESET_NAMES) == {"byol_view1", "byol_view2", "cifar_view1", "cifar_view2",
                                 "fmnist_view1", "fmnist_view2"}
  v1, v2 = A.BYOL_VIEW1, A.BYOL_VIEW2
  assert (v1["blur"]["p"], v2["blur"]["p"]) == (1.0, 0.1)
  assert (v1["solarize"]["p"], v2["solarize"]["p"]) == (0.0, 0.2)
  assert v1["color_jitter"] == dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
  assert v1["grayscale"]["p"] == 0.2 and v1["crop"]["scale"] == (0.08, 1.0)
  assert A.CIFAR_VIEW1["blur"]["p"] == 0.0 and A.CIFAR_VIEW1["crop"]["out_size"] == (32, 32)
  preset = A.get_preset("BYOL_VIEW1")
  preset["blur"]["p"] = 0.5
  assert A.BYOL_VIEW1["blur"]["p"] == 1.0  # get_preset hands out a copy
  # A ConfigDict of a preset gives the same view as the dict.
  x = jnp.asarray(_gray(28, 28))
  cd = ml_collections.ConfigDict(A.FMNIST_VIEW1)
  from_cd, from_dict = _jit(lambda im, k: (A.augment(im, k, cd), A.augment(im, k, A.FMNIST_VIEW1)))(
      x, KEY)
  np.testing.assert_array_equal(from_cd, from_dict)
  # BYOL at 224 runs and gives the preset's size (view 1: blur always, 23-tap kernel).
  out = _jit(lambda im, k: A.augment(im, k, "byol_view1"))(jnp.asarray(_rgb(256, 256)), KEY)
  assert out.shape == (224, 224, 3) and bool(jnp.all(jnp.isfinite(out)))


# ------------------------------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.float32), np.zeros((8, 8, 2), np.float32),
                                 np.zeros((2, 8, 8, 3), np.float32), np.zeros((8, 8, 3), np.int32)])
def test_bad_image_raises_value_error(bad):
  for fn in (A.horizontal_flip, A.solarize, A.to_grayscale, A.color_jitter, A.gaussian_blur,
             A.random_resized_crop):
    with pytest.raises(ValueError, match="image must"):
      fn(jnp.asarray(bad), KEY)


def test_bad_config_and_batch_raise_value_error():
  x = jnp.asarray(_rgb())
  with pytest.raises(ValueError, match="valid keys"):
    A.augment(x, KEY, {"jitter": {}})
  with pytest.raises(ValueError, match="valid keys.*'p'"):
    A.augment(x, KEY, {"flip": {"prob": 0.5}})
  with pytest.raises(ValueError, match="valid names"):
    A.get_preset("imagenet")
  with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
    A.augment_batch(x, KEY, "cifar_view1")
  with pytest.raises(ValueError, match="probability"):
    A.solarize(x, KEY, p=1.5)
  with pytest.raises(ValueError, match="kernel_size"):
    A.gaussian_blur(x, KEY, p=1.0, kernel_size=4)
  with pytest.raises(ValueError, match="kernel_size"):
    A.blur(x, 1.0, kernel_size=25)
  with pytest.raises(ValueError, match="scale"):
    A.random_resized_crop(x, KEY, scale=(0.5, 1.5))
  with pytest.raises(ValueError, match="hue"):
    A.color_jitter(x, KEY, hue=0.7)
  with pytest.raises(ValueError, match="normalize mean"):
    A.normalize(x, (0.1, 0.2), 1.0)
