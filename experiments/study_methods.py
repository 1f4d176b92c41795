"""Study 1: every objective under one protocol on Fashion-MNIST, plus the supervised baseline.

Same encoder, epochs, batch, augmentation and probe for every objective (experiments/configs/
fmnist.py, at the chosen budget); linear-probe and kNN (k = 20) top-1, mean ± std over seeds. The
script then tests the ordering the seed papers report (002: CorInfoMax; 004: the VICReg entropy
variants) -- CorInfoMax and VICReg-{LogDet, pairwise KL, pairwise BD} ≥ VICReg ≈ Barlow Twins >
SimCLR -- from the measured numbers, with a two-standard-error rule:
  A > B  when mean_A − mean_B > 2·se,   A ≈ B  when |mean_A − mean_B| ≤ 2·se,
  A ≥ B  when mean_A − mean_B ≥ −2·se,  se = sqrt(s_A²/n_A + s_B²/n_B).

  python experiments/study_methods.py                 # cpu budget, 3 seeds (~10 min, 2 cores)
  python experiments/study_methods.py --budget full   # shipped configs (GPU: minutes)
  python experiments/study_methods.py --tiny          # seconds; run by tests/test_studies.py
"""
import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import studylib as lib  # noqa: E402  pylint: disable=wrong-import-position

STUDY = 'methods'
NAMES = {'vicreg': 'VICReg', 'vicreg_logdet': 'VICReg-LogDet',
         'vicreg_pairwise_kl': 'VICReg-pairwise KL', 'vicreg_pairwise_bd': 'VICReg-pairwise BD',
         'corinfomax': 'CorInfoMax', 'barlow_twins': 'Barlow Twins', 'nt_xent': 'SimCLR',
         'spectral_contrastive': 'Spectral contrastive', 'w_mse': 'W-MSE', 'byol': 'BYOL',
         'simsiam': 'SimSiam', 'moco_v3': 'MoCo v3', 'reconstruction': 'Reconstruction (BA)'}
ALIASES = ('vicreg_entropy',)  # = vicreg_logdet at its defaults: not run twice
TINY_OBJECTIVES = ('vicreg', 'nt_xent')


def all_objectives() -> tuple:
  """Every objective with a Fashion-MNIST config (experiments/configs/fmnist.py), minus aliases."""
  return tuple(o for o in lib.fmnist_configs().OBJECTIVES if o not in ALIASES)
ENTROPY_FAMILY = ('corinfomax', 'vicreg_logdet', 'vicreg_pairwise_kl', 'vicreg_pairwise_bd')


def compare(a, b):
  """(difference of means, its standard error) of two lists of accuracies."""
  a, b = np.asarray(a, float), np.asarray(b, float)
  var = lambda v: v.var(ddof=1) / len(v) if len(v) > 1 else 0.0
  return float(a.mean() - b.mean()), float(math.sqrt(var(a) + var(b)))


def relation(a, b, kind):
  diff, se = compare(a, b)
  holds = {'>': diff > 2 * se, '≈': abs(diff) <= 2 * se, '≥': diff >= -2 * se}[kind]
  return holds, diff, se


