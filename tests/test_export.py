"""`jaxssl export` / `jaxssl.load_encoder`: the encoder out of a run, for JAX and for PyTorch.

* The features of `load_encoder(export(workdir))` (and of `load_encoder(workdir)`) equal the
  engine's evaluation features (`extract_features`, as `jaxssl evaluate` runs it) bit for bit.
* A torch export of ResNet-18 (CIFAR and ImageNet stems) and ResNet-50, loaded into torchvision's
  own model definitions as the docs say, gives jaxssl's features within 1e-4 relative (max |diff|
  over max |feature|, float32, eval-mode BatchNorm with randomised statistics and affine
  parameters).
* Loading an export imports no training stack (checked in a fresh process).
* Bad input -- a workdir without a checkpoint, a torch export of an encoder torchvision lacks, an
  export of another format version, a truncated file -- fails with one clear error.
"""
import json
import logging
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxssl
from jaxssl.cli import main as cli_main
from jaxssl.config import load_config
from jaxssl.errors import ConfigError
from jaxssl.run_dir import to_json_dict
from jaxssl.export.spec import SPEC_FILE, WEIGHTS_FILE, ExportFormatError
from jaxssl.evaluate.features import extract_features
from jaxssl.export import (NoTorchCounterpartError, export, flatten, from_torch, spec_from_config,
                           write_export)
from jaxssl.models import make_encoder
from jaxssl.train import checkpoint as ckpt, pretrain
from jaxssl.augment import view_config
from jaxssl.train.loop import setup
from jaxssl.parallel.mesh import make_mesh

from helpers import tiny_arrays, tiny_config
from torch_compat import import_torch, import_torchvision

TORCH_RTOL = 1e-4


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  """A tiny pretraining run (the demo's ConvNet, VICReg): its workdir and PretrainResult."""
  workdir = tmp_path_factory.mktemp('run')
  result = pretrain(tiny_config(), workdir, train_arrays=tiny_arrays(64, seed=0),
                    mesh=make_mesh(1))
  return workdir, result


@pytest.fixture(scope='module')
def exported(run, tmp_path_factory):
  return export(run[0], tmp_path_factory.mktemp('exports') / 'demo', head=True,
                image_shape=(28, 28, 1))


def test_load_encoder_gives_the_evaluation_features_bit_for_bit(run, exported):
  workdir, result = run
  images, _ = tiny_arrays(40, seed=3)
  variables = {'params': result.state.params, 'batch_stats': result.state.batch_stats}
  view = view_config(tiny_config().augment.view1)
  h, z = extract_features(result.model, variables, images, view=view, mesh=make_mesh(),
                          projector=True)  # as `jaxssl evaluate` runs it: all 8 devices
  for encoder in (jaxssl.load_encoder(exported), jaxssl.load_encoder(workdir)):
    features = np.asarray(encoder.apply(images))
    assert features.dtype == np.float32 and features.shape == h.shape
    np.testing.assert_array_equal(features, h)
  encoder = jaxssl.load_encoder(exported)
  np.testing.assert_array_equal(np.asarray(encoder.apply(images, batch_size=16)), h)  # 16+16+8
  # The projector runs as a separate jit from the encoder here: float rounding only.
  np.testing.assert_allclose(np.asarray(encoder.project(images)), z, rtol=1e-5, atol=1e-6)
  # Float images in [0, 1] are the same input as uint8 ones.
  np.testing.assert_allclose(np.asarray(encoder.apply(images.astype(np.float32) / 255)), h,
                             rtol=1e-5, atol=1e-5)
  spec = encoder.spec
  assert spec['encoder'] == 'convnet' and spec['image_shape'] == [28, 28, 1]
  assert spec['feature_dim'] == h.shape[1] and spec['step'] == int(result.state.step)
  assert spec['normalize'] == {'mean': [0.286], 'std': [0.353]}  # augment.FMNIST_MEAN / _STD
  with pytest.raises(ValueError, match=r'shape \(N, H, W, 1\)'):  # any size, its channels
    encoder.apply(np.repeat(images, 3, axis=-1))


