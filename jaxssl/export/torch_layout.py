"""The torchvision layout of an export (`--format torch`): jaxssl's ResNets <-> torchvision's keys.

`to_torch` turns the flat jax-format weights (`jaxssl.export.spec.flatten`) into torchvision's
`resnet18` / `resnet50` `state_dict` (conv kernels HWIO -> OIHW, BatchNorm's buffers), `from_torch`
is its inverse. The ConvNet and the ViTs have no torchvision counterpart: `check_torch` refuses
them (`NoTorchCounterpartError`).
"""
import numpy as np

from jaxssl.errors import ConfigError
from jaxssl.export.spec import ExportFormatError

# Flax block name, convs per block counting the shortcut's, blocks per stage.
TORCHVISION = {'resnet18': ('BasicBlock', 3, (2, 2, 2, 2)),
               'resnet50': ('Bottleneck', 4, (3, 4, 6, 3))}
_TORCH_KWARGS = {'stem': ('cifar', 'imagenet'), 'padding': ('symmetric',), 'width': (64,)}


class NoTorchCounterpartError(ConfigError):
  """`--format torch` of an encoder that torchvision does not define (or not with these kwargs)."""


def check_torch(spec: dict) -> tuple:
  name = spec['encoder']
  if name not in TORCHVISION:
    why = (" (jaxssl's ViT uses the tanh-approximate GELU and separate q/k/v projections, timm's "
           'the exact GELU and a fused qkv)' if name.startswith('vit') else '')
    raise NoTorchCounterpartError(
        f'Encoder {name!r} has no torch counterpart{why}: --format torch exports torchvision '
        f'{sorted(TORCHVISION)}. Export it with --format jax and load it with '
        '`jaxssl.load_encoder`.')
  for key, value in spec['encoder_kwargs'].items():
    if value not in _TORCH_KWARGS.get(key, ()):
      raise NoTorchCounterpartError(
          f'{name} with encoder_kwargs.{key}={value!r} has no torchvision counterpart (torch '
          f'export takes {_TORCH_KWARGS}; padding "SAME" shifts the stride-2 sampling grid by a '
          'pixel relative to torchvision). Export it with --format jax.')
  if spec.get('head'):
    raise NoTorchCounterpartError('--head exports the projector with --format jax only '
                                  '(torchvision has no projector).')
  return TORCHVISION[name]


def _torch_modules(spec: dict, has_downsample) -> list[tuple[str, str, str]]:
  """(kind, flax module path under the encoder, torchvision module name), in network order."""
  block, convs, stages = check_torch(spec)
  modules = [('conv', 'Conv_0', 'conv1'), ('bn', 'BatchNorm_0', 'bn1')]
  index = 0
  for stage, blocks in enumerate(stages):
    for j in range(blocks):
      flax_block, torch_block = f'{block}_{index}', f'layer{stage + 1}.{j}'
      for c in range(convs - 1):
        modules += [('conv', f'{flax_block}/Conv_{c}', f'{torch_block}.conv{c + 1}'),
                    ('bn', f'{flax_block}/BatchNorm_{c}', f'{torch_block}.bn{c + 1}')]
      if has_downsample(flax_block, torch_block, convs - 1):
        modules += [('conv', f'{flax_block}/Conv_{convs - 1}', f'{torch_block}.downsample.0'),
                    ('bn', f'{flax_block}/BatchNorm_{convs - 1}', f'{torch_block}.downsample.1')]
      index += 1
  return modules


_BN = (('params', 'scale', 'weight'), ('params', 'bias', 'bias'),
       ('batch_stats', 'mean', 'running_mean'), ('batch_stats', 'var', 'running_var'))


def _key_pairs(spec: dict, has_downsample):
  """(jax key, torch key, whether a conv kernel) of every array torchvision's ResNet holds."""
  for kind, path, name in _torch_modules(spec, has_downsample):
    if kind == 'conv':
      yield f'params/encoder/{path}/kernel', f'{name}.weight', True
    else:
      for collection, flax_name, torch_name in _BN:
        yield f'{collection}/encoder/{path}/{flax_name}', f'{name}.{torch_name}', False


def to_torch(spec: dict, flat: dict) -> dict:
  """A flat jax-format dict (see `flatten`) -> torchvision's `state_dict` (NumPy arrays)."""
  has = lambda fb, _, c: f'params/encoder/{fb}/Conv_{c}/kernel' in flat
  out = {}
  for jax_key, torch_key, kernel in _key_pairs(spec, has):  # kernels HWIO -> OIHW
    out[torch_key] = np.ascontiguousarray(flat[jax_key].transpose(3, 2, 0, 1) if kernel
                                          else flat[jax_key])
    if torch_key.endswith('.running_var'):  # torchvision's BatchNorm2d buffer (unused in eval)
      out[torch_key.replace('running_var', 'num_batches_tracked')] = np.zeros((), np.int64)
  return out


def from_torch(spec: dict, state_dict: dict) -> dict:
  """torchvision's `state_dict` -> the flat jax-format dict (the inverse of `to_torch`)."""
  has = lambda _, tb, __: f'{tb}.downsample.0.weight' in state_dict
  flat = {}
  try:
    for jax_key, torch_key, kernel in _key_pairs(spec, has):  # kernels OIHW -> HWIO
      value = state_dict[torch_key]
      flat[jax_key] = np.ascontiguousarray(value.transpose(2, 3, 1, 0) if kernel else value)
  except KeyError as error:
    raise ExportFormatError(f'The torch state_dict lacks {error} for {spec["encoder"]}: not an '
                            'export of this encoder.') from None
  return flat
