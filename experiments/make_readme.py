"""Assembles experiments/README.md from the studies' generated results (no number is typed by hand).

Each study writes `results/<study>/summary.md` (its section, with its command and budget) beside
`results.md`, `results.json` and PNG plots; this script concatenates those sections, in the order
below, under a fixed introduction. Study 1 at the other budgets (`results/methods_long/`,
`results/methods_full/`) follows study 1, with a table that sets the budgets side by side (accuracy,
rank and verdict of each ranked method per budget). Every study calls it after writing into
results/, or run it alone:

  python experiments/make_readme.py
"""
import argparse
import json
import math
from pathlib import Path

import numpy as np

from jaxssl.io import atomic_write_text

ROOT = Path(__file__).resolve().parent
STUDIES = (
    ('methods', 'study_methods.py', 'every objective, one protocol, plus supervised'),
    ('information', 'study_information.py', 'entropy and MI over training'),
    ('contrastive_mi', 'study_contrastive_mi.py',
     'Lee et al. 2023: small batch, MI as a measure, InfoMin'),
    ('corinfomax_ablation', 'study_corinfomax_ablation.py',
     'Ozsoy et al. 2022 (CorInfoMax): ε, λ_R, λ_μ, width, float64'),
    ('estimators', 'estimator_benchmark.py', 'MI / entropy estimators against ground truth'),
)

BUDGETS = ('cpu', 'long', 'full')  # study 1's budgets, side by side
LONG_COMMAND = 'python experiments/study_methods.py --budget long'

INTRO = """# Experiments: four studies of the papers' claims

The papers: the review of Shwartz-Ziv & LeCun (2024), CorInfoMax (Ozsoy et al. 2022), the analysis
of mutual information in contrastive learning of Lee et al. (2023) and the information-theoretic
VICReg of Shwartz-Ziv et al. (2023); `docs/concepts.md` places each in one picture.

Each study is one script with a `--tiny` mode (run by `tests/test_studies.py`), a default
CPU-budget mode (tens of minutes on 2 CPU cores: a narrow ConvNet, 10k Fashion-MNIST images, 2
epochs, 3 seeds), `--budget long` (all 60k images, the demo ConvNet, 10 epochs; study 1 runs its five
ranked methods and the supervised baseline, 2 seeds) and `--budget full` (the shipped configs in
`configs/fmnist.py`: 60k images, the demo ConvNet; a GPU runs it in minutes). Orderings are judged by
a paired test over seeds (*confirmed* / *not contradicted* / *contradicted*, with Δ and its 95 %
interval); with 2-3 seeds such a test has little power. The scripts write their tables, JSON and
plots atomically to `results/<study>/` (`results/<study>_<budget>/` for long and full); this file is
generated from them by `python experiments/make_readme.py`, which flags results older than their
script as stale. Study 1 also saves each finished run to `results/<study>/runs/`; after an
interruption, the same command with `--resume` reuses those whose config is unchanged. CPU-budget
numbers are
trends on a small model, not the papers' accuracies; `configs/cifar10.py`, `cifar100.py`,
`tiny_imagenet.py` and `imagenet100.py` carry the published settings for users with the data.

| study | script | what |
|---|---|---|
"""


def _load(results: Path, budget: str):
  path = results / ('methods' if budget == 'cpu' else f'methods_{budget}') / 'results.json'
  return json.loads(path.read_text()) if path.exists() else None


def _linear(raw: dict) -> dict:
  """{method: [linear top-1 per seed]} of a study-1 results.json, supervised included."""
  out = {k: [r['linear_top1'] for r in v] for k, v in raw.items()
         if isinstance(v, list) and v and isinstance(v[0], dict) and 'linear_top1' in v[0]}
  sup = [s.get('test_top1', s.get('supervised_top1')) for s in raw.get('supervised') or []]
  if sup:
    out['supervised'] = sup
  return out


def _verdict(claim: dict) -> str:
  if 'verdict' in claim:
    return f"{claim['verdict']} ({claim['delta']:+.2f})"
  return f"{'holds' if claim['holds'] else 'does not hold'} ({claim['diff']:+.2f}; old 2-se rule)"


def _ranks(means: dict) -> dict:
  order = sorted(means, key=lambda k: -means[k])
  return {k: order.index(k) + 1 for k in means}


