"""Image folders and TFDS encoded-image data sets, read and decoded without TensorFlow: prepare,
the host-side random-resized crop (against torchvision and PIL), the two-view stream, streamed
evaluation against the in-memory path, and the errors for bad trees."""
import io
import logging
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxssl import data
from jaxssl.errors import ConfigError
from jaxssl.data import builders, image_folder, images, input_pipeline, loader
from jaxssl.train import setup
from jaxssl.parallel.mesh import make_mesh

from image_tree import CLASSES, class_image, image_config, jpeg_bytes, write_image_tree
import torch_compat

tfds.disable_progress_bar()


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
  root = tmp_path_factory.mktemp('tree')
  written = write_image_tree(root / 'images')
  data_dir = str(root / 'tfds')
  data.prepare('image_folder', data_dir=data_dir, source_dir=root / 'images',
               dataset_name='tiny_tree')
  return root / 'images', data_dir, written


_config = image_config


# ------------------------------------------------------------------------------------- prepare


def test_prepare_keeps_each_files_bytes_label_and_class_names(tree):
  root, data_dir, written = tree
  builder = tfds.builder('tiny_tree', data_dir=data_dir)  # from the files: no builder class
  assert builder.info.features['label'].names == list(CLASSES)
  assert builder.info.features['image'].shape == (None, None, 3)
  assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == {
      'train': 18, 'validation': 6}
  source = input_pipeline.EncodedImages('tiny_tree', 'train', data_dir=data_dir)
  records = source.records(range(len(source)))
  for encoded, label, name in records:
    relative = name.split(' ', 1)[1]
    assert encoded == (root / relative).read_bytes()  # the original bytes, not re-encoded
    assert label == written[relative][1]
  # Stored in a fixed shuffled order, not class by class (contiguous shards hold every class).
  assert [label for _, label, _ in records[:6]] != sorted(label for _, label, _ in records[:6])
  assert 'tensorflow' not in sys.modules


def test_unreadable_files_fail_by_name_or_are_skipped_with_a_warning(tmp_path, caplog):
  write_image_tree(tmp_path / 'images', per_class=(2, 1), corrupt=True)
  with pytest.raises(builders.SourceFormatError, match=r'(?s)2 of 11 files.*truncated\.jpg.*'
                     r'notes\.txt.*--skip-bad-files'):
    data.prepare('image_folder', data_dir=tmp_path / 'tfds', source_dir=tmp_path / 'images',
                 dataset_name='bad_tree')
  assert not (tmp_path / 'tfds' / 'bad_tree').exists()  # nothing written before the check
  with caplog.at_level(logging.WARNING):
    builder = data.prepare('image_folder', data_dir=tmp_path / 'tfds',
                           source_dir=tmp_path / 'images', dataset_name='bad_tree',
                           skip_bad_files=True)
  assert builder.info.splits['train'].num_examples == 6
  assert 'Skipping 2 unreadable files' in caplog.text and 'truncated.jpg' in caplog.text


def test_bad_trees_get_one_clear_error(tmp_path):
  prepare = lambda source, name='t': data.prepare('image_folder', data_dir=tmp_path / 'tfds',
                                                  source_dir=source, dataset_name=name)
  with pytest.raises(builders.SourceFilesMissingError, match='does not exist.*--source-dir'):
    prepare(tmp_path / 'nowhere')
  (tmp_path / 'empty_class' / 'a').mkdir(parents=True)
  (tmp_path / 'empty_class' / 'b').mkdir()
  Image.new('RGB', (8, 8)).save(tmp_path / 'empty_class' / 'a' / 'x.png')
  with pytest.raises(builders.SourceFormatError, match=r'empty_class/b is empty: add its images'):
    prepare(tmp_path / 'empty_class')
  with pytest.raises(builders.SourceFormatError, match='must be snake_case'):
    prepare(tmp_path / 'empty_class', name='My Images')
  with pytest.raises(builders.SourceFormatError, match='is a TFDS data set of its own'):
    prepare(tmp_path / 'empty_class', name='imagenette')
  with pytest.raises(data.DatasetNotPreparedError,
                     match='jaxssl prepare image_folder --source-dir DIR --name not_here'):
    data.load_source('not_here', 'train', data_dir=tmp_path / 'tfds')