def test_loading_an_export_imports_no_training_stack(exported):
  code = f"""
import json, sys
import numpy as np
import jaxssl
encoder = jaxssl.load_encoder({str(exported)!r})
print(encoder.apply(np.zeros((2, 28, 28, 1), np.uint8)).shape)
heavy = ('optax', 'orbax', 'jaxssl.train', 'jaxssl.evaluate', 'tensorflow_datasets', 'grain',
         'torch')
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy))))
"""
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  shape, modules = out.stdout.strip().splitlines()[-2:]
  assert shape == '(2, 16)'
  assert json.loads(modules) == []


def test_a_new_run_saves_its_config_with_the_current_run_format(run):
  workdir, _ = run
  saved = json.loads((workdir / 'config.json').read_text())
  assert saved['run_format'] == jaxssl.run_dir.RUN_FORMAT == 2
  assert jaxssl.run_dir.upgrade(saved) == saved  # nothing to upgrade


def test_export_is_atomic_and_replaces_only_an_export(run, exported, tmp_path):
  out = tmp_path / 'again'
  assert cli_main(['export', '--workdir', str(run[0]), '--out', str(out)]) == 0
  first = (out / SPEC_FILE).read_text()
  assert cli_main(['export', '--workdir', str(run[0]), '--out', str(out)]) == 0  # replaced
  assert (out / SPEC_FILE).read_text() == first
  assert sorted(p.name for p in tmp_path.iterdir()) == ['again']  # no temporary left behind
  assert sorted(p.name for p in out.iterdir()) == [SPEC_FILE, WEIGHTS_FILE]
  umask = os.umask(0)
  os.umask(umask)
  assert (out.stat().st_mode & 0o777, (out / WEIGHTS_FILE).stat().st_mode & 0o777) == (
      0o777 & ~umask, 0o666 & ~umask)  # not mkdtemp's 0700: an export is for sharing
  other = tmp_path / 'not_an_export'
  other.mkdir()
  (other / 'notes.txt').write_text('mine')
  with pytest.raises(FileExistsError, match='not a jaxssl export'):
    export(run[0], other)
  assert sorted(p.name for p in other.iterdir()) == ['notes.txt']


def test_export_of_the_ema_target_network(tmp_path):
  """A BYOL state whose EMA target differs from the online network: --which picks one."""
  config = tiny_config('objective.name="byol"', 'model.predictor=(32, 32)')
  state = setup(config, mesh=make_mesh(1), train_arrays=tiny_arrays(64, seed=0)).state
  state = state.replace(target_params=jax.tree.map(lambda x: x + 1.0, state.params))
  manager = ckpt.make_manager(tmp_path, async_save=False)
  ckpt.save(manager, 0, state, to_json_dict(config))
  manager.close()
  for which, params in (('online', state.params), ('target', state.target_params)):
    encoder = jaxssl.load_encoder(export(tmp_path, tmp_path / which, which=which))
    assert encoder.spec['which'] == which and encoder.spec['objective'] == 'byol'
    for got, want in zip(jax.tree.leaves(encoder.variables['params']),
                         jax.tree.leaves(params['encoder'])):
      np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


# -- PyTorch ---------------------------------------------------------------------------------------

def torchvision_encoder(torch, torchvision, name: str, stem: str, in_channels: int):
  """torchvision's model as the export's docs tell a PyTorch user to build it."""
  model = getattr(torchvision.models, name)()
  model.fc = torch.nn.Identity()
  if stem == 'cifar':
    model.conv1 = torch.nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
    model.maxpool = torch.nn.Identity()
  elif in_channels != 3:
    model.conv1 = torch.nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
  return model


def random_resnet(name: str, stem: str, image_shape, seed=0):
  """(config dict, variables) of a ResNet: random weights, BN affine parameters and statistics."""
  config = to_json_dict(load_config(None, (f'model.encoder="{name}"',)))
  config['model']['encoder_kwargs'] = {'stem': stem}
  module = make_encoder(name, stem=stem)
  shapes = jax.eval_shape(lambda x: module.init(jax.random.PRNGKey(0), x, train=False),
                          jax.ShapeDtypeStruct((1, *image_shape), np.float32))  # no compile
  rng = np.random.default_rng(seed)
  draw = {'kernel': lambda s: rng.normal(0, 1 / np.sqrt(np.prod(s[:-1])), s),  # LeCun normal
          'scale': lambda s: rng.uniform(0.5, 1.5, s), 'bias': lambda s: rng.normal(0, 0.1, s),
          'mean': lambda s: rng.normal(0, 0.2, s), 'var': lambda s: rng.uniform(0.5, 2.0, s)}
  randomise = lambda path, leaf: np.asarray(draw[path[-1].key](leaf.shape), np.float32)
  variables = {part: {'encoder': jax.tree_util.tree_map_with_path(randomise, shapes[part])}
               for part in ('params', 'batch_stats')}
  return config, variables


