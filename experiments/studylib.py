"""Shared plumbing of the studies in experiments/: budgets, data, one pretrain + evaluation, tables.

Every study script imports this module (it sits beside them in experiments/). A *budget* fixes the
data size, the encoder width and the length of training, the same for every run of a study:

  tiny  seconds per run: a 28x28 ConvNet 8-16 wide, 256 images, 1 epoch (the tests run this);
  cpu   the default, ~10 min per study on 2 idle CPU cores: ConvNet 32-64-128, 10k images, 2 epochs;
  long  all 60k images, the demo ConvNet of jaxssl/default_config.py, 10 epochs: ~10 min per run
        on 2 idle CPU cores (study 1 runs its five ranked methods + supervised, 2 seeds);
  full  the shipped Fashion-MNIST configs as they are (demo ConvNet, 60k images, 2.75 epochs):
        a few minutes per run on 2 CPU cores, seconds on a GPU.

Each budget also fixes the supervised baseline's own training (`train_supervised`): at most
`supervised_epochs` epochs over the training images minus a held-out `holdout` fraction, early
stopped after `patience` epochs without a better held-out top-1.

Numbers from `tiny` and `cpu` are smoke tests and trends, not the published accuracies.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import augment, data
from jaxssl.config import apply_overrides, load_config_module
from jaxssl.evaluate import features as features_lib
from jaxssl.evaluate import knn, linear_probe
from jaxssl.io import atomic_write_json, atomic_write_text, dumps_strict
from jaxssl.evaluate.supervised import supervised_view, train_supervised
from jaxssl.augment import view_config
from jaxssl.train.loop import pretrain, setup

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / 'results'


@dataclasses.dataclass(frozen=True)
class Budget:
  name: str
  train_size: int            # first N training images (Fashion-MNIST is stored shuffled)
  test_size: int
  overrides: tuple           # config overrides applied to every run
  width_cap: int             # projector / predictor widths are capped at this
  eval_pairs: int            # pairs of views for the MI / entropy estimates
  supervised_epochs: float = 30.0  # the supervised baseline's most epochs (its own schedule)
  holdout: float = 0.1             # fraction of the training images it holds out
  patience: int = 6                # epochs without a better held-out top-1 before it stops


_COMMON = ('progress=False', 'checkpoint_every=1000000', 'keep_checkpoints=1')
BUDGETS = {
    'tiny': Budget('tiny', 256, 256, _COMMON + (
        'model.encoder_kwargs.stages=((8, 1), (16, 2))', 'model.encoder_kwargs.pool_grid=1',
        'batch_size=32', 'epochs=1.0', 'log_every=2', 'optimizer.warmup_epochs=0.0',
        'eval.batch_size=128'), 32, 128, supervised_epochs=4.0, holdout=0.2, patience=2),
    'cpu': Budget('cpu', 10000, 2000, _COMMON + (
        'model.encoder_kwargs.stages=((32, 1), (64, 2), (128, 2))', 'model.encoder_kwargs.pool_grid=2',
        'batch_size=256', 'epochs=2.0', 'log_every=5', 'eval.batch_size=1000'), 256, 1000),
    'long': Budget('long', 60000, 10000, _COMMON + ('epochs=10.0', 'log_every=25'), 4096, 4096,
                   supervised_epochs=20.0, patience=5),
    'full': Budget('full', 60000, 10000, _COMMON + ('log_every=25',), 4096, 4096,
                   supervised_epochs=20.0, patience=5),
}
_START = [time.time()]  # reset by budget_from_args: a study's wall time


def add_budget_flags(parser, *, seeds: int | None = 1) -> None:
  """The flags every study shares: --tiny / --budget, --seeds, --epochs, --train-size, --out.

  `seeds=None`: the study runs one seed and has no --seeds flag (argparse rejects one).
  """
  parser.add_argument('--tiny', action='store_true', help='seconds-long smoke run (the tests)')
  parser.add_argument('--budget', choices=sorted(BUDGETS), default='cpu',
                      help='cpu (default, ~10 min on 2 cores), long (60k images, demo ConvNet, '
                           '10 epochs) or full (the shipped configs)')
  if seeds is None:
    parser.set_defaults(seeds=None)
  else:
    parser.add_argument('--seeds', type=int, default=seeds, help='seeds per setting')
  parser.add_argument('--epochs', type=float, default=None, help='override the budget epochs')
  parser.add_argument('--train-size', type=int, default=None, help='training images used')
  parser.add_argument('--out', default=None, help='results folder (default: results/<study>)')
  parser.add_argument('--workdir', default=None,
                      help='where runs are trained (default: a folder under /tmp)')
  parser.add_argument('--resume', action='store_true',
                      help='reuse the runs an interrupted invocation finished (results/<study>/'
                           'runs/*.json, kept only where the run\'s config is the same)')
  parser.add_argument('--compile-cache', default=str(Path.home() / '.cache' / 'jaxssl' / 'xla'),
                      help="JAX's persistent compilation cache ('' = off): runs that differ only "
                           'in seed or in a later invocation skip XLA compilation')


def enable_compile_cache(path: str) -> None:
  """Turns on JAX's persistent compilation cache in `path` (every compilation is cached)."""
  if path:
    Path(path).mkdir(parents=True, exist_ok=True)
    jax.config.update('jax_compilation_cache_dir', str(path))
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)


