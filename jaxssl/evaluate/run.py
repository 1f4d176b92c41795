"""`jaxssl evaluate --workdir DIR`: offline linear probe, kNN, diagnostics, plots and a report.

Loads the run's config (`DIR/config.json`) and latest checkpoint, extracts frozen features once with
the sharded forward pass, and writes `DIR/summary.json`, PNG plots and `DIR/report.md`.
"""
import json
import logging
import math
import time
from pathlib import Path

import jax
import ml_collections
import numpy as np

from jaxssl import augment, data, run_dir
from jaxssl.evaluate import diagnostics, knn, linear_probe, plots, report, supervised
from jaxssl.errors import ConfigError
from jaxssl.data import input_pipeline
from jaxssl.augment import view_config
from jaxssl.errors import MissingRunError
from jaxssl.evaluate.features import extract_features, stream_features
from jaxssl.io import atomic_write_json
from jaxssl.train.metrics_log import PRETRAIN_SUMMARY_KEYS
from jaxssl.train.restore import model_and_mesh, restored_model


def load_run_config(workdir: str | Path) -> ml_collections.ConfigDict:
  path = Path(workdir) / run_dir.CONFIG
  if not path.exists():
    raise MissingRunError(f'{path} not found: {workdir} is not a pretraining workdir. Run '
                          f'`jaxssl pretrain --workdir {workdir}` first.')
  saved = json.loads(path.read_text())
  return ml_collections.ConfigDict(run_dir.upgrade(saved, where=str(path)))


def _variables(state):
  return {'params': state.params, 'batch_stats': state.batch_stats}


# Views per image for the offline LiDAR (Thilak et al. 2024): more views estimate each image's
# mean and the augmentations' covariance better, but each costs a forward pass of the 2048 images;
# 4 keeps the demo's evaluation within ~10 % of its time without LiDAR and α-ReQ. Drawn two at a
# time with the config's view1 / view2 augmentations (the first two also serve `diagnose`).
LIDAR_VIEWS = 4


def _covariance_spectrum(x) -> np.ndarray:
  """Eigenvalues, descending, of the centred covariance (1/N) Σ (x_i − x̄)(x_i − x̄)ᵀ in float64
  (NumPy's LAPACK: several times faster on a CPU than XLA's eigensolver at D = 1024)."""
  x = np.asarray(x, np.float64)
  return np.linalg.eigvalsh(np.atleast_2d(np.cov(x, rowvar=False, bias=True)))[::-1]


def probe_scores(train_x, train_y, test_x, test_y, *, num_classes, seed, prefix):
  result = linear_probe(train_x, train_y, test_x, test_y, num_classes=num_classes,
                        key=jax.random.PRNGKey(seed))
  return {f'{prefix}linear_top1': float(result['top1']), f'{prefix}linear_top5': float(result['top5'])}


