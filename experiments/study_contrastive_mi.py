"""Study 3 (seed 003, Lee et al. 2023): mutual information in contrastive learning, measured rigorously.

SimCLR (NT-Xent) on Fashion-MNIST at the chosen budget, three questions:

(a) Small batch. Train at several batch sizes B; afterwards estimate I(z1; z2) between the
    embeddings of two augmented views of test images with InfoNCE (critic cos/τ, the training
    temperature) at the training batch size (≤ log B), at an evaluation batch M ≫ B (≤ log M), and
    with KSG on a random 4-d projection (no log-N cap; data processing makes it a lower bound on the
    MI of the full embeddings, up to KSG's own bias).
(b) MI as a measure. Positives are two *different* images of the same class, with the 10 classes
    merged into K super-classes (y mod K). X ⟂ X' | Y and Y is a function of each image, so the
    views' MI is known: I(X; X') = H(Y) = log K, and I(z; z') ≤ log K. Estimated MI vs log K,
    and estimated MI vs linear accuracy (10 classes) across runs (Pearson, Spearman).
(c) InfoMin. Sweep the augmentation strength s (crop area ≥ max(0.08, 1 − 0.7 s), brightness and
    contrast jitter 0.4 s; s = 1 is the Fashion-MNIST preset): estimated view MI and accuracy per s.

All MI in nats.

  python experiments/study_contrastive_mi.py          # cpu budget (~10 min, 2 cores)
  python experiments/study_contrastive_mi.py --tiny   # seconds; run by tests/test_studies.py
"""
import argparse
import copy
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import studylib as lib  # noqa: E402  pylint: disable=wrong-import-position

from jaxssl import augment, estimators as est, objectives  # noqa: E402
from jaxssl.evaluate import diagnostics  # noqa: E402
from jaxssl.train.loop import objective_kwargs, setup, view_config  # noqa: E402
from jaxssl.train.optim import make_optimizer  # noqa: E402

STUDY = 'contrastive_mi'
SETTINGS = {
    'tiny': dict(batches=(16, 32), ks=(2,), strengths=(1.0,), eval_pairs=256, ksg_proj=2),
    'cpu': dict(batches=(16, 64, 256), ks=(2, 5, 10), strengths=(0.0, 0.25, 0.5, 1.0, 1.3),
                eval_pairs=2000, ksg_proj=3),
    'full': dict(batches=(32, 128, 512), ks=(2, 5, 10), strengths=(0.0, 0.25, 0.5, 1.0, 1.3),
                 eval_pairs=10000, ksg_proj=3),
}


def normalise(z):
  return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def mi_estimates(z1, z2, *, temperature, train_batch, key, projections):
  """InfoNCE at the training batch (mean over chunks) and at all M pairs; KSG on 4-d projections."""
  n1, n2 = normalise(z1), normalise(z2)
  m = len(n1)
  chunks = [float(diagnostics.infonce_mi(n1[i:i + train_batch], n2[i:i + train_batch],
                                         temperature=temperature))
            for i in range(0, m - train_batch + 1, train_batch)]
  ksg = [float(diagnostics.ksg_mi_projected(n1, n2, k, dim=min(4, n1.shape[1])))
         for k in jax.random.split(key, projections)]
  return {'infonce_train_batch': float(np.mean(chunks)),
          'infonce_eval_batch': float(diagnostics.infonce_mi(n1, n2, temperature=temperature)),
          'ksg_proj': float(np.nanmean(ksg)), 'eval_pairs': m}


def strength_views(strength: float):
  """fmnist_view1/2 with crop area ≥ max(0.08, 1 − 0.7 s) and brightness/contrast jitter 0.4 s."""
  views = []
  for name in ('fmnist_view1', 'fmnist_view2'):
    view = copy.deepcopy(augment.get_preset(name))
    view['crop']['scale'] = (round(max(0.08, 1.0 - 0.7 * strength), 6), 1.0)
    view['color_jitter'].update(brightness=0.4 * strength, contrast=0.4 * strength)
    views.append(view)
  return views