def budget_from_args(args) -> Budget:
  _START[0] = time.time()
  enable_compile_cache(args.compile_cache)
  budget = BUDGETS['tiny' if args.tiny else args.budget]
  extra = ()
  if args.epochs is not None:
    extra += (f'epochs={float(args.epochs)}',)
  if extra or args.train_size is not None:
    budget = dataclasses.replace(budget, overrides=budget.overrides + extra,
                                 train_size=args.train_size or budget.train_size)
  return budget


def results_name(study: str, budget: str) -> str:
  """results/<name> of a study at a budget: `study` for cpu, `study_<budget>` for long / full."""
  return study if budget == 'cpu' else f'{study}_{budget}'


def out_dir(args, study: str) -> Path:
  """--out, else results/<results_name> (the tiny smoke run: a folder under /tmp, not results/)."""
  if args.out:
    path = Path(args.out)
  elif args.tiny:
    path = Path('/tmp') / f'jaxssl_{study}_tiny_{os.getpid()}' / 'results'
  else:
    path = RESULTS / results_name(study, args.budget)
  path.mkdir(parents=True, exist_ok=True)
  return path


def work_dir(args, study: str) -> Path:
  path = Path(args.workdir) if args.workdir else Path('/tmp') / f'jaxssl_{study}_{os.getpid()}'
  path.mkdir(parents=True, exist_ok=True)
  return path


def load_fmnist(budget: Budget):
  """(train_images, train_labels), (test_images, test_labels): the budget's slices of Fashion-MNIST."""
  try:
    train = data.load_arrays('fashion_mnist_idx', 'train')
    test = data.load_arrays('fashion_mnist_idx', 'test')
  except Exception as error:  # noqa: BLE001 -- re-raised with the fix
    raise RuntimeError(f'Fashion-MNIST is not prepared ({type(error).__name__}: {error}). Run '
                       '`jaxssl prepare fashion_mnist_idx` (needs the Debian package '
                       'dataset-fashion-mnist: `make data`).') from error
  cut = lambda arrays, n: (arrays[0][:n], arrays[1][:n].astype(np.int32))
  return cut(train, budget.train_size), cut(test, budget.test_size)


def fmnist_configs():
  """The module experiments/configs/fmnist.py (its OBJECTIVES and get_config)."""
  return load_config_module(ROOT / 'configs' / 'fmnist.py')


def make_config(objective: str, budget: Budget, *, seed: int = 0, overrides=()):
  """The Fashion-MNIST config of `objective` (experiments/configs/fmnist.py) at this budget."""
  config = fmnist_configs().get_config(objective)
  cap = lambda widths: tuple(min(int(w), budget.width_cap) for w in widths)
  apply_overrides(config, budget.overrides + (f'seed={seed}',))
  if budget.name == 'tiny' and 'diagnostics_every' in config:
    config.diagnostics_every = 0  # the online diagnostics are one more compilation
  config.model.projector = cap(config.model.projector)
  if config.model.predictor:
    config.model.predictor = cap(config.model.predictor)
  return apply_overrides(config, tuple(overrides))


def variables_of(state) -> dict:
  return {'params': state.params, 'batch_stats': state.batch_stats}


def plain_view(spec) -> dict:
  """A view (preset name, dict or ConfigDict) as a plain nested dict."""
  view = view_config(spec)
  return {k: v.to_dict() if hasattr(v, 'to_dict') else v for k, v in view.items()}