def test_an_interrupted_prepare_leaves_nothing_prepared_and_a_rerun_starts_clean(
    tmp_path, monkeypatch):
  write_image_tree(tmp_path / 'images', per_class=(2, 1))
  original = image_folder.ImageFolder._generate_examples

  def dies_half_way(self, items):
    for i, example in enumerate(original(self, items)):
      if i == 3:
        raise RuntimeError('preempted')  # as a kill or a preemption would
      yield example

  monkeypatch.setattr(image_folder.ImageFolder, '_generate_examples', dies_half_way)
  kwargs = dict(data_dir=tmp_path / 'tfds', source_dir=tmp_path / 'images', dataset_name='half')
  with pytest.raises(RuntimeError, match='preempted'):
    data.prepare('image_folder', **kwargs)
  with pytest.raises(data.DatasetNotPreparedError):
    data.load_source('half', 'train', data_dir=tmp_path / 'tfds')
  monkeypatch.setattr(image_folder.ImageFolder, '_generate_examples', original)
  builder = data.prepare('image_folder', **kwargs)
  assert builder.info.splits['train'].num_examples == 6
  assert sorted(p.name for p in (tmp_path / 'tfds' / 'half').iterdir()) == ['1.0.0']


def test_cli_prepares_an_image_folder_and_names_what_is_missing(tmp_path, capsys):
  from jaxssl import cli
  write_image_tree(tmp_path / 'images', per_class=(1, 1))
  assert cli.main(['prepare', 'image_folder', '--source-dir', str(tmp_path / 'images'),
                   '--data-dir', str(tmp_path / 'tfds'), '--name', 'cli_tree']) == 0
  assert 'Prepared cli_tree' in capsys.readouterr().out
  assert cli.main(['prepare', 'image_folder', '--data-dir', str(tmp_path / 'tfds'),
                   '--name', 'x']) == 2
  assert '--source-dir DIR' in capsys.readouterr().err


# ------------------------------------------------- a data set in the format `tfds build` writes


class TfdsStyleImages(builders._LocalBuilder):
  """Like TFDS's imagenette: `tfds.features.Image(encoding_format='jpeg')` and a ClassLabel only
  (no file_name), the Image feature fed encoded bytes as TFDS's own builders feed it files."""

  VERSION = tfds.core.Version('2.0.0')

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        'image': tfds.features.Image(shape=(None, None, 3), encoding_format='jpeg'),
        'label': tfds.features.ClassLabel(names=['a', 'b'])}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples(8), 'validation': self._generate_examples(4)}

  def _generate_examples(self, n):
    rng = np.random.default_rng(n)
    for i in range(n):
      yield i, {'image': jpeg_bytes(class_image(i % 2, 30 + 7 * i, 50, rng)), 'label': i % 2}


def test_a_tfds_image_data_set_streams_without_tensorflow(tmp_path):
  TfdsStyleImages(data_dir=tmp_path).download_and_prepare()
  assert data.has_encoded_images('tfds_style_images', tmp_path)
  config = _config(tmp_path, 'batch_size=4', dataset='tfds_style_images')
  parts = setup(config, mesh=make_mesh(4))
  batch = next(parts.batches(0))
  assert batch['view1'].shape == batch['view2'].shape == (4, 32, 32, 3)
  assert parts.image_shape == (32, 32, 3) and parts.steps_per_epoch == 2
  stream = input_pipeline.eval_stream(config, make_mesh(4), 'validation')
  (only,) = list(stream.batches())
  np.testing.assert_array_equal(np.asarray(only['index']), [0, 1, 2, 3])
  # The raw records are TFDS's own: tfds.data_source decodes them (with Pillow) to the same images.
  source = data.load_source('tfds_style_images', 'validation', data_dir=tmp_path)
  ours = input_pipeline.EncodedImages('tfds_style_images', 'validation', data_dir=tmp_path)
  for i, (encoded, label, _) in enumerate(ours.records(range(4))):
    np.testing.assert_array_equal(images.decode_full(encoded), source[i]['image'])
    assert label == source[i]['label']
  assert sorted(np.asarray(source[i]['image']).shape[0] for i in range(4)) == [30, 37, 44, 51]
  assert 'tensorflow' not in sys.modules


# -------------------------------------------------------------------- the crop before the decode


