"""Input assembly for training and evaluation: global batches on the mesh, from a config.

Three paths, chosen by `config.input_pipeline` and the data set's `image` feature:
- `memory_input`: the whole split in device memory (Fashion-MNIST, CIFAR); each step gathers its
  batch inside jit. Batch k is row k of `batch_indices`, a pure function of (seed, epoch).
- `grain_input` on fixed-size uint8 tensors: each process streams its shard through grain and
  `global_batch` assembles the global batch; all augmentation stays on the device.
- `grain_input` on encoded images (`tfds.features.Image`: `jaxssl prepare image_folder`, or
  imagenet2012 / imagenette built by `tfds build`): grain worker processes read the raw records,
  sample each view's random-resized-crop box from the image header and decode only what the boxes
  need (`jaxssl.data.images`), giving fixed-size two-view uint8 batches {'view1', 'view2',
  'label'}; flip, colour, grey, blur and solarise stay on the device (`jaxssl.augment.device_views`
  drops the crop stage). The boxes of batch k come from `np.random.default_rng((seed, process, k))`, so batch
  k is a pure function of (seed, k) and a resumed run sees the batches it would have seen.

`eval_stream` gives the evaluation views of a split (shorter side resized to `config.eval.resize`,
central `config.eval.crop`; torchvision's Resize(256) + CenterCrop(224)), every example once, each
process its shard, padded to whole global batches (padding rows have index -1).

This module imports nothing from `jaxssl.train` or `jaxssl.evaluate`: both import it.
"""
import dataclasses
from typing import Any, Callable, Iterator

import jax
import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_parser

from jaxssl.augment import view_config
from jaxssl.errors import ConfigError
from jaxssl.data import images as images_lib
from jaxssl.data import loader
from jaxssl.parallel.batches import global_batch
from jaxssl.parallel.mesh import batch_sharded, replicated
from jaxssl.data import sources
from jaxssl.data.in_memory import epoch_permutation

EVAL_RESIZE_RATIO = 256 / 224  # the standard protocol: resize to 256, centre crop 224


@dataclasses.dataclass
class TrainInput:
  """The training input of `memory_input` / `grain_input`.

  Attributes:
    image_shape: (H, W, C) of the images the encoder sees (the crop size for encoded images).
    num_examples: images in the training split.
    steps_per_epoch: whole global batches per epoch.
    batches: `batches(start)`, the global batches of steps start, start + 1, ... (an iterator).
    gather: `gather(indices)`, the global batch at a row of `batch_indices` (in-memory input only;
      None for a stream).
    host_crop: whether the host cropped the views (encoded images: {'view1', 'view2', 'label'}).
  """
  image_shape: tuple
  num_examples: int
  steps_per_epoch: int
  batches: Callable[[int], Iterator[dict]]
  gather: Callable | None = None
  host_crop: bool = False


@dataclasses.dataclass
class EvalStream:
  """`eval_stream`'s evaluation views of a split: `batches()` gives every image once, padded."""
  num_examples: int
  image_shape: tuple
  num_batches: int
  batches: Callable[[], Iterator[dict[str, Any]]]


def check_images(images: np.ndarray, config) -> None:
  check_image_shape(images.shape[1:], len(images), config)


def check_image_shape(image_shape: tuple, num_images: int, config) -> None:
  """A data set of `num_images` images of `image_shape` must be NHWC and hold one batch."""
  if len(image_shape) != 3 or image_shape[-1] not in (1, 3):
    raise ConfigError(f'Data set {config.dataset!r} gives images of shape {tuple(image_shape)}; '
                      'expected (height, width, 1 or 3) -- NHWC.')
  if num_images < config.batch_size:
    raise ConfigError(f'Data set {config.dataset!r} has {num_images} training images, fewer than '
                      f'batch_size={config.batch_size}; lower --config.batch_size.')


def batch_indices(seed: int, epoch: int, num_examples: int, batch_size: int) -> jax.Array:
  """The epoch's (steps, batch) index matrix: a pure function of (seed, epoch)."""
  key = jax.random.fold_in(jax.random.PRNGKey(seed ^ 0x5EED), epoch)
  return epoch_permutation(key, num_examples, batch_size)


def _data_dir(config):
  return config.data_dir or None