def budget_comparison(results: Path) -> str:
  """Study 1's budgets side by side: linear top-1 (rank) per method, and each claim's verdict."""
  raws = {b: _load(results, b) for b in BUDGETS}
  if not any(raws[b] for b in BUDGETS[1:]):
    estimate = results / 'methods_long' / 'estimate.md'
    return ('### Study 1 across budgets\n\nThe long budget has not been run yet: '
            f'`{LONG_COMMAND}` (five ranked methods + supervised, 2 seeds).'
            + ('\n\n' + estimate.read_text().strip() if estimate.exists() else ''))
  present = [b for b in BUDGETS if raws[b]]
  linear = {b: _linear(raws[b]) for b in present}
  others = [b for b in present if b != 'cpu'] or present
  methods = [m for m in linear[others[0]] if all(m in linear[b] for b in present)]
  means = {b: {m: float(np.mean(linear[b][m])) for m in methods} for b in present}
  ssl = [m for m in methods if m != 'supervised']
  ranks = {b: _ranks({m: means[b][m] for m in ssl}) for b in present}
  labels = {k: v for b in present for k, v in (raws[b].get('meta') or {}).get('labels', {}).items()}
  name = lambda m: 'Supervised (upper bound)' if m == 'supervised' else labels.get(m, m)
  header = ['method'] + [f'`{b}`: linear top-1 (%) [rank]' for b in present]
  rows = []
  for m in sorted(methods, key=lambda m: -means[others[0]][m]):
    rows.append([name(m)] + [
        f"{means[b][m]:.2f} ± {np.std(linear[b][m], ddof=1) if len(linear[b][m]) > 1 else 0:.2f}"
        + (f' [{ranks[b][m]}]' if m in ssl else '') for b in present])
  lines = ['### Study 1 across budgets', '',
           'Methods run at every budget shown; rank among the SSL methods in brackets.', '',
           _table(header, rows)]
  if len(present) > 1 and len(ssl) >= 3:
    first, second = present[0], present[-1]
    a = [ranks[first][m] for m in ssl]
    b = [ranks[second][m] for m in ssl]
    rho = float(np.corrcoef(a, b)[0, 1])
    same = 'unchanged' if a == b else 'changed'
    lines += ['', f'Ranking of the {len(ssl)} SSL methods from `{first}` to `{second}`: {same} '
              f'(Spearman ρ = {rho:+.2f}).']
  claims = {b: {c['claim']: c for c in raws[b].get('claims', [])} for b in present}
  texts = [t for t in claims[others[0]] if all(t in claims[b] for b in present)]
  if texts:
    lines += ['', _table(['claim'] + [f'`{b}`: verdict (Δ pp)' for b in present],
                         [[t] + [_verdict(claims[b][t]) for b in present] for t in texts])]
  return '\n'.join(lines)


def _table(header, rows) -> str:
  out = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  return '\n'.join(out + ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows])


def stale_note(name: str, results: Path) -> str:
  """A warning when a study's results.json predates the current script (its format tells)."""
  path = results / name / 'results.json'
  if not path.exists():
    return ''
  raw = json.loads(path.read_text())
  study = name.split('_long')[0].split('_full')[0]
  old = {
      'methods': lambda r: 'meta' not in r and (
          'its verdicts use the old two-standard-error rule, not the paired test, and its '
          'supervised row is the under-trained one (same 2 epochs as the SSL runs)'),
      'information': lambda r: not all('seeds' in v for v in r.values()) and 'it ran one seed',
      'contrastive_mi': lambda r: 'seeds' not in r and 'it ran one seed',
      'corinfomax_ablation': lambda r: isinstance(r, list) and 'it has no paired-test verdicts',
  }.get(study, lambda r: False)(raw)
  if not old:
    return ''
  return (f'> **Stale:** these results were written by an earlier version of the script: {old}. '
          'Rerun the command below to regenerate them.\n\n')


def _section(results: Path, name: str) -> str | None:
  summary = results / name / 'summary.md'
  if not summary.exists():
    return None
  text = summary.read_text().rstrip()
  text = text.replace('](', f'](results/{name}/').replace(f'](results/{name}/http', '](http')
  heading, _, body = text.partition('\n\n')
  text = f'{heading}\n\n{stale_note(name, results)}{body}'
  return text + f'\n\nAll numbers: [results/{name}/results.md](results/{name}/results.md).'


def build(results: Path) -> str:
  rows = ''.join(f'| [{name}](results/{name}/) | `{script}` | {what} |\n'
                 for name, script, what in STUDIES)
  sections = []
  for name, script, _ in STUDIES:
    full = results / name / 'results.md'
    section = _section(results, name)
    if section is not None:
      sections.append(section)
      if name == 'methods':
        sections += [s for s in (_section(results, f'methods_{b}') for b in BUDGETS[1:]) if s]
        sections.append(budget_comparison(results))
        newer = _section(results, 'methods_newer')  # the newer regularisers' own run
        if newer:
          sections.append(newer)
    elif full.exists():
      sections.append(f'## {name}\n\nGenerated by `python experiments/{script}`: '
                      f'[results/{name}/results.md](results/{name}/results.md).')
    else:
      sections.append(f'## {name}\n\nNot run yet: `python experiments/{script}`.')
  return INTRO + rows + '\n' + '\n\n'.join(sections) + '\n'


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--results', default=str(ROOT / 'results'))
  parser.add_argument('--out', default=str(ROOT / 'README.md'))
  args = parser.parse_args(argv)
  text = build(Path(args.results))
  atomic_write_text(args.out, text)
  return text


if __name__ == '__main__':
  main()
