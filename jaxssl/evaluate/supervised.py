"""Supervised baseline: the run's encoder trained end to end on the labels, with a linear head.

The reference point for an SSL linear probe (as in SimCLR's and VICReg's tables, "supervised"): the
same encoder architecture, the view-1 augmentation of the config, the config's optimizer, learning
rate schedule, batch size and data order, trained with softmax cross-entropy
L = −(1/B) Σ_i log softmax(W h(aug(x_i)) + b)_{y_i}, then evaluated on the un-augmented (only
normalised) test images in inference mode.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxssl import augment
from jaxssl.data.input_pipeline import batch_indices, check_images, view_config
from jaxssl.evaluate.features import extract_features
from jaxssl.models import MLPHead, SSLModel, build_model
from jaxssl.train.mesh import batch_sharded, check_batch_divisible, make_mesh, replicated
from jaxssl.train.optim import make_optimizer


def _top_k(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
  """Percentage of rows whose label is among the k largest logits."""
  top = np.argsort(-logits, axis=1)[:, :min(k, logits.shape[1])]
  return float(np.mean(np.any(top == labels[:, None], axis=1)) * 100.0)


def supervised_baseline(config, train_arrays, test_arrays, *, epochs: float | None = None,
                        seed: int = 0) -> dict:
  """Trains the config's encoder + a linear head on the labels; returns test accuracies (%).

  Args:
    config: a run config (`jaxssl.default_config`): model.encoder/encoder_kwargs/dtype,
      augment.view1, optimizer, batch_size, epochs, num_classes, eval.batch_size are used.
    train_arrays, test_arrays: (images (N, H, W, C) uint8, integer labels (N,)).
    epochs: training epochs (default `config.epochs`).
    seed: initialisation, data order and augmentation seed.

  Returns:
    {'supervised_top1': %, 'supervised_top5': %} on the test set, plus 'supervised_epochs' and
    'supervised_train_loss' (mean cross-entropy, nats, over the last epoch's steps).
  """
  (images, labels), (test_images, test_labels) = train_arrays, test_arrays
  images, labels = np.asarray(images), np.asarray(labels)
  test_images, test_labels = np.asarray(test_images), np.asarray(test_labels)
  check_images(images, config)
  for name, x, y in (('train', images, labels), ('test', test_images, test_labels)):
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
      raise ValueError(f'{name} labels must be integers of shape ({len(x)},) to match the images '
                       f'{x.shape}, found {y.dtype} {y.shape}.')
    if len(y) and (y.min() < 0 or y.max() >= config.num_classes):
      raise ValueError(f'{name} labels must lie in [0, num_classes={config.num_classes}), found '
                       f'[{y.min()}, {y.max()}]; set --config.num_classes.')
  epochs = config.epochs if epochs is None else epochs
  if not epochs > 0:
    raise ValueError(f'epochs must be > 0, found {epochs}.')
  config = config.copy_and_resolve_references()
  config.epochs = float(epochs)

  mesh = make_mesh()
  check_batch_divisible(config.batch_size, mesh)
  view = view_config(config.augment.view1)
  encoder = build_model(config.model).encoder
  model = SSLModel(encoder, MLPHead((config.num_classes,), batch_norm=False))  # z = W h + b
  steps_per_epoch = len(images) // config.batch_size
  total_steps = max(int(round(epochs * steps_per_epoch)), 1)
  tx = make_optimizer(config, steps_per_epoch)
  init_key, rng = jax.random.split(jax.random.PRNGKey(seed))
  variables = jax.jit(model.init, static_argnames="train")(
      init_key, jnp.zeros((2, *images.shape[1:]), jnp.float32), train=True)
  params, batch_stats = variables['params'], variables.get('batch_stats', {})
  opt_state = tx.init(params)

  def step(carry, all_images, all_labels, indices, key):
    params, batch_stats, opt_state = carry
    batch = jax.lax.with_sharding_constraint(
        {'image': all_images[indices], 'label': all_labels[indices]}, batch_sharded(mesh))

    def loss_fn(params):
      x = augment.augment_batch(batch['image'], key, view)
      (_, logits, _), updates = model.apply({'params': params, 'batch_stats': batch_stats}, x,
                                            train=True, mutable=['batch_stats'])
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label']).mean()
      return loss, updates.get('batch_stats', batch_stats)

    (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), batch_stats, opt_state), loss

  step = jax.jit(step, donate_argnums=0)
  carry = jax.device_put((params, batch_stats, opt_state), replicated(mesh))
  device_images = jax.device_put(images, replicated(mesh))
  device_labels = jax.device_put(labels.astype(np.int32), replicated(mesh))
  for i in range(total_steps):
    if i % steps_per_epoch == 0:
      order = batch_indices(seed, i // steps_per_epoch, len(images), config.batch_size)
      losses = []
    carry, loss = step(carry, device_images, device_labels, order[i % steps_per_epoch],
                       jax.random.fold_in(rng, i))
    losses.append(loss)
  params, batch_stats, _ = carry
  _, logits = extract_features(model, {'params': params, 'batch_stats': batch_stats}, test_images,
                               view=view, batch_size=config.eval.batch_size, mesh=mesh,
                               projector=True)
  return {'supervised_top1': _top_k(logits, test_labels, 1),
          'supervised_top5': _top_k(logits, test_labels, 5),
          'supervised_epochs': float(epochs),
          'supervised_train_loss': float(np.mean(jax.device_get(losses)))}
