"""Optimizers (SGD, LARS, AdamW from optax) with linear warm-up + cosine decay."""
from typing import Any

import jax
import optax

OPTIMIZERS = ('sgd', 'lars', 'adamw')


def total_steps(epochs: float, steps_per_epoch: int) -> int:
  """The number of steps of a run of `epochs` (fractional epochs round to the nearest step).

  The one rule for the step count: the training loop runs this many steps and the learning-rate
  schedule spans exactly them, so the last step (index total − 1) still has a learning rate > 0.
  """
  return max(int(round(epochs * steps_per_epoch)), 1)


def learning_rate_schedule(config: Any, steps_per_epoch: int) -> optax.Schedule:
  """Linear warm-up to `lr * batch_size / 256`, then cosine decay to 0 (Goyal et al. 2017 scaling).

  Decay ends at step `total_steps(config.epochs, steps_per_epoch)`, one past the run's last step.
  """
  opt = config.optimizer
  peak = opt.lr * config.batch_size / 256 if opt.get('scale_lr_by_batch', True) else opt.lr
  total = total_steps(config.epochs, steps_per_epoch)
  warmup = min(int(opt.warmup_epochs * steps_per_epoch), total - 1)
  return optax.warmup_cosine_decay_schedule(0.0, peak, warmup, total, end_value=0.0)


def _decay_mask(params):
  """Weight decay (and LARS adaptation) only on kernels; not on biases and normalisation params."""
  return jax.tree.map(lambda p: p.ndim > 1, params)


def make_optimizer(config: Any, steps_per_epoch: int) -> optax.GradientTransformation:
  opt = config.optimizer
  schedule = learning_rate_schedule(config, steps_per_epoch)
  if opt.name == 'sgd':
    tx = optax.chain(optax.add_decayed_weights(opt.weight_decay, mask=_decay_mask),
                     optax.sgd(schedule, momentum=opt.momentum))
  elif opt.name == 'lars':
    tx = optax.lars(schedule, weight_decay=opt.weight_decay, weight_decay_mask=_decay_mask,
                    trust_ratio_mask=_decay_mask, momentum=opt.momentum)
  elif opt.name == 'adamw':
    tx = optax.adamw(schedule, weight_decay=opt.weight_decay, mask=_decay_mask)
  else:
    raise ValueError(f'Unknown optimizer {opt.name!r}; valid: {OPTIMIZERS}.')
  if opt.get('grad_clip', 0):
    tx = optax.chain(optax.clip_by_global_norm(opt.grad_clip), tx)
  return tx