def representations(model, state, images, config, *, projector=False):
  """Frozen features h (and embeddings z) of un-augmented, normalised images."""
  return features_lib.extract_features(model, variables_of(state), images,
                                       view=plain_view(config.augment.view1),
                                       batch_size=config.eval.batch_size, projector=projector)


def view_embeddings(model, state, images, config, key, *, view1=None, view2=None):
  """Projector embeddings (z1, z2) of two augmented views of `images` (rows paired)."""
  view1 = plain_view(view1 or config.augment.view1)
  view2 = plain_view(view2 or config.augment.view2)
  v1, v2 = augment.two_views(jnp.asarray(images), key, view1, view2)
  embed = lambda v: features_lib.extract_features(
      model, variables_of(state), np.asarray(v), view=None, batch_size=config.eval.batch_size,
      projector=True)[1]
  return embed(v1), embed(v2)


def accuracy(train_h, train_y, test_h, test_y, *, seed: int = 0, knn_k: int = 20) -> dict:
  """Linear-probe and kNN (k = knn_k, τ = 0.07) top-1 (%) on frozen features."""
  probe = linear_probe(train_h, train_y, test_h, test_y, num_classes=10,
                       key=jax.random.PRNGKey(seed))
  k = min(knn_k, len(train_h))
  scores = knn.knn_accuracy(train_h, train_y, test_h, test_y, k=k, num_classes=10)
  return {'linear_top1': float(probe['top1']), 'knn_top1': float(scores[f'knn_top1_k{k}'])}


def train_and_evaluate(config, workdir, train, test, *, checkpoints=False, x64=False) -> dict:
  """Pretrains `config` on `train`, then linear / kNN accuracy on `test`; returns a result dict.

  The dict holds `linear_top1`, `knn_top1` (%), `seconds`, `steps` and, under `_run`, the
  PretrainResult (state and model) for further measurements. `x64` pretrains under
  `jax.enable_x64` (float64 where the code asks for it, e.g. CorInfoMax's log-determinant).
  """
  start = time.perf_counter()
  if x64:
    with jax.enable_x64(True):
      result = pretrain(config, workdir, train_arrays=train, checkpoints=checkpoints)
  else:
    result = pretrain(config, workdir, train_arrays=train, checkpoints=checkpoints)
  train_h = representations(result.model, result.state, train[0], config)
  test_h = representations(result.model, result.state, test[0], config)
  out = accuracy(train_h, train[1], test_h, test[1], seed=config.seed)
  out.update(seconds=time.perf_counter() - start, steps=result.total_steps,
             skipped_steps=int(result.state.skipped_steps), _run=result)
  return out


def supervised(config, budget: Budget, train, test, *, seed: int) -> dict:
  """The supervised baseline at the budget's own epochs, held-out part, patience and augmentation
  (`supervised_view`).

  `jaxssl.evaluate.supervised.train_supervised` as a JSON-safe dict: test_top1 / test_top5 (%),
  best_epoch, epochs_run, holdout_top1, num_train, num_holdout, curve (per epoch: train_loss,
  holdout_loss, holdout_top1), plus seconds.
  """
  start = time.perf_counter()
  result = train_supervised(config, train, test, epochs=budget.supervised_epochs, seed=seed,
                            holdout=budget.holdout, patience=budget.patience,
                            view=supervised_view(config))
  return {**dataclasses.asdict(result), 'seconds': time.perf_counter() - start}


def measure_steps_per_second(config, train, *, steps: int = 8) -> float:
  """Training steps per second of `config` on `train`, after two warm-up (compiling) steps."""
  parts = setup(config, train_arrays=train)
  state, batches = parts.state, parts.batches(0)
  for _ in range(2):
    state, metrics = parts.step(state, next(batches))
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(steps):
    state, metrics = parts.step(state, next(batches))
  jax.block_until_ready(metrics)
  return steps / (time.perf_counter() - start)


def measure_supervised_steps_per_second(config, train, test, *, steps: int = 8) -> float:
  """The supervised baseline's training steps per second, its compiling first step excluded."""
  spe = len(train[0]) // config.batch_size
  result = train_supervised(config, train, (test[0][:config.batch_size],
                                            test[1][:config.batch_size]),
                            epochs=(1 + steps) / spe, seed=0)
  return result.steps_per_second


def load_note() -> str:
  """The 1-minute load average and the core count: what a measured speed was measured under."""
  return f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores'


