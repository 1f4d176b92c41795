"""Flax critics f(x, y) that score every pair of a batch: `critic.apply(params, x, y)` → (N, N).

`scores[i, j] = f(x_i, y_j)`, the input every bound in `critic_bounds` expects. Architectures as in
Poole et al. (2019): separable g(x)ᵀh(y) (N forward passes per branch, cheap), concatenated
MLP f([x, y]) (N² passes, more expressive), and bilinear xᵀWy.
"""
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
  """Dense layers with `activation` between them (none after the last)."""
  features: Sequence[int]
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, x):
    for i, width in enumerate(self.features):
      x = nn.Dense(width)(x)
      if i < len(self.features) - 1:
        x = self.activation(x)
    return x


class SeparableCritic(nn.Module):
  """f(x, y) = g(x)ᵀ h(y) with two MLPs g, h: ℝ^d → ℝ^embed_dim. Cost O(N·MLP + N²·embed_dim)."""
  hidden: Sequence[int] = (256, 256)
  embed_dim: int = 32
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
    g = MLP(tuple(self.hidden) + (self.embed_dim,), self.activation, name="g")(x)
    h = MLP(tuple(self.hidden) + (self.embed_dim,), self.activation, name="h")(y)
    return g @ h.T


class ConcatCritic(nn.Module):
  """f(x, y) = MLP([x, y]) evaluated on all N² pairs. Cost O(N²·MLP).

  The first layer W[x; y] + b = W_x x + W_y y + b is split so that it costs O(N) matmuls; the
  remaining layers run on the (N, N, hidden) grid.
  """
  hidden: Sequence[int] = (256, 256)
  activation: Callable = nn.relu

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
    first = self.hidden[0]
    hx = nn.Dense(first, name="first_x")(x)
    hy = nn.Dense(first, use_bias=False, name="first_y")(y)
    pairs = self.activation(hx[:, None, :] + hy[None, :, :])
    out = MLP(tuple(self.hidden[1:]) + (1,), self.activation, name="rest")(pairs)
    return out[..., 0]


class BilinearCritic(nn.Module):
  """f(x, y) = xᵀ W y. Cost O(N·d_x·d_y + N²·d_y)."""

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
    w = self.param("w", nn.initializers.lecun_normal(), (x.shape[-1], y.shape[-1]))
    return (x @ w) @ y.T
