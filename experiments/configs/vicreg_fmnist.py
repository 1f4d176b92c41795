"""VICReg on Fashion-MNIST with the small ConvNet: the demo config (the package's embedded default)."""
from jaxssl.default_config import get_config as _default


def get_config():
  return _default()
