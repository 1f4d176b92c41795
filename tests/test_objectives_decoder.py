"""Decoders and input corruption for the reconstruction objective (jaxssl/models/decoder.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxssl import objectives
from jaxssl.models.decoder import ImageDecoder
from jaxssl.models.decoder import MLPDecoder
from jaxssl.models.decoder import corrupt


@pytest.fixture(scope="module")
def image_decoder():
  """One initialisation shared by the tests (Flax init compiles a random op per parameter)."""
  model = ImageDecoder(channels=2, width=8)
  return model, jax.jit(model.init)(jax.random.key(0), jnp.ones((8, 16)))


def test_image_decoder_shape(image_decoder):
  model, params = image_decoder
  assert jax.jit(model.apply)(params, jnp.ones((5, 16))).shape == (5, 28, 28, 2)
  with pytest.raises(ValueError, match=r"\(batch, dim\)"):
    model.apply(params, jnp.ones((5, 4, 4)))


def test_mlp_decoder_shape():
  z = jnp.ones((3, 16))
  model = MLPDecoder(out_shape=(7, 5, 2), hidden=(32,))
  params = jax.jit(model.init)(jax.random.key(0), z)
  assert jax.jit(model.apply)(params, z).shape == (3, 7, 5, 2)


def test_corrupt_masks_exact_patch_count_and_is_deterministic():
  images = jax.random.uniform(jax.random.key(1), (6, 28, 28, 1)) + 1.0  # no pixel equals 0
  fn = jax.jit(lambda key: corrupt(key, images, mask_ratio=0.5, patch_size=4))
  out, mask = fn(jax.random.key(2))
  assert out.shape == images.shape and mask.shape == (6, 28, 28, 1)
  # 7×7 = 49 patches, round(24.5) = 24 masked per image, 16 pixels each.
  np.testing.assert_array_equal(jnp.sum(mask, axis=(1, 2, 3)), np.full(6, 24 * 16))
  np.testing.assert_array_equal(out == 0.0, mask)  # masked pixels filled, others untouched
  np.testing.assert_array_equal(jnp.where(mask, 0.0, out), jnp.where(mask, 0.0, images))
  again, _ = fn(jax.random.key(2))
  np.testing.assert_array_equal(out, again)
  other, _ = fn(jax.random.key(3))
  assert not np.array_equal(out, other)
  # Masks are patch-aligned: constant over every 4×4 block.
  blocks = np.asarray(mask[..., 0]).reshape(6, 7, 4, 7, 4)
  assert np.all(blocks == blocks[:, :, :1, :, :1])


def test_corrupt_noise_std():
  images = jnp.zeros((4, 32, 32, 3))
  out, mask = jax.jit(lambda key: corrupt(key, images, noise_std=0.3))(jax.random.key(0))
  assert not mask.any()
  np.testing.assert_allclose(jnp.std(out), 0.3, rtol=0.05)  # 12k samples: ~1% std error


def test_corrupt_bad_input():
  with pytest.raises(ValueError, match="multiple of patch_size"):
    corrupt(jax.random.key(0), jnp.zeros((1, 28, 28, 1)), mask_ratio=0.5, patch_size=5)
  with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
    corrupt(jax.random.key(0), jnp.zeros((28, 28)))
  with pytest.raises(ValueError, match="mask_ratio"):
    corrupt(jax.random.key(0), jnp.zeros((1, 28, 28, 1)), mask_ratio=1.5)


def test_denoising_decoder_trains_on_the_reconstruction_loss(image_decoder):
  """A few Adam steps of ImageDecoder on the Gaussian NLL lower it well below its start."""
  images = (jax.random.uniform(jax.random.key(0), (8, 28, 28, 2)) > 0.5).astype(jnp.float32)
  noisy, _ = jax.jit(lambda k: corrupt(k, images, mask_ratio=0.25, noise_std=0.1))(
      jax.random.key(1))
  z = noisy.reshape(8, -1)[:, ::98]  # a stand-in "embedding" of the corrupted input, D = 16
  model, params = image_decoder
  opt = optax.adam(1e-2)
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state):
    def loss_fn(p):
      return objectives.reconstruction(images, model.apply(p, z), sigma=0.5)

    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = opt.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss, metrics

  first = None
  for _ in range(40):
    params, opt_state, loss, metrics = step(params, opt_state)
    first = loss if first is None else first
  # NLL = 1568·mse/(2σ²) + const: the mse part must at least halve.
  const = 0.5 * 28 * 28 * 2 * np.log(2 * np.pi * 0.25)
  assert loss - const < 0.5 * (first - const), (first, loss)
  np.testing.assert_allclose(metrics["ba_term"], -loss, rtol=1e-6)
