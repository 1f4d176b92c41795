"""Diagnostics during pretraining: rank, entropy, MI, alignment/uniformity of the current batch.

Every `config.diagnostics_every` steps (0 = off) the loop calls the function `make_diagnostics_fn`
returns: it draws two fresh augmented views of the step's batch, runs the encoder and projector in
inference mode and computes `diagnostics.cheap_diagnostics` of the backbone features h and of the
projector outputs z. It is one separately jitted function (compiled once, at the first diagnostics
step), so the train step is neither slowed nor recompiled. The values go to metrics.jsonl beside the
loss terms as `diag/backbone/<name>` and `diag/projector/<name>` (nats for information quantities),
with `diag/collapse_warning` (1.0 when `diagnostics.collapse_warning` fires on z) and
`diag/seconds` (the call's wall time, which the loop leaves out of images_per_second).

Single-view quantities (RankMe, α-ReQ, entropies, ...) are of the first view. LiDAR
(`diagnostics.lidar`) is of both views, Q = 2 views of each of the N batch images: each image's
within-class covariance comes from its one pair of views, and with N ≤ D its matrices have rank
< D, so the value is a noisier, smaller-sample reading than the offline evaluation's (`jaxssl
evaluate` draws more views); follow its trend over training rather than compare its level.
"""
from __future__ import annotations

import time
from typing import Callable

import jax
import jax.numpy as jnp

from jaxssl import augment
from jaxssl.errors import ConfigError
from jaxssl.evaluate import diagnostics
from jaxssl.parallel.mesh import replicated

SPACES = ('backbone', 'projector')


def is_due(step: int, *, every: int, log_every: int, total_steps: int) -> bool:
  """Whether log point `step` runs the diagnostics: the first log point at or after each multiple
  of `every` (exactly the multiples when `every` is a multiple of `log_every`), and the last
  step."""
  if every <= 0:
    return False
  return step == total_steps or step // every != (step - log_every) // every


def batch_diagnostics(model, variables, images: jax.Array, key: jax.Array, *, view1: dict,
                      view2: dict) -> dict:
  """`cheap_diagnostics` of h and z for two augmented views of `images`, as a dict of scalars.

  Keys `backbone/<name>`, `projector/<name>` (names in `diagnostics.CHEAP_KEYS`, plus
  `diagnostics.GAUSSIAN_KEYS` when the batch has more rows than the space has dimensions) and
  `<space>/finite` (0 when not finite or beyond `diagnostics.MAX_ABS`, and then NaN estimates).
  Pure; jit it.
  """
  x1, x2 = augment.two_views(images, key, view1, view2)
  n = images.shape[0]
  h, z, _ = model.apply(variables, jnp.concatenate([x1, x2]), train=False)
  out = {}
  for space, e in zip(SPACES, (h, z)):
    finite = diagnostics.usable(e)
    # Non-finite or huge embeddings (a diverging run) are zeroed before the SVDs: LAPACK would
    # print "illegal value" noise to stderr on them; every estimate is then NaN.
    e = jnp.where(finite, e, 0.0).astype(jnp.float32)
    values = diagnostics.cheap_diagnostics(e[:n], e[n:], jnp.float32(1.0), jnp.float32(1.0),
                                           jnp.float32(0.1), with_gaussian=n > e.shape[1])
    values = {name: jnp.where(finite, v, jnp.nan) for name, v in values.items()}
    values['finite'] = finite.astype(jnp.float32)
    out.update({f'{space}/{name}': v for name, v in values.items()})
  return out


def make_diagnostics_fn(config, parts) -> Callable[[int, object, dict], dict]:
  """`diagnose(step, state, batch) -> dict` for the loop's log points; {} when not `is_due`.

  `parts` is what `jaxssl.train.loop.setup` builds (its model, mesh, views and total_steps: this
  module does not import the loop). The views are the step's own (without the crop stage when the
  host cropped the batch), drawn with fold_in(fold_in(state.rng, state.step), 1) (never the step's
  own key).
  """
  every = int(config.get('diagnostics_every', 0))
  if every < 0:
    raise ConfigError(f'diagnostics_every={every} must be >= 0 (steps between online diagnostics; '
                      '0 turns them off).')
  if every == 0:
    return lambda step, state, batch: {}
  model = parts.model
  view1, view2 = parts.views

  def online_diagnostics(state, images):
    key = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), 1)
    variables = {'params': state.params, 'batch_stats': state.batch_stats}
    return batch_diagnostics(model, variables, images, key, view1=view1, view2=view2)

  run = jax.jit(online_diagnostics, out_shardings=replicated(parts.mesh))

  def diagnose(step: int, state, batch: dict) -> dict:
    if not is_due(step, every=every, log_every=config.log_every,
                  total_steps=parts.total_steps):
      return {}
    start = time.perf_counter()
    images = batch['image'] if 'image' in batch else batch['view1']  # host-cropped: one view
    values = {k: float(v) for k, v in jax.device_get(run(state, images)).items()}
    z = {name.split('/', 1)[1]: v for name, v in values.items() if name.startswith('projector/')}
    z.update(n=float(images.shape[0]), dim=float(config.model.projector[-1]))
    out = {f'diag/{k}': v for k, v in values.items()}
    out['diag/collapse_warning'] = float(diagnostics.collapse_warning(z)[0])
    out['diag/seconds'] = time.perf_counter() - start
    return out

  return diagnose
