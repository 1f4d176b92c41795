"""The 'reconstruction' kind in the engine: the model's decoder x̂(z) trains on the Gaussian NLL.

Tiny settings (stated): ConvNet (8, 16), projector 32-32, ImageDecoder width 8, batch 16 of 28x28
synthetic images, AdamW lr 1e-2 (unscaled; cosine over 3 epochs of 4 steps), 12 steps on one batch.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import augment
from jaxssl.errors import ConfigError
from jaxssl.train import setup
from jaxssl.data.input_pipeline import batch_indices
from jaxssl.parallel.mesh import make_mesh
from jaxssl.train.step import reconstruction_target

from helpers import tiny_arrays, tiny_config

RECONSTRUCTION = ('objective.name="reconstruction"', 'model.decoder="image"',
                  'model.decoder_kwargs.width=8', 'optimizer.lr=1e-2',
                  'optimizer.scale_lr_by_batch=False', 'epochs=3.0')


def test_reconstruction_step_trains_the_decoder_and_the_loss_falls():
  config = tiny_config(*RECONSTRUCTION)
  parts = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays())
  state = parts.state
  assert set(state.params) == {'encoder', 'projector', 'decoder'}
  before = jax.device_get(state.params)
  batch = parts.gather(batch_indices(config.seed, 0, parts.num_examples, 16)[0])
  losses = []
  for _ in range(12):
    state, metrics = parts.step(state, batch)
    assert float(metrics['finite']) == 1.0, metrics
    losses.append(float(metrics['loss']))
  # Barber–Agakov terms are logged: loss = nll = −ba_term ≥ (D/2)·log(2π) for σ = 1, D = 784.
  np.testing.assert_allclose(float(metrics['objective/ba_term']), -losses[-1], rtol=1e-6)
  assert losses[-1] > 392 * np.log(2 * np.pi)
  # The squared-error part of the NLL falls by at least a quarter in 12 steps on one batch.
  const = 392 * np.log(2 * np.pi)
  assert losses[-1] - const < 0.75 * (losses[0] - const), losses
  for part in ('encoder', 'decoder'):
    changed = jax.tree.map(lambda a, b: not np.array_equal(a, b), before[part],
                           jax.device_get(state.params[part]))
    assert all(jax.tree.leaves(changed)), part


def test_reconstruction_targets():
  """'clean' = the un-augmented image normalised as its view; 'other_view' swaps the views."""
  images = jnp.asarray(tiny_arrays(4)[0])
  view = augment.get_preset('fmnist_view1')
  v1, v2 = jnp.ones((4, 28, 28, 1)), jnp.zeros((4, 28, 28, 1))
  clean = reconstruction_target(images, v1, v2, target='clean', view1=view, view2=view)
  norm = view['normalize']
  expected = (np.asarray(images, np.float32) / 255.0 - norm['mean']) / norm['std']
  np.testing.assert_allclose(clean, np.concatenate([expected, expected]), rtol=1e-5, atol=1e-5)
  other = reconstruction_target(images, v1, v2, target='other_view', view1=view, view2=view)
  np.testing.assert_array_equal(other, np.concatenate([v2, v1]))
  with pytest.raises(ValueError, match='other_view'):
    reconstruction_target(images, v1, v2, target='noisy', view1=view, view2=view)


def test_reconstruction_config_errors():
  arrays = tiny_arrays()
  with pytest.raises(ConfigError, match='needs a decoder'):
    setup(tiny_config('objective.name="reconstruction"'), mesh=make_mesh(1), train_arrays=arrays)
  with pytest.raises(ConfigError, match='does not use a decoder'):
    setup(tiny_config('model.decoder="image"'), mesh=make_mesh(1), train_arrays=arrays)
  with pytest.raises(ConfigError, match='other_view'):
    setup(tiny_config(*RECONSTRUCTION, 'objective.reconstruct="noisy"'), mesh=make_mesh(1),
          train_arrays=arrays)