def cached_run(args, out: Path, name: str, config, run) -> dict:
  """`run()`'s JSON-safe result, saved to out/runs/<name>.json as soon as it finishes.

  With `--resume`, a saved result whose config (`config`'s JSON, seed included) equals this one is
  returned instead of running again, marked `resumed: True`; any other saved result is rerun. A
  study of hours then survives an interruption: rerun the same command with --resume.
  """
  path = out / 'runs' / f'{name}.json'
  key = config.to_json_best_effort(sort_keys=True)
  if getattr(args, 'resume', False) and path.exists():
    saved = json.loads(path.read_text())
    if saved.get('config') == key:
      return {**saved['result'], 'resumed': True}
  result = clean(run())
  path.parent.mkdir(parents=True, exist_ok=True)
  atomic_write_text(path, dumps_strict(dict(config=key, result=result)))
  return result


def elapsed_minutes() -> float:
  """Minutes since `budget_from_args` (the study's start)."""
  return (time.time() - _START[0]) / 60


def run_line(script: str, args) -> str:
  """'`command` · wall time N min (platform)': how the study was run and how long it took."""
  return (f'`{command_line(script, args)}` · wall time {elapsed_minutes():.1f} min '
          f'({jax.devices()[0].platform}, {os.cpu_count()} cores)')


def mean_std(values) -> tuple[float, float]:
  """Mean and sample standard deviation (ddof = 1; 0 for one value)."""
  values = np.asarray(values, float)
  return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def fmt_mean_std(values, digits: int = 2, *, signed: bool = False) -> str:
  """'mean ± std' (sample std over seeds); '—' for no values."""
  if not len(values):
    return '—'
  mean, std = mean_std(values)
  return f"{mean:{'+' if signed else ''}.{digits}f} ± {std:.{digits}f}"


# ---------------------------------------------------------------------------------------------
# Verdicts on the papers' orderings: a paired test over seeds.
# ---------------------------------------------------------------------------------------------
VERDICTS = ('confirmed', 'not contradicted', 'contradicted')
PAIRED_TESTS = {'t': 'paired t-test', 'sign_flip': 'exact sign-flip permutation test'}
EQUIVALENCE_MARGIN = 1.0  # pp: "A ≈ B" claims are judged against |Δ| < this margin


def _sign_matrix(n: int) -> np.ndarray:
  """All 2^n sign vectors (rows) of ±1."""
  if n > 16:
    raise ValueError(f'the exact sign-flip test enumerates 2^n sign vectors; n = {n} > 16 seeds: '
                     "use method='t'.")
  bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
  return 1.0 - 2.0 * bits


def _sign_flip_p(d: np.ndarray, signs: np.ndarray) -> np.ndarray:
  """Two-sided exact sign-flip p-values of H0: mean = δ, for each row d (k, n) of centred diffs."""
  observed = np.abs(d.sum(axis=1))
  flipped = np.abs(d @ signs.T)  # (k, 2^n)
  tol = 1e-12 * np.maximum(np.abs(d).sum(axis=1), 1e-300)  # ties count as extreme (as scipy)
  return np.mean(flipped >= (observed - tol)[:, None], axis=1)


