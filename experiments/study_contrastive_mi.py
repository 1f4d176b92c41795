"""Study 3 (Lee et al. 2023): mutual information in contrastive learning, measured rigorously.

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

All MI in nats. Every setting runs `--seeds` seeds (default 3; 2 in --tiny): tables give mean ± std
over seeds, plots the mean with ± std error bars; the MI-accuracy correlations are given over every
run (settings × seeds) and within each seed (mean ± std over seeds).

  python experiments/study_contrastive_mi.py          # cpu budget, 3 seeds (~35 min, 2 cores)
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
from jaxssl.augment import view_config  # noqa: E402
from jaxssl.train.loop import objective_kwargs, setup  # noqa: E402
from jaxssl.train.optim import make_optimizer  # noqa: E402

STUDY = 'contrastive_mi'
SETTINGS = {
    'tiny': dict(batches=(16, 32), ks=(2,), strengths=(1.0,), eval_pairs=256, ksg_proj=2),
    'cpu': dict(batches=(16, 64, 256), ks=(2, 5, 10), strengths=(0.0, 0.25, 0.5, 1.0, 1.3),
                eval_pairs=2000, ksg_proj=3),
    'full': dict(batches=(32, 128, 512), ks=(2, 5, 10), strengths=(0.0, 0.25, 0.5, 1.0, 1.3),
                 eval_pairs=10000, ksg_proj=3),
}
SETTINGS['long'] = SETTINGS['full']
METRICS = ('linear_top1', 'knn_top1', 'infonce_train_batch', 'infonce_eval_batch', 'ksg_proj')


def aggregate(setting: dict, runs: list) -> dict:
  """One row per setting: its fields, the per-seed `runs`, and mean / `<metric>_std` over them."""
  row = dict(setting, runs=runs, steps=runs[0]['steps'], eval_pairs=runs[0]['eval_pairs'])
  for k in METRICS:
    if k in runs[0]:
      row[k], row[f'{k}_std'] = lib.mean_std([r[k] for r in runs])
  return row


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
  model, state = parts.model, parts.state
  tx = make_optimizer(config, parts.steps_per_epoch)
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
  spe, b = parts.steps_per_epoch, config.batch_size
  for s in range(parts.total_steps):
    if s % spe == 0:
      order, partner = rng.permutation(len(images)), same_class_pairs(labels, num_super, rng)
    idx = order[(s % spe) * b:(s % spe + 1) * b]
    state, loss = step(state, images[idx], images[partner[idx]])
  if not np.isfinite(float(loss)):
    raise RuntimeError(f'same-class SimCLR (K = {num_super}) diverged: final loss {float(loss)}.')
  return model, state, parts.total_steps


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


def _report(part, setting, seed, run):
  print(f'({part}) {setting} seed {seed}: ' + ', '.join(
      f'{k} {run[k]:.3f}' for k in METRICS if k in run), flush=True)


def part_a(budget, settings, train, test, work, key, seeds):
  rows = []
  for b in settings['batches']:
    runs = []
    for seed in seeds:
      config = lib.make_config('nt_xent', budget, seed=seed, overrides=(f'batch_size={b}',))
      r = lib.train_and_evaluate(config, work / f'batch_{b}_s{seed}', train, test)
      run = r['_run']
      runs.append(dict(seed=seed, steps=r['steps'], **evaluate_run(
          run.model, run.state, config, train, test, settings, key)))
      _report('a', f'batch {b}', seed, runs[-1])
    rows.append(aggregate(dict(batch=b), runs))
  return rows


def part_b(budget, settings, train, test, key, seeds):
  rows = []
  images = test[0][:settings['eval_pairs']]
  for k in settings['ks']:
    pairs = same_class_pairs(test[1][:len(images)], k, np.random.default_rng(99))
    runs = []
    for seed in seeds:
      config = lib.make_config('nt_xent', budget, seed=seed)
      model, state, steps = pretrain_same_class(config, train, k)
      runs.append(dict(seed=seed, steps=steps, **evaluate_run(
          model, state, config, train, test, settings, key, pairs=pairs)))
      _report('b', f'K {k}', seed, runs[-1])
    rows.append(aggregate(dict(K=k, log_K=float(np.log(k))), runs))
  return rows


def part_c(budget, settings, train, test, work, key, seeds):
  rows = []
  for s in settings['strengths']:
    view1, view2 = strength_views(s)
    runs = []
    for seed in seeds:
      config = lib.make_config('nt_xent', budget, seed=seed)
      config.augment = ml_collections.ConfigDict({'view1': view1, 'view2': view2})
      r = lib.train_and_evaluate(config, work / f'strength_{s}_s{seed}', train, test)
      run = r['_run']
      runs.append(dict(seed=seed, steps=r['steps'], **evaluate_run(
          run.model, run.state, config, train, test, settings, key, views=(view1, view2))))
      _report('c', f'strength {s}', seed, runs[-1])
    rows.append(aggregate(dict(strength=s, crop_min=view1['crop']['scale'][0]), runs))
  return rows


def _bars(ax, rows, x, y, fmt, label=None, *, xerr=False):
  """Mean ± std (over seeds) error bars of metric y against setting or metric x."""
  xs = [r[x] for r in rows]
  ax.errorbar(xs, [r[y] for r in rows], yerr=[r[f'{y}_std'] for r in rows],
              xerr=[r[f'{x}_std'] for r in rows] if xerr else None, fmt=fmt, ms=4, capsize=2,
              label=label)


def plot(a, b, c, path):
  fig, axes = lib.figure(1, 4, width=3.7, height=3.1)
  ax = axes[0, 0]
  bs = [r['batch'] for r in a]
  _bars(ax, a, 'batch', 'infonce_train_batch', 'o-', 'InfoNCE, batch B')
  _bars(ax, a, 'batch', 'infonce_eval_batch', 's-', f"InfoNCE, M = {a[0]['eval_pairs']}")
  _bars(ax, a, 'batch', 'ksg_proj', '^-', 'KSG, 4-d projection')
  ax.plot(bs, np.log(bs), 'k--', lw=0.8, label='log B')
  ax.set_xscale('log', base=2)
  ax.set(title='(a) MI vs training batch', xlabel='training batch B', ylabel='nats')
  ax.legend(fontsize=6)
  ax = axes[0, 1]
  ks = np.array([r['log_K'] for r in b])
  _bars(ax, b, 'log_K', 'infonce_eval_batch', 's', 'InfoNCE, M pairs')
  _bars(ax, b, 'log_K', 'ksg_proj', '^', 'KSG, 4-d')
  grid = np.linspace(0, max(ks.max(), 0.1) * 1.1, 10)
  ax.plot(grid, grid, 'k--', lw=0.8, label='truth bound log K')
  ax.set(title='(b) same-class positives', xlabel='log K (nats)', ylabel='estimated MI (nats)')
  ax.legend(fontsize=6)
  ax = axes[0, 2]
  for rows, marker, label in ((a, 'o', '(a) batch'), (b, 's', '(b) same class'),
                              (c, '^', '(c) strength')):
    _bars(ax, rows, 'infonce_eval_batch', 'linear_top1', marker, label, xerr=True)
  ax.set(title='MI vs linear accuracy (± std)', xlabel='InfoNCE, M pairs (nats)', ylabel='linear top-1 (%)')
  ax.legend(fontsize=6)
  ax = axes[0, 3]
  _bars(ax, c, 'infonce_eval_batch', 'linear_top1', '^-', xerr=True)
  for r in c:
    ax.annotate(f"s={r['strength']:g}", (r['infonce_eval_batch'], r['linear_top1']), fontsize=6)
  ax.set(title='(c) InfoMin sweep', xlabel='view MI, InfoNCE (nats)', ylabel='linear top-1 (%)')
  return lib.save_figure(fig, path)


def table(rows, columns):
  """Markdown table; a metric with a `<key>_std` shows as mean ± std over seeds."""
  def fmt(row, key):
    value = row[key]
    if f'{key}_std' in row:
      return f"{value:.3f} ± {row[f'{key}_std']:.3f}"
    return f'{value:.3f}' if isinstance(value, float) else str(value)
  return lib.markdown_table([c for c, _ in columns], [[fmt(r, k) for _, k in columns] for r in rows])


def correlations(rows, seeds):
  """Pearson / Spearman of InfoNCE @ M vs linear top-1: over every run, and within each seed."""
  runs = [run for r in rows for run in r['runs']]
  pooled = lib.correlation([r['infonce_eval_batch'] for r in runs],
                           [r['linear_top1'] for r in runs])
  per_seed = [lib.correlation([r['infonce_eval_batch'] for r in runs if r['seed'] == s],
                              [r['linear_top1'] for r in runs if r['seed'] == s]) for s in seeds]
  pearsons = [p for p, _ in per_seed if np.isfinite(p)]
  mean, std = lib.mean_std(pearsons) if pearsons else (float('nan'), float('nan'))
  return dict(pearson=pooled[0], spearman=pooled[1], runs=len(runs),
              per_seed_pearson=[p for p, _ in per_seed], per_seed_pearson_mean=mean,
              per_seed_pearson_std=std)


def fmt_correlation(name, c) -> str:
  within = (f"{c['per_seed_pearson_mean']:.2f} ± {c['per_seed_pearson_std']:.2f}"
            if np.isfinite(c['per_seed_pearson_mean']) else 'undefined')
  return (f"{name}: Pearson {c['pearson']:.2f}, Spearman {c['spearman']:.2f} over {c['runs']} "
          f'runs, Pearson within a seed {within}')


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  lib.add_budget_flags(parser, seeds=3)
  args = parser.parse_args(argv)
  if args.tiny and args.seeds == 3:
    args.seeds = 2
  seeds = range(args.seeds)
  budget = lib.budget_from_args(args)
  settings = SETTINGS[budget.name]
  out, work = lib.out_dir(args, STUDY), lib.work_dir(args, STUDY)
  train, test = lib.load_fmnist(budget)
  key = jax.random.PRNGKey(7)
  a = part_a(budget, settings, train, test, work, key, seeds)
  b = part_b(budget, settings, train, test, key, seeds)
  c = part_c(budget, settings, train, test, work, key, seeds)
  plot(a, b, c, out / 'contrastive_mi.png')
  every = a + b + c
  corr = {name: correlations(rows, seeds)
          for name, rows in (('(b) same-class runs', b), ('(c) strength sweep', c),
                             ('all runs', every))}
  every_run = [run for r in every for run in r['runs']]
  corr_ksg = lib.correlation([r['ksg_proj'] for r in every_run],
                             [r['linear_top1'] for r in every_run])
  m = a[0]['eval_pairs']
  tau = float(lib.make_config('nt_xent', budget).objective.kwargs.temperature)
  above = [r['batch'] for r in a if r['infonce_eval_batch'] > np.log(r['batch'])]
  best = max(c, key=lambda r: r['linear_top1'])
  common = [('linear top-1 (%)', 'linear_top1'), ('kNN top-1 (%)', 'knn_top1')]
  summary = '\n'.join([
      '## Study 3 -- mutual information in contrastive learning (Lee et al. 2023)', '',
      f'{lib.run_line("study_contrastive_mi.py", args)} · {args.seeds} seed(s). ' + lib.budget_line(
          budget, lib.make_config('nt_xent', budget)) + f' MI in nats, estimated on {m} test pairs.',
      '', '**(a) Small batch.** InfoNCE at the training batch is capped at log B; re-estimated '
      f'with M = {m} pairs its mean over seeds exceeds log B '
      + (f'for B ∈ {above}' if above else 'for no B') + '. With the critic cos/τ '
      f'(τ = {tau:g}) InfoNCE also cannot exceed 2/τ = {2 / tau:.1f} nats, whatever M.', '',
      table(a, [('train batch B', 'batch'), ('steps', 'steps')] + common +
            [('InfoNCE @ B', 'infonce_train_batch'), (f'InfoNCE @ M={m}', 'infonce_eval_batch'),
             ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**(b) Same-class positives, known MI log K.**', '',
      table(b, [('K', 'K'), ('log K (truth bound)', 'log_K')] + common +
            [(f'InfoNCE @ M={m}', 'infonce_eval_batch'), ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**(c) InfoMin: augmentation strength.** Best mean linear accuracy at s = '
      f"{best['strength']:g} ({best['linear_top1']:.2f} ± {best['linear_top1_std']:.2f} %, view "
      f"MI {best['infonce_eval_batch']:.2f} nats).", '',
      table(c, [('strength s', 'strength'), ('min crop area', 'crop_min')] + common +
            [(f'InfoNCE @ M={m}', 'infonce_eval_batch'), ('KSG (4-d proj.)', 'ksg_proj')]), '',
      '**Estimated MI (InfoNCE @ M) vs linear accuracy:** ' + '; '.join(
          fmt_correlation(name, c) for name, c in corr.items())
      + f'; KSG vs accuracy, all runs: Pearson {corr_ksg[0]:.2f}.', '',
      '![contrastive MI](contrastive_mi.png)'])
  raw = dict(small_batch=a, same_class=b, infomin=c, correlation=corr, seeds=args.seeds)
  name = lambda r: (f"(a) B = {r['batch']}" if 'batch' in r else f"(b) K = {r['K']}" if 'K' in r
                    else f"(c) s = {r['strength']:g}")
  details = '## Every run\n\n' + lib.markdown_table(
      ('setting', 'seed', 'linear top-1', 'kNN top-1', 'InfoNCE @ B', f'InfoNCE @ M={m}', 'KSG'),
      [(name(r), run['seed'], f"{run['linear_top1']:.2f}", f"{run['knn_top1']:.2f}",
        f"{run['infonce_train_batch']:.3f}", f"{run['infonce_eval_batch']:.3f}",
        f"{run['ksg_proj']:.3f}") for r in every for run in r['runs']])
  lib.publish(args, out, summary=summary, details=details, raw=raw)
  return raw


if __name__ == '__main__':
  from jaxssl.platform import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  main()
