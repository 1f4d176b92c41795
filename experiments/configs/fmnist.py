"""Every objective on Fashion-MNIST with the small ConvNet: `--config experiments/configs/fmnist.py:NAME`.

One line per objective: the fields that differ from the embedded default (VICReg, AdamW, batch 256,
512-512 projector, the asymmetric fmnist_view1/2 augmentations). Hyper-parameters are the published
ones where the paper gives them; the rest were chosen for this small model, not tuned per method.
"""
from jaxssl.config import apply_overrides
from jaxssl.default_config import get_config as _default

OBJECTIVES = {
    'vicreg': (),
    'vicreg_entropy': ('objective.name="vicreg_entropy"',),  # = vicreg_logdet at its defaults
    'vicreg_logdet': ('objective.name="vicreg_logdet"',),
    'vicreg_pairwise_kl': ('objective.name="vicreg_pairwise_kl"',),
    'vicreg_pairwise_bd': ('objective.name="vicreg_pairwise_bd"',),
    'corinfomax': ('objective.name="corinfomax"', 'model.projector=(512, 64)'),
    'barlow_twins': ('objective.name="barlow_twins"',),
    'nt_xent': ('objective.name="nt_xent"', 'objective.kwargs.temperature=0.5'),
    'spectral_contrastive': ('objective.name="spectral_contrastive"',),
    'w_mse': ('objective.name="w_mse"', 'model.projector=(512, 64)'),
    'byol': ('objective.name="byol"', 'model.predictor=(512, 512)'),
    'simsiam': ('objective.name="simsiam"', 'model.predictor=(128, 512)'),
    'moco_v3': ('objective.name="moco_v3"', 'model.predictor=(512, 512)'),
    # Barber–Agakov: x̂ = ImageDecoder(z) of each augmented view against the clean image, σ = 1.
    'reconstruction': ('objective.name="reconstruction"', 'model.decoder="image"'),
    'tico': ('objective.name="tico"',),  # β = 0.9, ρ = 8 (the paper's), C from 0
    # τ = 0.5 as nt_xent here and the DCL reference code's CIFAR runs (the loss default is 0.1).
    'dcl': ('objective.name="dcl"', 'objective.kwargs.temperature=0.5'),
    'dclw': ('objective.name="dclw"', 'objective.kwargs.temperature=0.5'),
    'alignment_uniformity': ('objective.name="alignment_uniformity"',),  # t = 2, α = 2, λ = 1
    # The multi-view objectives below see the engine's two views; their papers use more (LeJEPA:
    # local crops besides two global views; EMP-SSL: 20-200 patches; MMCR, FroSSL: more views).
    'lejepa': ('objective.name="lejepa"',),  # λ = 0.05, 1024 directions (the paper's)
    'mmcr': ('objective.name="mmcr"',),  # λ = 5e-3 (lightly's; the paper's main runs: 0)
    'emp_ssl': ('objective.name="emp_ssl"',),  # ε² = 0.2, λ_inv = 200 (the paper's)
    'frossl': ('objective.name="frossl"',),  # invariance weight 1 (the paper's)
}


def get_config(objective: str = 'vicreg'):
  if objective not in OBJECTIVES:
    raise ValueError(f'No Fashion-MNIST config for {objective!r}; valid: {sorted(OBJECTIVES)}.')
  return apply_overrides(_default(), OBJECTIVES[objective])