def paired_difference(a, b, *, method: str = 't', alpha: float = 0.05) -> dict:
  """Δ = mean_i (a_i − b_i) over seeds paired by index, its (1 − alpha) interval and p-value.

  method 't': the paired t-test (as `scipy.stats.ttest_rel`), Δ ± t_{1−α/2, n−1} s_d / √n.
  method 'sign_flip': the exact permutation test that flips the sign of each paired difference
    (2^n sign vectors, n ≤ 16), two-sided; its interval inverts the test: the hull of the δ whose
    shifted differences d − δ it does not reject. It cannot reject anything below p = 2 / 2^n, so with
    n ≤ 5 seeds the interval is (−∞, ∞) and no claim can be confirmed or contradicted.
  n < 2 (or a degenerate t-test): p = NaN and the interval (−∞, ∞). All differences equal
  (s_d = 0): the t-test's interval is the point Δ, p = 0 (1 when Δ = 0).

  Returns {'delta', 'ci_low', 'ci_high', 'p', 'n', 'method'} (method: the test's name in words).
  """
  a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
  if a.shape != b.shape:
    raise ValueError(f'paired samples need one value per seed on both sides; got {a.size} and '
                     f'{b.size}.')
  if method not in PAIRED_TESTS:
    raise ValueError(f'method must be one of {sorted(PAIRED_TESTS)}, got {method!r}.')
  if not 0 < alpha < 1:
    raise ValueError(f'alpha must lie in (0, 1), got {alpha}.')
  d = a - b
  n = len(d)
  out = dict(delta=float(d.mean()) if n else math.nan, ci_low=-math.inf, ci_high=math.inf,
             p=math.nan, n=n, method=PAIRED_TESTS[method])
  if n < 2 or not np.isfinite(d).all():
    return out
  if method == 't':
    from scipy import stats  # pylint: disable=import-outside-toplevel
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0:
      delta = out['delta']
      return {**out, 'ci_low': delta, 'ci_high': delta, 'p': 1.0 if delta == 0 else 0.0}
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    t = out['delta'] / se
    return {**out, 'ci_low': out['delta'] - half, 'ci_high': out['delta'] + half,
            'p': float(2 * stats.t.sf(abs(t), n - 1))}
  signs = _sign_matrix(n)
  p = float(_sign_flip_p(d[None], signs)[0])
  # p(δ) is constant between the means of subsets of d, where ties change it: test at those
  # breakpoints' midpoints and just outside them; the interval ends at breakpoints.
  subsets = signs < 0
  counts = subsets.sum(axis=1)
  points = np.unique((subsets @ d)[counts > 0] / counts[counts > 0])
  span = max(points[-1] - points[0], 1.0)
  probes = np.concatenate([[points[0] - span], (points[:-1] + points[1:]) / 2, [points[-1] + span]])
  keep = np.concatenate([_sign_flip_p(d[None, :] - chunk[:, None], signs) > alpha  # chunks:
                         for chunk in np.array_split(probes, -(-len(probes) // 256))])  # memory
  low = high = math.nan
  if keep.any():
    first, last = np.flatnonzero(keep)[[0, -1]]
    low = -math.inf if first == 0 else float(points[first - 1])
    high = math.inf if last == len(probes) - 1 else float(points[last])
  return {**out, 'ci_low': low, 'ci_high': high, 'p': p}


def ordering_verdict(claim: str, a, b, kind: str, *, method: str = 't', alpha: float = 0.05,
                     margin: float = EQUIVALENCE_MARGIN) -> dict:
  """The claim "A kind B" (kind '>', '≥' or '≈') judged in three words on seeds paired by index.

  '>' and '≥' claim a direction (A at least as good as B): *confirmed* when the (1 − alpha)
  interval of Δ = A − B lies above 0 (significant in the claimed direction), *contradicted* when it
  lies below 0 (significant against), *not contradicted* otherwise. '≈' claims equivalence within
  ±margin: *confirmed* when the interval lies inside (−margin, margin), *contradicted* when it lies
  wholly outside [−margin, margin] (significantly different by more than the margin), *not
  contradicted* otherwise. The test is `paired_difference(a, b, method=...)`.

  Returns the `paired_difference` dict plus 'claim', 'kind', 'verdict' and 'margin' (≈ only).
  """
  if kind not in ('>', '≥', '≈'):
    raise ValueError(f"kind must be '>', '≥' or '≈', got {kind!r}.")
  test = paired_difference(a, b, method=method, alpha=alpha)
  low, high = test['ci_low'], test['ci_high']
  if kind == '≈':
    word = ('confirmed' if -margin < low and high < margin else
            'contradicted' if low > margin or high < -margin else 'not contradicted')
  else:
    word = 'confirmed' if low > 0 else 'contradicted' if high < 0 else 'not contradicted'
  out = dict(claim=claim, kind=kind, verdict=word, **test)
  if kind == '≈':
    out['margin'] = float(margin)
  return out


def fmt_interval(low: float, high: float, digits: int = 2) -> str:
  side = lambda v: ('−∞' if v < 0 else '+∞') if math.isinf(v) else f'{v:+.{digits}f}'
  return f'[{side(low)}, {side(high)}]'


def verdict_section(claims: list, *, what: str, alpha: float = 0.05) -> str:
  """Markdown: a one-line tally, a table (claim, verdict, Δ, interval, p, seeds) and the test used."""
  if not claims:
    return f'**Orderings the papers claim ({what}): not enough methods run to test a claim.**'
  tally = ', '.join(f'{sum(c["verdict"] == w for c in claims)} {w}' for w in VERDICTS)
  n = min(c['n'] for c in claims)
  level = f'{100 * (1 - alpha):g} %'
  table = markdown_table(
      ('claim', 'verdict', 'Δ mean (pp)', f'{level} interval (pp)', 'p', 'seeds'),
      [(c['claim'], c['verdict'], f"{c['delta']:+.2f}", fmt_interval(c['ci_low'], c['ci_high']),
        f"{c['p']:.3f}" if math.isfinite(c['p']) else '—', c['n']) for c in claims])
  margins = sorted({c['margin'] for c in claims if 'margin' in c})
  how = (f'Verdicts from a {claims[0]["method"]} over seeds (seed i of A against seed i of B: '
         f'same data order and probe key), Δ = A − B with its {level} interval: *confirmed* when '
         'the interval lies on the claimed side of 0, *contradicted* when on the other side, '
         '*not contradicted* otherwise')
  if margins:
    how += (f'; "≈" is confirmed when the interval lies within ±{margins[0]:g} pp and '
            'contradicted when it lies wholly outside it')
  how += '.'
  if n <= 3:
    how += (f' With {n} seeds the test has little power: only a Δ well above the seed-to-seed '
            'spread can be confirmed, so "not contradicted" is the expected verdict for the '
            'small differences the papers report.')
  return '\n'.join([f'**Orderings the papers claim ({what}): {tally}.**', '', table, '', how])


def correlation(x, y) -> tuple[float, float]:
  """Pearson and Spearman correlation of paired values (NaN when undefined)."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  keep = np.isfinite(x) & np.isfinite(y)
  x, y = x[keep], y[keep]
  if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
    return math.nan, math.nan
  rank = lambda v: np.argsort(np.argsort(v)).astype(float)
  return float(np.corrcoef(x, y)[0, 1]), float(np.corrcoef(rank(x), rank(y))[0, 1])


def markdown_table(header, rows) -> str:
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
  return '\n'.join(lines)


def command_line(script: str, args) -> str:
  flags = ' --tiny' if args.tiny else ('' if args.budget == 'cpu' else f' --budget {args.budget}')
  if args.seeds is not None:
    flags += f' --seeds {args.seeds}'
  if args.epochs is not None:
    flags += f' --epochs {args.epochs}'
  if args.train_size is not None:
    flags += f' --train-size {args.train_size}'
  return f'python experiments/{script}{flags}'


def budget_line(budget: Budget, config) -> str:
  """One sentence describing what every run of the study shared."""
  enc = config.model.encoder_kwargs
  return (f'Budget `{budget.name}`: Fashion-MNIST, first {budget.train_size} training / '
          f'{budget.test_size} test images; ConvNet stages {tuple(map(tuple, enc.stages))}, '
          f'{config.epochs:g} epochs of batch {config.batch_size}, {config.optimizer.name} lr '
          f'{config.optimizer.lr:g} (per 256), augmentation {config.augment.view1} / '
          f'{config.augment.view2}; platform {jax.devices()[0].platform}.')


def publish(args, out: Path, *, summary: str, details: str, raw) -> None:
  """Writes `summary.md` (the section of experiments/README.md), `results.md` and `results.json`,
  and regenerates experiments/README.md when the study wrote into the shared results folder."""
  atomic_write_text(out / 'summary.md', summary.rstrip() + '\n')
  atomic_write_text(out / 'results.md', summary.rstrip() + '\n\n' + details.rstrip() + '\n')
  atomic_write_json(out / 'results.json', raw)
  if out.resolve().parent == RESULTS.resolve() and not args.tiny:
    import make_readme  # pylint: disable=import-outside-toplevel  (beside this module)
    make_readme.main([])
  print(f'wrote {out}')


def clean(result: dict) -> dict:
  """A JSON-safe copy of a result dict (drops the `_run` objects)."""
  return {k: v for k, v in result.items() if not k.startswith('_')}


def figure(nrows=1, ncols=1, width=4.2, height=3.2):
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  fig = Figure(figsize=(width * ncols, height * nrows), layout='constrained')
  return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig, path) -> str:
  """PNG, written atomically (jaxssl.evaluate.plots' writer)."""
  from jaxssl.evaluate.plots import _save  # pylint: disable=import-outside-toplevel
  return _save(fig, path)


def dump(obj) -> str:
  """Strict JSON (a non-finite number becomes null), NumPy scalars and 0-d arrays as numbers."""
  return dumps_strict(obj, indent=2, sort_keys=True, default=float)