def check_ordering(scores: dict) -> list:
  """The seed papers' ordering as claims (text, holds, diff, se), on what was run."""
  claims = []
  for name in ENTROPY_FAMILY:
    if name in scores and 'vicreg' in scores:
      claims.append((f'{NAMES[name]} ≥ VICReg', *relation(scores[name], scores['vicreg'], '≥')))
  if 'vicreg' in scores and 'barlow_twins' in scores:
    claims.append(('VICReg ≈ Barlow Twins',
                   *relation(scores['vicreg'], scores['barlow_twins'], '≈')))
  for name in ('vicreg', 'barlow_twins'):
    if name in scores and 'nt_xent' in scores:
      claims.append((f'{NAMES[name]} > SimCLR', *relation(scores[name], scores['nt_xent'], '>')))
  return claims


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
  lib.add_budget_flags(parser, seeds=3)
  parser.add_argument('--objectives', default=None,
                      help='comma-separated subset of the objectives in configs/fmnist.py')
  args = parser.parse_args(argv)
  if args.tiny and args.seeds == 3:
    args.seeds = 2
  budget = lib.budget_from_args(args)
  valid = all_objectives()
  objectives = (args.objectives.split(',') if args.objectives else
                TINY_OBJECTIVES if args.tiny else valid)
  unknown = sorted(set(objectives) - set(valid))
  if unknown:
    parser.error(f'unknown objectives {unknown}; valid: {list(valid)}')
  for o in objectives:
    NAMES.setdefault(o, o)
  out, work = lib.out_dir(args, STUDY), lib.work_dir(args, STUDY)
  train, test = lib.load_fmnist(budget)
  seeds = range(args.seeds)
  raw, rows = {}, []
  for objective in objectives:
    results = []
    for seed in seeds:
      config = lib.make_config(objective, budget, seed=seed)
      r = lib.train_and_evaluate(config, work / f'{objective}_s{seed}', train, test)
      print(f'{objective:<22} seed {seed}: linear {r["linear_top1"]:.2f}  kNN {r["knn_top1"]:.2f}'
            f'  ({r["seconds"]:.0f} s)', flush=True)
      results.append(lib.clean(r))
    raw[objective] = results
    rows.append(dict(name=objective, label=NAMES[objective],
                     linear=[r['linear_top1'] for r in results],
                     knn=[r['knn_top1'] for r in results],
                     seconds=[r['seconds'] for r in results],
                     skipped=sum(r['skipped_steps'] for r in results)))
  base_config = lib.make_config(objectives[0], budget)
  supervised = []
  for seed in seeds:
    s = lib.supervised(lib.make_config('vicreg', budget, seed=seed), train, test, seed=seed)
    if s is not None:
      supervised.append(s)
  raw['supervised'] = supervised
  if supervised:
    rows.append(dict(name='supervised', label='Supervised (same encoder)',
                     linear=[s['supervised_top1'] for s in supervised], knn=[], seconds=[],
                     skipped=0))

  table = lib.markdown_table(
      ('method', 'linear top-1 (%)', 'kNN top-1 (%)', 'seconds / run', 'skipped steps'),
      [(r['label'], lib.fmt_mean_std(r['linear']), lib.fmt_mean_std(r['knn']) if r['knn'] else
        '—', f"{np.mean(r['seconds']):.0f}" if r['seconds'] else '—', r['skipped'])
       for r in sorted(rows, key=lambda r: -np.mean(r['linear']))])
  scores = {r['name']: r['linear'] for r in rows}
  claims = check_ordering(scores)
  verdict_rows = [(text, 'holds' if ok else 'does not hold', f'{diff:+.2f}', f'{se:.2f}')
                  for text, ok, diff, se in claims]
  held = sum(ok for _, ok, _, _ in claims)
  verdict = (f'**Ordering of the seed papers (linear top-1): {held} of {len(claims)} claims hold '
             f'on these runs' + (' -- the ordering holds.**' if claims and held == len(claims)
                                 else '.**' if claims else ' (not enough objectives run).**'))
  sup_note = ('' if supervised else
              '\nSupervised baseline: not run -- `jaxssl.evaluate.supervised` is not in this '
              'version of the library.\n')
  summary = '\n'.join([
      '## Study 1 -- every objective, one protocol', '',
      f'`{lib.command_line("study_methods.py", args)}` · {args.seeds} seed(s) per method. '
      + lib.budget_line(budget, base_config), '',
      table, '', verdict, '',
      lib.markdown_table(('claim', 'result', 'Δ mean (pp)', 'se (pp)'), verdict_rows),
      sup_note, '![accuracy](accuracy.png)'])
  plot(rows, out / 'accuracy.png')
  details = '## Per-seed numbers\n\n' + lib.markdown_table(
      ('method', 'seed', 'linear top-1', 'kNN top-1', 'steps', 'seconds'),
      [(NAMES[o], i, f"{r['linear_top1']:.2f}", f"{r['knn_top1']:.2f}", r['steps'],
        f"{r['seconds']:.0f}") for o in objectives for i, r in enumerate(raw[o])])
  raw['claims'] = [dict(claim=t, holds=bool(ok), diff=d, se=s) for t, ok, d, s in claims]
  lib.publish(args, out, summary=summary, details=details, raw=raw)
  return raw


if __name__ == '__main__':
  from jaxssl.host_memory import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  main()