def memory_input(config, mesh, train_arrays=None) -> TrainInput:
  """The whole training split in device memory; each step gathers its batch inside jit.

  Returns a `TrainInput` whose `batches(start)` are the rows of `batch_indices`, epoch after epoch,
  each gathered by `gather(indices)`.
  """
  if train_arrays is None:
    try:
      train_arrays = sources.load_arrays(config.dataset, config.train_split,
                                         data_dir=_data_dir(config))
    except sources.ImageSizeError as error:
      raise ConfigError(str(error)) from None
  images, labels = train_arrays
  check_images(images, config)
  # Small data sets live in device memory: every process holds the whole set, identical on all,
  # and the global index row is the same on all. XLA partitions the gather so that each device
  # reads only its own rows of the batch from its process's copy: no transfer between devices or
  # hosts (tests/test_multihost.py checks the compiled gather).
  device_data = jax.device_put({'image': images, 'label': labels.astype(np.int32)},
                               replicated(mesh))
  take = jax.jit(lambda arrays, indices: jax.tree.map(lambda x: x[indices], arrays),
                 in_shardings=(replicated(mesh), replicated(mesh)),
                 out_shardings=batch_sharded(mesh))

  def gather(indices):
    """The global batch {'image', 'label'} at `indices` (this step's row of `batch_indices`)."""
    return take(device_data, np.asarray(indices, np.int32))

  gather.lower = lambda indices: take.lower(device_data, np.asarray(indices, np.int32))
  steps_per_epoch = len(images) // config.batch_size

  def batches(start: int):
    step = start
    while True:
      epoch = step // steps_per_epoch
      order = np.asarray(batch_indices(config.seed, epoch, len(images), config.batch_size))
      for row in order[step % steps_per_epoch:]:
        yield gather(row)
      step = (epoch + 1) * steps_per_epoch

  return TrainInput(image_shape=images.shape[1:], num_examples=len(images),
                    steps_per_epoch=steps_per_epoch, batches=batches, gather=gather, host_crop=False)


# ------------------------------------------------------------------------- encoded image records


class EncodedImages:
  """Random access to a split's encoded images as (bytes, label, name), without TensorFlow.

  Reads the raw serialized tf.Example records (`DeserializeMethod.RAW_BYTES`) and takes the
  `image` bytes_list (what `tfds.features.Image` stores), `label` (0 when the data set has none)
  and `file_name` when present. Picklable, so grain worker processes can carry it.
  """

  def __init__(self, name: str, split: str, *, data_dir=None):
    builder = sources.encoded_image_builder(name, data_dir)
    if split not in builder.info.splits:
      raise ConfigError(f'Data set {name!r} has no split {split!r}; its splits: '
                        f'{sorted(builder.info.splits)} (set --config.train_split / test_split).')
    self.name, self.split = name, split
    self.channels = int(builder.info.features['image'].shape[-1] or 3)
    self.has_label = 'label' in builder.info.features.keys()
    self._raw = builder.as_data_source(
        split=split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)

  def __len__(self):
    return len(self._raw)

  def records(self, indices) -> list[tuple[bytes, int, str]]:
    parse = example_parser.tf_example_pb2.Example.FromString
    out = []
    for i, record in zip(indices, self._raw.__getitems__([int(i) for i in indices])):
      feature = parse(record).features.feature
      label = feature['label'].int64_list.value[0] if self.has_label else 0
      name = (feature['file_name'].bytes_list.value[0].decode('utf-8', 'replace')
              if 'file_name' in feature else f'record {int(i)}')
      out.append((feature['image'].bytes_list.value[0], int(label),
                  f'{self.name}/{self.split} {name}'))
    return out


def _crop_params(view: dict) -> dict:
  crop = dict(view.get('crop') or {})
  if 'out_size' not in crop:
    raise ConfigError('Encoded-image data sets are cropped on the host: each augment view needs '
                      'crop.out_size (e.g. (224, 224)), as in the byol_view1 preset.')
  return dict(out_size=tuple(int(v) for v in crop['out_size']),
              scale=tuple(crop.get('scale', (0.08, 1.0))),
              ratio=tuple(crop.get('ratio', (3 / 4, 4 / 3))))


