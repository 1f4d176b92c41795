"""Study 1: every objective under one protocol on Fashion-MNIST, plus the supervised baseline.

Same encoder, epochs, batch, augmentation and probe for every objective (experiments/configs/
fmnist.py, at the chosen budget); linear-probe and kNN (k = 20) top-1, mean ± std over seeds. The
supervised baseline (same encoder, end to end on the labels) is trained to convergence with its own
epochs and schedule, early-stopped on a held-out part of the training split (studylib.Budget), and
its loss curve plotted: the upper bound of the table. The script then tests the orderings the
papers report -- CorInfoMax (Ozsoy et al. 2022) and VICReg-{LogDet, pairwise KL, pairwise BD}
(Shwartz-Ziv et al. 2023) ≥ VICReg ≈ Barlow Twins > SimCLR, and each newer information regulariser
against the baseline its paper compares with (`NEWER_CLAIMS`) -- with a paired t-test over seeds
(studylib.ordering_verdict): each claim *confirmed*, *not contradicted* or *contradicted*, with Δ
and its 95 % interval.

  python experiments/study_methods.py                 # cpu budget, 3 seeds (~25 min, 2 cores)
  python experiments/study_methods.py --budget long   # 60k images, demo ConvNet, 10 epochs, the
                                                      # five ranked methods + supervised, 2 seeds
  python experiments/study_methods.py --budget long --estimate   # its wall time, measured
  python experiments/study_methods.py --budget long --resume     # after an interruption: reuses
                                                      # the runs already in results/*/runs/
  python experiments/study_methods.py --budget full   # shipped configs (GPU: minutes)
  python experiments/study_methods.py --tiny          # seconds; run by tests/test_studies.py
"""
import argparse
import os
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import studylib as lib  # noqa: E402  pylint: disable=wrong-import-position

STUDY = 'methods'
NAMES = {'vicreg': 'VICReg', 'vicreg_logdet': 'VICReg-LogDet',
         'vicreg_pairwise_kl': 'VICReg-pairwise KL', 'vicreg_pairwise_bd': 'VICReg-pairwise BD',
         'corinfomax': 'CorInfoMax', 'barlow_twins': 'Barlow Twins', 'nt_xent': 'SimCLR',
         'spectral_contrastive': 'Spectral contrastive', 'w_mse': 'W-MSE', 'byol': 'BYOL',
         'simsiam': 'SimSiam', 'moco_v3': 'MoCo v3', 'reconstruction': 'Reconstruction (BA)',
         'lejepa': 'LeJEPA (SIGReg)', 'mmcr': 'MMCR', 'emp_ssl': 'EMP-SSL (TCR)',
         'frossl': 'FroSSL', 'tico': 'TiCo', 'dcl': 'DCL', 'dclw': 'DCLW',
         'alignment_uniformity': 'Alignment + uniformity'}
ALIASES = ('vicreg_entropy',)  # = vicreg_logdet at its defaults: not run twice
TINY_OBJECTIVES = ('vicreg', 'nt_xent')


def all_objectives() -> tuple:
  """Every objective with a Fashion-MNIST config (experiments/configs/fmnist.py), minus aliases."""
  return tuple(o for o in lib.fmnist_configs().OBJECTIVES if o not in ALIASES)


ENTROPY_FAMILY = ('corinfomax', 'vicreg_logdet', 'vicreg_pairwise_kl', 'vicreg_pairwise_bd')
# The five methods whose order the papers state: what `--budget long` runs by default.
RANKED = ('corinfomax', 'vicreg_logdet', 'vicreg', 'barlow_twins', 'nt_xent')
DEFAULT_SEEDS = {'tiny': 2, 'long': 2}  # else 3


def check_ordering(scores: dict) -> list:
  """The papers' ordering as `studylib.ordering_verdict` claims, on what was run."""
  claims = []
  claim = lambda a, kind, b: claims.append(lib.ordering_verdict(
      f'{NAMES[a]} {kind} {NAMES[b]}', scores[a], scores[b], kind))
  for name in ENTROPY_FAMILY:
    if name in scores and 'vicreg' in scores:
      claim(name, '≥', 'vicreg')
  if 'vicreg' in scores and 'barlow_twins' in scores:
    claim('vicreg', '≈', 'barlow_twins')
  for name in ('vicreg', 'barlow_twins'):
    if name in scores and 'nt_xent' in scores:
      claim(name, '>', 'nt_xent')
  # The information regularisers of 2020-2025, each against the baseline its paper compares with.
  for a, kind, b in NEWER_CLAIMS:
    if a in scores and b in scores:
      claim(a, kind, b)
  return claims


