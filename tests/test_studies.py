"""The seed-paper studies in experiments/ run end to end in --tiny mode and write what they claim.

All four run in one subprocess on one CPU device (not the suite's 8), on the real Fashion-MNIST
prepared in the session's TFDS directory (tests/conftest.py), sharing a JAX persistent compilation
cache in the test's temporary directory (keyed by the compiled program): a run that differs only in
seed or reappears in another study is not compiled again. Nothing is read from or left in $HOME. The assertions check the written numbers against bounds and against NumPy recomputations.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
  pngs = {'methods': ['accuracy.png'], 'information': ['information.png', 'loss_terms.png'],
          'contrastive_mi': ['contrastive_mi.png'],
          'corinfomax_ablation': ['eigenspectrum.png']}
  for study in STUDIES:
    for name in ['summary.md', 'results.md', 'results.json'] + pngs[study]:
      assert (results / study / name).stat().st_size > 0, (study, name)
    summary = (results / study / 'summary.md').read_text()
    assert summary.startswith('## Study') and '--tiny' in summary
    for png in pngs[study]:
      assert f']({png})' in summary or study == 'information'


def test_methods_mean_std_and_ordering_verdict_follow_the_numbers(results):
  raw = _json(results, 'methods')
  assert set(raw) >= {'vicreg', 'nt_xent', 'claims', 'supervised'}
  table = (results / 'methods' / 'summary.md').read_text()
  for name, label in (('vicreg', 'VICReg'), ('nt_xent', 'SimCLR')):
    linear = np.array([r['linear_top1'] for r in raw[name]])
    assert len(linear) == 2 and np.all((0 <= linear) & (linear <= 100))
    assert f'| {label} | {linear.mean():.2f} ± {linear.std(ddof=1):.2f} |' in table
  (claim,) = raw['claims']
  a = np.array([r['linear_top1'] for r in raw['vicreg']])
  b = np.array([r['linear_top1'] for r in raw['nt_xent']])
  se = math.sqrt(a.var(ddof=1) / 2 + b.var(ddof=1) / 2)
  assert claim['claim'] == 'VICReg > SimCLR'
  assert claim['diff'] == pytest.approx(a.mean() - b.mean(), abs=1e-9)
  assert claim['se'] == pytest.approx(se, abs=1e-9)
  assert claim['holds'] == bool(a.mean() - b.mean() > 2 * se)


def test_information_bounds_hold_at_every_checkpoint(results):
  raw = _json(results, 'information')
  assert set(raw) == {'vicreg', 'nt_xent'}
  for run in raw.values():
    steps = [p['step'] for p in run['points']]
    assert steps[0] == 0 and steps[-1] == run['steps'] and len(steps) >= 3
    for p in run['points']:
      assert p['infonce_mi'] <= math.log(run['n_eval']) + 1e-5  # InfoNCE ≤ log N
      assert p['pairwise_bd_entropy'] <= p['pairwise_kl_entropy'] + 1e-4  # lower ≤ upper bound
      assert all(math.isfinite(v) for v in p.values())
    assert 'loss' in run['losses'] and run['losses']['loss']


def test_contrastive_mi_estimates_respect_their_caps(results):
  raw = _json(results, 'contrastive_mi')
  for r in raw['small_batch']:
    assert r['infonce_train_batch'] <= math.log(r['batch']) + 1e-5
    assert r['infonce_eval_batch'] <= math.log(r['eval_pairs']) + 1e-5
  (k2,) = raw['same_class']
  assert k2['K'] == 2 and k2['log_K'] == pytest.approx(math.log(2), abs=1e-12)
  assert [r['strength'] for r in raw['infomin']] == [1.0]
  for value in raw['correlation'].values():
    for c in value.values():
      assert math.isnan(c) or -1 - 1e-9 <= c <= 1 + 1e-9


def test_corinfomax_ablation_spectra(results):
  raw = _json(results, 'corinfomax_ablation')
  assert [v['float64'] for v in raw] == [False, True]
  for variant in raw:
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