@pytest.mark.parametrize('name,stem,size,channels', [
    ('resnet18', 'cifar', 32, 3), ('resnet18', 'imagenet', 64, 1), ('resnet50', 'imagenet', 64, 3)])
def test_torch_export_gives_the_same_features_in_torchvision(name, stem, size, channels, tmp_path):
  torch, torchvision = import_torch(), import_torchvision()
  from safetensors.torch import load_file  # pylint: disable=import-outside-toplevel
  config, variables = random_resnet(name, stem, (size, size, channels))
  spec = spec_from_config(config, step=0, which='online', head=False,
                          image_shape=[size, size, channels])
  out = write_export(tmp_path / 'torch', spec, variables, format='torch')
  images = np.random.default_rng(1).integers(0, 256, (4, size, size, channels), dtype=np.uint8)
  encoder = jaxssl.load_encoder(out)  # the torch layout read back
  jax_features = np.asarray(encoder.apply(images))

  model = torchvision_encoder(torch, torchvision, name, stem, channels)
  model.load_state_dict(load_file(out / WEIGHTS_FILE), strict=True)
  model.eval()
  x = images.astype(np.float32) / 255  # as torchvision.transforms.ToTensor, then Normalize:
  x = (x - np.asarray(spec['normalize']['mean'], np.float32)) / np.asarray(
      spec['normalize']['std'], np.float32)
  with torch.no_grad():
    torch_features = model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
  assert torch_features.shape == jax_features.shape == (4, spec['feature_dim'])
  error = np.abs(torch_features - jax_features).max() / np.abs(jax_features).max()
  assert error < TORCH_RTOL, f'{name} {stem}: max relative difference {error:.2e}'
  # The round trip jax -> torch layout -> jax is exact.
  from safetensors.numpy import load_file as load_numpy  # pylint: disable=import-outside-toplevel
  back = from_torch(spec, load_numpy(out / WEIGHTS_FILE))
  flat = flatten(variables)
  assert sorted(back) == sorted(flat)
  for key, value in flat.items():
    np.testing.assert_array_equal(back[key], value, err_msg=key)


# -- Bad input -------------------------------------------------------------------------------------

