"""Supervised baseline: the run's encoder trained end to end on the labels, with a linear head.

The reference point for an SSL linear probe (as in SimCLR's and VICReg's tables, "supervised"): the
same encoder architecture, a view (the config's view 1, or `supervised_view`'s mild crop + flip,
what `supervised_baseline` uses), the config's optimizer, learning rate schedule, batch size and
data order, trained with softmax cross-entropy
L = −(1/B) Σ_i log softmax(W h(aug(x_i)) + b)_{y_i}, then evaluated on the un-augmented (only
normalised) test images in inference mode.

`train_supervised` can also hold out part of the training split, measure the held-out
cross-entropy and top-1 after every epoch, keep the parameters of the best epoch and stop early
when the held-out top-1 has not improved for `patience` epochs: a baseline trained to convergence
with its own number of epochs (the learning-rate schedule spans them), whose loss curve
(`SupervisedResult.curve`) shows it converged.
"""
from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxssl import augment
from jaxssl.errors import ConfigError
from jaxssl.augment import view_config
from jaxssl.data.input_pipeline import batch_indices, check_images
from jaxssl.evaluate.features import extract_features
from jaxssl.models import MLPHead, SSLModel, build_model
from jaxssl.parallel.mesh import batch_sharded, check_batch_divisible, make_mesh, replicated
from jaxssl.train import optim
from jaxssl.train.optim import make_optimizer
from jaxssl.platform import compiler_options


