"""The PyTorch side of `experiments/bench_gpu.sh`: what a user would pick instead of jaxssl.

PyTorch ResNet-18 (CIFAR stem) + 2048-2048-2048 projector + VICReg, as solo-learn configures it, SGD.
Times the model step only (pre-made batches on the GPU), in eager fp32, eager bf16-autocast
channels_last, and torch.compile bf16; prints pairs/s per mode and batch, then one JSON line.
Needs a CUDA GPU, torch and torchvision.

  python experiments/torch_vicreg_step.py
"""
import time, sys, json, torch, torch.nn as nn, torchvision
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
dev = "cuda"

def backbone():
    m = torchvision.models.resnet18()
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    m.fc = nn.Identity()
    return m

class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.b = backbone()
        s.p = nn.Sequential(nn.Linear(512, 2048), nn.BatchNorm1d(2048), nn.ReLU(), nn.Linear(2048, 2048), nn.BatchNorm1d(2048), nn.ReLU(), nn.Linear(2048, 2048))
    def forward(s, x):
        return s.p(s.b(x))

def vicreg(z1, z2):
    z1 = z1.float(); z2 = z2.float()
    inv = nn.functional.mse_loss(z1, z2)
    def var_cov(z):
        n, d = z.shape
        z = z - z.mean(0)
        std = torch.sqrt(z.var(0) + 1e-4)
        v = torch.relu(1 - std).mean()
        c = (z.T @ z) / (n - 1)
        off = c - torch.diag(torch.diag(c))
        return v, off.pow(2).sum() / d
    v1, c1 = var_cov(z1); v2, c2 = var_cov(z2)
    return 25 * inv + 25 * (v1 + v2) / 2 + 1 * (c1 + c2)

def run(mode, bs, steps=30):
    net = Net().to(dev)
    if mode != "fp32":
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x1 = torch.randn(bs, 3, 32, 32, device=dev); x2 = torch.randn(bs, 3, 32, 32, device=dev)
    if mode != "fp32":
        x1 = x1.to(memory_format=torch.channels_last); x2 = x2.to(memory_format=torch.channels_last)
    def step(x1, x2):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=(mode != "fp32")):
            z = net(torch.cat([x1, x2]))
        z1, z2 = z.chunk(2)
        loss = vicreg(z1, z2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    f = torch.compile(step) if mode == "compile" else step
    for _ in range(5): f(x1, x2)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps): l = f(x1, x2)
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / steps
    return bs / dt, float(l)

res = {}
for mode in ["fp32", "bf16", "compile"]:
    for bs in [256, 1024]:
        try:
            ips, l = run(mode, bs)
            res[f"{mode}/{bs}"] = ips
            print(f"torch {mode:8s} bs={bs:5d}  {ips:10.0f} img/s  loss={l:.3f}", flush=True)
        except Exception as e:
            print(f"torch {mode} bs={bs} failed: {e!r}"[:300], flush=True)
print(json.dumps(res))
