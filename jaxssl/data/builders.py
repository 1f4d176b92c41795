"""TensorFlow-free TFDS builders for the small image data sets, written as array_record.

Images are stored as raw `uint8` tensors (`tfds.features.Tensor`), because `tfds.features.Image`
needs TensorFlow to encode PNGs. The names differ from TFDS's own `fashion_mnist`/`cifar10`/
`cifar100` (which download and need TF), so both can be registered side by side.
"""
import inspect
import os
import tarfile

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from jaxssl.data import idx
from jaxssl.data import safe_pickle
from jaxssl.errors import JaxsslError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_APT = "sudo apt-get install dataset-fashion-mnist"
FASHION_MNIST_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


# Raw bytes, one protobuf field per image: decoded with `np.frombuffer` (no TF), ~8x faster to
# write and read than the default int64 list.
_BYTES = tfds.features.Encoding.BYTES


class SourceFilesMissingError(JaxsslError, FileNotFoundError):
  """The raw files a builder prepares a data set from are not where it looked."""


class SourceFormatError(JaxsslError, ValueError):
  """The raw files are present but do not hold what the builder expects."""


class _LocalBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base: a builder that reads local files from `source_dir` and writes array_record.

  Records keep the order of the source files (`disable_shuffling=True` in `_info`): record i of
  `train` is image i of the original files; loaders shuffle anyway.
  """

  def __init__(self, *, source_dir=None, file_format=None, **kwargs):
    super().__init__(file_format=file_format, **kwargs)
    if file_format is None and not self.is_prepared():
      # Write array_record by default; a prepared copy keeps the format it was written in.
      self.info.set_file_format("array_record", override=True)
    self.source_dir = None if source_dir is None else os.fspath(source_dir)

  # TFDS's own `code_path` needs the `importlib_resources` backport; a plain file path is all
  # it is used for (looking for a checksums.tsv beside the module), so give it directly.
  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    return epath.Path(inspect.getfile(cls))


# ------------------------------------------------------------------------------ Fashion-MNIST


def _fashion_file(source_dir, stem):
  for name in (stem + ".gz", stem):
    path = os.path.join(source_dir, name)
    if os.path.exists(path):
      return path
  raise SourceFilesMissingError(
      f"Fashion-MNIST file {stem}.gz not found in {source_dir}. Install the Debian package "
      f"(`{FASHION_MNIST_APT}`, which puts the IDX files in {FASHION_MNIST_DIR}) or pass the "
      "directory holding train-images-idx3-ubyte.gz etc. as source_dir (`--source-dir`).")


def read_fashion_mnist(source_dir, split: str):
  """One split ('train', 'test' = 't10k') from the IDX files: (N,28,28,1) uint8, (N,) int64."""
  prefix = {"train": "train", "test": "t10k", "t10k": "t10k"}[split]
  images_path = _fashion_file(source_dir, f"{prefix}-images-idx3-ubyte")
  labels_path = _fashion_file(source_dir, f"{prefix}-labels-idx1-ubyte")
  images = idx.read_idx(images_path, dtype=np.uint8, ndim=3)
  labels = idx.read_idx(labels_path, dtype=np.uint8, ndim=1)
  if images.shape[1:] != (28, 28):
    raise idx.IdxFormatError(f"{images_path}: expected 28x28 images, got shape {images.shape}.")
  if len(images) != len(labels):
    raise idx.IdxFormatError(
        f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels.")
  if labels.size and labels.max() >= 10:
    raise idx.IdxFormatError(f"{labels_path}: label {labels.max()} outside 0..9.")
  return images[..., None], labels.astype(np.int64)


class FashionMnistIdx(_LocalBuilder):
  """Fashion-MNIST (Xiao et al. 2017) from the IDX files of `dataset-fashion-mnist`."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Raw uint8 28x28x1 tensors from the IDX files."}

  def _info(self):
    return self.dataset_info_from_configs(
        description="Fashion-MNIST: 60k train / 10k test 28x28 grey images of 10 clothes kinds.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8, encoding=_BYTES),
            "label": tfds.features.ClassLabel(names=FASHION_MNIST_NAMES),
        }),
        supervised_keys=("image", "label"),
        disable_shuffling=True,
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    source_dir = self.source_dir or FASHION_MNIST_DIR
    return {split: self._generate_examples(source_dir, split) for split in ("train", "test")}

  def _generate_examples(self, source_dir, split):
    images, labels = read_fashion_mnist(source_dir, split)
    for i in range(len(images)):
      yield i, {"image": images[i], "label": labels[i]}


# ------------------------------------------------------------------------------ CIFAR


def _cifar_open(source_dir, folder, tarball):
  """Returns a function name -> bytes reading `folder/` in source_dir, or inside its tarball."""
  candidates = [os.path.join(source_dir, folder), source_dir]
  for d in candidates:
    if os.path.isdir(d) and any(
        os.path.exists(os.path.join(d, f)) for f in ("data_batch_1", "train")):
      def read(name, d=d):
        path = os.path.join(d, name)
        if not os.path.exists(path):
          raise SourceFilesMissingError(f"CIFAR file {path} is missing.")
        with open(path, "rb") as f:
          return path, f.read()
      return read
  tar_path = os.path.join(source_dir, tarball)
  if os.path.isfile(tar_path):
    members = {}

    def read(name):
      if not members:  # One pass over the gzip stream reads every file of the folder.
        with tarfile.open(tar_path, "r:gz") as tar:
          for member in tar:
            if member.isfile() and os.path.dirname(member.name) == folder:
              members[os.path.basename(member.name)] = tar.extractfile(member).read()
      if name not in members:
        raise SourceFilesMissingError(f"{tar_path} has no member {folder}/{name}.")
      return f"{tar_path}:{folder}/{name}", members[name]
    return read
  raise SourceFilesMissingError(
      f"CIFAR python files not found: expected {os.path.join(source_dir, folder)}/ or "
      f"{tar_path} (from https://www.cs.toronto.edu/~kriz/{tarball}). Put them there, or pass the "
      "directory holding them as source_dir (`--source-dir`).")


