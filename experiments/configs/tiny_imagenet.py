"""Tiny-ImageNet (200 classes, 64x64) with ResNet-50: `--config ...tiny_imagenet.py:NAME`.

CorInfoMax as its official Tiny-ImageNet command (Ozsoy et al. 2022, github.com/serdarozsoy/
corinfomax-ssl README; published linear top-1 54.86 with ResNet-50): batch 1024, 800 epochs, 10
warm-up epochs + cosine, SGD lr 0.5 (0.125 per 256 images), momentum 0.9, wd 1e-4, projector
4096-4096-128, α = 500, λ_R = λ_μ = 0.1, ε = 1e-8. The other objectives keep their CIFAR recipes
(configs/cifar10.py) at 64x64 with 800 epochs: no published Tiny-ImageNet numbers to match.
ResNet-50 with the CIFAR stem (3x3 stride-1 conv, no max-pool), the usual choice at 64x64 (the
reference code's stem was not checked here).

Data: the Tiny-ImageNet class folders (train/<wnid>/images/*.JPEG flattened to train/<wnid>/*.JPEG,
and val/ sorted into val/<wnid>/ by val_annotations.txt), prepared once with
`jaxssl prepare image_folder --source-dir DIR --name tiny_imagenet`, streamed as
configs/imagefolder.py does (the 64x64 crops cut on the host; evaluation sees the whole 64x64 image).
"""
from pathlib import Path

import ml_collections

from jaxssl import augment
from jaxssl.config import apply_overrides, load_config_module


def _cifar10():
  return load_config_module(Path(__file__).with_name('cifar10.py'))


def _imagefolder():
  return load_config_module(Path(__file__).with_name('imagefolder.py'))


OBJECTIVES = tuple(_cifar10().OBJECTIVES)
CHANGES = {
    'corinfomax': ('batch_size=1024', 'optimizer.lr=0.125', 'objective.kwargs.alpha=500.0',
                   'objective.kwargs.la_R=0.1', 'objective.kwargs.la_mu=0.1',
                   'model.projector=(4096, 4096, 128)'),
}


def _view(preset: str, blur: float) -> dict:
  """The CIFAR view at 64x64 with ImageNet statistics and CorInfoMax's blur probability."""
  view = augment.get_preset(preset)
  view['crop']['out_size'] = (64, 64)
  view['normalize'] = dict(mean=augment.IMAGENET_MEAN, std=augment.IMAGENET_STD)
  return dict(view, blur=dict(p=blur, sigma=(0.1, 2.0)))


def get_config(objective: str = 'corinfomax'):
  if objective not in OBJECTIVES:
    raise ValueError(f'No Tiny-ImageNet config for {objective!r}; valid: {sorted(OBJECTIVES)}.')
  c = _cifar10().get_config(objective)
  c.dataset = 'tiny_imagenet'
  c.num_classes = 200
  c.test_split = 'validation'
  c.model.encoder = 'resnet50'
  c = _imagefolder().stream_images(c, views=(_view('cifar_view1', blur=1.0),
                                             _view('cifar_view2', blur=0.1)))
  c.model.encoder_kwargs = ml_collections.ConfigDict({'stem': 'cifar'})
  c.epochs = 800.0
  c.eval.resize, c.eval.crop = 64, 64  # the whole image
  return apply_overrides(c, CHANGES.get(objective, ()))