def same_class_pairs(labels, num_super: int, rng):
  """For each row i, a random row j ≠ i (when possible) of the same super-class (y mod K)."""
  groups = labels % num_super
  partner = np.empty(len(labels), np.int64)
  for g in np.unique(groups):
    rows = np.flatnonzero(groups == g)
    pick = rng.integers(0, len(rows) - 1, size=len(rows)) if len(rows) > 1 else np.zeros(1, int)
    pick = np.where(pick >= np.arange(len(rows)), pick + 1, pick) if len(rows) > 1 else pick
    partner[rows] = rows[pick]
  return partner


def pretrain_same_class(config, train, num_super: int):
  """SimCLR whose positive pairs are augmented views of two images of the same super-class.

  The library step (`jaxssl.train.step`) views one image twice, so this is a minimal step of its
  own: the config's views of x and of its partner x', NT-Xent, the config's optimizer.
  """
  parts = setup(config, train_arrays=train)
  model, state = parts['model'], parts['state']
  tx = make_optimizer(config, parts['steps_per_epoch'])
  objective = objectives.get(config.objective.name)
  kwargs = objective_kwargs(objective, config)
  view1, view2 = view_config(config.augment.view1), view_config(config.augment.view2)

  @jax.jit
  def step(state, x1, x2):
    k1, k2 = jax.random.split(jax.random.fold_in(state.rng, state.step))
    views = jnp.concatenate([augment.augment_batch(x1, k1, view1),
                             augment.augment_batch(x2, k2, view2)])

    def loss_fn(params):
      (_, z, _), updates = model.apply({'params': params, 'batch_stats': state.batch_stats}, views,
                                       train=True, mutable=['batch_stats'])
      z1, z2 = jnp.split(z, 2)
      return objective.fn(z1, z2, **kwargs)[0], updates['batch_stats']

    (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    return state.replace(params=optax.apply_updates(state.params, updates),
                         batch_stats=batch_stats, opt_state=opt_state, step=state.step + 1), loss

  images, labels = train
  rng = np.random.default_rng(config.seed)
  spe, b = parts['steps_per_epoch'], config.batch_size
  for s in range(parts['total_steps']):
    if s % spe == 0:
      order, partner = rng.permutation(len(images)), same_class_pairs(labels, num_super, rng)
    idx = order[(s % spe) * b:(s % spe + 1) * b]
    state, loss = step(state, images[idx], images[partner[idx]])
  if not np.isfinite(float(loss)):
    raise RuntimeError(f'same-class SimCLR (K = {num_super}) diverged: final loss {float(loss)}.')
  return model, state, parts['total_steps']


def evaluate_run(model, state, config, train, test, settings, key, *, views=None, pairs=None):
  """Linear / kNN accuracy and the MI estimates of one trained run."""
  train_h = lib.representations(model, state, train[0], config)
  test_h = lib.representations(model, state, test[0], config)
  out = lib.accuracy(train_h, train[1], test_h, test[1], seed=config.seed)
  images = test[0][:settings['eval_pairs']]
  if pairs is None:  # two augmented views of each image
    view1, view2 = views or (None, None)
    z1, z2 = lib.view_embeddings(model, state, images, config, key, view1=view1, view2=view2)
  else:  # an image and its same-class partner, un-augmented
    _, z = lib.representations(model, state, images, config, projector=True)
    z1, z2 = z, z[pairs]
  out.update(mi_estimates(z1, z2, temperature=config.objective.kwargs.temperature,
                          train_batch=config.batch_size, key=key,
                          projections=settings['ksg_proj']))
  return out


def part_a(budget, settings, train, test, work, key):
  rows = []
  for b in settings['batches']:
    config = lib.make_config('nt_xent', budget, overrides=(f'batch_size={b}',))
    r = lib.train_and_evaluate(config, work / f'batch_{b}', train, test)
    run = r['_run']
    rows.append(dict(batch=b, steps=r['steps'], **evaluate_run(run.model, run.state, config,
                                                              train, test, settings, key)))
    print(f'(a) batch {b}: ' + ', '.join(f'{k} {v:.3f}' for k, v in rows[-1].items()), flush=True)
  return rows


def part_b(budget, settings, train, test, key):
  rows = []
  images = test[0][:settings['eval_pairs']]
  for k in settings['ks']:
    config = lib.make_config('nt_xent', budget)
    model, state, steps = pretrain_same_class(config, train, k)
    pairs = same_class_pairs(test[1][:len(images)], k, np.random.default_rng(99))
    r = evaluate_run(model, state, config, train, test, settings, key, pairs=pairs)
    rows.append(dict(K=k, log_K=float(np.log(k)), steps=steps, **r))
    print(f'(b) K {k}: ' + ', '.join(f'{n} {v:.3f}' for n, v in rows[-1].items()), flush=True)
  return rows


def part_c(budget, settings, train, test, work, key):
  rows = []
  for s in settings['strengths']:
    view1, view2 = strength_views(s)
    config = lib.make_config('nt_xent', budget)
    config.augment = ml_collections.ConfigDict({'view1': view1, 'view2': view2})
    r = lib.train_and_evaluate(config, work / f'strength_{s}', train, test)
    run = r['_run']
    rows.append(dict(strength=s, crop_min=view1['crop']['scale'][0], steps=r['steps'],
                     **evaluate_run(run.model, run.state, config, train, test, settings, key,
                                    views=(view1, view2))))
    print(f'(c) strength {s}: ' + ', '.join(f'{k} {v:.3f}' for k, v in rows[-1].items()),
          flush=True)
  return rows


def plot(a, b, c, path):
  fig, axes = lib.figure(1, 4, width=3.7, height=3.1)
  ax = axes[0, 0]
  bs = [r['batch'] for r in a]
  ax.plot(bs, [r['infonce_train_batch'] for r in a], 'o-', label='InfoNCE, batch B')
  ax.plot(bs, [r['infonce_eval_batch'] for r in a], 's-', label=f"InfoNCE, M = {a[0]['eval_pairs']}")
  ax.plot(bs, [r['ksg_proj'] for r in a], '^-', label='KSG, 4-d projection')
  ax.plot(bs, np.log(bs), 'k--', lw=0.8, label='log B')
  ax.set_xscale('log', base=2)
  ax.set(title='(a) MI vs training batch', xlabel='training batch B', ylabel='nats')
  ax.legend(fontsize=6)
  ax = axes[0, 1]
  ks = np.array([r['log_K'] for r in b])
  ax.plot(ks, [r['infonce_eval_batch'] for r in b], 's', label='InfoNCE, M pairs')
  ax.plot(ks, [r['ksg_proj'] for r in b], '^', label='KSG, 4-d')
  grid = np.linspace(0, max(ks.max(), 0.1) * 1.1, 10)
  ax.plot(grid, grid, 'k--', lw=0.8, label='truth bound log K')
  ax.set(title='(b) same-class positives', xlabel='log K (nats)', ylabel='estimated MI (nats)')
  ax.legend(fontsize=6)
  ax = axes[0, 2]
  for rows, marker, label in ((a, 'o', '(a) batch'), (b, 's', '(b) same class'),
                              (c, '^', '(c) strength')):
    ax.plot([r['infonce_eval_batch'] for r in rows], [r['linear_top1'] for r in rows], marker,
            label=label)
  ax.set(title='MI vs linear accuracy', xlabel='InfoNCE, M pairs (nats)', ylabel='linear top-1 (%)')
  ax.legend(fontsize=6)
  ax = axes[0, 3]
  ax.plot([r['infonce_eval_batch'] for r in c], [r['linear_top1'] for r in c], '^-')
  for r in c:
    ax.annotate(f"s={r['strength']:g}", (r['infonce_eval_batch'], r['linear_top1']), fontsize=6)
  ax.set(title='(c) InfoMin sweep', xlabel='view MI, InfoNCE (nats)', ylabel='linear top-1 (%)')
  return lib.save_figure(fig, path)


def table(rows, columns):
  fmt = lambda v: f'{v:.3f}' if isinstance(v, float) else str(v)
  return lib.markdown_table([c for c, _ in columns], [[fmt(r[k]) for _, k in columns] for r in rows])


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  lib.add_budget_flags(parser, seeds=None)  # one seed: the study has no seed loop
  args = parser.parse_args(argv)
  budget = lib.budget_from_args(args)
  settings = SETTINGS[budget.name]
  out, work = lib.out_dir(args, STUDY), lib.work_dir(args, STUDY)
  train, test = lib.load_fmnist(budget)
  key = jax.random.PRNGKey(7)
  a = part_a(budget, settings, train, test, work, key)
  b = part_b(budget, settings, train, test, key)
  c = part_c(budget, settings, train, test, work, key)
  plot(a, b, c, out / 'contrastive_mi.png')
  every = a + b + c
  corr = {name: lib.correlation([r['infonce_eval_batch'] for r in rows],
                                [r['linear_top1'] for r in rows])
          for name, rows in (('(b) same-class runs', b), ('(c) strength sweep', c),
                             ('all runs', every))}
  corr_ksg = lib.correlation([r['ksg_proj'] for r in every], [r['linear_top1'] for r in every])
  m = a[0]['eval_pairs']
  tau = float(lib.make_config('nt_xent', budget).objective.kwargs.temperature)
  above = [r['batch'] for r in a if r['infonce_eval_batch'] > np.log(r['batch'])]
  best = max(c, key=lambda r: r['linear_top1'])
  common = [('linear top-1 (%)', 'linear_top1'), ('kNN top-1 (%)', 'knn_top1')]
  summary = '\n'.join([
      '## Study 3 -- mutual information in contrastive learning (seed 003)', '',
      f'`{lib.command_line("study_contrastive_mi.py", args)}` · ' + lib.budget_line(
          budget, lib.make_config('nt_xent', budget)) + f' MI in nats, estimated on {m} test pairs.',
      '', '**(a) Small batch.** InfoNCE at the training batch is capped at log B; re-estimated '
      f'with M = {m} pairs it exceeds log B for B ∈ {above or "none"}. With the critic cos/τ '
      f'(τ = {tau:g}) InfoNCE also cannot exceed 2/τ = {2 / tau:.1f} nats, whatever M.', '',
      table(a, [('train batch B', 'batch'), ('steps', 'steps')] + common +
            [('InfoNCE @ B', 'infonce_train_batch'), (f'InfoNCE @ M={m}', 'infonce_eval_batch'),
             ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**(b) Same-class positives, known MI log K.**', '',
      table(b, [('K', 'K'), ('log K (truth bound)', 'log_K')] + common +
            [(f'InfoNCE @ M={m}', 'infonce_eval_batch'), ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**(c) InfoMin: augmentation strength.** Best linear accuracy at s = '
      f"{best['strength']:g} (view MI {best['infonce_eval_batch']:.2f} nats).", '',
      table(c, [('strength s', 'strength'), ('min crop area', 'crop_min')] + common +
            [(f'InfoNCE @ M={m}', 'infonce_eval_batch'), ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**Estimated MI (InfoNCE @ M) vs linear accuracy:** ' + '; '.join(
          f'{name}: Pearson {p:.2f}, Spearman {s:.2f}' for name, (p, s) in corr.items())
      + f'; KSG vs accuracy, all runs: Pearson {corr_ksg[0]:.2f}.', '',
      '![contrastive MI](contrastive_mi.png)'])
  raw = dict(small_batch=[lib.clean(r) for r in a], same_class=b, infomin=c,
             correlation={k: dict(pearson=p, spearman=s) for k, (p, s) in corr.items()})
  lib.publish(args, out, summary=summary, details='', raw=raw)
  return raw


if __name__ == '__main__':
  from jaxssl.host_memory import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  main()
