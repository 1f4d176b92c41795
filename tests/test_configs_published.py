"""The shipped CIFAR / Tiny-ImageNet / ImageNet-100 configs build, with the published settings.

CorInfoMax values: REFERENCES.md (CIFAR-10) and the official commands of Ozsoy et al. 2022
(github.com/serdarozsoy/corinfomax-ssl, README); `optimizer.lr` is per 256 images (the engine
scales it by batch_size / 256), so lr 0.5 at batch 512 is 0.25 here.
"""
from pathlib import Path

import pytest

from jaxssl import objectives
from jaxssl.config import load_config_file
from jaxssl.models import build_model

CONFIGS = Path(__file__).resolve().parents[1] / 'experiments' / 'configs'
FILES = ('cifar10', 'cifar100', 'tiny_imagenet', 'imagenet100')


def _names(stem):
  import importlib.util  # pylint: disable=import-outside-toplevel
  spec = importlib.util.spec_from_file_location(f'cfg_{stem}', CONFIGS / f'{stem}.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return tuple(module.OBJECTIVES)


@pytest.mark.parametrize('stem', FILES)
def test_every_objective_builds(stem):
  names = _names(stem)
  assert {'corinfomax', 'vicreg', 'barlow_twins', 'nt_xent', 'byol'} <= set(names)
  for name in names:
    c = load_config_file(f'{CONFIGS / stem}.py:{name}')
    assert c.objective.name in objectives.names(), (stem, name)
    build_model(c.model)  # the encoder accepts its kwargs, the heads their widths
  with pytest.raises(ValueError, match='valid'):
    load_config_file(f'{CONFIGS / stem}.py:no_such_objective')


# (file:name) -> published fields: dataset, classes, encoder, batch, epochs, lr per 256,
# projector, α, λ_R, λ_μ, ε.
PUBLISHED = {
    'cifar10:corinfomax': ('cifar10_pickle', 10, 'resnet18', 512, 1000, 0.25, (2048, 2048, 64),
                           250.0, 0.01, 0.01, 1e-8),
    'cifar100:corinfomax': ('cifar100_pickle', 100, 'resnet18', 512, 1000, 0.25,
                            (4096, 4096, 128), 1000.0, 0.01, 0.01, 1e-8),
    'tiny_imagenet:corinfomax': ('tiny_imagenet', 200, 'resnet50', 1024, 800, 0.125,
                                 (4096, 4096, 128), 500.0, 0.1, 0.1, 1e-8),
    'imagenet100:corinfomax': ('imagenet100', 100, 'resnet18', 1024, 400, 0.25,
                               (4096, 4096, 128), 500.0, 0.01, 0.01, 1e-8),
    'imagenet100:corinfomax_r50': ('imagenet100', 100, 'resnet50', 1024, 200, 0.25,
                                   (4096, 4096, 128), 500.0, 0.01, 0.01, 1e-8),
}


@pytest.mark.parametrize('key', sorted(PUBLISHED))
def test_corinfomax_published_hyperparameters(key):
  stem, name = key.split(':')
  c = load_config_file(f'{CONFIGS / stem}.py:{name}')
  dataset, classes, encoder, batch, epochs, lr, projector, alpha, la_r, la_mu, eps = PUBLISHED[key]
  assert (c.dataset, c.num_classes, c.model.encoder) == (dataset, classes, encoder)
  assert (c.batch_size, c.epochs) == (batch, epochs)
  assert c.optimizer.lr * c.batch_size / 256 == pytest.approx(lr * batch / 256, rel=1e-12)
  assert (c.optimizer.name, c.optimizer.momentum, c.optimizer.weight_decay) == ('sgd', 0.9, 1e-4)
  assert tuple(c.model.projector) == projector
  kwargs = dict(c.objective.kwargs)
  assert kwargs.get('alpha', 250.0) == alpha  # 250 is the objective's default
  assert kwargs.get('la_R', 0.01) == la_r and kwargs.get('la_mu', 0.01) == la_mu
  assert kwargs.get('eps', 1e-8) == eps
  # CorInfoMax's asymmetric augmentation: blur p 1.0 / 0.1, solarise p 0 / 0.2.
  views = [c.augment.view1, c.augment.view2]
  from jaxssl.augment import view_config  # pylint: disable=import-outside-toplevel
  views = [view_config(v) for v in views]
  assert [v['blur']['p'] for v in views] == [1.0, 0.1]
  assert [v['solarize']['p'] for v in views] == [0.0, 0.2]


@pytest.mark.parametrize('stem', FILES)
def test_solo_learn_recipes_carry_over(stem):
  """VICReg λ = μ = 25, ν = 1 (objective defaults), Barlow λ = 0.0051, SimCLR τ = 0.2, LARS."""
  barlow = load_config_file(f'{CONFIGS / stem}.py:barlow_twins')
  assert barlow.objective.kwargs.lambd == 0.0051
  simclr = load_config_file(f'{CONFIGS / stem}.py:nt_xent')
  assert simclr.objective.kwargs.temperature == 0.2
  vicreg = load_config_file(f'{CONFIGS / stem}.py:vicreg')
  assert vicreg.optimizer.name == 'lars' and tuple(vicreg.model.projector) == (2048, 2048, 2048)
