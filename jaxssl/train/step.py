"""One jitted training step: augment on device -> encoder/projector -> objective -> optax update.

The step also trains the online linear probe on stop-gradient features (solo-learn style), updates
EMA targets for BYOL-style objectives, feeds reconstruction objectives the images their decoder
should produce (`reconstruction_target`), and skips (does not apply) any step whose loss or gradient is
non-finite, counting it in the state.
"""
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from jaxssl import augment
from jaxssl.train.state import TrainState


def ema_decay(step, total_steps: int, base: float):
  """BYOL's target decay: τ = 1 − (1 − τ_base)(cos(π k/K) + 1)/2, rising from τ_base to 1."""
  progress = jnp.minimum(step / max(total_steps, 1), 1.0)
  return 1.0 - (1.0 - base) * (jnp.cos(jnp.pi * progress) + 1.0) / 2.0


def probe_logits(probe_params, features):
  return features @ probe_params['kernel'] + probe_params['bias']


def reconstruction_target(images, view_1, view_2, *, target: str, view1: dict, view2: dict):
  """The images x̂ = decoder(z) of each view is scored against, stacked as the views are.

  'clean': the un-augmented image, only converted and normalised as its view (a denoising
  autoencoder: the Barber–Agakov bound is then on I(X; Z) for the clean X); 'other_view': the
  other augmented view (cross-view prediction, a bound on I(X₂; Z₁)).
  """
  if target == 'clean':
    stage = lambda view: {'normalize': view.get('normalize')}
    key = jax.random.key(0)  # unused: no random stage
    return jnp.concatenate([augment.augment_batch(images, key, stage(view1)),
                            augment.augment_batch(images, key, stage(view2))])
  if target == 'other_view':
    return jnp.concatenate([view_2, view_1])
  raise ValueError(f"Unknown reconstruction target {target!r}; valid: 'clean', 'other_view'.")


def _objective_loss(objective, kwargs, outputs, target_z, objective_state, recon_target=None,
                    key=None):
  """Dispatch on the objective's kind; returns (loss, metrics, new objective state).

  Objectives registered with `takes_key` (SIGReg's random directions) get `key=key`.
  """
  _, z, p = outputs
  if objective.takes_key:
    kwargs = {**kwargs, 'key': key}
  if objective.kind == 'reconstruction':
    loss, metrics = objective.fn(recon_target, p, **kwargs)
    return loss, metrics, objective_state
  z1, z2 = jnp.split(z, 2)
  if objective.kind == 'pair':
    loss, metrics = objective.fn(z1, z2, **kwargs)
    return loss, metrics, objective_state
  if objective.kind == 'stateful':
    return objective.fn(z1, z2, objective_state, **kwargs)
  p1, p2 = jnp.split(p, 2)
  if objective.kind == 'predictor_stopgrad':
    loss, metrics = objective.fn(p1, p2, z1, z2, **kwargs)
    return loss, metrics, objective_state
  if objective.kind == 'predictor_target':
    t1, t2 = jnp.split(target_z, 2)
    loss, metrics = objective.fn(p1, p2, t1, t2, **kwargs)
    return loss, metrics, objective_state
  raise ValueError(f'The training engine cannot run objectives of kind {objective.kind!r}.')


