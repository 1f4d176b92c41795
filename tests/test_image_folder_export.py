"""The image-folder path end to end, as a user runs it: `jaxssl prepare image_folder` on photographs
of mixed sizes and modes -> `jaxssl pretrain` (ResNet-18, 224 x 224 views) -> `jaxssl export` in
both formats -> `jaxssl evaluate`, each a separate process.

* Every command's stderr is free of library noise and leaks (no JAX backend probing, no orbax
  metadata warning, no leaked shared-memory segments of the streaming workers, no traceback).
* The exports record the 224 x 224 x 3 crops the encoder was trained on (not a file's size), and in
  a fresh process `load_encoder` of either export, and of the workdir, gives on the run's own
  evaluation crops the run's evaluation features (CPU, max |difference| <= 1e-6 of max |feature|);
  torchvision's `resnet18` with the torch export loaded `strict=True` (its `fc` replaced by the
  identity) gives them within 1e-4 (PyTorch's and XLA's float32 convolutions differ in rounding).
* `jaxssl evaluate` on the 18 training images completes, reporting kNN at the k it could use.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxssl.evaluate.features import stream_features
from jaxssl.evaluate.run import load_run_config
from jaxssl.data import input_pipeline
from jaxssl.augment import view_config
from jaxssl.train import checkpoint as ckpt, setup

from image_tree import write_image_tree

NOISE = ('leaked shared_memory', 'Unable to initialize backend', '_CHECKPOINT_METADATA', 'Traceback')
TESTS = Path(__file__).parent
RUN = ['--config', 'experiments/configs/imagefolder.py:resnet18', '--config.dataset=mixed',
       '--config.num_classes=3', '--config.batch_size=8', '--config.epochs=0.5',
       '--config.data_workers=2', '--config.model.projector=(64, 32)',
       '--config.model.predictor=(64, 32)', '--config.diagnostics_every=0',
       '--config.progress=False', '--config.eval.batch_size=16']


def _jaxssl(*args, data_dir):
  env = {**os.environ, 'TFDS_DATA_DIR': str(data_dir),
         'XLA_FLAGS': '--xla_backend_optimization_level=0'}  # one CPU device, as a user has
  done = subprocess.run([sys.executable, '-m', 'jaxssl.cli', *args], capture_output=True,
                        text=True, timeout=900, env=env, cwd=TESTS.parent)
  assert done.returncode == 0, done.stderr[-3000:]
  for noise in NOISE:
    assert noise not in done.stderr, (args[0], noise, done.stderr[-3000:])
  return done


@pytest.fixture(scope='module')
def user_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('user')
  write_image_tree(root / 'images', per_class=(6, 3))  # 18 + 9 images of 40..89 px, mixed modes
  data_dir = root / 'tfds'
  _jaxssl('prepare', 'image_folder', '--source-dir', str(root / 'images'), '--name', 'mixed',
          data_dir=data_dir)
  workdir = root / 'run'
  _jaxssl('pretrain', '--workdir', str(workdir), *RUN, data_dir=data_dir)
  for fmt in ('jax', 'torch'):
    _jaxssl('export', '--workdir', str(workdir), '--out', str(root / fmt), '--format', fmt,
            data_dir=data_dir)
  evaluated = _jaxssl('evaluate', '--workdir', str(workdir), data_dir=data_dir)
  return root, data_dir, workdir, evaluated


def test_evaluate_on_a_tiny_folder_reports_knn_at_the_k_it_could_use(user_run):
  _, _, workdir, evaluated = user_run
  summary = json.loads((workdir / 'summary.json').read_text())
  assert summary['knn_note'] == 'kNN k=20, 200 > the 18 training images: used k=18'
  assert 'knn_top1_k18' in summary and summary['knn_top1'] == summary['knn_top1_k18']
  assert 'Note: kNN k=20, 200 > the 18 training images: used k=18.' in evaluated.stdout


def test_exports_reload_in_a_fresh_process_with_the_runs_evaluation_features(user_run,
                                                                             monkeypatch):
  root, data_dir, workdir, _ = user_run
  for fmt in ('jax', 'torch'):
    spec = json.loads((root / fmt / 'encoder.json').read_text())
    assert spec['image_shape'] == spec['eval_image_shape'] == [224, 224, 3], spec
    assert spec['input_sizes'] == 'any' and spec['feature_dim'] == 512
  # The run's own evaluation features and crops (as `jaxssl evaluate` computes them).
  monkeypatch.setenv('TFDS_DATA_DIR', str(data_dir))
  config = load_run_config(workdir)
  parts = setup(config)
  manager = ckpt.make_manager(workdir)
  state, _ = ckpt.restore_latest(manager, parts.state, json.loads(config.to_json()))
  manager.close()
  stream = input_pipeline.eval_stream(config, parts.mesh, config.test_split)
  features = stream_features(parts.model, {'params': state.params,
                                              'batch_stats': state.batch_stats},
                             stream.batches(), view=view_config(config.augment.view1),
                             mesh=parts.mesh, num_examples=stream.num_examples,
                             keep_images=stream.num_examples)
  crops, h = features['images'], features['h']
  assert crops.shape == (9, 224, 224, 3) and crops.dtype == np.uint8
  np.save(root / 'crops.npy', crops)
  script = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import numpy as np, jaxssl
from safetensors.torch import load_file
from torch_compat import import_torch, import_torchvision
crops = np.load({str(root / 'crops.npy')!r})
out = {{name: np.asarray(jaxssl.load_encoder(path).apply(crops)) for name, path in
        (('jax', {str(root / 'jax')!r}), ('torch_layout', {str(root / 'torch')!r}),
         ('workdir', {str(workdir)!r}))}}
torch, torchvision = import_torch(), import_torchvision()
model = torchvision.models.resnet18()
model.fc = torch.nn.Identity()
model.load_state_dict(load_file({str(root / 'torch' / 'variables.safetensors')!r}), strict=True)
model.eval()
spec = jaxssl.load_encoder({str(root / 'torch')!r}).spec
x = (crops.astype(np.float32) / 255 - np.float32(spec['normalize']['mean'])) / np.float32(
    spec['normalize']['std'])
with torch.no_grad():
  out['torchvision'] = model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
np.savez({str(root / 'features.npz')!r}, **out)
"""
  env = {**os.environ, 'XLA_FLAGS': '--xla_backend_optimization_level=0'}
  done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                        timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-3000:]
  got = np.load(root / 'features.npz')
  scale = np.abs(h).max()
  for name, tolerance in (('jax', 1e-6), ('torch_layout', 1e-6), ('workdir', 1e-6),
                          ('torchvision', 1e-4)):
    assert got[name].shape == h.shape == (9, 512)
    error = np.abs(got[name] - h).max() / scale
    assert error <= tolerance, f'{name}: {error:.2e}'
