"""jaxssl: self-supervised learning through the lens of information theory, in JAX.

Two libraries of pure functions -- `jaxssl.objectives` (SSL losses) and `jaxssl.estimators`
(mutual-information and entropy estimators, all in nats) -- and a thin engine (`jaxssl.train`) that
trains Flax encoders (`jaxssl.models`) with them on one CPU, one GPU or a TPU pod.
"""

__version__ = "0.1.0"

__all__ = ['load_encoder']


def __getattr__(name):
  """`jaxssl.load_encoder`, imported on first use (`import jaxssl` stays light)."""
  if name == 'load_encoder':
    from jaxssl.export.loader import load_encoder  # pylint: disable=import-outside-toplevel
    return load_encoder
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
