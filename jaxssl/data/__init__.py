"""Data: TF-free TFDS builders, sources, in-memory and streaming batching, host->device sharding.

Small data sets (Fashion-MNIST, CIFAR) go to device memory whole (`load_arrays`, then
`epoch_permutation` indices gathered inside jit); large ones stream through `make_loader` (grain),
each process reading its shard; `global_batch` assembles the processes' batches on a mesh. Image
trees are prepared by `prepare('image_folder', ...)` (`image_folder`), encoded images are cropped and
decoded on the host (`images`), and `input_pipeline` assembles all of it from a config.
"""
from jaxssl.data.builders import Cifar100Pickle
from jaxssl.data.builders import Cifar10Pickle
from jaxssl.data.builders import FashionMnistIdx
from jaxssl.data.builders import LOCAL_BUILDERS
from jaxssl.data.builders import SourceFilesMissingError
from jaxssl.data.builders import SourceFormatError
from jaxssl.data.idx import IdxFormatError
from jaxssl.data.idx import read_idx
from jaxssl.data.in_memory import epoch_permutation
from jaxssl.data.loader import make_loader
from jaxssl.data.safe_pickle import UnsafePickleError
from jaxssl.data.safe_pickle import safe_load
from jaxssl.data.safe_pickle import safe_loads
from jaxssl.parallel.batches import global_batch
from jaxssl.parallel.batches import replicate
from jaxssl.data.sources import DatasetNotPreparedError
from jaxssl.data.sources import default_data_dir
from jaxssl.data.sources import has_encoded_images
from jaxssl.data.sources import load_arrays
from jaxssl.data.sources import load_source
from jaxssl.data.sources import prepare
from jaxssl.data.sources import prepare_command

__all__ = [
    "Cifar100Pickle", "Cifar10Pickle", "DatasetNotPreparedError", "FashionMnistIdx",
    "IdxFormatError", "LOCAL_BUILDERS", "SourceFilesMissingError", "SourceFormatError",
    "UnsafePickleError", "default_data_dir", "has_encoded_images", "epoch_permutation", "global_batch", "load_arrays",
    "load_source", "make_loader", "prepare", "prepare_command", "read_idx", "replicate",
    "safe_load", "safe_loads",
]
