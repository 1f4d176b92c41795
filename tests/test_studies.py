"""The studies in experiments/ run end to end in --tiny mode and write what they claim.

All four run in one subprocess on one CPU device (not the suite's 8), on the real Fashion-MNIST
prepared in the session's TFDS directory (tests/conftest.py), sharing a JAX persistent compilation
cache in the test's temporary directory (keyed by the compiled program): a run that differs only in
seed or reappears in another study is not compiled again. Nothing is read from or left in $HOME.
The assertions check the written numbers against bounds and against NumPy / scipy recomputations.
Study 1 also runs `--estimate` (steps/s measured, wall time written, nothing trained). Studies 1-3
run 2 seeds in --tiny, study 4 one.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ('methods', 'information', 'contrastive_mi', 'corinfomax_ablation')
SCRIPTS = {'methods': 'study_methods', 'information': 'study_information',
           'contrastive_mi': 'study_contrastive_mi',
           'corinfomax_ablation': 'study_corinfomax_ablation'}


@pytest.fixture(scope='module')
def results(tmp_path_factory, fashion_mnist_data_dir):
  tmp = tmp_path_factory.mktemp('studies')
  calls = '\n'.join(
      f"import {module}; {module}.main(['--tiny', '--out', r'{tmp / study}', '--workdir', "
      f"r'{tmp / 'work' / study}', '--compile-cache', r'{tmp / 'xla_cache'}'])"
      for study, module in SCRIPTS.items())
  calls += (f"\nstudy_methods.main(['--tiny', '--estimate', '--out', r'{tmp / 'estimate'}', "
            f"'--workdir', r'{tmp / 'work' / 'estimate'}', '--compile-cache', "
            f"r'{tmp / 'xla_cache'}'])")
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  env['JAX_PLATFORMS'] = 'cpu'
  env['XLA_FLAGS'] = '--xla_backend_optimization_level=0'  # compile-bound, as in conftest.py
  code = f"import sys; sys.path.insert(0, r'{ROOT / 'experiments'}')\n{calls}\n"
  done = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=900, check=False)
  assert done.returncode == 0, done.stderr[-4000:]
  return tmp


def _json(results, study):
  return json.loads((results / study / 'results.json').read_text())


def test_every_study_writes_tables_and_plots(results):
  pngs = {'methods': ['accuracy.png', 'supervised_curve.png'],
          'information': ['information.png', 'loss_terms.png'],
          'contrastive_mi': ['contrastive_mi.png'],
          'corinfomax_ablation': ['eigenspectrum.png']}
  for study in STUDIES:
    for name in ['summary.md', 'results.md', 'results.json'] + pngs[study]:
      assert (results / study / name).stat().st_size > 0, (study, name)
    summary = (results / study / 'summary.md').read_text()
    assert summary.startswith('## Study') and '--tiny' in summary and 'wall time' in summary
    for png in pngs[study]:
      assert f']({png})' in summary or study == 'information'
    if study != 'corinfomax_ablation':
      assert '--seeds 2' in summary


def test_methods_estimate_measures_steps_per_second(results):
  text = (results / 'estimate' / 'estimate.md').read_text()
  assert text.startswith('Estimated wall time of `python experiments/study_methods.py --tiny')
  assert 'load average' in text and 'Supervised (at most 4 epochs)' in text
  rates = [float(line.split('|')[2]) for line in text.splitlines()
           if line.startswith('| ') and 'steps / s' not in line]
  assert len(rates) == 3 and all(r > 0 for r in rates)  # VICReg, SimCLR, supervised
  assert not (results / 'estimate' / 'summary.md').exists()  # nothing was trained


def test_methods_mean_std_and_ordering_verdict_follow_the_numbers(results):
  raw = _json(results, 'methods')
  assert set(raw) >= {'vicreg', 'nt_xent', 'claims', 'supervised', 'upper_bound', 'meta'}
  table = (results / 'methods' / 'summary.md').read_text()
  for name, label in (('vicreg', 'VICReg'), ('nt_xent', 'SimCLR')):
    linear = np.array([r['linear_top1'] for r in raw[name]])
    assert len(linear) == 2 and np.all((0 <= linear) & (linear <= 100))
    assert f'| {label} | {linear.mean():.2f} ± {linear.std(ddof=1):.2f} |' in table
  (claim,) = raw['claims']
  a = np.array([r['linear_top1'] for r in raw['vicreg']])
  b = np.array([r['linear_top1'] for r in raw['nt_xent']])
  ref = stats.ttest_rel(a, b)
  ci = ref.confidence_interval(0.95)
  assert claim['claim'] == 'VICReg > SimCLR' and claim['method'] == 'paired t-test'
  assert claim['delta'] == pytest.approx(a.mean() - b.mean(), abs=1e-9)
  if np.isfinite(ref.pvalue):
    assert claim['p'] == pytest.approx(ref.pvalue, rel=1e-6)
    assert (claim['ci_low'], claim['ci_high']) == pytest.approx((ci.low, ci.high), abs=1e-6)
  expected = ('confirmed' if claim['ci_low'] > 0 else 'contradicted' if claim['ci_high'] < 0
              else 'not contradicted')
  assert claim['verdict'] == expected and f"| VICReg > SimCLR | {expected} |" in table
  assert 'paired t-test' in table and 'little power' in table


def test_supervised_baseline_is_early_stopped_with_a_curve(results):
  raw = _json(results, 'methods')
  sup = raw['supervised']
  assert len(sup) == 2
  for s in sup:
    # tiny budget: 256 images, 20 % held out, at most 4 epochs, patience 2.
    assert (s['num_train'], s['num_holdout']) == (205, 51) and s['epochs'] == 4.0
    tops = [p['holdout_top1'] for p in s['curve']]
    assert len(tops) == s['epochs_run'] and 3 <= len(tops) <= 4  # >= 1 + patience
    assert s['best_epoch'] == 1 + int(np.argmax(tops)) and s['holdout_top1'] == max(tops)
    assert s['stopped_early'] == (len(tops) < 4)
    assert 0 <= s['test_top1'] <= s['test_top5'] <= 100
  bound = raw['upper_bound']
  best = max(('vicreg', 'nt_xent'), key=lambda k: np.mean([r['linear_top1'] for r in raw[k]]))
  assert bound['delta'] == pytest.approx(
      np.mean([s['test_top1'] for s in sup]) - np.mean([r['linear_top1'] for r in raw[best]]))
  assert '**Upper bound.**' in (results / 'methods' / 'summary.md').read_text()


def test_information_bounds_hold_at_every_checkpoint(results):
  raw = _json(results, 'information')
  assert set(raw) == {'vicreg', 'nt_xent'}
  summary = (results / 'information' / 'summary.md').read_text()
  for name, objective in raw.items():
    assert [r['seed'] for r in objective['seeds']] == [0, 1]
    for run in objective['seeds']:
      steps = [p['step'] for p in run['points']]
      assert steps[0] == 0 and steps[-1] == run['steps'] and len(steps) >= 3
      for p in run['points']:
        assert p['infonce_mi'] <= math.log(run['n_eval']) + 1e-5  # InfoNCE ≤ log N
        assert p['pairwise_bd_entropy'] <= p['pairwise_kl_entropy'] + 1e-4  # lower ≤ upper
        assert all(v is not None and math.isfinite(v) for v in p.values())
      assert 'loss' in run['losses'] and run['losses']['loss']
    # The table's mean ± std over seeds, recomputed (the change is taken per seed).
    label = {'vicreg': 'VICReg', 'nt_xent': 'SimCLR'}[name]
    at = lambda i: np.array([r['points'][i]['logdet_entropy'] for r in objective['seeds']])
    change = at(-1) - at(0)
    assert (f'| {label} | LogDet entropy H(z) | {at(0).mean():.3f} ± {at(0).std(ddof=1):.3f} | '
            f'{at(-1).mean():.3f} ± {at(-1).std(ddof=1):.3f} | '
            f'{change.mean():+.3f} ± {change.std(ddof=1):.3f} |') in summary


def test_contrastive_mi_estimates_respect_their_caps(results):
  raw = _json(results, 'contrastive_mi')
  assert raw['seeds'] == 2
  for r in raw['small_batch']:
    assert [run['seed'] for run in r['runs']] == [0, 1]
    for run in r['runs']:
      assert run['infonce_train_batch'] <= math.log(r['batch']) + 1e-5
      assert run['infonce_eval_batch'] <= math.log(run['eval_pairs']) + 1e-5
    linear = [run['linear_top1'] for run in r['runs']]  # mean ± std over seeds, recomputed
    assert (r['linear_top1'], r['linear_top1_std']) == pytest.approx(
        (np.mean(linear), np.std(linear, ddof=1)), abs=1e-9)
  (k2,) = raw['same_class']
  assert k2['K'] == 2 and k2['log_K'] == pytest.approx(math.log(2), abs=1e-12)
  assert len(k2['runs']) == 2
  assert [r['strength'] for r in raw['infomin']] == [1.0]
  for value in raw['correlation'].values():
    for key in ('pearson', 'spearman', 'per_seed_pearson_mean'):
      c = value[key]  # None in the strict JSON where undefined (fewer than 3 distinct points)
      assert c is None or -1 - 1e-9 <= c <= 1 + 1e-9
  every = [run for part in ('small_batch', 'same_class', 'infomin') for r in raw[part]
           for run in r['runs']]
  pooled = raw['correlation']['all runs']
  assert pooled['runs'] == len(every) == 8
  assert pooled['pearson'] == pytest.approx(np.corrcoef(
      [r['infonce_eval_batch'] for r in every], [r['linear_top1'] for r in every])[0, 1], abs=1e-9)


def test_corinfomax_ablation_spectra(results):
  raw = _json(results, 'corinfomax_ablation')
  assert [v['float64'] for v in raw['variants']] == [False, True]
  assert any(c['claim'] == 'logdet float64 ≈ float32' for c in raw['claims'])
  for variant in raw['variants']:
    for run in variant['runs']:
      spectrum = np.array(run['spectrum'])
      assert len(spectrum) == variant['dim'] and np.all(spectrum >= 0)
      assert np.all(np.diff(spectrum) <= 1e-7)  # descending
      # Participation ratio of the eigenvalues, recomputed: between 1 and D.
      assert run['effective_rank'] == pytest.approx(spectrum.sum()**2 / (spectrum**2).sum(),
                                                    rel=1e-4)


def test_readme_is_assembled_from_the_summaries(results, tmp_path):
  sys.path.insert(0, str(ROOT / 'experiments'))
  import make_readme  # pylint: disable=import-outside-toplevel
  text = make_readme.main(['--results', str(results), '--out', str(tmp_path / 'README.md')])
  assert (tmp_path / 'README.md').read_text() == text
  for study in STUDIES:
    assert (results / study / 'summary.md').read_text().splitlines()[0] in text
    assert f'](results/{study}/results.md)' in text
  assert 'Not run yet: `python experiments/estimator_benchmark.py`' in text
