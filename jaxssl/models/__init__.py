"""Flax encoders and heads, picked by name from a config."""
from functools import partial
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models.convnet import ConvNet
from jaxssl.models.decoder import ImageDecoder, MLPDecoder
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

DECODERS = {'image': ImageDecoder, 'mlp': MLPDecoder}

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
  """Encoder -> projector -> (optional) predictor or decoder. Returns (features h, embeddings z, p).

  `p` is the predictor's output (BYOL, SimSiam, MoCo v3), or with a decoder the reconstruction
  x̂ = decoder(z) (or decoder(h) when `decode_from='h'`), the mean of the Gaussian decoder of the
  'reconstruction' objectives; None without either. Parameters stay float32; `dtype` of the parts
  sets compute.
  """
  encoder: nn.Module
  projector: nn.Module
  predictor: Optional[nn.Module] = None
  decoder: Optional[nn.Module] = None
  decode_from: str = 'z'

  def __call__(self, x, train: bool = True):
    if self.predictor is not None and self.decoder is not None:
      raise ValueError('SSLModel takes a predictor or a decoder, not both.')
    if self.decode_from not in ('z', 'h'):
      raise ValueError(f"SSLModel decode_from must be 'z' or 'h', got {self.decode_from!r}.")
    h = self.encoder(x, train=train)
    z = self.projector(h, train=train).astype(jnp.float32)
    p = None
    if self.predictor is not None:
      p = self.predictor(z, train=train).astype(jnp.float32)
    elif self.decoder is not None:
      p = self.decoder(z if self.decode_from == 'z' else h).astype(jnp.float32)
    return h.astype(jnp.float32), z, p


def make_decoder(name: str, *, dtype: str = 'float32', **kwargs) -> nn.Module:
  """Decoder by name: 'image' (`ImageDecoder`, 28x28 or any multiple of 4) or 'mlp' (`MLPDecoder`)."""
  if name not in DECODERS:
    raise ValueError(f'Unknown decoder {name!r}; valid decoders: {sorted(DECODERS)}.')
  return DECODERS[name](dtype=get_dtype(dtype), **kwargs)


def build_model(model_config: Any) -> SSLModel:
  """SSLModel from a config with fields encoder, encoder_kwargs, dtype, projector, predictor, ...

  `decoder` ('' for none, 'image' or 'mlp'), `decoder_kwargs` and `decode_from` ('z' or 'h') add
  the decoder of the reconstruction objectives.
  """
  dtype = get_dtype(model_config.dtype)
  encoder = make_encoder(model_config.encoder, dtype=model_config.dtype,
                         **dict(model_config.get('encoder_kwargs', {})))
  projector = MLPHead(tuple(model_config.projector), last_bn=model_config.get('projector_last_bn', False),
                      dtype=dtype)
  predictor = None
  if model_config.get('predictor'):
    predictor = MLPHead(tuple(model_config.predictor), dtype=dtype)
  decoder = None
  if model_config.get('decoder'):
    if predictor is not None:
      raise ValueError('The model takes a predictor or a decoder, not both: set model.predictor=() '
                       "or model.decoder=''.")
    decoder = make_decoder(model_config.decoder, dtype=model_config.dtype,
                           **dict(model_config.get('decoder_kwargs', {})))
  return SSLModel(encoder, projector, predictor, decoder, model_config.get('decode_from', 'z'))


__all__ = ['ConvNet', 'ImageDecoder', 'MLPDecoder', 'MLPHead', 'ResNet', 'ResNet18', 'ResNet50',
           'ViT', 'SSLModel', 'ENCODERS', 'DECODERS', 'make_encoder', 'make_decoder', 'build_model',
           'get_dtype']
