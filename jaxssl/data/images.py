"""Host-side image decoding for streamed data sets: the crop is chosen before the decode (no TF).

Encoded images (JPEG, PNG, ... as `tfds.features.Image` stores them) are opened with Pillow, which
reads only the header: the size, the mode and the EXIF orientation. The random-resized-crop box is
sampled from that size (`sample_crop_boxes`, torchvision's `RandomResizedCrop.get_params`), then
`decode_resized_crops` decodes the image once for all its views, at the smallest JPEG DCT scale
(1/2, 1/4, 1/8: Pillow's `draft`, libjpeg-turbo's scaled decode) that keeps every box at least as
large as its output, and resizes each box with Pillow's antialiased bilinear filter (what
torchvision does on PIL images) straight to the output size as uint8. Flip, colour jitter, grey, blur and solarise then run on the device.

Semantics, against torchvision's `ImageFolder` + `RandomResizedCrop`:
- The same box distribution (integer boxes; scale and ratio ranges; 10 attempts; the central-crop
  fallback), drawn with NumPy from a per-batch seed instead of torch's global generator.
- Only the box's pixels are read: the box's crop window is cut out first, then resized
  (`_resize_box`), as torchvision's crop-then-resize does; an integer box at full decode gives
  torchvision's pixels exactly (tested), and the views of a pair never share pixels outside their
  boxes.
- A DCT-scaled decode is itself an antialiased downsampling, so a box decoded at 1/2 scale and then
  resized differs from a full decode by a few grey levels (measured in tests/test_images.py).
- Grey, CMYK, palette and RGBA images are converted to the data set's channels (RGB for 3, L for 1)
  as torchvision's default loader (`convert('RGB')`) does. The EXIF orientation is applied (the image
  is cropped as it is displayed); torchvision and `tf.io.decode_jpeg` ignore it.
"""
import io
import math

import numpy as np
from PIL import Image
from PIL import ImageOps

from jaxssl.errors import JaxsslError

_ORIENTATION_TAG = 0x0112
_SWAPS_AXES = (5, 6, 7, 8)  # EXIF orientations that transpose the image
_DCT_SCALES = (8, 4, 2, 1)
_CROP_ATTEMPTS = 10


class ImageDecodeError(JaxsslError, ValueError):
  """An encoded image that Pillow cannot read."""


def open_image(encoded: bytes, name: str = 'image') -> tuple[Image.Image, tuple[int, int]]:
  """Opens `encoded` lazily (header only); returns the image and its displayed (height, width).

  The displayed size accounts for the EXIF orientation (orientations 5-8 swap the axes).
  """
  try:
    image = Image.open(io.BytesIO(encoded))
  except Exception as e:  # noqa: BLE001 -- Pillow raises many types for unreadable data
    raise ImageDecodeError(f'{name}: not a readable image ({type(e).__name__}: {e}).') from e
  width, height = image.size
  if _orientation(image) in _SWAPS_AXES:
    width, height = height, width
  return image, (height, width)


def _orientation(image: Image.Image) -> int:
  if image.format not in ('JPEG', 'MPO', 'TIFF', 'WEBP', 'PNG'):
    return 1
  info = image.info
  if 'exif' not in info and image.format == 'JPEG':
    return 1  # no APP1 segment: nothing to parse
  try:
    return int(image.getexif().get(_ORIENTATION_TAG, 1))
  except Exception:  # noqa: BLE001 -- a broken EXIF block: show the image as stored
    return 1


