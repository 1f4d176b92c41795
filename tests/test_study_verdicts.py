"""experiments/studylib's paired tests and three-word verdicts, against scipy on hand-made numbers.

No study is run: these are the statistics every study that states an ordering uses.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'experiments'))
import studylib as lib  # noqa: E402  pylint: disable=wrong-import-position

# Accuracies (%) of two methods over seeds, paired by seed.
A = np.array([85.9, 85.8, 86.0, 85.7, 86.3, 85.6, 86.1])
B = np.array([85.0, 85.3, 84.6, 85.2, 84.9, 85.5, 84.8])


@pytest.mark.parametrize('n', [2, 3, 5, 7])
@pytest.mark.parametrize('alpha', [0.05, 0.1])
def test_paired_t_matches_scipy_ttest_rel(n, alpha):
  got = lib.paired_difference(A[:n], B[:n], method='t', alpha=alpha)
  ref = stats.ttest_rel(A[:n], B[:n])
  ci = ref.confidence_interval(confidence_level=1 - alpha)
  assert got['n'] == n and got['method'] == 'paired t-test'
  assert got['delta'] == pytest.approx(np.mean(A[:n] - B[:n]), abs=1e-12)
  assert got['p'] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
  assert (got['ci_low'], got['ci_high']) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_paired_t_is_paired_not_two_sample():
  # A shared per-seed offset (seed 2 is easy for both) cancels in the pairing: the paired test
  # is significant where Welch's two-sample test is not.
  offset = np.array([0.0, 3.0, -2.0, 1.5])
  a, b = 85 + offset + 0.5, 85 + offset + np.array([0.1, -0.1, 0.05, -0.05])
  got = lib.paired_difference(a, b)
  assert got['p'] < 0.01 < stats.ttest_ind(a, b, equal_var=False).pvalue
  assert got['p'] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-9)


@pytest.mark.parametrize('n', [2, 3, 4, 6, 7])
def test_sign_flip_p_matches_scipy_permutation_test(n):
  a, b = A[:n], B[:n]
  got = lib.paired_difference(a, b, method='sign_flip')
  ref = stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                               permutation_type='samples', alternative='two-sided',
                               n_resamples=np.inf, vectorized=True)
  assert got['method'] == 'exact sign-flip permutation test'
  assert got['p'] == pytest.approx(ref.pvalue, abs=1e-12)
  assert got['p'] >= 2 / 2**n - 1e-12  # the smallest p an exact sign-flip test can give


def test_sign_flip_interval_inverts_the_scipy_test():
  # n = 7: the smallest attainable p is 2/128 < 0.05, so the interval is finite. Just inside its
  # ends scipy does not reject H0: mean(a − b) = δ at 5 %; just outside it does.
  got = lib.paired_difference(A, B, method='sign_flip')
  low, high = got['ci_low'], got['ci_high']
  d = A - B
  assert d.min() <= low < got['delta'] < high <= d.max()

  def scipy_p(delta):
    return stats.permutation_test((d - delta,), np.mean, permutation_type='samples',
                                  alternative='two-sided', n_resamples=np.inf).pvalue

  eps = 1e-6
  assert scipy_p(low + eps) > 0.05 and scipy_p(high - eps) > 0.05
  assert scipy_p(low - eps) <= 0.05 and scipy_p(high + eps) <= 0.05
  # Every δ on a fine grid strictly inside is accepted, every one outside rejected.
  for delta in np.linspace(d.min() - 0.5, d.max() + 0.5, 61):
    if low + eps < delta < high - eps:
      assert scipy_p(delta) > 0.05, delta
    elif delta < low - eps or delta > high + eps:
      assert scipy_p(delta) <= 0.05, delta


def test_sign_flip_interval_is_unbounded_with_five_seeds_or_fewer():
  for n in (2, 3, 5):
    got = lib.paired_difference(A[:n], B[:n], method='sign_flip')
    assert got['ci_low'] == -math.inf and got['ci_high'] == math.inf
    verdict = lib.ordering_verdict('A > B', A[:n], B[:n], '>', method='sign_flip')
    assert verdict['verdict'] == 'not contradicted'


def test_degenerate_inputs():
  one = lib.paired_difference([85.0], [84.0])
  assert one['delta'] == 1.0 and math.isnan(one['p'])
  assert (one['ci_low'], one['ci_high']) == (-math.inf, math.inf)
  same = lib.paired_difference([85.0, 86.0], [84.0, 85.0])  # every difference +1: s_d = 0
  assert (same['ci_low'], same['ci_high'], same['p']) == (1.0, 1.0, 0.0)
  equal = lib.paired_difference([85.0, 86.0], [85.0, 86.0])
  assert (equal['delta'], equal['p']) == (0.0, 1.0)
  with pytest.raises(ValueError, match='one value per seed'):
    lib.paired_difference([1.0, 2.0], [1.0])
  with pytest.raises(ValueError, match='method'):
    lib.paired_difference([1.0, 2.0], [1.0, 2.0], method='welch')
  with pytest.raises(ValueError, match='kind'):
    lib.ordering_verdict('A < B', [1.0, 2.0], [1.0, 2.0], '<')


def test_three_word_verdicts_follow_the_interval():
  # Directional claims: confirmed / contradicted when the 95 % interval excludes 0.
  assert lib.ordering_verdict('A > B', A, B, '>')['verdict'] == 'confirmed'
  assert lib.ordering_verdict('A ≥ B', A, B, '≥')['verdict'] == 'confirmed'
  assert lib.ordering_verdict('B > A', B, A, '>')['verdict'] == 'contradicted'
  assert lib.ordering_verdict('B ≥ A', B, A, '≥')['verdict'] == 'contradicted'
  noisy = B + np.array([0.5, -0.4, 0.3, -0.6, 0.2, 0.1, -0.2])  # Δ mean ≈ 0, interval spans 0
  c = lib.ordering_verdict('N > B', noisy, B, '>')
  assert c['ci_low'] < 0 < c['ci_high'] and c['verdict'] == 'not contradicted'
  # The old two-standard-error rule called Δ = −0.13 ± 0.28 "holds" for "≥": not confirmed here.
  # Equivalence within ±1 pp.
  close = B + np.array([0.1, 0.2, 0.0, 0.15, 0.05, 0.1, 0.12])
  eq = lib.ordering_verdict('C ≈ B', close, B, '≈')
  assert -1 < eq['ci_low'] and eq['ci_high'] < 1 and eq['verdict'] == 'confirmed'
  assert eq['margin'] == lib.EQUIVALENCE_MARGIN == 1.0
  far = lib.ordering_verdict('A ≈ B', A + 1.0, B, '≈')  # Δ ≈ 1.9, interval above 1
  assert far['ci_low'] > 1 and far['verdict'] == 'contradicted'
  wide = lib.ordering_verdict('N ≈ B', noisy, B, '≈', margin=0.2)
  assert wide['ci_low'] < 0.2 and wide['verdict'] == 'not contradicted'


def test_verdict_section_reports_every_claim():
  claims = [lib.ordering_verdict('A > B', A[:3], B[:3], '>'),
            lib.ordering_verdict('B ≈ A', B[:3], A[:3], '≈')]
  text = lib.verdict_section(claims, what='linear top-1')
  c = claims[0]
  assert f"| A > B | {c['verdict']} | {c['delta']:+.2f} | " \
         f"[{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] | {c['p']:.3f} | 3 |" in text
  assert 'paired t-test' in text and 'little power' in text and '±1 pp' in text
  tally = ', '.join(f"{sum(x['verdict'] == w for x in claims)} {w}" for w in lib.VERDICTS)
  assert tally in text.splitlines()[0]
  assert lib.fmt_interval(-math.inf, math.inf) == '[−∞, +∞]'


def _write_methods(folder, linear: dict, supervised, claims):
  folder.mkdir(parents=True)
  raw = {m: [{'linear_top1': v} for v in values] for m, values in linear.items()}
  raw.update(supervised=[{'test_top1': v} for v in supervised], claims=claims,
             meta={'labels': {'corinfomax': 'CorInfoMax', 'vicreg': 'VICReg', 'nt_xent': 'SimCLR'}})
  (folder / 'results.json').write_text(json.dumps(raw))
  (folder / 'summary.md').write_text(f'## Study 1 at {folder.name}\n\n![accuracy](accuracy.png)\n')


def test_readme_sets_the_budgets_side_by_side(tmp_path):
  sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'experiments'))
  import make_readme  # pylint: disable=import-outside-toplevel
  cpu = {'corinfomax': [86.0, 85.8], 'vicreg': [85.0, 85.2], 'nt_xent': [84.9, 85.1],
         'byol': [83.0, 83.4]}  # BYOL: cpu only, not in the side-by-side table
  long = {'corinfomax': [88.0, 88.4], 'vicreg': [88.6, 88.8], 'nt_xent': [87.0, 87.2]}
  claim = lambda scores: [lib.ordering_verdict('CorInfoMax ≥ VICReg', scores['corinfomax'],
                                               scores['vicreg'], '≥')]
  _write_methods(tmp_path / 'methods', cpu, [80.0, 81.0], claim(cpu))
  text = make_readme.budget_comparison(tmp_path)
  assert 'long budget has not been run yet' in text
  _write_methods(tmp_path / 'methods_long', long, [90.0, 90.4], claim(long))
  text = make_readme.budget_comparison(tmp_path)
  assert '| method | `cpu`: linear top-1 (%) [rank] | `long`: linear top-1 (%) [rank] |' in text
  std = lambda v: np.std(v, ddof=1)
  assert (f"| VICReg | 85.10 ± {std(cpu['vicreg']):.2f} [2] | 88.70 ± {std(long['vicreg']):.2f} "
          '[1] |') in text
  assert '| Supervised (upper bound) | 80.50 ± 0.71 | 90.20 ± 0.28 |' in text
  assert 'byol' not in text and '| SimCLR | 85.00 ± 0.14 [3] | 87.10 ± 0.14 [3] |' in text
  # Ranks (corinfomax, vicreg, nt_xent): cpu 1, 2, 3; long 2, 1, 3 -> Spearman 0.5.
  assert 'from `cpu` to `long`: changed (Spearman ρ = +0.50)' in text
  c_cpu, c_long = claim(cpu)[0], claim(long)[0]
  assert (f"| CorInfoMax ≥ VICReg | {c_cpu['verdict']} ({c_cpu['delta']:+.2f}) | "
          f"{c_long['verdict']} ({c_long['delta']:+.2f}) |") in text
  readme = make_readme.build(tmp_path)
  assert readme.index('## Study 1 at methods\n') < readme.index('## Study 1 at methods_long')
  assert '](results/methods_long/accuracy.png)' in readme
  assert readme.index('## Study 1 at methods_long') < readme.index('### Study 1 across budgets')


def test_readme_flags_results_older_than_their_script(tmp_path):
  sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'experiments'))
  import make_readme  # pylint: disable=import-outside-toplevel
  _write_methods(tmp_path / 'methods', {'vicreg': [85.0, 85.2]}, [80.0, 81.0], [])
  assert make_readme.stale_note('methods', tmp_path) == ''
  raw = json.loads((tmp_path / 'methods' / 'results.json').read_text())
  del raw['meta']  # the format before the paired test
  (tmp_path / 'methods' / 'results.json').write_text(json.dumps(raw))
  assert 'two-standard-error rule' in make_readme.stale_note('methods', tmp_path)
  info = tmp_path / 'information'
  info.mkdir()
  (info / 'results.json').write_text(json.dumps({'vicreg': {'points': []}}))  # one seed, old
  assert 'one seed' in make_readme.stale_note('information', tmp_path)
  (info / 'results.json').write_text(json.dumps({'vicreg': {'seeds': []}}))
  assert make_readme.stale_note('information', tmp_path) == ''
  assert make_readme.stale_note('estimators', tmp_path) == ''  # no results.json


def test_sign_flip_with_many_seeds_agrees_with_the_t_interval_roughly():
  # 12 seeds (4096 sign vectors, the interval probed in chunks): exact p against scipy, and the
  # inverted interval close to the t-test's (differences near-normal): ends within 0.05 pp
  # (measured: 0.002).
  rng = np.random.default_rng(0)
  a = 85 + rng.normal(0, 0.4, 12)
  b = a - 0.5 + rng.normal(0, 0.3, 12)
  flip = lib.paired_difference(a, b, method='sign_flip')
  t = lib.paired_difference(a, b, method='t')
  ref = stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                               permutation_type='samples', n_resamples=np.inf, vectorized=True)
  assert flip['p'] == pytest.approx(ref.pvalue, abs=1e-12) and flip['p'] < 0.01
  assert flip['ci_low'] == pytest.approx(t['ci_low'], abs=0.05)
  assert flip['ci_high'] == pytest.approx(t['ci_high'], abs=0.05)
  assert all(type(t[k]) is float for k in ('delta', 'ci_low', 'ci_high', 'p'))
  with pytest.raises(ValueError, match='n = 17 > 16'):
    lib.paired_difference(np.zeros(17), np.ones(17), method='sign_flip')
