"""`jaxssl prepare image_folder --source-dir DIR --name NAME`: an image tree -> TFDS array_record.

Layouts (torchvision's `ImageFolder` and ImageNet's):
- `DIR/train/<class>/*.jpg` (+ `DIR/val/<class>/...` or `DIR/validation/...`, `DIR/test/...`): one
  split per folder, `val/` named `validation` as in TFDS; class names are the sorted folder names of
  `train/` (a class folder in `val/` that `train/` lacks is an error).
- `DIR/<class>/*.jpg`: one `train` split.
- `DIR/*.jpg` (no class folders): one unlabelled `train` split (no `label` feature).

Records are those `tfds build` writes for `tfds.features.Image`: the file's original encoded bytes
(never re-encoded, so no TensorFlow is needed: TFDS only needs TF to *encode* arrays), plus
`label` (`ClassLabel` with the class names) and `file_name` (the path below DIR). A data set of
TFDS's own (imagenet2012, imagenette prepared as array_record on a machine with TF) has the same
serialized form and is read by the same code (`jaxssl.data.input_pipeline`).

Before anything is written every file is opened and decoded at 1/8 scale (a JPEG costs ~1 ms): a
file that Pillow cannot read (corrupt, truncated, not an image) fails the preparation with one error
naming the files (up to 10) and the fix; `skip_bad_files=True` (`--skip-bad-files`) leaves them out
with a warning instead. Hidden files (`.DS_Store`, ...) are ignored. The data set is written into a
temporary directory that TFDS renames when complete: an interrupted run leaves nothing that counts
as prepared, and a rerun starts clean (stale temporary directories are removed).

Records are stored in a fixed shuffled order (seed 0): per-process contiguous shards of the
streaming loader then hold every class, not the first and second halves of the class list.
"""
import concurrent.futures
import logging
import os
import re
import shutil

import numpy as np
import tensorflow_datasets as tfds

from jaxssl.data import images as images_lib
from jaxssl.data.builders import SourceFilesMissingError
from jaxssl.data.builders import SourceFormatError
from jaxssl.data.builders import _LocalBuilder

log = logging.getLogger(__name__)

BUILDER_NAME = 'image_folder'
SPLIT_FOLDERS = {'train': 'train', 'val': 'validation', 'validation': 'validation', 'test': 'test'}
_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')
_GREY_MODES = ('1', 'L', 'LA', 'I', 'I;16', 'F')
_SHOW = 10


def _visible(names):
  return sorted(n for n in names if not n.startswith('.'))


def _class_tree(folder):
  """(class names, [(path, label)]) for folder/<class>/<file>, or (None, files) if flat."""
  entries = _visible(os.listdir(folder))
  dirs = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
  files = [e for e in entries if os.path.isfile(os.path.join(folder, e))]
  if not dirs:
    return None, [(os.path.join(folder, f), -1) for f in files]
  if files:
    raise SourceFormatError(
        f'{folder} holds both class folders ({dirs[0]}/, ...) and loose files ({files[0]}, ...): '
        'move each file into its class folder, or the loose files out of the tree.')
  items = []
  for label, name in enumerate(dirs):
    class_dir = os.path.join(folder, name)
    found = [os.path.join(class_dir, f) for f in _visible(os.listdir(class_dir))
             if os.path.isfile(os.path.join(class_dir, f))]
    if not found:
      raise SourceFormatError(
          f'Class folder {class_dir} is empty: add its images or delete the folder (every class '
          'folder becomes a label).')
    items += [(path, label) for path in found]
  return dirs, items


def scan_tree(source_dir) -> tuple[list | None, dict]:
  """The class names (None: unlabelled) and each split's [(path, label)] of an image tree."""
  source_dir = os.fspath(source_dir)
  if not os.path.isdir(source_dir):
    raise SourceFilesMissingError(
        f'Image folder {source_dir} does not exist (or is not a directory): pass the folder that '
        'holds train/ and val/ (or one folder per class) as --source-dir.')
  split_dirs = {SPLIT_FOLDERS[d]: os.path.join(source_dir, d) for d in _visible(os.listdir(
      source_dir)) if d in SPLIT_FOLDERS and os.path.isdir(os.path.join(source_dir, d))}
  if 'train' not in split_dirs:
    if split_dirs:
      raise SourceFormatError(f'{source_dir} has {sorted(split_dirs)} split folders but no train/.')
    split_dirs = {'train': source_dir}
  names, splits = None, {}
  for split in sorted(split_dirs, key=lambda s: s != 'train'):  # train first: it names classes
    split_names, items = _class_tree(split_dirs[split])
    if split == 'train':
      names = split_names
    elif (names is None) != (split_names is None) or (names and set(split_names) - set(names)):
      raise SourceFormatError(
          f'{split_dirs[split]} has class folders {split_names[:5] if split_names else None} that '
          f'do not match train/ ({names[:5] if names else None}, ...): every split needs the same '
          'class folder names as train/.')
    elif names:  # a split may lack classes; its labels are train's indices
      remap = [names.index(n) for n in split_names]
      items = [(path, remap[label]) for path, label in items]
    if not items:
      raise SourceFormatError(f'{split_dirs[split]} holds no files: put the images there.')
    splits[split] = items
  return names, splits


