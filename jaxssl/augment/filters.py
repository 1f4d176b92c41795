"""Filters: the Gaussian blur (separable, reflect-padded) and solarisation."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.augment._common import (_DRAWS, _HIGHEST, _apply_with_prob, _check_image, _pair,
                                    _uniform)
from jaxssl.augment.geometry import _separable


def default_kernel_size(side: int) -> int:
  """Odd kernel size ≈ 10% of the image side, at least 3 (BYOL: 23 at 224, 3 at 32 and 28)."""
  return 2 * max(1, int(side / 10 / 2)) + 1


def _reflect_tap_masks(n: int, radius: int) -> np.ndarray:
  """Static (r + 1, n, n) counts M_d[i, j] = #{taps t = ±d : reflect(i + t) = j}, d = 0..r.

  Reflect padding without the edge (torchvision/NumPy "reflect": x[−1] = x[1]) folds the taps that
  fall off the image back inside. Needs r ≤ n − 1.
  """
  masks = np.zeros((radius + 1, n, n), np.float32)
  rows = np.arange(n)
  for t in range(-radius, radius + 1):
    j = rows + t
    j = np.where(j < 0, -j, j)
    j = np.where(j > n - 1, 2 * (n - 1) - j, j)
    np.add.at(masks, (abs(t), rows, j), 1.0)
  return masks


def _blur_matrix(n: int, sigma, radius: int):
  """(n, n) matrix B: (B x)_i = Σ_{|t|≤r} g(t) x[reflect(i + t)], g ∝ exp(−t²/2σ²), Σ_t g(t) = 1.

  B = Σ_d g(d)·M_d with the static masks of `_reflect_tap_masks`: r + 1 exps per σ, then one small
  matrix product (batched over images under vmap). Rows sum to 1.
  """
  d = np.arange(radius + 1, dtype=np.float32)
  g = jnp.exp(-0.5 * (d / sigma) ** 2)
  g = g / (2.0 * jnp.sum(g) - g[0])  # normalise over the taps −r..r
  return jnp.einsum("d,dij->ij", g, _reflect_tap_masks(n, radius), precision=_HIGHEST)


def _blur_radius(kernel_size, height, width):
  """r = K // 2 of an odd kernel size K ≥ 3 that reflect padding can serve (r < min(H, W))."""
  kernel_size = int(kernel_size)
  radius = kernel_size // 2
  if kernel_size % 2 != 1 or kernel_size < 3 or radius >= min(height, width):
    raise ValueError(f"blur kernel_size must be odd, >= 3 and with kernel_size // 2 < min(H, W) = "
                     f"{min(height, width)}, got {kernel_size}.")
  return radius


def _gaussian_blur(image, u, *, p=0.5, sigma=(0.1, 2.0), kernel_size=None):
  _check_image(image)
  height, width, _ = image.shape
  s_lo, s_hi = _pair(sigma, "sigma")
  if not 0.0 < s_lo:
    raise ValueError(f"blur sigma must be > 0, got {sigma!r}.")
  kernel_size = default_kernel_size(max(height, width)) if kernel_size is None else kernel_size
  radius = _blur_radius(kernel_size, height, width)
  sigma_u = s_lo + (s_hi - s_lo) * u[1]
  return _apply_with_prob(u[0], p, lambda x: _blur(x, sigma_u, radius), image)


def _blur(image, sigma, radius):
  height, width, _ = image.shape
  rows = _blur_matrix(height, sigma, radius)
  cols = rows if width == height else _blur_matrix(width, sigma, radius)
  return _separable(rows, image, cols)


def blur(image: jax.Array, sigma, kernel_size: int) -> jax.Array:
  """Gaussian blur of a given σ: torchvision's `gaussian_blur(x, [K, K], [σ, σ])`, reflect padding.

  The deterministic core of `gaussian_blur`: separable taps g(t) ∝ exp(−t²/2σ²), |t| ≤ K // 2,
  summing to 1, applied as B_H · x · B_Wᵀ with the reflect padding folded into B.

  Args:
    image: float32 (H, W, C).
    sigma: σ > 0 in pixels (may be traced).
    kernel_size: odd K ≥ 3 with K // 2 < min(H, W) (static).

  Returns:
    float32 (H, W, C).
  """
  _check_image(image)
  return _blur(image, sigma, _blur_radius(kernel_size, *image.shape[:2]))


def gaussian_blur(image: jax.Array, key: jax.Array, *, p: float = 0.5, sigma=(0.1, 2.0),
                  kernel_size: int | None = None) -> jax.Array:
  """With probability p, a separable Gaussian blur with σ ~ U(sigma), reflect padding.

  Kernel g(t) ∝ exp(−t²/2σ²), t ∈ [−r, r], K = 2r + 1 taps (default `default_kernel_size` of
  max(H, W), as BYOL: ≈ 10% of the side, odd, ≥ 3). Applied as out = B_H · x · B_Wᵀ with the banded
  matrices of `_blur_matrix` (reflect padding folded in, as torchvision's GaussianBlur): fixed
  shapes, O(H²W + HW²) per channel, cheap at SSL image sizes. A constant image stays constant; the
  mean is kept up to border effects.

  Args:
    image: float32 (H, W, C).
    key: a PRNG key.
    p: probability of blurring (BYOL: 1.0 for view 1, 0.1 for view 2).
    sigma: (σ_min, σ_max) in pixels, or a number for a fixed σ.
    kernel_size: odd K ≥ 3 with K // 2 < min(H, W), or None for the default.

  Returns:
    float32 (H, W, C).
  """
  return _gaussian_blur(image, _uniform(key, _DRAWS["blur"]), p=p, sigma=sigma,
                        kernel_size=kernel_size)


def _solarize(image, u, *, p=0.2, threshold=0.5):
  _check_image(image)
  return _apply_with_prob(u[0], p, lambda x: jnp.where(x >= threshold, 1.0 - x, x), image)


def solarize(image: jax.Array, key: jax.Array, *, p: float = 0.2,
             threshold: float = 0.5) -> jax.Array:
  """With probability p, x ← 1 − x where x ≥ threshold (torchvision RandomSolarize, BYOL).

  Args:
    image: float (H, W, C) in [0, 1].
    key: a PRNG key.
    p: probability of solarizing (BYOL: 0 for view 1, 0.2 for view 2).
    threshold: pixels at or above it are inverted.

  Returns:
    Same shape and dtype, in [0, 1].
  """
  return _solarize(image, _uniform(key, _DRAWS["solarize"]), p=p, threshold=threshold)
