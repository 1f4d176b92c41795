"""PyTorch twin of the demo model for `jaxssl bench train` (optional: needs `pip install torch`).

Same ConvNet stages (3x3 conv, BN, ReLU; global average pool), same projector (Linear, BN, ReLU;
last Linear with bias), VICReg loss, AdamW, shaped by the jaxssl config. Model step only on
pre-made views (no augmentation), which favours PyTorch: the jaxssl step it is compared with also
augments on device and trains the online probe.
Usage: python torch_twin.py eager|compile BATCH STEPS "[[32,1],...]" "[512,512]" [S2D [GRID [DOWNSAMPLE]]]
"""
import ast
import sys
import time

import torch
import torch.nn as nn


def build(stages, projector, space_to_depth=1, pool_grid=1, downsample='conv'):
  layers, cin, size = [], 1, 28
  if space_to_depth > 1:  # 28x28x1 -> 14x14x4, as jaxssl's ConvNet(space_to_depth=2)
    layers.append(nn.PixelUnshuffle(space_to_depth))
    cin, size = space_to_depth ** 2, size // space_to_depth
  for cout, stride in stages:
    if stride > 1 and downsample == 'patch':  # ConvNet(downsample='patch'): s x s, stride s
      if size % stride:
        layers.append(nn.ZeroPad2d((0, -size % stride, 0, -size % stride)))
      layers.append(nn.Conv2d(cin, cout, stride, stride, bias=False))
      size = -(-size // stride)
    else:
      layers.append(nn.Conv2d(cin, cout, 3, stride, 1, bias=False))
      size = (size - 1) // stride + 1
    layers += [nn.BatchNorm2d(cout), nn.ReLU()]
    cin = cout
  layers += [nn.AdaptiveAvgPool2d(pool_grid), nn.Flatten()]
  cin *= pool_grid ** 2
  for i, width in enumerate(projector):
    last = i == len(projector) - 1
    layers.append(nn.Linear(cin, width, bias=last))
    if not last:
      layers += [nn.BatchNorm1d(width), nn.ReLU()]
    cin = width
  return nn.Sequential(*layers)


def vicreg(z1, z2):
  inv = ((z1 - z2) ** 2).mean()

  def var_cov(z):
    z = z - z.mean(0)
    n, d = z.shape
    v = torch.relu(1 - torch.sqrt(z.var(0) + 1e-4)).mean()
    c = z.T @ z / (n - 1)
    off = c - torch.diag(torch.diag(c))
    return v, (off ** 2).sum() / d

  v1, c1 = var_cov(z1)
  v2, c2 = var_cov(z2)
  return 25 * inv + 25 * (v1 + v2) / 2 + c1 + c2


def main(argv):
  mode, batch, steps = argv[0], int(argv[1]), int(argv[2])
  stages, projector = ast.literal_eval(argv[3]), ast.literal_eval(argv[4])
  s2d, grid = (int(argv[5]) if len(argv) > 5 else 1), (int(argv[6]) if len(argv) > 6 else 1)
  downsample = argv[7] if len(argv) > 7 else 'conv'
  torch.manual_seed(0)
  net = build(stages, projector, s2d, grid, downsample)
  opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
  x = torch.rand(2 * batch, 1, 28, 28)

  def step(x):
    z = net(x)
    loss = vicreg(*z.chunk(2))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss

  f = torch.compile(step) if mode == 'compile' else step
  for _ in range(3):
    f(x)
  t = time.perf_counter()
  for _ in range(steps):
    f(x)
  dt = (time.perf_counter() - t) / steps
  print(f'pairs_per_second {batch / dt:.1f}')
  print(f'step_ms {dt * 1e3:.1f}')


if __name__ == '__main__':
  main(sys.argv[1:])
