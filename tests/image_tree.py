"""A small generated image tree of real encoded files: JPEGs of varied sizes, a PNG, a grey and a
CMYK JPEG, an EXIF-rotated JPEG; `corrupt=True` adds a truncated JPEG and a text file."""
import io

import numpy as np
from PIL import Image

from helpers import tiny_config

CLASSES = ('cat', 'dog', 'eel')


def class_image(label: int, height: int, width: int, rng) -> np.ndarray:
  """An RGB image whose colour and a bright square depend on the class, plus noise."""
  image = rng.integers(0, 60, (height, width, 3)).astype(np.uint8)
  image[..., label % 3] += 120
  top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
  image[top:top + height // 3, left:left + width // 3] = 250
  return image


def jpeg_bytes(array, quality=90, mode=None, exif_orientation=None) -> bytes:
  image = Image.fromarray(array)
  if mode:
    image = image.convert(mode)
  buffer = io.BytesIO()
  kwargs = {}
  if exif_orientation:
    exif = Image.Exif()
    exif[0x0112] = exif_orientation
    kwargs['exif'] = exif.tobytes()
  image.save(buffer, 'JPEG', quality=quality, **kwargs)
  return buffer.getvalue()


def write_image_tree(root, *, per_class=(6, 2), corrupt=False, seed=0, size=None):
  """root/train/<class>/..., root/val/<class>/...; returns {relative path: (array, label)} of the
  images as written (before JPEG loss). Sizes vary in 40..89 unless `size` = (h, w) fixes them."""
  rng = np.random.default_rng(seed)
  written = {}
  for split, count in zip(('train', 'val'), per_class):
    for label, name in enumerate(CLASSES):
      folder = root / split / name
      folder.mkdir(parents=True, exist_ok=True)
      for i in range(count):
        height, width = size or (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
        array = class_image(label, height, width, rng)
        kind = (label * count + i) % 7 if split == 'train' else 0
        stem = f'{name}_{i}'
        if kind == 1:
          path = folder / f'{stem}.png'
          Image.fromarray(array).save(path)
        elif kind == 2:
          path = folder / f'{stem}.jpg'
          path.write_bytes(jpeg_bytes(array, mode='L'))
        elif kind == 3:
          path = folder / f'{stem}.jpg'
          path.write_bytes(jpeg_bytes(array, mode='CMYK'))
        elif kind == 4:  # stored transposed-by-rotation; displayed as `array` rotated
          path = folder / f'{stem}.jpg'
          path.write_bytes(jpeg_bytes(array, exif_orientation=6))
        else:
          path = folder / f'{stem}.jpeg'
          path.write_bytes(jpeg_bytes(array))
        written[str(path.relative_to(root))] = (array, label)
  if corrupt:
    good = (root / 'train' / CLASSES[0] / f'{CLASSES[0]}_0.jpeg').read_bytes()
    (root / 'train' / CLASSES[1] / 'truncated.jpg').write_bytes(good[:len(good) // 3])
    (root / 'train' / CLASSES[2] / 'notes.txt').write_text('not an image')
  return written


def image_config(data_dir, *overrides, dataset='tiny_tree'):
  """The tiny config streaming an image-folder data set: CIFAR's 32x32 views, batch 8, 3 classes."""
  return tiny_config('input_pipeline="grain"', f'data_dir="{data_dir}"', f'dataset="{dataset}"',
                     'augment.view1="cifar_view1"', 'augment.view2="cifar_view2"', 'batch_size=8',
                     'num_classes=3', 'test_split="validation"', 'eval.knn_k=(3,)', *overrides)