def _check_file(path):
  """(path, mode) if Pillow reads the file (decoded at 1/8 scale), else (path, error message)."""
  try:
    with open(path, 'rb') as f:
      encoded = f.read()
    image, _ = images_lib.open_image(encoded, path)
    mode = image.mode
    images_lib.decode_resized_crops(image, [[0, 0, 8, 8]], [(1, 1)], channels=3, name=path)
    return path, mode, None
  except (OSError, images_lib.ImageDecodeError) as e:
    return path, None, str(e)


def check_files(splits: dict, *, skip_bad_files: bool, threads: int | None = None):
  """Decodes every file once (1/8 scale); returns (splits without bad files, channels 1 or 3)."""
  paths = [path for items in splits.values() for path, _ in items]
  with concurrent.futures.ThreadPoolExecutor(threads or os.cpu_count()) as pool:
    results = list(pool.map(_check_file, paths))
  bad = {path: error for path, _, error in results if error}
  if bad and not skip_bad_files:
    shown = '\n  '.join(list(bad.values())[:_SHOW])
    more = f'\n  ... and {len(bad) - _SHOW} more' if len(bad) > _SHOW else ''
    raise SourceFormatError(
        f'{len(bad)} of {len(paths)} files are not readable images:\n  {shown}{more}\nDelete or '
        'replace them, or pass --skip-bad-files (skip_bad_files=True) to leave them out.')
  if bad:
    log.warning('Skipping %d unreadable files: %s', len(bad), ', '.join(sorted(bad)[:_SHOW]))
  grey = all(mode in _GREY_MODES for _, mode, error in results if not error)
  splits = {split: [(p, label) for p, label in items if p not in bad]
            for split, items in splits.items()}
  for split, items in splits.items():
    if not items:
      raise SourceFormatError(f'Split {split!r} has no readable image left.')
  return splits, 1 if grey else 3


class ImageFolder(_LocalBuilder, skip_registration=True):
  """Base of the per-name builders that `prepare_image_folder` makes (`name` = --name)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Original encoded image bytes, label, file name.'}
  _CLASS_NAMES: list | None = None
  _CHANNELS: int = 3
  _SPLITS: dict = {}
  _ROOT: str = ''

  def _info(self):
    features = {'image': tfds.features.Image(shape=(None, None, self._CHANNELS)),
                'file_name': tfds.features.Text()}
    if self._CLASS_NAMES is not None:
      features['label'] = tfds.features.ClassLabel(names=self._CLASS_NAMES)
    return self.dataset_info_from_configs(
        description=f'Image folder {self._ROOT}: encoded images as stored in the files.',
        features=tfds.features.FeaturesDict(features),
        supervised_keys=('image', 'label') if self._CLASS_NAMES is not None else None,
        disable_shuffling=True,
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(items) for split, items in self._SPLITS.items()}

  def _generate_examples(self, items):
    order = np.random.default_rng(0).permutation(len(items))
    for position, i in enumerate(order):  # TFDS writes records in the order of their keys
      path, label = items[i]
      with open(path, 'rb') as f:
        record = {'image': f.read(), 'file_name': os.path.relpath(path, self._ROOT)}
      if self._CLASS_NAMES is not None:
        record['label'] = label
      yield position, record


def check_name(name: str) -> None:
  if not _NAME_RE.match(name or ''):
    raise SourceFormatError(
        f'--name {name!r} must be snake_case (a lower-case letter, then lower-case letters, digits '
        'or _), as TFDS names are: e.g. --name my_images.')
  if name in tfds.list_builders(with_community_datasets=False):
    raise SourceFormatError(
        f'--name {name!r} is a TFDS data set of its own; pick another name (e.g. {name}_folder) so '
        'that reading it finds this one.')


def builder_class(name: str, source_dir, *, skip_bad_files: bool = False) -> type:
  """Scans and checks the tree, and returns a TFDS builder class named `name` that writes it."""
  check_name(name)
  class_names, splits = scan_tree(source_dir)
  splits, channels = check_files(splits, skip_bad_files=skip_bad_files)
  return type(f'ImageFolder_{name}', (ImageFolder,), dict(
      name=name, _CLASS_NAMES=class_names, _CHANNELS=channels, _SPLITS=splits,
      _ROOT=os.fspath(source_dir), __module__=__name__), skip_registration=True)


def prepare_image_folder(name: str, source_dir, data_dir: str, *, skip_bad_files: bool = False):
  """Prepares the image tree `source_dir` as TFDS data set `name` in `data_dir`; the builder.

  A no-op (after the scan) if `name` is already prepared there: delete `data_dir/name` to rebuild.
  """
  if source_dir is None:
    raise SourceFilesMissingError('jaxssl prepare image_folder needs --source-dir DIR (the image '
                                  'tree) and --name NAME (the data set name to read it by).')
  root = os.path.join(data_dir, name or '')
  cls = builder_class(name, source_dir, skip_bad_files=skip_bad_files)
  if os.path.isdir(root):  # leftovers of an interrupted run (TFDS renames when complete)
    for entry in os.listdir(root):
      if entry.startswith('incomplete.') or '.incomplete' in entry:
        shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
  builder = cls(data_dir=data_dir)
  builder.download_and_prepare()
  return builder
