"""Study 2: information quantities over training for VICReg, CorInfoMax and SimCLR (seeds 000/001/004).

Each objective is pretrained with checkpoints every total/`--checkpoints` steps; every checkpoint
(and the initialisation) is restored with jaxssl.train.checkpoint / orbax and measured on one fixed
evaluation set: two augmented views (fixed key) of the first `eval_pairs` test images, their
projector embeddings z1, z2, L2-normalised (the scale every objective's loss is comparable in):
  * entropy of z1: LogDet ½ logdet(I + (β/N) ẑᵀẑ) with β = D; the pairwise-distance bounds of a
    mixture of N(z_i, σ²I), σ = 0.1 (KL: upper, Bhattacharyya: lower); Kozachenko–Leonenko kNN on a
    random 4-d projection;
  * I(z1; z2): InfoNCE with the critic cos/0.1 on all N pairs (≤ log N) and KSG on the same 4-d
    projection of both views;
  * I(z; y) with the labels: H(Pᵀz) − Σ_y p(y) H(Pᵀz | y), Kozachenko–Leonenko entropies on the 4-d
    projection (≤ H(y) = log 10 = 2.30 nats);
beside the loss terms logged during training (metrics.jsonl). All in nats. Every objective runs
`--seeds` seeds (default 3; 2 in --tiny): tables give mean ± std over seeds (the change is taken
per seed), plots the mean with ± std error bars; the evaluation pairs and projection are the same
for every seed.

  python experiments/study_information.py            # cpu budget, 3 seeds (~25 min, 2 cores)
  python experiments/study_information.py --tiny     # seconds; run by tests/test_studies.py
"""
import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import studylib as lib  # noqa: E402  pylint: disable=wrong-import-position

from jaxssl import estimators as est  # noqa: E402
from jaxssl.evaluate import diagnostics, read_metrics  # noqa: E402
from jaxssl.train import checkpoint as ckpt  # noqa: E402
from jaxssl.train.loop import setup  # noqa: E402

STUDY = 'information'
NAMES = {'vicreg': 'VICReg', 'corinfomax': 'CorInfoMax', 'nt_xent': 'SimCLR'}
QUANTITIES = {
    'logdet_entropy': 'LogDet entropy H(z)',
    'pairwise_kl_entropy': 'pairwise-KL bound H(z) (upper)',
    'pairwise_bd_entropy': 'pairwise-BD bound H(z) (lower)',
    'kl_entropy_proj': 'kNN entropy H(Pᵀz), 4-d',
    'infonce_mi': 'InfoNCE I(z1; z2)',
    'ksg_mi_proj': 'KSG I(Pᵀz1; Pᵀz2), 4-d',
    'label_mi_proj': 'I(Pᵀz; y), kNN, 4-d',
}


def label_mi(zp, labels, k: int = 3) -> float:
  """I(x; y) = H(x) − Σ_y p(y) H(x | y), Kozachenko–Leonenko entropies, nats (x low-dimensional)."""
  total = float(est.kl_entropy(zp, k=k))
  conditional = 0.0
  for c in np.unique(labels):
    rows = zp[labels == c]
    if len(rows) <= k:
      return float('nan')
    conditional += len(rows) / len(zp) * float(est.kl_entropy(rows, k=k))
  return total - conditional


def measure(z1, z2, labels, key) -> dict:
  """The study's quantities on one pair of embedding batches (rows paired), nats."""
  n1 = z1 / np.maximum(np.linalg.norm(z1, axis=1, keepdims=True), 1e-12)
  n2 = z2 / np.maximum(np.linalg.norm(z2, axis=1, keepdims=True), 1e-12)
  if not (np.isfinite(n1).all() and np.isfinite(n2).all()):
    return {name: float('nan') for name in QUANTITIES}
  d = n1.shape[1]
  proj = np.asarray(diagnostics.random_projection(key, d, min(4, d)))
  p1, p2 = n1 @ proj, n2 @ proj
  std = lambda p: (p - p.mean(0)) / np.maximum(p.std(0), 1e-12)
  return {
      'logdet_entropy': float(est.logdet_entropy(jnp.asarray(n1), beta=float(d))),
      'pairwise_kl_entropy': float(est.pairwise_kl_entropy(jnp.asarray(n1), sigma=0.1)),
      'pairwise_bd_entropy': float(est.pairwise_bd_entropy(jnp.asarray(n1), sigma=0.1)),
      'kl_entropy_proj': float(est.kl_entropy(jnp.asarray(p1), k=3)),
      'infonce_mi': float(diagnostics.infonce_mi(n1, n2, temperature=0.1)),
      'ksg_mi_proj': float(est.ksg_mi(jnp.asarray(std(p1)), jnp.asarray(std(p2)), k=3)),
      'label_mi_proj': label_mi(np.asarray(std(p1)), labels),
  }


