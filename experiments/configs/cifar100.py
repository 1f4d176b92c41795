"""CIFAR-100 with ResNet-18 (CIFAR stem) at the published settings: `--config ...cifar100.py:NAME`.

Needs the CIFAR-100 python pickles: `jaxssl prepare cifar100_pickle --source-dir DIR` (the folder
holding cifar-100-python/ or cifar-100-python.tar.gz). The CIFAR-10 recipes (configs/cifar10.py:
batch 512, 1000 epochs, 10 warm-up epochs, solo-learn's recipes for the other methods) with 100
classes; CorInfoMax as its official CIFAR-100 command (Ozsoy et al. 2022, github.com/serdarozsoy/
corinfomax-ssl README): α = 1000, projector 4096-4096-128, λ_R = λ_μ = 0.01, ε = 1e-8, SGD lr 0.5 at
batch 512, wd 1e-4. Published linear top-1: CorInfoMax 71.61 (REFERENCES.md; solo-learn for the rest).
"""
from pathlib import Path

from jaxssl.config import apply_overrides, load_config_module


def _cifar10():
  return load_config_module(Path(__file__).with_name('cifar10.py'))


OBJECTIVES = tuple(_cifar10().OBJECTIVES)
CHANGES = {
    'corinfomax': ('objective.kwargs.alpha=1000.0', 'model.projector=(4096, 4096, 128)'),
}


def get_config(objective: str = 'corinfomax'):
  if objective not in OBJECTIVES:
    raise ValueError(f'No CIFAR-100 config for {objective!r}; valid: {sorted(OBJECTIVES)}.')
  c = _cifar10().get_config(objective)
  c.dataset = 'cifar100_pickle'
  c.num_classes = 100
  return apply_overrides(c, CHANGES.get(objective, ()))
