"""Presets (view 1 and view 2 of BYOL, CIFAR and Fashion-MNIST) and the data sets' statistics."""
import copy

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)

BYOL_VIEW1 = dict(
    crop=dict(out_size=(224, 224), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=1.0, sigma=(0.1, 2.0)),  # kernel 23 at 224
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=IMAGENET_MEAN, std=IMAGENET_STD),
)
BYOL_VIEW2 = dict(
    crop=dict(out_size=(224, 224), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.1, sigma=(0.1, 2.0)),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=IMAGENET_MEAN, std=IMAGENET_STD),
)

# CIFAR-10/100 at 32×32 (solo-learn's BYOL CIFAR recipe): no blur, solarize on view 2 only.
CIFAR_VIEW1 = dict(
    crop=dict(out_size=(32, 32), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.0),
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=CIFAR10_MEAN, std=CIFAR10_STD),
)
CIFAR_VIEW2 = dict(
    crop=dict(out_size=(32, 32), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    grayscale=dict(p=0.2),
    blur=dict(p=0.0),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=CIFAR10_MEAN, std=CIFAR10_STD),
)

# Fashion-MNIST, 28×28 grayscale: milder crops (a garment fills the frame; 8% of 28² is an 8×8
# patch), brightness/contrast only (saturation, hue and grayscale are identities for C = 1), a light
# blur (3-tap kernel) and BYOL's asymmetric blur/solarize between the views. Training-set mean/std.
FMNIST_VIEW1 = dict(
    crop=dict(out_size=(28, 28), scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.0, hue=0.0),
    blur=dict(p=0.2, sigma=(0.1, 2.0)),
    solarize=dict(p=0.0, threshold=0.5),
    normalize=dict(mean=FMNIST_MEAN, std=FMNIST_STD),
)
FMNIST_VIEW2 = dict(
    crop=dict(out_size=(28, 28), scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)),
    flip=dict(p=0.5),
    color_jitter=dict(p=0.8, brightness=0.4, contrast=0.4, saturation=0.0, hue=0.0),
    blur=dict(p=0.1, sigma=(0.1, 2.0)),
    solarize=dict(p=0.2, threshold=0.5),
    normalize=dict(mean=FMNIST_MEAN, std=FMNIST_STD),
)

_PRESETS = {
    "byol_view1": BYOL_VIEW1,
    "byol_view2": BYOL_VIEW2,
    "cifar_view1": CIFAR_VIEW1,
    "cifar_view2": CIFAR_VIEW2,
    "fmnist_view1": FMNIST_VIEW1,
    "fmnist_view2": FMNIST_VIEW2,
}
PRESET_NAMES = tuple(_PRESETS)


def get_preset(name: str) -> dict:
  """A deep copy of the preset named `name` (case-insensitive), one of PRESET_NAMES."""
  key = str(name).lower()
  if key not in _PRESETS:
    raise ValueError(f"Unknown augmentation preset {name!r}; valid names: {list(PRESET_NAMES)}.")
  return copy.deepcopy(_PRESETS[key])