def _top_k(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
  """Percentage of rows whose label is among the k largest logits."""
  top = np.argsort(-logits, axis=1)[:, :min(k, logits.shape[1])]
  return float(np.mean(np.any(top == labels[:, None], axis=1)) * 100.0)


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
  """Mean softmax cross-entropy (nats) of float logits against integer labels."""
  logits = np.asarray(logits, np.float64)
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_norm = np.log(np.exp(shifted).sum(axis=1))
  return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


@dataclasses.dataclass
class SupervisedResult:
  """What `train_supervised` measured. Accuracies in %, losses in nats (mean cross-entropy).

  curve: one dict per epoch run -- epoch (epochs done, fractional for a last partial epoch),
    train_loss (mean over that epoch's steps) and, with a held-out part, holdout_loss and
    holdout_top1 of the parameters at the end of that epoch.
  best_epoch: the epoch whose parameters were evaluated on the test set (the last one without a
    held-out part). stopped_early: training stopped before `epochs` because the held-out top-1
    had not improved for `patience` epochs. steps_per_second: the training steps' rate, the
    first (compiling) step and the held-out evaluations excluded (NaN with a single step).
  """
  test_top1: float
  test_top5: float
  epochs: float
  epochs_run: float
  best_epoch: float
  train_loss: float
  curve: list
  num_train: int
  num_holdout: int
  stopped_early: bool
  holdout_top1: float = math.nan
  steps_per_second: float = math.nan  # training steps after the first (compiling) one

  def summary(self) -> dict:
    """The scalars `jaxssl evaluate --supervised-baseline` merges into summary.json."""
    out = {'supervised_top1': self.test_top1, 'supervised_top5': self.test_top5,
           'supervised_epochs': self.epochs, 'supervised_train_loss': self.train_loss}
    if self.num_holdout:
      out.update(supervised_best_epoch=self.best_epoch, supervised_epochs_run=self.epochs_run,
                 supervised_holdout_top1=self.holdout_top1)
    return out


def _check_labels(config, images, labels, test_images, test_labels) -> None:
  for name, x, y in (('train', images, labels), ('test', test_images, test_labels)):
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
      raise ValueError(f'{name} labels must be integers of shape ({len(x)},) to match the images '
                       f'{x.shape}, found {y.dtype} {y.shape}.')
    if len(y) and (y.min() < 0 or y.max() >= config.num_classes):
      raise ValueError(f'{name} labels must lie in [0, num_classes={config.num_classes}), found '
                       f'[{y.min()}, {y.max()}]; set --config.num_classes.')


def train_supervised(config, train_arrays, test_arrays, *, epochs: float | None = None,
                     seed: int = 0, holdout: float = 0.0, patience: int | None = None,
                     view=None) -> SupervisedResult:
  """Trains the config's encoder + a linear head on the labels; evaluates it on the test set.

  Args:
    config: a run config (`jaxssl.default_config`): model.encoder/encoder_kwargs/dtype,
      augment.view1, optimizer, batch_size, num_classes, eval.batch_size are used; the learning-rate
      schedule (warm-up, cosine) spans `epochs`.
    train_arrays, test_arrays: (images (N, H, W, C) uint8, integer labels (N,)).
    epochs: training epochs (default `config.epochs`); with `patience`, the most epochs.
    seed: initialisation, held-out split, data order and augmentation seed.
    holdout: fraction of the training images held out (chosen at random by `seed`, not trained
      on) to measure the model after every epoch; the test set is evaluated with the parameters
      of the epoch with the best held-out top-1 (ties: the earlier epoch). 0: no held-out part,
      the last parameters are evaluated.
    patience: with `holdout`, stop after this many epochs without a better held-out top-1.
    view: the training augmentation, a preset name or view dict (default `config.augment.view1`);
      evaluation images are only converted and normalised as in it.
  """
  (images, labels), (test_images, test_labels) = train_arrays, test_arrays
  images, labels = np.asarray(images), np.asarray(labels)
  test_images, test_labels = np.asarray(test_images), np.asarray(test_labels)
  _check_labels(config, images, labels, test_images, test_labels)
  epochs = config.epochs if epochs is None else epochs
  check_options(epochs=epochs, holdout=holdout, patience=patience)
  num_holdout = int(round(holdout * len(images)))
  if holdout and not 0 < num_holdout < len(images):
    raise ConfigError(f'holdout={holdout} of {len(images)} training images leaves '
                      f'{num_holdout} held out; choose a fraction that holds out some but not all.')
  if num_holdout:
    order = np.random.default_rng(seed).permutation(len(images))
    held, kept = order[:num_holdout], np.sort(order[num_holdout:])
    holdout_images, holdout_labels = images[held], labels[held]
    images, labels = images[kept], labels[kept]
  check_images(images, config)
  config = config.copy_and_resolve_references()
  config.epochs = float(epochs)

  mesh = make_mesh()
  check_batch_divisible(config.batch_size, mesh)
  view = view_config(config.augment.view1 if view is None else view)
  encoder = build_model(config.model).encoder
  model = SSLModel(encoder, MLPHead((config.num_classes,), batch_norm=False))  # z = W h + b
  steps_per_epoch = len(images) // config.batch_size
  total_steps = optim.total_steps(epochs, steps_per_epoch)
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

  def logits_of(variables, x):
    return extract_features(model, variables, x, view=view, batch_size=config.eval.batch_size,
                            mesh=mesh, projector=True)[1]

  step = jax.jit(step, donate_argnums=0,  # the XLA:CPU options of the SSL step (jaxssl.platform)
                 compiler_options=compiler_options(config.get('xla_cpu_tuning', True)))
  carry = jax.device_put((params, batch_stats, opt_state), replicated(mesh))
  device_images = jax.device_put(images, replicated(mesh))
  device_labels = jax.device_put(labels.astype(np.int32), replicated(mesh))
  curve, best, best_top1, since_best, done = [], None, -math.inf, 0, 0
  train_seconds, timer = 0.0, None
  while done < total_steps:
    epoch = done // steps_per_epoch
    order = batch_indices(seed, epoch, len(images), config.batch_size)
    losses = []
    for i in range(min(steps_per_epoch, total_steps - done)):
      carry, loss = step(carry, device_images, device_labels, order[i],
                         jax.random.fold_in(rng, done + i))
      losses.append(loss)
      if timer is None:  # the first step compiled: time from its end
        jax.block_until_ready(loss)
        timer = time.perf_counter()
    done += len(losses)
    jax.block_until_ready(losses[-1])
    train_seconds += time.perf_counter() - timer
    point = {'epoch': done / steps_per_epoch,
             'train_loss': float(np.mean(jax.device_get(losses)))}
    if num_holdout:
      current = {'params': carry[0], 'batch_stats': carry[1]}
      logits = logits_of(current, holdout_images)
      point.update(holdout_loss=_cross_entropy(logits, holdout_labels),
                   holdout_top1=_top_k(logits, holdout_labels, 1))
      if point['holdout_top1'] > best_top1:
        best, best_top1, since_best = (jax.device_get(current), point), point['holdout_top1'], 0
      else:
        since_best += 1
    curve.append(point)
    timer = time.perf_counter()
    if patience is not None and since_best >= patience:
      break
  if best is None:  # no held-out part: the last parameters
    best = ({'params': carry[0], 'batch_stats': carry[1]}, curve[-1])
  logits = logits_of(best[0], test_images)
  return SupervisedResult(
      test_top1=_top_k(logits, test_labels, 1), test_top5=_top_k(logits, test_labels, 5),
      epochs=float(epochs), epochs_run=curve[-1]['epoch'], best_epoch=best[1]['epoch'],
      train_loss=best[1]['train_loss'], curve=curve, num_train=len(images),
      num_holdout=num_holdout, stopped_early=done < total_steps,
      holdout_top1=best[1].get('holdout_top1', math.nan),
      steps_per_second=(done - 1) / train_seconds if done > 1 and train_seconds > 0 else math.nan)


def supervised_view(config) -> dict:
  """The supervised baseline's augmentation: view 1 with a mild crop (area ≥ 0.8) and flip only.

  The SSL views (crop area ≥ 0.3, colour jitter, blur) are built for invariance learning; trained
  on them end to end and tested on whole, un-augmented images, the classifier meets a distribution
  it never trained on. The usual supervised recipe (crop + flip, as SimCLR's supervised baseline).
  """
  view = {k: v.to_dict() if hasattr(v, 'to_dict') else v
          for k, v in view_config(config.augment.view1).items()}
  if 'crop' in view:
    view['crop'] = dict(view['crop'], scale=(max(0.8, view['crop']['scale'][0]), 1.0))
  for name in ('color_jitter', 'blur', 'solarize', 'grayscale'):
    if name in view:
      view[name] = dict(view[name], p=0.0)
  return view


# The baseline trained to convergence (the protocol of experiments/study_methods.py): at most 20
# epochs, 10 % of the training split held out, stopped 5 epochs after the best held-out top-1.
BASELINE = dict(epochs=20.0, holdout=0.1, patience=5)


def check_options(*, epochs: float = BASELINE['epochs'], holdout: float = BASELINE['holdout'],
                  patience: int | None = BASELINE['patience'], **_) -> None:
  """Raises one ConfigError for supervised-baseline options no run can use (before any work)."""
  if not epochs > 0:
    raise ConfigError(f'epochs must be > 0, found {epochs}.')
  if not 0 <= holdout < 1:
    raise ConfigError(f'holdout must be a fraction in [0, 1), found {holdout}.')
  if patience is not None and (not holdout or patience < 1):
    raise ConfigError(f'patience (found {patience}) needs holdout > 0 (found {holdout}) and must '
                      'be >= 1 epoch: early stopping watches the held-out accuracy.')


def supervised_baseline(config, train_arrays, test_arrays, *, epochs: float = BASELINE['epochs'],
                        seed: int = 0, holdout: float = BASELINE['holdout'],
                        patience: int | None = BASELINE['patience'], view='supervised') -> dict:
  """`train_supervised`'s scalars: the form `jaxssl evaluate --supervised-baseline` reports.

  Defaults (`BASELINE`): trained to convergence -- at most 20 epochs, 10 % of the training images
  held out, early-stopped 5 epochs after the best held-out top-1, on `supervised_view(config)`
  (mild crop + flip). `holdout=0.0, patience=None` gives a fixed-length run of `epochs`;
  `view=None` trains on the config's SSL view 1.

  Returns:
    {'supervised_top1': %, 'supervised_top5': %} on the test set, plus 'supervised_epochs' and
    'supervised_train_loss' (mean cross-entropy, nats, over the evaluated epoch's steps); with a
    held-out part also 'supervised_best_epoch', 'supervised_epochs_run' and
    'supervised_holdout_top1'.
  """
  view = supervised_view(config) if view == 'supervised' else view
  return train_supervised(config, train_arrays, test_arrays, epochs=epochs, seed=seed,
                          holdout=holdout, patience=patience, view=view).summary()