# (a, relation, b) as each paper states it against a method this study runs:
NEWER_CLAIMS = (
    ('lejepa', '≥', 'vicreg'),             # Balestriero & LeCun 2025: SIGReg vs VICReg-style
    ('emp_ssl', '≈', 'vicreg'),            # Tong et al. 2023: on par, in far fewer epochs
    ('mmcr', '≥', 'barlow_twins'),         # Yerxa et al. 2023: ≥ Barlow Twins, SimCLR
    ('frossl', '≥', 'barlow_twins'),       # Skean et al. 2024: faster to a good probe
    ('tico', '≥', 'barlow_twins'),         # Zhu et al. 2022: ≥ Barlow Twins at small batch
    ('dcl', '>', 'nt_xent'),               # Yeh et al. 2022: decoupling beats SimCLR's loss
    ('dclw', '≥', 'dcl'),                  # Yeh et al. 2022: the weighted variant adds more
    ('alignment_uniformity', '≈', 'nt_xent'),  # Wang & Isola 2020: ≈ the contrastive loss
)


def upper_bound_line(supervised: list, scores: dict) -> tuple[str, dict | None]:
  """Is the supervised baseline at least the best SSL method? A paired test, and a sentence."""
  if not supervised or not scores:
    return '', None
  best = max(scores, key=lambda o: np.mean(scores[o]))
  sup = [s['test_top1'] for s in supervised]
  test = lib.ordering_verdict(f'Supervised ≥ {NAMES[best]}', sup, scores[best], '≥')
  epochs = [s['best_epoch'] for s in supervised]
  stopped = sum(s['stopped_early'] for s in supervised)
  s0 = supervised[0]
  text = (f"**Upper bound.** Supervised {lib.fmt_mean_std(sup)} % vs the best SSL method, "
          f"{NAMES[best]}, {lib.fmt_mean_std(scores[best])} %: Δ = {test['delta']:+.2f} pp, "
          f"{lib.fmt_interval(test['ci_low'], test['ci_high'])} ({test['method']}) -- "
          f"supervised ≥ best SSL: *{test['verdict']}*. The baseline trained on "
          f"{s0['num_train']} images (the other {s0['num_holdout']} held out), at most "
          f"{s0['epochs']:g} epochs with the learning-rate schedule spanning them; test accuracy "
          f"of the epoch with the best held-out top-1: epoch {lib.fmt_mean_std(epochs, 1)}; "
          f"{stopped} of {len(supervised)} seeds stopped early (loss curves below).")
  return text, test


def plot_supervised(supervised: list, path):
  """Per seed: training and held-out cross-entropy, and held-out top-1, per epoch; best epoch."""
  fig, axes = lib.figure(1, 2, width=4.2, height=3.0)
  for i, s in enumerate(supervised):
    epochs = [p['epoch'] for p in s['curve']]
    axes[0, 0].plot(epochs, [p['train_loss'] for p in s['curve']], color=f'C{i}', ls='--',
                    label=f'seed {i} train (augmented)')
    axes[0, 0].plot(epochs, [p.get('holdout_loss', np.nan) for p in s['curve']], color=f'C{i}',
                    label=f'seed {i} held out')
    axes[0, 1].plot(epochs, [p.get('holdout_top1', np.nan) for p in s['curve']], color=f'C{i}',
                    marker='o', ms=2, label=f'seed {i}')
    axes[0, 1].axvline(s['best_epoch'], color=f'C{i}', ls=':', lw=0.8)
  axes[0, 0].set(title='supervised baseline: cross-entropy', xlabel='epoch', ylabel='nats')
  axes[0, 1].set(title='held-out top-1 (dotted: best epoch)', xlabel='epoch', ylabel='%')
  for ax in axes[0]:
    ax.legend(fontsize=6)
  return lib.save_figure(fig, path)


