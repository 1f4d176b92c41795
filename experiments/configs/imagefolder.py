"""Any image folder or TFDS encoded-image data set at 224x224: `--config ...imagefolder.py:ARCH`.

  jaxssl prepare image_folder --source-dir /data/my_images --name my_images   # train/, val/
  jaxssl pretrain --config experiments/configs/imagefolder.py:resnet50 --workdir runs/r50 \\
      --config.dataset=my_images --config.num_classes=100

ARCH is resnet18 or resnet50 (ImageNet stem). BYOL (Grill et al. 2020) with its ImageNet recipe as
solo-learn runs it: LARS, projector 4096-256, predictor 4096-256, EMA base 0.99, batch 1024 (lr 0.3
per 256 images here as in configs/cifar10.py), 10 warm-up epochs, BYOL's asymmetric 224x224 views.
Also reads TFDS's own encoded-image data sets prepared as array_record (`--config.dataset=
imagenet2012`, `imagenette`: `tfds build NAME --file_format=array_record` on a machine with TF).

Input: streamed (`input_pipeline='grain'`), 8 decoding worker processes per host: each view's
RandomResizedCrop box is drawn from the JPEG header and only what it needs is decoded on the host
(`jaxssl.data.images`); flip, colour jitter, grey, blur and solarise run on the device. Evaluation:
shorter side resized to 256, central 224 crop (`eval.resize` / `eval.crop`). Use
`--config.model.dtype=bfloat16` on a GPU/TPU; `--config.data_workers` to match the host's cores
(docs/performance.md: one core gives ~305 images/s of two-view 224² input).
"""
import ml_collections

from jaxssl.config import apply_overrides
from jaxssl.default_config import get_config as _default

ARCHS = ('resnet18', 'resnet50')


def stream_images(c: ml_collections.ConfigDict, *, views=('byol_view1', 'byol_view2'),
                  workers: int = 8) -> ml_collections.ConfigDict:
  """Switches config `c` to a streamed image-folder data set: grain workers crop on the host."""
  c.input_pipeline = 'grain'
  c.data_workers = workers
  c.test_split = 'validation'  # `jaxssl prepare image_folder` names val/ so, as TFDS does
  c.model.encoder_kwargs = ml_collections.ConfigDict({'stem': 'imagenet'})
  c.augment = ml_collections.ConfigDict({'view1': views[0], 'view2': views[1]})
  c.eval.batch_size = 512
  return c


def get_config(arch: str = 'resnet18'):
  if arch not in ARCHS:
    raise ValueError(f'No image-folder config for {arch!r}; valid: {list(ARCHS)}.')
  c = stream_images(_default())
  c.dataset = 'my_images'  # set --config.dataset (and num_classes) to yours
  c.num_classes = 1000
  return apply_overrides(c, (
      f'model.encoder="{arch}"', 'objective.name="byol"', 'model.projector=(4096, 256)',
      'model.predictor=(4096, 256)', 'ema_base=0.99', 'optimizer.name="lars"',
      'optimizer.lr=0.3', 'optimizer.weight_decay=1e-6', 'batch_size=1024', 'epochs=100.0',
      'optimizer.warmup_epochs=10.0'))
