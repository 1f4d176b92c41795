"""Flax encoders and heads, picked by name from a config."""
from functools import partial
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models.convnet import ConvNet
from jaxssl.models.heads import MLPHead
from jaxssl.models.resnet import ResNet, ResNet18, ResNet50
from jaxssl.models.vit import ViT

ENCODERS = {
    'convnet': ConvNet,
    'resnet18': ResNet18,
    'resnet50': ResNet50,
    'vit_s16': ViT,
    'vit_b16': partial(ViT, hidden=768, num_heads=12, mlp_dim=3072),
}

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16, 'float16': jnp.float16}


def get_dtype(name: str):
  if name not in DTYPES:
    raise ValueError(f'Unknown dtype {name!r}; valid: {sorted(DTYPES)}.')
  return DTYPES[name]


def make_encoder(name: str, *, dtype: str = 'float32', **kwargs) -> nn.Module:
  """Encoder by name (`convnet`, `resnet18`, `resnet50`, `vit_s16`, `vit_b16`)."""
  if name not in ENCODERS:
    raise ValueError(f'Unknown encoder {name!r}; valid encoders: {sorted(ENCODERS)}.')
  return ENCODERS[name](dtype=get_dtype(dtype), **kwargs)


class SSLModel(nn.Module):
  """Encoder -> projector -> (optional) predictor. Returns (features h, embeddings z, predictions p).

  `p` is None without a predictor. Parameters stay float32; `dtype` of the parts sets compute.
  """
  encoder: nn.Module
  projector: nn.Module
  predictor: Optional[nn.Module] = None

  def __call__(self, x, train: bool = True):
    h = self.encoder(x, train=train)
    z = self.projector(h, train=train).astype(jnp.float32)
    p = None if self.predictor is None else self.predictor(z, train=train).astype(jnp.float32)
    return h.astype(jnp.float32), z, p


def build_model(model_config: Any) -> SSLModel:
  """SSLModel from a config with fields encoder, encoder_kwargs, dtype, projector, predictor, ..."""
  dtype = get_dtype(model_config.dtype)
  encoder = make_encoder(model_config.encoder, dtype=model_config.dtype,
                         **dict(model_config.get('encoder_kwargs', {})))
  projector = MLPHead(tuple(model_config.projector), last_bn=model_config.get('projector_last_bn', False),
                      dtype=dtype)
  predictor = None
  if model_config.get('predictor'):
    predictor = MLPHead(tuple(model_config.predictor), dtype=dtype)
  return SSLModel(encoder, projector, predictor)


__all__ = ['ConvNet', 'MLPHead', 'ResNet', 'ResNet18', 'ResNet50', 'ViT', 'SSLModel', 'ENCODERS',
           'make_encoder', 'build_model', 'get_dtype']
