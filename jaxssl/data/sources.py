"""Preparing and reading data sets: TFDS array_record via `tfds.data_source`, no TensorFlow."""
import logging
import os
import shlex
import shutil
import tempfile
import urllib.parse

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_parser

from jaxssl.data import builders
from jaxssl.data import image_folder
from jaxssl.data import images as images_lib
from jaxssl.errors import JaxsslError

_ARRAY_RECORD = tfds.core.file_adapters.FileFormat.ARRAY_RECORD
_CACHE_PREFIX = "jaxssl-arrays-"
_READ_CHUNK = 4096


class DatasetNotPreparedError(JaxsslError, FileNotFoundError):
  """A data set is not prepared (as array_record) in the data directory; says how to prepare it."""


class ImageSizeError(JaxsslError, ValueError):
  """Encoded images of different sizes asked for as one array (the in-memory path)."""


def default_data_dir() -> str:
  """`$TFDS_DATA_DIR` if set, else `~/tensorflow_datasets` (the TFDS convention)."""
  return os.path.expanduser(os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")


def _resolve(data_dir) -> str:
  return os.path.expanduser(os.fspath(data_dir)) if data_dir else default_data_dir()


def prepare_command(name: str, data_dir=None, source_dir=None) -> str:
  """The shell command that prepares `name` (what `DatasetNotPreparedError` tells the user)."""
  cmd = ["jaxssl", "prepare", name, "--data-dir", _resolve(data_dir)]
  if source_dir is not None:
    cmd += ["--source-dir", os.fspath(source_dir)]
  return shlex.join(cmd)


def _not_prepared_message(name, data_dir, reason):
  base = name.split("/")[0].split(":")[0]
  lines = [f"Data set {name!r} is {reason} in {data_dir}. Prepare it with:",
           f"  {prepare_command(name, data_dir)}"]
  if base == builders.FashionMnistIdx.name:
    probe = os.path.join(builders.FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")
    if not os.path.exists(probe):
      lines.append(
          f"Its IDX files are not in {builders.FASHION_MNIST_DIR}: install them first with "
          f"`{builders.FASHION_MNIST_APT}`, or add `--source-dir DIR` (the directory holding "
          "train-images-idx3-ubyte.gz, ...).")
  elif base in (builders.Cifar10Pickle.name, builders.Cifar100Pickle.name):
    cls = builders.LOCAL_BUILDERS[base]
    lines.append(f"Add `--source-dir DIR` for the directory holding {cls._FOLDER}/ or "
                 f"{cls._TARBALL} (https://www.cs.toronto.edu/~kriz/cifar.html).")
  else:
    lines.append(f"(or `tfds build {base} --file_format=array_record --data_dir {data_dir}`; "
                 f"TF-free local builders: {', '.join(builders.LOCAL_BUILDERS)}; a folder of "
                 f"images: `jaxssl prepare image_folder --source-dir DIR --name {base} "
                 f"--data-dir {data_dir}`)")
  return "\n".join(lines)


def _builder(name, data_dir):
  try:
    return tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise DatasetNotPreparedError(
        f"Unknown data set {name!r}: no TFDS builder of that name and nothing prepared in "
        f"{data_dir}. jaxssl's TF-free builders: {', '.join(builders.LOCAL_BUILDERS)}; a folder of "
        f"images is prepared by `jaxssl prepare image_folder --source-dir DIR --name {name} "
        f"--data-dir {data_dir}`; any TFDS data set prepared with file_format=array_record is read "
        "by its name.") from None


def prepare(name: str, *, data_dir=None, source_dir=None, dataset_name=None,
            skip_bad_files=False):
  """Prepares data set `name` as array_record in `data_dir`; returns its TFDS builder.

  `name` is one of `LOCAL_BUILDERS` (`fashion_mnist_idx`, `cifar10_pickle`, `cifar100_pickle`),
  built from local files in `source_dir` (Fashion-MNIST default: the Debian package's directory;
  CIFAR default: TFDS's `<data_dir>/downloads/manual`), or any other TFDS name, which TFDS builds
  with `source_dir` as its manual_dir (most TFDS builders need TensorFlow to encode images).
  `image_folder` prepares the image tree `source_dir` as the data set `dataset_name` (see
  `jaxssl.data.image_folder`; `skip_bad_files` leaves unreadable files out with a warning).
  A no-op if already prepared.
  """
  data_dir = _resolve(data_dir)
  base = name.split("/")[0].split(":")[0]
  if base == image_folder.BUILDER_NAME:
    return image_folder.prepare_image_folder(dataset_name, source_dir, data_dir,
                                             skip_bad_files=skip_bad_files)
  if base in builders.LOCAL_BUILDERS:
    builder = builders.LOCAL_BUILDERS[base](data_dir=data_dir, source_dir=source_dir)
    builder.download_and_prepare()
    return builder
  builder = _builder(name, data_dir)
  if builder.is_prepared():
    return builder
  builder = tfds.builder(name, data_dir=data_dir, file_format="array_record")
  config = tfds.download.DownloadConfig(manual_dir=source_dir) if source_dir else None
  try:
    builder.download_and_prepare(download_config=config)
  except ModuleNotFoundError as e:
    if e.name != "tensorflow":
      raise
    raise ModuleNotFoundError(
        f"TFDS's builder for {name!r} needs TensorFlow to prepare the data. Install it for this "
        f"one-off step, or use jaxssl's TF-free builders ({', '.join(builders.LOCAL_BUILDERS)}).",
        name="tensorflow") from e
  return builder


def load_source(name: str, split: str, *, data_dir=None):
  """A random-access source (`len`, `[i]`, `__getitems__`) of dict records, via `tfds.data_source`.

  Works for jaxssl's builders and for any TFDS data set prepared as array_record. Raises
  `DatasetNotPreparedError` (a FileNotFoundError) with the command that prepares it when missing.
  """
  data_dir = _resolve(data_dir)
  _prepared_builder(name, data_dir)
  return tfds.data_source(name, split=split, data_dir=data_dir, download=False)


def _prepared_builder(name, data_dir):
  """The builder of `name`, prepared as array_record in `data_dir`, or DatasetNotPreparedError."""
  builder = _builder(name, data_dir)
  if not builder.is_prepared():
    raise DatasetNotPreparedError(_not_prepared_message(name, data_dir, "not prepared"))
  if builder.info.file_format != _ARRAY_RECORD:
    fmt = builder.info.file_format.value
    raise DatasetNotPreparedError(
        f"Data set {name!r} in {data_dir} is prepared as {fmt}, but random access "
        "(tfds.data_source) needs array_record. Convert it with\n"
        f"  tfds convert_format --dataset_dir {shlex.quote(os.fspath(builder.data_dir))} "
        "--out_file_format array_record\n"
        f"or rebuild it with `tfds build {name} --file_format=array_record --data_dir {data_dir}`.")
  return builder


def _is_encoded(features) -> bool:
  return "image" in features.keys() and isinstance(features["image"], tfds.features.Image)


def has_encoded_images(name: str, data_dir=None) -> bool:
  """Whether the prepared data set's `image` feature holds encoded images (`tfds.features.Image`:
  `jaxssl prepare image_folder`, imagenet2012, imagenette, ...), not raw uint8 tensors."""
  return _is_encoded(_prepared_builder(name, _resolve(data_dir)).info.features)


def encoded_image_builder(name: str, data_dir=None):
  """The prepared builder of a data set of encoded images (see `has_encoded_images`)."""
  builder = _prepared_builder(name, _resolve(data_dir))
  if not _is_encoded(builder.info.features):
    raise ValueError(f"Data set {name!r} has no encoded `image` feature (tfds.features.Image); "
                     f"its features: {builder.info.features}.")
  return builder


# ---------------------------------------------------------------------------- whole split in memory


def _fast_features(features):
  """True when records are {'image': uint8 Tensor stored as bytes, 'label': ClassLabel, ...}."""
  image, label = features["image"], features["label"]
  return (isinstance(image, tfds.features.Tensor) and image.np_dtype == np.uint8
          and getattr(image, "_encoding", None) == tfds.features.Encoding.BYTES
          and None not in image.shape and isinstance(label, tfds.features.ClassLabel))


def _decode_fast(raw_source, image_shape):
  """Parses raw serialized tf.Examples: one protobuf parse per record, one frombuffer in all."""
  parse = example_parser.tf_example_pb2.Example.FromString
  images, labels = [], []
  n = len(raw_source)
  for start in range(0, n, _READ_CHUNK):
    for record in raw_source.__getitems__(range(start, min(start + _READ_CHUNK, n))):
      feature = parse(record).features.feature
      images.append(feature["image"].bytes_list.value[0])
      labels.append(feature["label"].int64_list.value[0])
  images = np.frombuffer(b"".join(images), np.uint8).reshape((n,) + tuple(image_shape))
  return images, np.asarray(labels, np.int32)


def _decode_encoded(raw_source, channels, name):
  """Fully decodes every encoded image of a split (one size for all, else a clear error)."""
  parse = example_parser.tf_example_pb2.Example.FromString
  images, labels, shapes = [], [], {}
  n = len(raw_source)
  for start in range(0, n, _READ_CHUNK):
    for i, record in enumerate(raw_source.__getitems__(range(start, min(start + _READ_CHUNK, n)))):
      feature = parse(record).features.feature
      image = images_lib.decode_full(feature["image"].bytes_list.value[0], channels=channels,
                                     name=f"{name} record {start + i}")
      shapes.setdefault(image.shape, start + i)
      if len(shapes) > 1:
        (a, ia), (b, ib) = list(shapes.items())[:2]
        raise ImageSizeError(
            f"Data set {name!r} holds images of different sizes (record {ia}: {a[:2]}, record "
            f"{ib}: {b[:2]}); the in-memory path (input_pipeline='memory') needs one size. Stream "
            "it instead, cropped and resized on the host: --config.input_pipeline=grain (or "
            "resize the images to one size before `jaxssl prepare image_folder`).")
      images.append(image)
      labels.append(feature["label"].int64_list.value[0])
  images = np.stack(images) if images else np.zeros((0, 0, 0, channels), np.uint8)
  return images, np.asarray(labels, np.int32)


def _decode_generic(source):
  images, labels = [], []
  for start in range(0, len(source), _READ_CHUNK):
    for record in source.__getitems__(range(start, min(start + _READ_CHUNK, len(source)))):
      images.append(np.asarray(record["image"]))
      labels.append(record["label"])
  images = np.stack(images) if images else np.zeros((0, 0, 0, 0), np.uint8)
  return images, np.asarray(labels, np.int32)


def _cache_path(builder, split):
  return os.path.join(os.fspath(builder.data_dir),
                      _CACHE_PREFIX + urllib.parse.quote(split, safe="") + ".npz")


def _read_cache(path, num_examples):
  try:
    with np.load(path, allow_pickle=False) as z:
      images, labels = z["image"], z["label"]
  except (OSError, KeyError, ValueError):
    return None
  if (images.dtype != np.uint8 or images.ndim != 4 or labels.dtype != np.int32
      or len(images) != num_examples or labels.shape != (num_examples,)):
    return None
  return images, labels


def _write_cache(path, images, labels):
  """Writes atomically (temp file + rename); skipped quietly if the directory is read-only."""
  try:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".npz")
  except OSError as e:
    logging.info("Not caching arrays in %s: %s", os.path.dirname(path), e)
    return
  try:
    with os.fdopen(fd, "wb") as f:
      np.savez(f, image=images, label=labels)
      f.flush()
      os.fsync(f.fileno())
    info = os.path.join(os.path.dirname(path), "dataset_info.json")
    if os.path.exists(info):  # mkstemp makes it private; match the prepared files instead.
      shutil.copymode(info, tmp)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def load_arrays(name: str, split: str, *, data_dir=None, cache: bool = True):
  """The whole split as NumPy arrays: images uint8 (N, H, W, C) and labels int32 (N,).

  For small data sets that live in device memory (Fashion-MNIST, CIFAR). The first call decodes
  the array_record files (~1 s for Fashion-MNIST train); with `cache` the arrays are then saved as
  an .npz beside the prepared data (written atomically; skipped if the directory is read-only) and
  later calls read that (~0.05 s). No pickle is involved (`allow_pickle=False`).
  """
  data_dir = _resolve(data_dir)
  source = load_source(name, split, data_dir=data_dir)
  builder = _builder(name, data_dir)
  path = _cache_path(builder, split)
  if cache and os.path.exists(path):
    cached = _read_cache(path, len(source))
    if cached is not None:
      return cached
  features = builder.info.features
  if "image" not in features.keys() or "label" not in features.keys():
    raise ValueError(f"load_arrays needs 'image' and 'label' features; {name!r} has "
                     f"{sorted(features.keys())}.")
  raw = lambda: builder.as_data_source(
      split=split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
  if _fast_features(features):
    images, labels = _decode_fast(raw(), features["image"].shape)
  elif _is_encoded(features):
    images, labels = _decode_encoded(raw(), features["image"].shape[-1] or 3, name)
  else:
    images, labels = _decode_generic(source)
  if images.ndim == 3:
    images = images[..., None]
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ValueError(f"load_arrays expects uint8 images of rank 3 (HWC); {name!r} gives "
                     f"{images.dtype} {images.shape[1:]}. Use load_source and a grain loader.")
  if cache:
    _write_cache(path, images, labels)
  return images, labels