def test_crop_boxes_follow_torchvisions_random_resized_crop():
  torch = torch_compat.import_torch()
  transforms = torch_compat.import_torchvision().transforms
  torch.manual_seed(0)
  n, (h, w) = 4000, (375, 500)
  ours = images.sample_crop_boxes(np.random.default_rng(0), np.tile([[h, w]], (n, 1)))
  theirs = np.asarray([transforms.RandomResizedCrop.get_params(torch.zeros(1, h, w),
                                                               (0.08, 1.0), (3 / 4, 4 / 3))
                       for _ in range(n)])
  assert ours.dtype == np.int64 and np.all(ours[:, :2] >= 0)
  assert np.all(ours[:, 0] + ours[:, 2] <= h) and np.all(ours[:, 1] + ours[:, 3] <= w)
  stats = lambda b: np.asarray([np.mean(b[:, 2] * b[:, 3] / (h * w)),
                                np.mean(np.log(b[:, 3] / b[:, 2])),
                                np.mean((b[:, 0] + b[:, 2] / 2) / h)])
  # Mean area fraction (~0.54), mean log aspect, mean centre row: 4000 draws each, so the
  # standard errors are ~0.004, ~0.003 and ~0.003; 0.02 is ~5 of them.
  np.testing.assert_allclose(stats(ours), stats(theirs), atol=0.02)
  # An image no box fits (10 x 1000): torchvision's fallback, exactly.
  (box,) = images.sample_crop_boxes(np.random.default_rng(1), [[10, 1000]])
  assert tuple(box) == transforms.RandomResizedCrop.get_params(
      torch.zeros(1, 10, 1000), (0.08, 1.0), (3 / 4, 4 / 3)) == (0, 493, 10, 13)


def _smooth_jpeg(height=375, width=500):
  from PIL import ImageFilter
  array = class_image(1, height, width, np.random.default_rng(0))
  return jpeg_bytes(np.asarray(Image.fromarray(array).filter(ImageFilter.GaussianBlur(3))))


def _png(array) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format='PNG')
  return buffer.getvalue()


def test_decoded_crops_match_pils_crop_then_resize_and_the_dct_scaled_decode_is_close():
  encoded = _smooth_jpeg()
  box = (50, 60, 300, 400)  # top, left, height, width
  image, size = images.open_image(encoded)
  assert size == (375, 500)
  full = images.decode_resized_crops(image, [box], [(224, 224)], draft=False)[0].astype(int)
  # torchvision on PIL images: crop, then resize (bilinear, antialiased).
  reference = np.asarray(Image.open(io.BytesIO(encoded)).convert('RGB').crop(
      (60, 50, 460, 350)).resize((224, 224), Image.BILINEAR)).astype(int)
  np.testing.assert_array_equal(full, reference)  # only the box's pixels are read, as torchvision
  # Pixels outside the box do not reach the view (Pillow's resize(box=...) on the whole image
  # read a filter's width beyond it).
  outside = np.asarray(Image.open(io.BytesIO(encoded)).convert('RGB')).copy()
  outside[:50], outside[350:], outside[:, :60], outside[:, 460:] = 0, 255, 0, 255
  masked = images.decode_resized_crops(images.open_image(_png(outside))[0], [box],
                                       [(224, 224)], draft=False)[0].astype(int)
  np.testing.assert_array_equal(masked, full)
  # The whole image to 112 x 112: decoded at 1/2 scale by libjpeg-turbo, then resized.
  whole = [(0, 0, 375, 500)]
  assert images.dct_scale(np.asarray(whole), [(112, 112)]) == 2
  drafted = images.decode_resized_crops(images.open_image(encoded)[0], whole, [(112, 112)])[0]
  exact = images.decode_resized_crops(images.open_image(encoded)[0], whole, [(112, 112)],
                                      draft=False)[0]
  assert np.abs(drafted.astype(int) - exact).mean() < 1.0  # measured 0.41 grey levels


def test_exif_orientation_grey_and_cmyk_are_decoded_as_displayed_in_the_datasets_channels():
  array = class_image(0, 40, 60, np.random.default_rng(3))
  rotated = images.decode_full(jpeg_bytes(array, exif_orientation=6))
  assert rotated.shape == (60, 40, 3)  # orientation 6: displayed rotated 90 degrees clockwise
  as_stored = images.decode_full(jpeg_bytes(array))  # the same JPEG without the EXIF tag
  np.testing.assert_array_equal(rotated, np.rot90(as_stored, -1))
  grey = images.decode_full(jpeg_bytes(array, mode='L'))
  assert grey.shape == (40, 60, 3) and np.array_equal(grey[..., 0], grey[..., 2])
  assert images.decode_full(jpeg_bytes(array, mode='L'), channels=1).shape == (40, 60, 1)
  encoded = jpeg_bytes(array, mode='CMYK')
  np.testing.assert_array_equal(images.decode_full(encoded),
                                np.asarray(Image.open(io.BytesIO(encoded)).convert('RGB')))
  with pytest.raises(images.ImageDecodeError, match='x.jpg: not a readable image'):
    images.open_image(b'not an image', 'x.jpg')


