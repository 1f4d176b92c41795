"""jaxssl: self-supervised learning through the lens of information theory, in JAX.

Two libraries of pure functions -- `jaxssl.objectives` (SSL losses) and `jaxssl.estimators`
(mutual-information and entropy estimators, all in nats) -- and a thin engine (`jaxssl.train`) that
trains Flax encoders (`jaxssl.models`) with them on one CPU, one GPU or a TPU pod.
"""

__version__ = "0.1.0"
