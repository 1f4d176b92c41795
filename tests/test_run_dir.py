"""Saved run configs carry `run_format`; a ResNet run saved before the marker (format 1, trained
with Flax 'SAME' padding, the default then) is evaluated, exported and resumed with 'SAME', not
with today's 'symmetric' default, which computes other features from the same weights."""
import json
import logging

import jax
import numpy as np
import pytest

import jaxssl
from jaxssl import run_dir
from jaxssl.config import load_config
from jaxssl.run_dir import to_json_dict
from jaxssl.evaluate.run import load_run_config
from jaxssl.export import export
from jaxssl.models import make_encoder
from jaxssl.train import checkpoint as ckpt

ENCODER_KWARGS = {'stem': 'cifar', 'width': 8}  # a narrow ResNet-18: seconds to initialise


def old_resnet_config() -> dict:
  """A ResNet-18 run config as jaxssl wrote it before run_format: no marker, no padding key."""
  config = to_json_dict(load_config(None, ('model.encoder="resnet18"',)))
  config['model']['encoder_kwargs'] = dict(ENCODER_KWARGS)
  assert run_dir.KEY not in config
  return config


def test_upgrade_gives_format_1_resnets_the_padding_they_were_trained_with(caplog):
  old = old_resnet_config()
  with caplog.at_level(logging.WARNING, logger='jaxssl.run_dir'):
    new = run_dir.upgrade(old, where='runs/old')
  assert new['model']['encoder_kwargs'] == {**ENCODER_KWARGS, 'padding': 'SAME'}
  assert new[run_dir.KEY] == run_dir.RUN_FORMAT == 2
  assert 'runs/old predates run_format 2' in caplog.text and 'padding=SAME' in caplog.text
  assert 'padding' not in old['model']['encoder_kwargs']  # the input is not modified
  assert run_dir.upgrade(new) == new  # idempotent: a format-2 config is left as it is
  explicit = old_resnet_config()
  explicit['model']['encoder_kwargs']['padding'] = 'symmetric'
  assert run_dir.upgrade(explicit)['model']['encoder_kwargs']['padding'] == 'symmetric'
  convnet = to_json_dict(load_config(None, ()))
  assert run_dir.upgrade(convnet) == {**convnet, run_dir.KEY: 2}  # only ResNets changed
  current = run_dir.stamp(old_resnet_config())  # a format-2 ResNet: 'symmetric' by default
  assert 'padding' not in run_dir.upgrade(current)['model']['encoder_kwargs']
  with pytest.raises(run_dir.RunFormatError, match='run_format 3; this jaxssl reads up to 2'):
    run_dir.upgrade({**convnet, run_dir.KEY: 3})


@pytest.fixture(scope='module')
def old_run(tmp_path_factory):
  """A workdir of a format-1 ResNet run: config.json and a checkpoint, both without the marker;
  the weights are a 'SAME'-padded network's (random init, random BN scales)."""
  workdir = tmp_path_factory.mktemp('old_run')
  module = make_encoder('resnet18', padding='SAME', **ENCODER_KWARGS)
  variables = module.init(jax.random.PRNGKey(0), np.zeros((1, 16, 16, 1), np.float32),
                          train=False)
  # Every BN scale in [0.5, 1.5] (at init the blocks' last BN scale is 0, which hides the residual
  # branches and with them the stride-2 3x3 convolutions whose padding differs).
  rng = np.random.default_rng(0)
  variables = jax.tree_util.tree_map_with_path(
      lambda path, x: rng.uniform(0.5, 1.5, x.shape).astype(np.float32)
      if path[-1].key == 'scale' else np.asarray(x), variables)
  state = {part: {'encoder': variables[part]} for part in ('params', 'batch_stats')}
  config = old_resnet_config()
  (workdir / 'config.json').write_text(json.dumps(config))
  manager = ckpt.make_manager(workdir, async_save=False)
  ckpt.save(manager, 0, state, config)
  manager.close()
  return workdir, variables, state


def test_old_resnet_run_is_exported_and_evaluated_with_same_padding(old_run, tmp_path):
  workdir, variables, _ = old_run
  assert load_run_config(workdir).model.encoder_kwargs.padding == 'SAME'
  encoder = jaxssl.load_encoder(export(workdir, tmp_path / 'export', image_shape=(16, 16, 1)))
  assert encoder.spec['encoder_kwargs']['padding'] == 'SAME'
  images = np.random.default_rng(0).uniform(0, 1, (6, 16, 16, 1)).astype(np.float32)
  apply = lambda padding: np.asarray(make_encoder('resnet18', padding=padding, **ENCODER_KWARGS)
                                     .apply(variables, images, train=False))
  trained, symmetric = apply('SAME'), apply('symmetric')
  np.testing.assert_allclose(np.asarray(encoder.module.apply(encoder.variables, images,
                                                             train=False)), trained,
                             rtol=1e-6, atol=1e-6)
  # What the marker prevents: the same weights under the new default compute other features.
  assert np.abs(symmetric - trained).max() > 0.05 * np.abs(trained).max()


def test_resuming_an_old_resnet_run_names_the_padding(old_run):
  workdir, _, state = old_run
  manager = ckpt.make_manager(workdir, async_save=False)
  try:
    with pytest.raises(ckpt.CheckpointMismatchError,
                       match=r"encoder_kwargs.padding: checkpoint has 'SAME', this run has "
                             r"'<missing>'"):
      ckpt.restore_latest(manager, state, old_resnet_config())  # today's config: no padding key
    same = old_resnet_config()
    same['model']['encoder_kwargs']['padding'] = 'SAME'  # --config.model.encoder_kwargs.padding
    restored, step = ckpt.restore_latest(manager, state, same)
  finally:
    manager.close()
  assert step == 0
  for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
