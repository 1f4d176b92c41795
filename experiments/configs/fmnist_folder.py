"""The demo (VICReg, small ConvNet) on Fashion-MNIST as an image folder of 64x64 PNGs.

`python experiments/fmnist_image_folder.py` writes the folder and runs this config twice, streamed
(`input_pipeline='grain'`: the PNGs decoded and cropped on the host) and in memory (the same
images decoded once into device memory, cropped on the device). Both crop views of 32x32 from the
64x64 images with the Fashion-MNIST crop range (scale 0.3-1); evaluation sees the whole 64x64
image (eval.resize = eval.crop = 64 in the stream; the in-memory path feeds the image as it is).
"""
import ml_collections

from jaxssl import augment
from jaxssl.config import apply_overrides
from jaxssl.default_config import get_config as _default


def _view(preset: str) -> dict:
  view = augment.get_preset(preset)
  view['crop']['out_size'] = (32, 32)
  return view


def get_config(pipeline: str = 'grain'):
  if pipeline not in ('grain', 'memory'):
    raise ValueError(f"pipeline must be 'grain' or 'memory', got {pipeline!r}.")
  c = apply_overrides(_default(), (
      'dataset="fmnist64_folder"', 'test_split="validation"', f'input_pipeline="{pipeline}"',
      'data_workers=1', 'eval.resize=64', 'eval.crop=64', 'eval.batch_size=500'))
  c.augment = ml_collections.ConfigDict({'view1': _view('fmnist_view1'),
                                         'view2': _view('fmnist_view2')})
  return c