def evaluate_workdir(workdir: str | Path, *, baselines: bool = False, state=None, config=None,
                     arrays=None, supervised_baseline: bool | dict = False) -> dict:
  """Evaluates the run in `workdir`; returns the summary dict (also written to summary.json).

  `supervised_baseline` also trains the same encoder end to end on the labels
  (`jaxssl.evaluate.supervised.supervised_baseline`: to convergence, early-stopped on a held-out
  10 % of the training split): `supervised_top1` / `supervised_top5`. A dict gives its keyword
  arguments (epochs, holdout, patience, view).
  """
  start = time.perf_counter()
  workdir = Path(workdir)
  if isinstance(supervised_baseline, dict):
    supervised.check_options(**supervised_baseline)  # a bad option fails before any work
  config = config or load_run_config(workdir)
  streamed = arrays is None and input_pipeline.streams_images(config)
  if streamed:  # encoded images: features through the host-decoding stream, no images held
    if supervised_baseline:
      raise ConfigError('--supervised-baseline needs the in-memory path (fixed-size images); '
                        'this run streams encoded images.')
    image_shape = input_pipeline.encoder_input_shapes(config)[0]
  else:
    if arrays is None:
      data_dir = config.data_dir or None
      arrays = (data.load_arrays(config.dataset, config.train_split, data_dir=data_dir),
                data.load_arrays(config.dataset, config.test_split, data_dir=data_dir))
    (train_images, train_labels), (test_images, test_labels) = arrays
    image_shape = train_images.shape[1:]
  if state is None:
    run = restored_model(config, workdir, image_shape=image_shape)
  else:
    run = model_and_mesh(config, image_shape=image_shape)
    run.variables = _variables(state)
    run.step, run.skipped_steps = int(state.step), int(state.skipped_steps)
  model, mesh, variables = run.model, run.mesh, run.variables
  view = view_config(config.augment.view1)
  if streamed:
    streams = {split: input_pipeline.eval_stream(config, mesh, split)
               for split in (config.train_split, config.test_split)}
    stream = lambda variables, split, keep_images=0: stream_features(
        model, variables, streams[split].batches(), view=view, mesh=mesh,
        num_examples=streams[split].num_examples, keep_images=keep_images)
    extract = lambda variables, split: stream(variables, split)['h']
    train, test = (stream(variables, config.train_split),
                   stream(variables, config.test_split, keep_images=2048))
    train_h, train_labels, test_labels = train['h'], train['label'], test['label']
    test_h, test_z = test['h'], test['z']
    # The diagnostics below draw their two views on the device from these evaluation crops.
    train_images, test_images = config.train_split, test['images']
  else:
    extract = lambda variables, images, **kw: extract_features(
        model, variables, images, view=view, batch_size=config.eval.batch_size, mesh=mesh, **kw)
    train_h = extract(variables, train_images)
    test_h, test_z = extract(variables, test_images, projector=True)
  classes = config.num_classes
  summary = {'objective': config.objective.name, 'step': run.step,
             'skipped_steps': run.skipped_steps}  # non-finite steps the guard skipped
  summary.update(probe_scores(train_h, train_labels, test_h, test_labels, num_classes=classes,
                              seed=config.seed, prefix=''))
  ks, note = knn.usable_k(tuple(config.eval.knn_k), len(train_labels))
  if note:
    summary['knn_note'] = note
  knn_scores = knn.knn_accuracy(train_h, train_labels, test_h, test_labels, k=ks,
                                num_classes=classes)
  summary.update(knn_scores)
  summary['knn_top1'] = float(knn_scores[f'knn_top1_k{ks[0]}'])
  if baselines:
    initial = run.initial_variables()
    random_train = extract(initial, train_images)
    random_test = extract(initial, config.test_split if streamed else test_images)
    summary.update(probe_scores(random_train, train_labels, random_test, test_labels,
                                num_classes=classes, seed=config.seed, prefix='random_init_'))
    if streamed:  # the raw-pixel probe needs every image in memory
      logging.warning('Streamed evaluation: no raw_pixels_ baseline (it needs the images in '
                      'memory).')
    else:
      flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255.0
      summary.update(probe_scores(flat(train_images), train_labels, flat(test_images),
                                  test_labels, num_classes=classes, seed=config.seed,
                                  prefix='raw_pixels_'))
  if supervised_baseline:
    options = supervised_baseline if isinstance(supervised_baseline, dict) else {}
    summary.update(supervised.supervised_baseline(config, (train_images, train_labels),
                                                  (test_images, test_labels), seed=config.seed,
                                                  **options))

  # Information diagnostics on augmented views of (up to) 2048 test images: the first two views
  # for every pairwise diagnostic, all LIDAR_VIEWS of them for LiDAR.
  key = jax.random.PRNGKey(config.seed + 1)
  view1, view2 = view_config(config.augment.view1), view_config(config.augment.view2)
  sample = jax.numpy.asarray(test_images[:min(len(test_images), 2048)])
  two_views = jax.jit(lambda x, k: augment.two_views(x, k, view1, view2))
  hs, zs = [], []  # (h, z) of each view
  for draw in range(max(LIDAR_VIEWS, 2) // 2):
    for v in two_views(sample, jax.random.fold_in(key, draw) if draw else key):
      # augmented + normalised: view=None
      h, z = extract_features(model, variables, np.asarray(v), view=None, mesh=mesh,
                              batch_size=config.eval.batch_size, projector=True)
      hs.append(h)
      zs.append(z)
  z1, z2 = zs[:2]
  diag = diagnostics.diagnose(z1, z2, key, cheap=False, views=np.stack(zs))
  summary.update({f'diag/{k}': float(v) for k, v in diag.items()})
  # The backbone features h that the probes read: α-ReQ of the test set's evaluation features
  # (their float64 covariance spectrum, which the eigenspectrum plot draws too), LiDAR of the
  # augmented views' h.
  backbone_spectrum = _covariance_spectrum(test_h) if diagnostics.usable(test_h) else None
  summary['diag/backbone/alpha_req'] = math.nan if backbone_spectrum is None else float(
      diagnostics.alpha_req_of_spectrum(backbone_spectrum,
                                        rtol=max(test_h.shape) * np.finfo(np.float32).eps))
  summary['diag/backbone/lidar'] = (float(diagnostics.lidar(np.stack(hs)))
                                    if diagnostics.usable(*hs) else math.nan)
  collapsed, reason = diagnostics.is_collapsed(diag)
  summary['collapsed'] = bool(collapsed)
  summary['collapse_reason'] = reason
  warning, reason = diagnostics.collapse_warning(diag)  # low RankMe or embedding_std, or collapsed
  summary['collapse_warning'] = bool(warning)
  summary['collapse_warning_reason'] = reason
  summary['eval_seconds'] = time.perf_counter() - start

  figures = []
  metrics_path = workdir / run_dir.METRICS
  history = plots.read_metrics(metrics_path) if metrics_path.exists() else []
  if history:
    figures.append(plots.plot_loss_terms(history, workdir / run_dir.PLOTS['loss_terms']))
    figures.append(plots.plot_accuracy(history, workdir / run_dir.PLOTS['probe_accuracy'],
                                       final={'offline linear': summary['linear_top1']}))
    if any(key.startswith('diag/') for record in history for key in record):
      figures.append(plots.plot_online_diagnostics(
          history, workdir / run_dir.PLOTS['online_diagnostics']))
  alphas = (summary['diag/alpha_req'], summary['diag/backbone/alpha_req'])
  figures.append(plots.plot_eigenspectrum(
      {f'projector (α-ReQ {alphas[0]:.2f})': z1,
       f'backbone (α-ReQ {alphas[1]:.2f})': test_h if backbone_spectrum is None
       else backbone_spectrum}, workdir / run_dir.PLOTS['eigenspectrum']))
  figures.append(plots.plot_embedding_2d(test_h[:5000], test_labels[:5000],
                                         workdir / run_dir.PLOTS['embedding_2d']))
  summary['plots'] = [Path(f).name for f in figures]
  previous = workdir / run_dir.SUMMARY  # pretraining's keys (steps, skipped_steps, ...) stay
  kept = json.loads(previous.read_text()) if previous.exists() else {}
  summary = {**{k: kept[k] for k in PRETRAIN_SUMMARY_KEYS if k in kept}, **summary}
  atomic_write_json(workdir / run_dir.SUMMARY, summary)
  report.write_report(workdir, json.loads(config.to_json()), summary, figures)
  return summary


def print_summary(summary: dict) -> None:
  rows = [(k, report.describe(k, v, summary)) for k, v in summary.items()
          if isinstance(v, (int, float)) and not isinstance(v, bool)]
  width = max(len(k) for k, _ in rows)
  print('-' * (width + 14))
  for key, value in rows:
    if isinstance(value, float):
      print(f'{key:<{width}}  {value:>10.3f}')
    elif isinstance(value, int):
      print(f'{key:<{width}}  {value:>10d}')
    else:  # a described value, e.g. "singular covariance (rank r of D)"
      print(f'{key:<{width}}  {value}')
  print('-' * (width + 14))
  if summary.get('knn_note'):
    print(f"Note: {summary['knn_note']}.")