class TwoViewBatch:
  """Batch k of the training stream: two random-resized crops of each image, uint8 NHWC.

  A picklable callable for grain (`make_loader(batch_fn=...)`): `(k, indices) -> {'view1',
  'view2', 'label'}`, a pure function of (seed, process_index, k, indices).
  """

  def __init__(self, source: EncodedImages, crops, *, seed: int, process_index: int,
               draft: bool = True):
    self.source, self.crops, self.seed = source, list(crops), int(seed)
    self.process_index, self.draft = int(process_index), draft

  def __call__(self, k, indices):
    records = self.source.records(indices)
    rng = np.random.default_rng((self.seed, self.process_index, int(k)))
    opened = [images_lib.open_image(encoded, name) for encoded, _, name in records]
    sizes = np.asarray([size for _, size in opened], np.int64)
    boxes = [images_lib.sample_crop_boxes(rng, sizes, scale=c['scale'], ratio=c['ratio'])
             for c in self.crops]
    outs = [c['out_size'] for c in self.crops]
    channels = self.source.channels
    views = [np.empty((len(records), *out, channels), np.uint8) for out in outs]
    for i, ((image, _), (_, _, name)) in enumerate(zip(opened, records)):
      decoded = images_lib.decode_resized_crops(image, [b[i] for b in boxes], outs,
                                                channels=channels, draft=self.draft, name=name)
      for view, array in zip(views, decoded):
        view[i] = array
    labels = np.asarray([label for _, label, _ in records], np.int32)
    return {'view1': views[0], 'view2': views[1], 'label': labels}


class EvalBatch:
  """Evaluation views of a batch of indices (-1: padding): resize + central crop, uint8 NHWC."""

  def __init__(self, source: EncodedImages, *, resize: int, crop: tuple[int, int]):
    self.source, self.resize, self.crop = source, int(resize), tuple(int(c) for c in crop)

  def __call__(self, k, indices):
    del k
    indices = np.asarray(indices, np.int64)
    valid = indices >= 0
    records = self.source.records(indices[valid])
    out = np.zeros((len(indices), *self.crop, self.source.channels), np.uint8)
    labels = np.full((len(indices),), -1, np.int32)
    for i, (encoded, label, name) in zip(np.flatnonzero(valid), records):
      image, size = images_lib.open_image(encoded, name)
      box = images_lib.center_crop_box(size, self.resize, self.crop)
      out[i] = images_lib.decode_resized_crops(image, [box], [self.crop],
                                               channels=self.source.channels, name=name)[0]
      labels[i] = label
    return {'image': out, 'label': labels, 'index': indices.astype(np.int32)}


def _train_crops(config) -> list[dict]:
  crops = [_crop_params(view_config(config.augment[v])) for v in ('view1', 'view2')]
  if crops[0]['out_size'] != crops[1]['out_size']:
    raise ConfigError(f"The two views' crop.out_size differ ({crops[0]['out_size']} and "
                      f"{crops[1]['out_size']}); the encoder needs one input size.")
  return crops


