"""On-device SSL augmentations: pure per-example functions, vmapped over a batch (BYOL).

Every transform is a pure function `(image, key, **params) -> image` of one float32 image in [0, 1],
layout HWC with C = 1 (grayscale, e.g. Fashion-MNIST) or C = 3 (RGB). `augment` chains them in
BYOL's order (crop, flip, colour jitter, grayscale, blur, solarize, normalize) from a plain config
dict, `augment_batch` vmaps it over a batch with one key per image, and `two_views` draws the two
views of an SSL pair with independent keys.

Probabilities. A transform with probability p draws u ~ U[0, 1) and returns
`jnp.where(u < p, f(x), x)` (a Bernoulli(p) choice). Under `vmap` a `lax.cond` on a per-example
predicate becomes a select that evaluates both branches anyway (BYOL's reference code pays that),
so `where` costs the same and is simpler. A p that is a Python number 0 (or 1) short-circuits at
trace time: the transform (or the select) is not traced at all. Likewise a jitter strength of 0
removes that operation statically, so it is exactly the identity.

Randomness. Each transform `f(image, key)` makes one call `uniform(key, (n_f,))` (n_f fixed per
transform, `_DRAWS`), and `augment` makes one call for all its stages and hands each stage its
slice: every threefry call site costs XLA:CPU seconds of compile time under vmap, so one per view
keeps `jax.jit(two_views)` quick to build. Hence `augment(x, key, {"flip": ...})` is deterministic
in `key` but not equal to `horizontal_flip(x, key)`.

Speed. Resampling (crop + resize) and blurring are products with small dense matrices built from
the per-example parameters (out×H and out×W; H×H and W×W), applied with einsum: fixed shapes, no
gathers, batched matmuls under `vmap`. Matmuls run at `Precision.HIGHEST` so that identities stay
exact to float32 rounding on GPUs that would otherwise use TF32.

Configs are plain dicts of floats and tuples (they fit in an `ml_collections.ConfigDict`); they are
static, so close over them when jitting, or pass a preset's name:

  step = jax.jit(lambda x, k: two_views(x, k, FMNIST_VIEW1, FMNIST_VIEW2))
  step = jax.jit(two_views, static_argnames=("config1", "config2"))  # with config1="fmnist_view1"

Semantics are torchvision's (not the TensorFlow ops of BYOL's own code: see `color_jitter`): every
deterministic primitive matches `torchvision.transforms.v2.functional` to float32 rounding, and
`resized_crop` reads only its box (`crop_window`), as torchvision's crop-then-resize; the table of
differences is in docs/api/augment.md and printed by tests/test_augment_torchvision.py.

The package, by family: `geometry` (random resized crop, flip), `colour` (grayscale, colour
jitter), `filters` (blur, solarize), `pipeline` (`augment`, `augment_batch`, `two_views`,
`normalize`), `presets` (the views of BYOL, CIFAR, Fashion-MNIST and the data sets' mean / std) and
`views` (a run config's views: `view_config`, `device_views`, `normalize_batch`). Every public name
is importable from `jaxssl.augment`.

References: Grill et al. 2020, "Bootstrap your own latent", arXiv:2006.07733 (augmentations in
App. B); torchvision.transforms (RandomResizedCrop, ColorJitter, GaussianBlur, RandomSolarize) for
the exact semantics.
"""
from jaxssl.augment.colour import (LUMA_WEIGHTS, adjust_brightness, adjust_contrast, adjust_hue,
                                   adjust_saturation, color_jitter, rgb_to_grayscale, to_grayscale)
from jaxssl.augment.filters import blur, default_kernel_size, gaussian_blur, solarize
from jaxssl.augment.geometry import (crop_window, horizontal_flip, random_resized_crop,
                                     resize_matrix, resized_crop, sample_crop_box)
from jaxssl.augment.pipeline import augment, augment_batch, normalize, two_views
from jaxssl.augment.presets import (BYOL_VIEW1, BYOL_VIEW2, CIFAR10_MEAN, CIFAR10_STD, CIFAR_VIEW1,
                                    CIFAR_VIEW2, FMNIST_MEAN, FMNIST_STD, FMNIST_VIEW1,
                                    FMNIST_VIEW2, IMAGENET_MEAN, IMAGENET_STD, PRESET_NAMES,
                                    get_preset)
from jaxssl.augment.views import device_views, normalize_batch, view_config

__all__ = [
    'augment', 'augment_batch', 'two_views', 'normalize',
    'random_resized_crop', 'sample_crop_box', 'crop_window', 'resize_matrix', 'resized_crop',
    'horizontal_flip',
    'color_jitter', 'to_grayscale', 'rgb_to_grayscale', 'adjust_brightness', 'adjust_contrast',
    'adjust_saturation', 'adjust_hue', 'LUMA_WEIGHTS',
    'gaussian_blur', 'blur', 'default_kernel_size', 'solarize',
    'get_preset', 'PRESET_NAMES', 'BYOL_VIEW1', 'BYOL_VIEW2', 'CIFAR_VIEW1', 'CIFAR_VIEW2',
    'FMNIST_VIEW1', 'FMNIST_VIEW2', 'IMAGENET_MEAN', 'IMAGENET_STD', 'CIFAR10_MEAN', 'CIFAR10_STD',
    'FMNIST_MEAN', 'FMNIST_STD',
    'view_config', 'device_views', 'normalize_batch',
]