def plot(rows, path):
  fig, axes = lib.figure(1, 1, width=max(5.0, 0.55 * len(rows) + 2), height=3.4)
  ax = axes[0, 0]
  x = np.arange(len(rows))
  for offset, key, label in ((-0.2, 'linear', 'linear probe'), (0.2, 'knn', 'kNN (k=20)')):
    means = [np.mean(r[key]) if r[key] else np.nan for r in rows]
    stds = [np.std(r[key], ddof=1) if len(r[key]) > 1 else 0.0 for r in rows]
    ax.bar(x + offset, means, 0.4, yerr=stds, capsize=2, label=label)
  ax.set_xticks(x, [r['label'] for r in rows], rotation=45, ha='right', fontsize=8)
  ax.set_ylabel('top-1 accuracy (%)')
  finite = [np.mean(r['linear']) for r in rows if r['linear']]
  ax.set_ylim(max(0.0, min(finite) - 10), 100)
  ax.legend(fontsize=8)
  return lib.save_figure(fig, path)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  lib.add_budget_flags(parser, seeds=0)
  parser.add_argument('--objectives', default=None,
                      help='comma-separated subset of the objectives in configs/fmnist.py')
  parser.add_argument('--estimate', action='store_true',
                      help='measure steps/s and print (and write estimate.md) the wall time of '
                           'this command instead of running it')
  args = parser.parse_args(argv)
  budget = lib.budget_from_args(args)
  args.seeds = args.seeds or DEFAULT_SEEDS.get(budget.name, 3)
  valid = all_objectives()
  objectives = (args.objectives.split(',') if args.objectives else
                TINY_OBJECTIVES if args.tiny else RANKED if budget.name == 'long' else valid)
  unknown = sorted(set(objectives) - set(valid))
  if unknown:
    parser.error(f'unknown objectives {unknown}; valid: {list(valid)}')
  for o in objectives:
    NAMES.setdefault(o, o)
  out, work = lib.out_dir(args, STUDY), lib.work_dir(args, STUDY)
  train, test = lib.load_fmnist(budget)
  if args.estimate:
    return estimate(args, budget, objectives, train, test, out)
  seeds = range(args.seeds)
  raw, rows = {}, []
  for objective in objectives:
    results = []
    for seed in seeds:
      config = lib.make_config(objective, budget, seed=seed)
      r = lib.cached_run(args, out, f'{objective}_s{seed}', config, lambda: lib.train_and_evaluate(
          config, work / f'{objective}_s{seed}', train, test))
      print(f'{objective:<22} seed {seed}: linear {r["linear_top1"]:.2f}  kNN {r["knn_top1"]:.2f}'
            f'  ({r["seconds"]:.0f} s{", resumed" if r.get("resumed") else ""})', flush=True)
      results.append(r)
    raw[objective] = results
    rows.append(dict(name=objective, label=NAMES[objective],
                     linear=[r['linear_top1'] for r in results],
                     knn=[r['knn_top1'] for r in results],
                     seconds=[r['seconds'] for r in results],
                     skipped=sum(r['skipped_steps'] for r in results)))
  base_config = lib.make_config(objectives[0], budget)
  scores = {r['name']: r['linear'] for r in rows}
  supervised = []
  for seed in seeds:
    config = lib.make_config('vicreg', budget, seed=seed)
    s = lib.cached_run(args, out, f'supervised_s{seed}', config,
                       lambda: lib.supervised(config, budget, train, test, seed=seed))
    print(f"supervised             seed {seed}: test {s['test_top1']:.2f}  best epoch "
          f"{s['best_epoch']:g} of {s['epochs_run']:g} run  ({s['seconds']:.0f} s)", flush=True)
    supervised.append(s)
  raw['supervised'] = supervised
  rows.append(dict(name='supervised', label='Supervised (same encoder, early-stopped)',
                   linear=[s['test_top1'] for s in supervised], knn=[],
                   seconds=[s['seconds'] for s in supervised], skipped=0))
  bound_text, bound = upper_bound_line(supervised, scores)

  table = lib.markdown_table(
      ('method', 'linear top-1 (%)', 'kNN top-1 (%)', 'seconds / run', 'skipped steps'),
      [(r['label'], lib.fmt_mean_std(r['linear']), lib.fmt_mean_std(r['knn']) if r['knn'] else
        '—', f"{np.mean(r['seconds']):.0f}" if r['seconds'] else '—', r['skipped'])
       for r in sorted(rows, key=lambda r: -np.mean(r['linear']))])
  claims = check_ordering(scores)
  heading = ('## Study 1 -- every objective, one protocol' if budget.name == 'cpu' else
             f'## Study 1 at budget `{budget.name}`')
  if args.objectives:  # a chosen subset, beside the whole table
    heading = (f'## Study 1 at budget `{budget.name}` -- '
               + ', '.join(NAMES[o] for o in objectives))
  plot(rows, out / 'accuracy.png')
  plot_supervised(supervised, out / 'supervised_curve.png')
  summary = '\n'.join([
      heading, '',
      f'{lib.run_line("study_methods.py", args)} · {args.seeds} seed(s) per method. '
      + lib.budget_line(budget, base_config), '',
      table, '', bound_text, '', lib.verdict_section(claims, what='linear top-1'), '',
      '![accuracy](accuracy.png)', '', '![supervised baseline](supervised_curve.png)'])
  details = '## Per-seed numbers\n\n' + lib.markdown_table(
      ('method', 'seed', 'linear top-1', 'kNN top-1', 'steps', 'seconds'),
      [(NAMES[o], i, f"{r['linear_top1']:.2f}", f"{r['knn_top1']:.2f}", r['steps'],
        f"{r['seconds']:.0f}") for o in objectives for i, r in enumerate(raw[o])])
  details += '\n\n## Supervised baseline, per seed\n\n' + lib.markdown_table(
      ('seed', 'test top-1', 'test top-5', 'best epoch', 'epochs run', 'held-out top-1',
       'train / held-out images', 'seconds'),
      [(i, f"{s['test_top1']:.2f}", f"{s['test_top5']:.2f}", f"{s['best_epoch']:g}",
        f"{s['epochs_run']:g}", f"{s['holdout_top1']:.2f}", f"{s['num_train']} / {s['num_holdout']}",
        f"{s['seconds']:.0f}") for i, s in enumerate(supervised)])
  raw['claims'] = claims
  raw['upper_bound'] = bound
  raw['meta'] = dict(budget=budget.name, seeds=args.seeds, objectives=list(objectives),
                     labels={o: NAMES[o] for o in objectives},
                     wall_minutes=lib.elapsed_minutes(),
                     command=lib.command_line('study_methods.py', args))
  lib.publish(args, out, summary=summary, details=details, raw=raw)
  return raw