def test_two_view_batch_k_is_a_pure_function_of_seed_and_k_also_in_worker_processes(tree):
  _, data_dir, _ = tree
  source = input_pipeline.EncodedImages('tiny_tree', 'train', data_dir=data_dir)
  crops = input_pipeline._train_crops(_config(data_dir))
  make = lambda start, workers=0: iter(loader.make_loader(
      source, global_batch_size=4, seed=7, start_batch=start, worker_count=workers,
      process_index=0, process_count=1,
      batch_fn=input_pipeline.TwoViewBatch(source, crops, seed=7, process_index=0)))
  stream = make(0)
  batches = [next(stream) for _ in range(6)]  # 4 per epoch: into the second epoch
  assert batches[0]['view1'].shape == (4, 32, 32, 3) and batches[0]['view1'].dtype == np.uint8
  assert not np.array_equal(batches[0]['view1'], batches[0]['view2'])  # two different crops
  for later in (next(make(5)), next(make(5, workers=2))):
    for key in ('view1', 'view2', 'label'):
      np.testing.assert_array_equal(later[key], batches[5][key])


# -------------------------------------------------------- the in-memory path and streamed evaluation


def test_variable_size_images_fed_to_the_in_memory_path_name_the_fix(tree):
  _, data_dir, _ = tree
  with pytest.raises(ConfigError, match=r'different sizes.*--config.input_pipeline=grain'):
    setup(_config(data_dir, 'input_pipeline="memory"'), mesh=make_mesh(1))


def test_streamed_evaluation_matches_the_in_memory_evaluation(tmp_path):
  """Fixed-size images (a JPEG/PNG/grey/CMYK mix, all 32 x 32): the streamed evaluation view
  (resize 32, crop 32) is the whole image, so both paths see the same pixels."""
  from jaxssl.evaluate.run import evaluate_workdir
  write_image_tree(tmp_path / 'images', per_class=(8, 4), size=(32, 32))
  data.prepare('image_folder', data_dir=tmp_path / 'tfds', source_dir=tmp_path / 'images',
               dataset_name='square_tree')
  config = _config(tmp_path / 'tfds', 'eval.resize=32', 'eval.crop=32', 'diagnostics_every=0',
                   dataset='square_tree')
  state = setup(config).state  # the random-init encoder: features are already informative
  streamed = evaluate_workdir(tmp_path / 'streamed', state=state, config=config)
  arrays = tuple(data.load_arrays('square_tree', split, data_dir=tmp_path / 'tfds')
                 for split in ('train', 'validation'))
  assert arrays[0][0].shape == (24, 32, 32, 3)
  memory = evaluate_workdir(tmp_path / 'memory', state=state, config=config, arrays=arrays)
  # Same features up to float rounding (other batch shapes): the same probe and kNN accuracy, to
  # one of the 12 test images at most (measured: equal).
  for key in ('linear_top1', 'knn_top1'):
    assert abs(streamed[key] - memory[key]) <= 100 / 12 + 1e-6, key
  assert streamed['diag/rankme'] == pytest.approx(memory['diag/rankme'], rel=0.2)


def test_a_flat_folder_is_one_unlabelled_split_and_val_classes_must_match_train(tmp_path):
  for i in range(3):
    Image.new('RGB', (8, 8)).save(tmp_path / f'{i}.png')
  names, splits = image_folder.scan_tree(tmp_path)
  assert names is None and list(splits) == ['train']
  assert [label for _, label in splits['train']] == [-1, -1, -1]
  (tmp_path / 'tree' / 'train' / 'a').mkdir(parents=True)
  (tmp_path / 'tree' / 'val' / 'b').mkdir(parents=True)
  Image.new('RGB', (8, 8)).save(tmp_path / 'tree' / 'train' / 'a' / 'x.png')
  Image.new('RGB', (8, 8)).save(tmp_path / 'tree' / 'val' / 'b' / 'x.png')
  with pytest.raises(builders.SourceFormatError, match='do not match train/'):
    image_folder.scan_tree(tmp_path / 'tree')


def test_the_image_folder_configs_stream_at_224_with_byol_views():
  from pathlib import Path
  from jaxssl.config import load_config_file
  configs = Path(__file__).resolve().parents[1] / 'experiments' / 'configs'
  for arch in ('resnet18', 'resnet50'):
    c = load_config_file(f'{configs}/imagefolder.py:{arch}')
    assert (c.model.encoder, c.input_pipeline, c.objective.name) == (arch, 'grain', 'byol')
    assert input_pipeline.eval_sizes(c) == (256, (224, 224))  # the 256 -> 224 protocol
  with pytest.raises(ValueError, match='valid'):
    load_config_file(f'{configs}/imagefolder.py:vgg')
  for stem in ('imagenet100', 'tiny_imagenet'):
    c = load_config_file(f'{configs}/{stem}.py:corinfomax')
    assert c.input_pipeline == 'grain' and c.test_split == 'validation'