def grain_input(config, mesh) -> TrainInput:
  """Streams the training split from disk: each process reads its own shard through grain.

  For data sets too large for device memory (ImageNet): `data.make_loader` gives this process's
  batches (`config.data_workers` worker processes, prefetching), and `data.global_batch`
  assembles the processes' batches into the global, batch-sharded array. Fixed-size uint8 tensors
  are batched as they are ({'image', 'label'}); encoded images are cropped and decoded on the host
  (`TwoViewBatch`: {'view1', 'view2', 'label'}). Batch k is a pure function of (seed, k), so a
  resumed run starts its stream at its step (`start_batch`) and sees the batches it would have
  seen. Returns a `TrainInput` (no `gather`).
  """
  data_dir = _data_dir(config)
  host_crop = sources.has_encoded_images(config.dataset, data_dir)
  if host_crop:
    source = EncodedImages(config.dataset, config.train_split, data_dir=data_dir)
    crops = _train_crops(config)
    image_shape = (*crops[0]['out_size'], source.channels)
    batch_fn = TwoViewBatch(source, crops, seed=config.seed, process_index=jax.process_index())
  else:
    source = sources.load_source(config.dataset, config.train_split, data_dir=data_dir)
    image_shape = np.asarray(source[0]['image']).shape
    batch_fn = None
  check_image_shape(image_shape, len(source), config)
  processes = jax.process_count()
  local_batch = config.batch_size // processes
  steps_per_epoch = (len(source) // processes) // local_batch

  def batches(start: int):
    stream = loader.make_loader(source, global_batch_size=config.batch_size, seed=config.seed,
                                start_batch=start, worker_count=config.get('data_workers', 0),
                                batch_fn=batch_fn)
    for local in loader.batches_of(stream):
      yield global_batch(local, mesh, axis=tuple(mesh.axis_names))

  return TrainInput(image_shape=tuple(image_shape), num_examples=len(source),
                    steps_per_epoch=steps_per_epoch, batches=batches, gather=None,
                    host_crop=host_crop)


# ----------------------------------------------------------------------------------- evaluation


def eval_sizes(config) -> tuple[int, tuple[int, int]]:
  """(resize, crop) of the evaluation view: `config.eval.resize` / `.crop`, 0 = from the views.

  crop 0: the training views' crop.out_size; resize 0: round(crop side · 256/224).
  """
  crop = config.eval.get('crop', 0) or _train_crops(config)[0]['out_size']
  crop = (int(crop), int(crop)) if isinstance(crop, (int, float)) else tuple(int(c) for c in crop)
  resize = int(config.eval.get('resize', 0) or round(max(crop) * EVAL_RESIZE_RATIO))
  return resize, crop


def eval_stream(config, mesh, split: str, *, batch_size: int | None = None) -> EvalStream:
  """Every image of `split` once as evaluation views, global batches on `mesh`.

  Process p reads the contiguous shard [p·S, (p+1)·S) (S = ceil(n / processes)), padded with
  index -1 to whole local batches; all processes run the same number of batches. Returns an
  `EvalStream` whose `batches()` iterates global {'image', 'label', 'index'}.
  """
  data_dir = _data_dir(config)
  source = EncodedImages(config.dataset, split, data_dir=data_dir)
  resize, crop = eval_sizes(config)
  processes, devices = jax.process_count(), mesh.devices.size
  batch_size = min(batch_size or config.eval.batch_size, -(-len(source) // devices) * devices)
  batch_size = max(devices, batch_size - batch_size % devices)  # whole rows per device
  local_batch = batch_size // processes
  shard = -(-len(source) // processes)
  num_batches = max(1, -(-shard // local_batch))
  batch_fn = EvalBatch(source, resize=resize, crop=crop)

  def batches() -> Iterator[dict[str, Any]]:
    stream = loader.eval_loader(len(source), local_batch=local_batch, num_batches=num_batches,
                                batch_fn=batch_fn, worker_count=config.get('data_workers', 0))
    for local in loader.batches_of(stream):
      yield global_batch(local, mesh, axis=tuple(mesh.axis_names))

  return EvalStream(num_examples=len(source), image_shape=(*crop, source.channels),
                    num_batches=num_batches, batches=batches)


def encoder_input_shapes(config) -> tuple[tuple[int, ...], tuple[int, ...]]:
  """(H, W, C) of the images the encoder sees in training and in evaluation, for `config`'s data.

  Encoded images (an image folder, a TFDS JPEG data set): the views' crop size and the evaluation
  crop (`eval_sizes`), whatever sizes the files have. Fixed-size tensors (Fashion-MNIST, CIFAR):
  their stored shape, for both. Reads the data set's metadata (raises DatasetNotPreparedError when
  it is not prepared where this runs).
  """
  data_dir = _data_dir(config)
  if sources.has_encoded_images(config.dataset, data_dir):
    channels = EncodedImages(config.dataset, config.train_split, data_dir=data_dir).channels
    train = (*_train_crops(config)[0]['out_size'], channels)
    return tuple(int(n) for n in train), (*eval_sizes(config)[1], channels)
  source = sources.load_source(config.dataset, config.train_split, data_dir=data_dir)
  shape = tuple(int(n) for n in np.shape(source[0]['image']))
  return shape, shape


def streams_images(config) -> bool:
  """Whether `config` streams an encoded-image data set (cropped and decoded on the host)."""
  return (config.get('input_pipeline', 'memory') == 'grain'
          and sources.has_encoded_images(config.dataset, _data_dir(config)))