def estimate(args, budget, objectives, train, test, out):
  """Measures steps/s of each objective and of the supervised baseline; prints the wall time."""
  rows, total = [], 0.0
  for objective in objectives:
    config = lib.make_config(objective, budget)
    rate = lib.measure_steps_per_second(config, train)
    steps = int(round(config.epochs * (len(train[0]) // config.batch_size)))
    seconds = args.seeds * steps / rate
    total += seconds
    rows.append((NAMES[objective], f'{rate:.2f}', steps, f'{seconds / 60:.1f}'))
    print(f'{objective:<22} {rate:.2f} steps/s x {steps} steps x {args.seeds} seeds', flush=True)
  config = lib.make_config('vicreg', budget)
  rate = lib.measure_supervised_steps_per_second(config, train, test)
  spe = int(len(train[0]) * (1 - budget.holdout)) // config.batch_size
  steps = int(budget.supervised_epochs * spe)
  seconds = args.seeds * steps / rate
  total += seconds
  rows.append((f'Supervised (at most {budget.supervised_epochs:g} epochs)', f'{rate:.2f}', steps,
               f'{seconds / 60:.1f}'))
  load, cores = os.getloadavg()[0], os.cpu_count() or 1
  idle = (f' On an idle machine about **{total * min(1.0, cores / load) / 3600:.1f} h** (scaled by '
          f'cores / load average = {cores}/{load:.1f}: a rough correction, as the other processes '
          'shared the cores).' if load > cores else '')
  text = '\n'.join([
      f'Estimated wall time of `{lib.command_line("study_methods.py", args)}`: '
      f'**{total / 3600:.1f} h** of training ({lib.load_note()} when measured, '
      f'{jax.devices()[0].platform}), plus evaluation (features of {len(train[0])} + '
      f'{len(test[0])} images and a linear probe per run).{idle}', '',
      lib.markdown_table(('method', 'steps / s (measured)', 'steps / run', 'minutes, all seeds'),
                         rows)])
  print(text)
  lib.atomic_write_text(out / 'estimate.md', text + '\n')
  return dict(seconds=total, rows=rows)


if __name__ == '__main__':
  from jaxssl.platform import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  main()