def _cifar_batch(read, name, label_keys):
  """Reads one CIFAR pickle: (N,32,32,3) uint8 images and one int64 array per label key."""
  path, data = read(name)
  try:
    batch = safe_pickle.safe_loads(data)
  except safe_pickle.UnsafePickleError:
    raise
  except Exception as e:  # noqa: BLE001 -- any parse failure means a corrupt file
    raise SourceFormatError(
        f"{path}: not a readable CIFAR pickle ({type(e).__name__}: {e}).") from e
  if not isinstance(batch, dict) or b"data" not in batch:
    raise SourceFormatError(
        f"{path}: expected a dict with key b'data', got {type(batch).__name__}.")
  images = batch[b"data"]
  if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or (
      images.shape[1] != 3072):
    raise SourceFormatError(f"{path}: b'data' must be a uint8 array (N, 3072), got "
                            f"{getattr(images, 'dtype', type(images))} {np.shape(images)}.")
  labels = []
  for key in label_keys:
    if key not in batch:
      raise SourceFormatError(f"{path}: missing key {key!r}.")
    lab = np.asarray(batch[key])
    if lab.shape != (len(images),) or not np.issubdtype(lab.dtype, np.integer):
      raise SourceFormatError(
          f"{path}: {key!r} must hold {len(images)} integers, got shape {lab.shape}.")
    labels.append(lab.astype(np.int64))
  images = images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return np.ascontiguousarray(images), labels


def _label_names(read, meta, key, num):
  """Class names from the meta pickle, or None if it does not list exactly `num` of them."""
  _, data = read(meta)
  meta = safe_pickle.safe_loads(data)
  names = meta.get(key) if isinstance(meta, dict) else None
  if not isinstance(names, (list, tuple)) or len(names) != num:
    return None
  return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


class _CifarPickle(_LocalBuilder, skip_registration=True):
  """Shared code: CIFAR from the python pickles in source_dir (default: TFDS's manual_dir)."""

  _FOLDER: str
  _TARBALL: str
  _TRAIN: tuple
  _TEST: tuple
  _META: str
  _LABELS: dict  # feature name -> (pickle key, number of classes, meta key with class names)
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Download the CIFAR python version from https://www.cs.toronto.edu/~kriz/cifar.html and "
      "extract it (or just put the .tar.gz) into manual_dir, or pass source_dir "
      "(`jaxssl prepare ... --source-dir DIR`).")

  def _info(self):
    labels = {k: tfds.features.ClassLabel(num_classes=n) for k, (_, n, _) in self._LABELS.items()}
    return self.dataset_info_from_configs(
        description=f"{type(self).__name__}: 32x32x3 uint8 images from the CIFAR python pickles.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(32, 32, 3), dtype=np.uint8, encoding=_BYTES),
            **labels,
        }),
        supervised_keys=("image", "label"),
        disable_shuffling=True,
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    )

  def _split_generators(self, dl_manager):
    source_dir = self.source_dir
    if source_dir is None:
      try:
        source_dir = os.fspath(dl_manager.manual_dir)
      except AssertionError as e:
        raise SourceFilesMissingError(str(e)) from None
    read = _cifar_open(source_dir, self._FOLDER, self._TARBALL)
    try:
      for feature, (_, num, meta_key) in self._LABELS.items():
        names = _label_names(read, self._META, meta_key, num)
        if names:
          self.info.features[feature].names = names
    except SourceFilesMissingError:
      pass  # Class names are optional; the meta file only holds names.
    return {"train": self._generate_examples(read, self._TRAIN),
            "test": self._generate_examples(read, self._TEST)}

  def _generate_examples(self, read, files):
    features = list(self._LABELS)
    keys = [self._LABELS[f][0] for f in features]
    for name in files:
      images, labels = _cifar_batch(read, name, keys)
      for i in range(len(images)):
        record = {"image": images[i]}
        for f, lab in zip(features, labels):
          record[f] = lab[i]
        yield f"{name}_{i:05d}", record


class Cifar10Pickle(_CifarPickle):
  """CIFAR-10 (Krizhevsky 2009) from cifar-10-batches-py/ (or cifar-10-python.tar.gz)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Raw uint8 32x32x3 tensors from the python pickles."}
  _FOLDER = "cifar-10-batches-py"
  _TARBALL = "cifar-10-python.tar.gz"
  _TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
  _TEST = ("test_batch",)
  _META = "batches.meta"
  _LABELS = {"label": (b"labels", 10, b"label_names")}


class Cifar100Pickle(_CifarPickle):
  """CIFAR-100 from cifar-100-python/ (or cifar-100-python.tar.gz); fine and coarse labels."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Raw uint8 32x32x3 tensors from the python pickles."}
  _FOLDER = "cifar-100-python"
  _TARBALL = "cifar-100-python.tar.gz"
  _TRAIN = ("train",)
  _TEST = ("test",)
  _META = "meta"
  _LABELS = {"label": (b"fine_labels", 100, b"fine_label_names"),
             "coarse_label": (b"coarse_labels", 20, b"coarse_label_names")}


# Our builders by registered name; `prepare` / `load_source` know how to build these.
LOCAL_BUILDERS = {cls.name: cls for cls in (FashionMnistIdx, Cifar10Pickle, Cifar100Pickle)}