def sample_crop_boxes(rng: np.random.Generator, sizes: np.ndarray, *, scale=(0.08, 1.0),
                      ratio=(3 / 4, 4 / 3)) -> np.ndarray:
  """Random-resized-crop boxes as torchvision's `RandomResizedCrop.get_params`, one per image.

  For each of 10 attempts: area a ~ U(scale)·H·W, aspect r = exp(U(log ratio)),
  w = round(√(a·r)), h = round(√(a/r)); the first attempt with 0 < w ≤ W and 0 < h ≤ H is kept,
  its top-left corner uniform over the integer positions inside the image. If none fits: the whole
  image with its aspect clamped to `ratio`, centred. Vectorised over the batch.

  Args:
    rng: a NumPy generator (seeded per batch by the caller, so a batch is a pure function of it).
    sizes: int (N, 2) array of (height, width).
    scale, ratio: as torchvision.

  Returns:
    int64 (N, 4) array of boxes (top, left, height, width).
  """
  sizes = np.asarray(sizes, np.int64).reshape(-1, 2)
  n = len(sizes)
  height, width = sizes[:, :1].astype(np.float64), sizes[:, 1:].astype(np.float64)
  log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
  area = height * width * rng.uniform(scale[0], scale[1], (n, _CROP_ATTEMPTS))
  aspect = np.exp(rng.uniform(log_lo, log_hi, (n, _CROP_ATTEMPTS)))
  u_top, u_left = rng.random((2, n, _CROP_ATTEMPTS))
  w = np.round(np.sqrt(area * aspect))
  h = np.round(np.sqrt(area / aspect))
  fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
  first = np.argmax(fits, axis=1)
  found = fits[np.arange(n), first]
  pick = lambda a: a[np.arange(n), first]
  h, w = pick(h), pick(w)
  top = np.floor(pick(u_top) * (height[:, 0] - h + 1))
  left = np.floor(pick(u_left) * (width[:, 0] - w + 1))
  # torchvision's fallback: the central crop with the aspect clamped to the ratio range.
  fh, fw = center_boxes_for_ratio(sizes, ratio)
  top = np.where(found, top, (height[:, 0] - fh) // 2)
  left = np.where(found, left, (width[:, 0] - fw) // 2)
  h, w = np.where(found, h, fh), np.where(found, w, fw)
  return np.stack([top, left, h, w], axis=1).astype(np.int64)


def center_boxes_for_ratio(sizes: np.ndarray, ratio) -> tuple[np.ndarray, np.ndarray]:
  """torchvision's fallback box size (h, w): the whole image, its aspect clamped to `ratio`."""
  height, width = (sizes[:, i].astype(np.float64) for i in (0, 1))
  in_ratio = width / height
  h = np.where(in_ratio < ratio[0], np.round(width / ratio[0]), height)
  w = np.where(in_ratio > ratio[1], np.round(height * ratio[1]), width)
  return h, w


def center_crop_box(size: tuple[int, int], resize: int, crop: tuple[int, int]) -> np.ndarray:
  """The box of the evaluation view: shorter side resized to `resize`, then a central `crop`.

  torchvision's `Resize(resize)` + `CenterCrop(crop)` as one box of the original image (float
  (top, left, height, width)), resized straight to `crop` in one step.
  """
  height, width = size
  f = resize / min(height, width)  # the resize factor
  ch, cw = crop
  box_h, box_w = min(ch / f, height), min(cw / f, width)
  return np.asarray([(height - box_h) / 2, (width - box_w) / 2, box_h, box_w], np.float64)


def dct_scale(boxes: np.ndarray, out_sizes) -> int:
  """The largest JPEG DCT scale in (8, 4, 2, 1) at which every box is still >= its output size."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  outs = np.asarray(out_sizes, np.float64).reshape(-1, 2)
  for s in _DCT_SCALES:
    if np.all(boxes[:, 2] / s >= outs[:, 0]) and np.all(boxes[:, 3] / s >= outs[:, 1]):
      return s
  return 1


def decode_resized_crops(image: Image.Image, boxes, out_sizes, *, channels: int = 3,
                         draft: bool = True, name: str = 'image') -> list[np.ndarray]:
  """Decodes `image` once and returns each box resized to its output size, uint8 (h, w, channels).

  Args:
    image: from `open_image` (not yet decoded).
    boxes: (V, 4) boxes (top, left, height, width) in displayed pixels (after EXIF orientation).
    out_sizes: (V, 2) output sizes (height, width), or one pair for all.
    channels: 3 (RGB) or 1 (L).
    draft: decode a JPEG at the coarsest DCT scale that keeps each box >= its output (`dct_scale`);
      False decodes at full size (for measurements).
    name: the image's name for errors.
  """
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  out_sizes = np.broadcast_to(np.asarray(out_sizes, np.int64).reshape(-1, 2), (len(boxes), 2))
  mode = {3: 'RGB', 1: 'L'}[channels]
  try:
    full_w, full_h = image.size
    orientation = _orientation(image)
    if orientation in _SWAPS_AXES:
      full_w, full_h = full_h, full_w
    if draft and image.format == 'JPEG':
      s = dct_scale(boxes, out_sizes)
      if s > 1:
        image.draft(image.mode, (image.size[0] // s, image.size[1] // s))
    image.load()
    if orientation != 1:
      image = ImageOps.exif_transpose(image)
    if image.mode not in ('RGB', 'L'):
      image = image.convert(mode)  # CMYK, palette, RGBA, 16-bit grey
    fx, fy = image.size[0] / full_w, image.size[1] / full_h
    views = []
    for (top, left, h, w), (out_h, out_w) in zip(boxes, out_sizes):
      box = (left * fx, top * fy, (left + w) * fx, (top + h) * fy)
      if box == (0, 0, image.size[0], image.size[1]) and image.size == (out_w, out_h):
        view = image
      else:
        view = _resize_box(image, box, (int(out_w), int(out_h)))
      if view.mode != mode:
        view = view.convert(mode)  # grey in an RGB data set (after the resize: 3x less work)
      array = np.asarray(view, np.uint8)
      views.append(array[..., None] if array.ndim == 2 else array)
  except ImageDecodeError:
    raise
  except Exception as e:  # noqa: BLE001 -- truncated or corrupt data
    raise ImageDecodeError(f'{name}: cannot decode ({type(e).__name__}: {e}).') from e
  return views


def _resize_box(image: Image.Image, box, size) -> Image.Image:
  """`box` (left, top, right, bottom; fractional after a DCT-scaled decode) of `image` resized to
  `size`, reading only the box's pixels: its crop window first (`jaxssl.augment.crop_window`'s
  rule: edges rounded to the nearest pixel edge, halves up, at least one pixel), then Pillow's
  antialiased bilinear resize of the box within that window (clipped to it where a sub-pixel edge
  was rounded inwards). Pillow's `resize(box=...)` on the
  whole image would read a filter's width beyond the box; torchvision crops, then resizes. An
  integer box is exactly torchvision's `resized_crop` on a PIL image."""
  edges = []
  for lo, hi, extent in ((box[0], box[2], image.size[0]), (box[1], box[3], image.size[1])):
    start = min(max(math.floor(lo + 0.5), 0), extent - 1)
    edges.append((start, min(max(math.floor(hi + 0.5), start + 1), extent)))
  (x0, x1), (y0, y1) = edges
  window = image.crop((x0, y0, x1, y1))
  # The box within its window; where rounding made the window the smaller, the box is clipped to
  # it (Pillow's box must lie inside the image it resizes).
  inner = (max(box[0] - x0, 0.0), max(box[1] - y0, 0.0), min(box[2] - x0, x1 - x0),
           min(box[3] - y0, y1 - y0))
  return window.resize(size, Image.BILINEAR, box=inner)


def decode_full(encoded: bytes, *, channels: int = 3, name: str = 'image') -> np.ndarray:
  """The whole image, uint8 (H, W, channels), EXIF orientation applied (for the in-memory path)."""
  image, (height, width) = open_image(encoded, name)
  box = np.asarray([[0, 0, height, width]])
  return decode_resized_crops(image, box, [(height, width)], channels=channels, draft=False,
                              name=name)[0]