def _all_finite(tree) -> jax.Array:
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def make_train_step(model, objective, tx: optax.GradientTransformation,
                    probe_tx: optax.GradientTransformation, *, view1: dict, view2: dict,
                    objective_kwargs: dict | None = None, schedule: Callable | None = None,
                    total_steps: int = 1, ema_base: float = 0.99, reconstruct: str = 'clean',
                    nan_at_steps: tuple = ()) -> Callable[[TrainState, dict], tuple]:
  """Returns `train_step(state, batch) -> (state, metrics)`, pure and ready for `jax.jit`.

  `batch` holds 'image' (uint8 or float, NHWC) and 'label' (int), or, cropped on the host
  (encoded images, `jaxssl.data.input_pipeline.TwoViewBatch`), 'view1' and 'view2' (uint8 NHWC, one
  crop each) with 'label': `view1` / `view2` (then without a crop stage) are applied to each.
  `reconstruct` picks the decoder's
  target for reconstruction objectives (see `reconstruction_target`). `nan_at_steps` injects a NaN
  loss at those steps: a fault-injection hook for testing the non-finite guard.
  """
  kwargs = dict(objective_kwargs or {})
  uses_target = objective.kind == 'predictor_target'
  nan_steps = jnp.asarray(nan_at_steps if nan_at_steps else (-1,), jnp.int32)

  def train_step(state: TrainState, batch: dict):
    key = jax.random.fold_in(state.rng, state.step)
    # The objective's own randomness (SIGReg's directions): another stream of the step key, the
    # same on every device.
    objective_key = jax.random.fold_in(key, 1)
    if 'view1' in batch:  # cropped on the host: flip, colour, blur... on the device
      k1, k2 = jax.random.split(key)
      view_1 = augment.augment_batch(batch['view1'], k1, view1)
      view_2 = augment.augment_batch(batch['view2'], k2, view2)
    else:
      view_1, view_2 = augment.two_views(batch['image'], key, view1, view2)
    x = jnp.concatenate([view_1, view_2])
    labels = jnp.concatenate([batch['label'], batch['label']])
    recon_target = None
    if objective.kind == 'reconstruction':
      recon_target = reconstruction_target(batch['image'], view_1, view_2, target=reconstruct,
                                           view1=view1, view2=view2)

    target_z, target_stats = None, state.target_batch_stats
    if uses_target:
      (_, target_z, _), target_updates = model.apply(
          {'params': state.target_params, 'batch_stats': state.target_batch_stats}, x, train=True,
          mutable=['batch_stats'])
      target_z = jax.lax.stop_gradient(target_z)
      target_stats = target_updates['batch_stats']

    def loss_fn(params, probe_params):
      outputs, updates = model.apply({'params': params, 'batch_stats': state.batch_stats}, x,
                                     train=True, mutable=['batch_stats'])
      loss, metrics, objective_state = _objective_loss(objective, kwargs, outputs, target_z,
                                                       state.objective_state, recon_target,
                                                       objective_key)
      loss = loss + jnp.where(jnp.any(nan_steps == state.step), jnp.nan, 0.0)
      logits = probe_logits(probe_params, jax.lax.stop_gradient(outputs[0]))
      probe_loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
      probe_acc = jnp.mean(jnp.argmax(logits, -1) == labels) * 100
      aux = (metrics, updates['batch_stats'], objective_state, probe_loss, probe_acc)
      return loss + probe_loss, (loss, aux)

    grads, (loss, aux) = jax.grad(loss_fn, argnums=(0, 1), has_aux=True)(state.params,
                                                                       state.probe_params)
    metrics, batch_stats, objective_state, probe_loss, probe_acc = aux
    grads, probe_grads = grads
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    probe_updates, probe_opt_state = probe_tx.update(probe_grads, state.probe_opt_state,
                                                     state.probe_params)
    probe_params = optax.apply_updates(state.probe_params, probe_updates)
    target_params = state.target_params
    if uses_target:
      tau = ema_decay(state.step, total_steps, ema_base)
      target_params = jax.tree.map(lambda t, o: tau * t + (1 - tau) * o, state.target_params,
                                   params)

    finite = jnp.isfinite(loss) & _all_finite(grads)
    candidate = state.replace(
        params=params, batch_stats=batch_stats, opt_state=opt_state,
        objective_state=objective_state, target_params=target_params,
        target_batch_stats=target_stats, probe_params=probe_params,
        probe_opt_state=probe_opt_state)
    new_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old), candidate, state)
    new_state = new_state.replace(
        step=state.step + 1,
        skipped_steps=state.skipped_steps + (~finite).astype(jnp.int32),
        bad_streak=jnp.where(finite, 0, state.bad_streak + 1))

    out = {'loss': loss, 'probe_loss': probe_loss, 'probe_acc': probe_acc,
           'grad_norm': optax.tree.norm(grads), 'finite': finite.astype(jnp.float32),
           **{f'objective/{k}': v for k, v in metrics.items()}}
    if schedule is not None:
      out['lr'] = schedule(state.step)
    return new_state, out

  return train_step
