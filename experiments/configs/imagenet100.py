"""ImageNet-100 (100 ImageNet classes, 224x224) with ResNet-18: `--config ...imagenet100.py:NAME`.

CorInfoMax as its official ImageNet-100 commands (Ozsoy et al. 2022, github.com/serdarozsoy/
corinfomax-ssl README; published linear top-1 80.48 with ResNet-18, 82.64 with ResNet-50):
ResNet-18 (ImageNet stem), batch 1024, 400 epochs, SGD lr 1.0 (0.25 per 256 images), momentum 0.9,
wd 1e-4, projector 4096-4096-128, α = 500, λ_R = λ_μ = 0.01, ε = 1e-8; `corinfomax_r50`: ResNet-50,
200 epochs, 5 warm-up epochs, otherwise the same. BYOL's 224x224 views (blur p 1.0 / 0.1, solarise
p 0 / 0.2). The other objectives keep their CIFAR recipes (configs/cifar10.py) on these views, 400
epochs. Use `--config.model.dtype=bfloat16` on a GPU/TPU.

Data: the ImageNet-100 class folders (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG), prepared once with
`jaxssl prepare image_folder --source-dir DIR --name imagenet100` (the original JPEG bytes, no
TensorFlow), streamed as configs/imagefolder.py does: 8 grain workers per host crop each view on
the host from the JPEG header and decode only what the crop needs; evaluation resizes to 256 and
takes the central 224.
"""
from pathlib import Path

from jaxssl.config import apply_overrides, load_config_module


def _cifar10():
  return load_config_module(Path(__file__).with_name('cifar10.py'))


def _imagefolder():
  return load_config_module(Path(__file__).with_name('imagefolder.py'))


_CORINFOMAX = ('batch_size=1024', 'optimizer.lr=0.25', 'objective.kwargs.alpha=500.0',
               'model.projector=(4096, 4096, 128)')
OBJECTIVES = tuple(_cifar10().OBJECTIVES) + ('corinfomax_r50',)
CHANGES = {
    'corinfomax': _CORINFOMAX,
    'corinfomax_r50': _CORINFOMAX + ('model.encoder="resnet50"', 'epochs=200.0',
                                     'optimizer.warmup_epochs=5.0'),
}


def get_config(objective: str = 'corinfomax'):
  if objective not in OBJECTIVES:
    raise ValueError(f'No ImageNet-100 config for {objective!r}; valid: {sorted(OBJECTIVES)}.')
  c = _cifar10().get_config('corinfomax' if objective == 'corinfomax_r50' else objective)
  c = _imagefolder().stream_images(c)  # grain workers, BYOL's 224x224 views, ImageNet stem
  c.dataset = 'imagenet100'
  c.num_classes = 100
  c.epochs = 400.0
  return apply_overrides(c, CHANGES.get(objective, ()))
