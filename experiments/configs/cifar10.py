"""CIFAR-10 with ResNet-18 (CIFAR stem) at the published settings: `--config ...cifar10.py:NAME`.

Needs the CIFAR-10 python pickles: `jaxssl prepare cifar10_pickle --source-dir DIR` (the folder
holding cifar-10-batches-py/ or cifar-10-python.tar.gz). Batch 512, 1000 epochs, 10 warm-up epochs,
cosine; CorInfoMax exactly as Ozsoy et al. 2022 (SGD lr 0.5, momentum 0.9, wd 1e-4, projector
2048-2048-64, α = 250, λ_R = λ_μ = 0.01, ε = 1e-8, blur p 1.0 / 0.1, solarise p 0 / 0.2); the others
as solo-learn's CIFAR recipes (LARS, projector 2048-2048-2048 for VICReg / Barlow Twins).
Use `--config.model.dtype=bfloat16` on a GPU/TPU.
"""
import ml_collections

from jaxssl import augment
from jaxssl.config import apply_overrides
from jaxssl.default_config import get_config as _default

def _view(preset: str, blur: float) -> dict:
  """solo-learn's CIFAR view (`jaxssl.augment` preset) with CorInfoMax's blur probability."""
  return dict(augment.get_preset(preset), blur=dict(p=blur, sigma=(0.1, 2.0)))

_LARS = ('optimizer.name="lars"', 'optimizer.lr=0.3', 'optimizer.weight_decay=1e-4')

OBJECTIVES = {
    'corinfomax': ('objective.name="corinfomax"', 'model.projector=(2048, 2048, 64)',
                   'optimizer.name="sgd"', 'optimizer.lr=0.25', 'optimizer.weight_decay=1e-4'),
    'vicreg': _LARS + ('model.projector=(2048, 2048, 2048)',),
    'vicreg_entropy': _LARS + ('objective.name="vicreg_entropy"',
                               'model.projector=(2048, 2048, 2048)'),
    'vicreg_logdet': _LARS + ('objective.name="vicreg_logdet"', 'model.projector=(2048, 2048, 2048)'),
    'vicreg_pairwise_kl': _LARS + ('objective.name="vicreg_pairwise_kl"',
                                   'model.projector=(2048, 2048, 2048)'),
    'vicreg_pairwise_bd': _LARS + ('objective.name="vicreg_pairwise_bd"',
                                   'model.projector=(2048, 2048, 2048)'),
    'barlow_twins': _LARS + ('objective.name="barlow_twins"', 'model.projector=(2048, 2048, 2048)',
                             'objective.kwargs.lambd=0.0051'),
    'nt_xent': _LARS + ('objective.name="nt_xent"', 'model.projector=(2048, 256)',
                        'objective.kwargs.temperature=0.2'),
    'byol': _LARS + ('objective.name="byol"', 'model.projector=(4096, 256)',
                     'model.predictor=(4096, 256)', 'ema_base=0.99'),
    'simsiam': ('objective.name="simsiam"', 'model.projector=(2048, 2048)',
                'model.predictor=(512, 2048)', 'optimizer.name="sgd"', 'optimizer.lr=0.5'),
    'moco_v3': _LARS + ('objective.name="moco_v3"', 'model.projector=(4096, 256)',
                        'model.predictor=(4096, 256)', 'ema_base=0.99'),
    'w_mse': ('objective.name="w_mse"', 'model.projector=(1024, 64)', 'optimizer.name="adamw"',
              'optimizer.lr=2e-3', 'optimizer.weight_decay=1e-6'),
    'spectral_contrastive': _LARS + ('objective.name="spectral_contrastive"',
                                     'model.projector=(2048, 2048, 2048)'),
    # Barber–Agakov with a 32x32x3 ImageDecoder on z (no published CIFAR recipe: AdamW as W-MSE).
    'reconstruction': ('objective.name="reconstruction"', 'model.projector=(2048, 512)',
                       'model.decoder="image"', 'model.decoder_kwargs.channels=3',
                       'model.decoder_kwargs.size=32', 'optimizer.name="adamw"', 'optimizer.lr=2e-3',
                       'optimizer.weight_decay=1e-6'),
}


def get_config(objective: str = 'corinfomax'):
  if objective not in OBJECTIVES:
    raise ValueError(f'No CIFAR-10 config for {objective!r}; valid: {sorted(OBJECTIVES)}.')
  c = _default()
  c.dataset = 'cifar10_pickle'
  c.model.encoder = 'resnet18'
  c.model.encoder_kwargs = ml_collections.ConfigDict({'stem': 'cifar'})  # not the ConvNet's kwargs
  c.batch_size = 512
  c.epochs = 1000.0
  c.optimizer.warmup_epochs = 10.0
  c.augment = ml_collections.ConfigDict({'view1': _view('cifar_view1', blur=1.0),
                                         'view2': _view('cifar_view2', blur=0.1)})
  c.eval.batch_size = 1024
  return apply_overrides(c, OBJECTIVES[objective])