def test_export_of_a_workdir_without_checkpoint_says_so(tmp_path, capsys):
  with pytest.raises(FileNotFoundError, match='No checkpoint in .*jaxssl pretrain --workdir'):
    export(tmp_path, tmp_path / 'out')
  with pytest.raises(FileNotFoundError, match='neither encoder.json'):
    jaxssl.load_encoder(tmp_path)
  assert cli_main(['export', '--workdir', str(tmp_path), '--out', str(tmp_path / 'out')]) == 2
  assert 'jaxssl export: error: No checkpoint' in capsys.readouterr().err
  assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing created


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(run, tmp_path, caplog):
  workdir = shutil.copytree(run[0], tmp_path / 'run')
  steps = sorted(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit())
  assert steps == [2, 4]
  for path in (workdir / 'checkpoints' / '4' / 'state').rglob('*'):  # truncate its data files
    if path.is_file() and path.stat().st_size > 0:
      path.write_bytes(path.read_bytes()[:path.stat().st_size // 3])
  with caplog.at_level(logging.WARNING):
    encoder = jaxssl.load_encoder(export(workdir, tmp_path / 'out'))
  assert 'Checkpoint at step 4 of' in caplog.text and 'trying the previous one' in caplog.text
  assert encoder.spec['step'] == 2
  assert (workdir / 'checkpoints' / '4').exists()  # an export leaves the workdir as it was


def test_torch_export_without_a_torchvision_counterpart_refuses(run, tmp_path):
  with pytest.raises(NoTorchCounterpartError, match="'convnet' has no torch counterpart"):
    export(run[0], tmp_path / 'torch', format='torch')
  assert not (tmp_path / 'torch').exists()
  spec = {'encoder': 'vit_s16', 'encoder_kwargs': {}}
  with pytest.raises(NoTorchCounterpartError, match='no torch counterpart.*GELU'):
    write_export(tmp_path / 'vit', spec, {}, format='torch')
  spec = {'encoder': 'resnet18', 'encoder_kwargs': {'padding': 'SAME'}}
  with pytest.raises(NoTorchCounterpartError, match="padding='SAME'"):
    write_export(tmp_path / 'same', spec, {}, format='torch')
  with pytest.raises(ConfigError, match='no EMA target'):
    export(run[0], tmp_path / 'target', which='target')


def test_an_export_of_another_format_version_is_refused(exported, tmp_path):
  old = shutil.copytree(exported, tmp_path / 'old')
  spec = json.loads((old / SPEC_FILE).read_text())
  (old / SPEC_FILE).write_text(json.dumps(dict(spec, format_version=0, jaxssl_version='0.0.1')))
  with pytest.raises(ExportFormatError, match='format version 0 .*jaxssl 0.0.1.*reads version 1'):
    jaxssl.load_encoder(old)


def test_a_truncated_file_is_refused(exported, tmp_path):
  for name, match in ((WEIGHTS_FILE, 'damaged: .* bytes'), (SPEC_FILE, 'not valid JSON')):
    copy = shutil.copytree(exported, tmp_path / name)
    payload = (copy / name).read_bytes()
    (copy / name).write_bytes(payload[:len(payload) // 2])
    with pytest.raises(ExportFormatError, match=match):
      jaxssl.load_encoder(copy)


# -- Input sizes -----------------------------------------------------------------------------------

def test_a_convolutional_export_takes_any_size_with_its_channels(exported):
  encoder = jaxssl.load_encoder(exported)
  assert encoder.spec['input_sizes'] == 'any' and encoder.spec['image_shape'] == [28, 28, 1]
  images = np.random.default_rng(0).integers(0, 256, (2, 40, 36, 1), dtype=np.uint8)
  assert encoder.apply(images).shape == (2, encoder.spec['feature_dim'])
  with pytest.raises(ValueError, match=r'takes images of shape \(N, H, W, 1\)'):
    encoder.apply(np.zeros((2, 28, 28, 3), np.uint8))


def test_a_vit_export_takes_its_trained_size_or_resampled_positions(tmp_path):
  """A small ViT (patch 8, 32 x 32 images: a 4 x 4 grid), exported, then loaded at 48 x 48 (6 x 6)
  with its position embeddings resampled: it runs; without `image_size` it names the fix; at the
  trained size the resampling changes nothing; a constant embedding stays constant."""
  from jaxssl.models.vit import resample_pos_embedding  # pylint: disable=import-outside-toplevel
  kwargs = {'patch_size': 8, 'hidden': 32, 'depth': 1, 'num_heads': 2, 'mlp_dim': 64}
  config = to_json_dict(load_config(None, ('model.encoder="vit_s16"',)))
  config['model']['encoder_kwargs'] = kwargs
  module = make_encoder('vit_s16', **kwargs)
  variables = {'params': {'encoder': module.init(jax.random.PRNGKey(0),
                                                 np.zeros((1, 32, 32, 3), np.float32))['params']},
               'batch_stats': {}}
  spec = spec_from_config(config, step=0, which='online', head=False, image_shape=[32, 32, 3])
  assert spec['input_sizes'] == 'image_shape' and spec['feature_dim'] == 32
  out = write_export(tmp_path / 'vit', spec, variables)
  images = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 3), dtype=np.uint8)
  with pytest.raises(ValueError, match=r'image_size=\(H, W\)'):
    jaxssl.load_encoder(out).apply(images)
  wide = jaxssl.load_encoder(out, image_size=(48, 48))
  assert wide.spec['image_shape'] == [48, 48, 3]
  assert wide.variables['params']['pos_embedding'].shape == (1, 1 + 36, 32)
  features = np.asarray(wide.apply(images))
  assert features.shape == (2, 32) and np.all(np.isfinite(features))
  same = jaxssl.load_encoder(out, image_size=(32, 32))
  np.testing.assert_allclose(same.variables['params']['pos_embedding'],
                             variables['params']['encoder']['pos_embedding'], rtol=1e-6, atol=1e-6)
  constant = np.full((1, 1 + 16, 4), 0.25, np.float32)
  np.testing.assert_allclose(resample_pos_embedding(constant, (6, 6)), 0.25, rtol=1e-6)