def restore_all(workdir, abstract_state):
  """(step, state) for every checkpoint in workdir/checkpoints, oldest first."""
  manager = ckpt.make_manager(workdir, keep=1000, async_save=False)
  out = []
  for step in sorted(manager.all_steps()):
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state)))['state']
    out.append((int(step), restored))
  manager.close()
  return out


def run_objective(objective, budget, args, train, test, work, seed):
  config = lib.make_config(objective, budget, seed=seed)
  parts = setup(config, train_arrays=train)
  total = parts.total_steps
  every = max(1, total // args.checkpoints)
  config.checkpoint_every = every
  config.keep_checkpoints = args.checkpoints + 2
  config.log_every = max(1, min(config.log_every, every))
  workdir = work / f'{objective}_s{seed}'
  result = lib.train_and_evaluate(config, workdir, train, test, checkpoints=True)
  images, labels = test[0][:budget.eval_pairs], test[1][:budget.eval_pairs]
  view_key, proj_key = jax.random.split(jax.random.PRNGKey(1234))
  states = [(0, parts.state)] + restore_all(workdir, parts.state)
  points = []
  for step, state in states:
    z1, z2 = lib.view_embeddings(parts.model, state, images, config, view_key)
    points.append({'step': step, **measure(z1, z2, labels, proj_key)})
    print(f'{objective:<11} seed {seed} step {step:>5}: ' + '  '.join(
        f'{k} {v:.2f}' for k, v in points[-1].items() if k != 'step'), flush=True)
  history = read_metrics(workdir / 'metrics.jsonl')
  terms = sorted({k for r in history for k in r if k.startswith('objective/')})
  losses = {t: [(r['step'], r[t]) for r in history if t in r] for t in ['loss'] + terms}
  return dict(seed=seed, points=points, losses=losses, linear_top1=result['linear_top1'],
              knn_top1=result['knn_top1'], steps=total, n_eval=len(images))


def over_seeds(seed_runs, key):
  """(steps, mean, std) of quantity `key` at each checkpoint, over seeds (same steps in each)."""
  steps = [p['step'] for p in seed_runs[0]['points']]
  values = np.array([[p[key] for p in run['points']] for run in seed_runs], float)
  std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
  return steps, values.mean(axis=0), std


def loss_over_seeds(seed_runs, term):
  """(steps, mean, std) of a logged loss term over seeds, at the steps every seed logged."""
  series = [dict(run['losses'].get(term, [])) for run in seed_runs]
  steps = sorted(set.intersection(*(set(s) for s in series)))
  values = np.array([[s[t] for t in steps] for s in series], float).reshape(len(series), -1)
  std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
  return steps, values.mean(axis=0), std


def plot_information(runs, path):
  fig, axes = lib.figure(2, 4, width=3.6, height=2.8)
  for ax, (key, title) in zip(axes.ravel(), QUANTITIES.items()):
    for i, (objective, run) in enumerate(runs.items()):
      steps, mean, std = over_seeds(run['seeds'], key)
      ax.errorbar(steps, mean, yerr=std, marker='o', ms=3, capsize=2, color=f'C{i}',
                  label=f"{NAMES[objective]} (n={len(run['seeds'])})")
    if key == 'infonce_mi':
      n = next(iter(runs.values()))['n_eval']
      ax.axhline(np.log(n), color='gray', ls='--', lw=0.8, label='log N')
    if key == 'label_mi_proj':
      ax.axhline(np.log(10), color='gray', ls='--', lw=0.8, label='log 10')
    ax.set_title(title, fontsize=8)
    ax.set_xlabel('step', fontsize=8)
    ax.set_ylabel('nats', fontsize=8)
  axes.ravel()[0].legend(fontsize=7)
  last = axes.ravel()[-1]
  for i, (objective, run) in enumerate(runs.items()):
    steps, mean, std = loss_over_seeds(run['seeds'], 'loss')
    last.plot(steps, mean, color=f'C{i}', label=NAMES[objective])
    last.fill_between(steps, mean - std, mean + std, color=f'C{i}', alpha=0.25, lw=0)
  last.set_title('training loss (mean ± std over seeds)', fontsize=8)
  last.set_xlabel('step', fontsize=8)
  return lib.save_figure(fig, path)


def plot_loss_terms(runs, path):
  fig, axes = lib.figure(1, len(runs), width=3.8, height=3.0)
  for ax, (objective, run) in zip(axes[0], runs.items()):
    for j, term in enumerate(run['seeds'][0]['losses']):
      steps, mean, std = loss_over_seeds(run['seeds'], term)
      if steps:
        ax.plot(steps, mean, color=f'C{j}', label=term.replace('objective/', ''))
        ax.fill_between(steps, mean - std, mean + std, color=f'C{j}', alpha=0.25, lw=0)
    ax.set_title(f"{NAMES[objective]}: loss terms (± std, {len(run['seeds'])} seeds)", fontsize=9)
    ax.set_xlabel('step', fontsize=8)
    ax.legend(fontsize=6)
  return lib.save_figure(fig, path)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  lib.add_budget_flags(parser, seeds=3)
  parser.add_argument('--checkpoints', type=int, default=6, help='checkpoints per run')
  parser.add_argument('--objectives', default=None, help='subset of ' + ','.join(NAMES))
  args = parser.parse_args(argv)
  if args.tiny and args.checkpoints == 6:
    args.checkpoints = 2
  if args.tiny and args.seeds == 3:
    args.seeds = 2
  args.objectives = args.objectives or ('vicreg,nt_xent' if args.tiny else ','.join(NAMES))
  budget = lib.budget_from_args(args)
  objectives = args.objectives.split(',')
  unknown = sorted(set(objectives) - set(NAMES))
  if unknown:
    parser.error(f'unknown objectives {unknown}; valid: {list(NAMES)}')
  out, work = lib.out_dir(args, STUDY), lib.work_dir(args, STUDY)
  train, test = lib.load_fmnist(budget)
  runs = {}
  for o in objectives:
    seed_runs = [run_objective(o, budget, args, train, test, work, seed)
                 for seed in range(args.seeds)]
    runs[o] = dict(seeds=seed_runs, steps=seed_runs[0]['steps'], n_eval=seed_runs[0]['n_eval'])
  plot_information(runs, out / 'information.png')
  plot_loss_terms(runs, out / 'loss_terms.png')
  rows = []
  for o, run in runs.items():
    for key, title in QUANTITIES.items():
      at = lambda i: [r['points'][i][key] for r in run['seeds']]
      change = [b - a for a, b in zip(at(0), at(-1))]
      rows.append((NAMES[o], title, lib.fmt_mean_std(at(0), 3), lib.fmt_mean_std(at(-1), 3),
                   lib.fmt_mean_std(change, 3, signed=True)))
  acc = lib.markdown_table(
      ('objective', 'linear top-1 (%)', 'kNN top-1 (%)', 'steps', 'seeds'),
      [(NAMES[o], lib.fmt_mean_std([r['linear_top1'] for r in run['seeds']]),
        lib.fmt_mean_std([r['knn_top1'] for r in run['seeds']]), run['steps'], len(run['seeds']))
       for o, run in runs.items()])
  n = next(iter(runs.values()))['n_eval']
  summary = '\n'.join([
      '## Study 2 -- information over training (VICReg, CorInfoMax, SimCLR)', '',
      f'{lib.run_line("study_information.py", args)} · {args.seeds} seed(s). ' + lib.budget_line(
          budget, lib.make_config(objectives[0], budget)) + f' Estimates on {n} fixed test pairs '
      f'(InfoNCE ≤ log {n} = {np.log(n):.2f} nats; I(z; y) ≤ log 10 = 2.30 nats).', '',
      acc, '',
      lib.markdown_table(('objective', 'quantity (nats)', 'at init', 'after training',
                          'change (per seed)'), rows), '',
      '![information over training](information.png)', '', '![loss terms](loss_terms.png)'])
  details = '## Every checkpoint\n\n' + '\n\n'.join(
      f"### {NAMES[o]}, seed {r['seed']}\n\n" + lib.markdown_table(
          ['step'] + list(QUANTITIES),
          [[p['step']] + [f'{p[k]:.3f}' for k in QUANTITIES] for p in r['points']])
      for o, run in runs.items() for r in run['seeds'])
  lib.publish(args, out, summary=summary, details=details, raw=runs)
  return runs


if __name__ == '__main__':
  from jaxssl.platform import keep_freed_memory
  keep_freed_memory()  # before JAX's first step: XLA:CPU steps reuse their buffers' pages
  main()
