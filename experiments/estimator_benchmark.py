"""MI / entropy estimators against ground truth: a Poole et al. (2019) Fig. 2-style staircase and
the bias and variance of the non-parametric estimators versus N and d.

1. Staircase: a critic is trained for `steps` steps on correlated Gaussians (d = 20 per variable)
   whose true MI rises 2 → 4 → 6 → 8 → 10 nats every steps/5 steps, once per estimator (InfoNCE,
   NWJ, DV, MINE, JS, SMILE τ = 5), with a separable critic (Poole et al.'s setting: batch 64,
   Adam 5e-4, MLP 256-256 → 32). Plot: per-step estimates (light), their moving average (dark),
   the truth (black) and log N (InfoNCE's ceiling).
2. Non-parametric: KSG and Gaussian MI on correlated Gaussians with 1 nat of MI, KL (k-NN), KDE
   (leave-one-out) and Gaussian entropy on N(0, I_d), for d ∈ {1, 2, 5, 10} and several N,
   `repeats` independent data sets each (vmapped): mean bias and standard deviation.

Writes `staircase.png`, `nonparametric.png` and `results.md` to `--out`
(default experiments/results/estimators/).

  python experiments/estimator_benchmark.py          # full (≈ 10 min on a busy 2-core CPU)
  python experiments/estimator_benchmark.py --tiny   # seconds; run by the tests
"""
import argparse
import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxssl import estimators as est  # noqa: E402

STAGES = (2.0, 4.0, 6.0, 8.0, 10.0)
CRITIC_ESTIMATORS = {
    "InfoNCE": "infonce", "NWJ": "nwj", "DV": "dv", "MINE": "mine", "JS": "js",
    "SMILE (τ=5)": "smile",
}

FULL = dict(dim=20, steps=20000, batch=64, hidden=(256, 256), embed=32, lr=5e-4,
            estimators=tuple(CRITIC_ESTIMATORS), sizes=(250, 500, 1000, 2500, 5000),
            dims=(1, 2, 5, 10), repeats=8)
# Tiny: one stateless and the stateful (MINE) estimator, one (N, d): compilation dominates.
TINY = dict(dim=20, steps=100, batch=32, hidden=(32,), embed=8, lr=5e-4,
            estimators=("InfoNCE", "MINE"), sizes=(128,), dims=(2,), repeats=2)


def staircase_sampler(dim, steps):
  per_stage = steps // len(STAGES)
  stages = jnp.asarray(STAGES)

  def sample(key, n, step):
    mi = stages[jnp.minimum(step // per_stage, len(STAGES) - 1)]
    rho = jnp.sqrt(-jnp.expm1(-2.0 * mi / dim))
    kx, ke = jax.random.split(key)
    x = jax.random.normal(kx, (n, dim))
    return x, rho * x + jnp.sqrt(1.0 - rho**2) * jax.random.normal(ke, (n, dim))

  truth = np.asarray(STAGES)[np.minimum(np.arange(steps) // per_stage, len(STAGES) - 1)]
  return sample, truth


def run_staircase(cfg, key):
  sample, truth = staircase_sampler(cfg["dim"], cfg["steps"])
  critic = est.SeparableCritic(hidden=cfg["hidden"], embed_dim=cfg["embed"])
  curves = {}
  for i, label in enumerate(cfg["estimators"]):
    name = CRITIC_ESTIMATORS[label]
    start = time.perf_counter()
    _, curve = est.train_critic(jax.random.fold_in(key, i), sample, critic, name,
                                steps=cfg["steps"], batch_size=cfg["batch"], lr=cfg["lr"],
                                eval_batches=1)
    curves[label] = np.asarray(curve)
    print(f"  {label:<12} {time.perf_counter() - start:6.1f} s", flush=True)
  return truth, curves


def _ema(values, rate):
  out, acc = np.empty_like(values), values[0]
  for i, v in enumerate(values):
    acc = (1 - rate) * acc + rate * v
    out[i] = acc
  return out


def plot_staircase(truth, curves, batch, path):
  fig, axes = plt.subplots(1, len(curves), figsize=(3.0 * len(curves), 3.0), sharey=True,
                           squeeze=False)
  axes = axes[0]
  steps = np.arange(len(truth))
  for ax, (label, curve) in zip(axes, curves.items()):
    ax.plot(steps, np.clip(curve, -2, 14), color="C0", alpha=0.25, lw=0.5)
    ax.plot(steps, np.clip(_ema(curve, 0.02), -2, 14), color="C0", lw=1.2)
    ax.plot(steps, truth, color="k", lw=1)
    if label == "InfoNCE":
      ax.axhline(np.log(batch), color="gray", ls="--", lw=0.8, label="log N")
      ax.legend(loc="upper left", fontsize=7)
    ax.set_title(label, fontsize=9)
    ax.set_xlabel("step")
    ax.set_ylim(-1, 13)
  axes[0].set_ylabel("MI estimate (nats)")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _mi_task(key, n, dim):
  return est.tasks.correlated_gaussian(key, n, d=dim, mi=1.0)[:2]


NONPARAMETRIC = {
    # name: (kind, estimator on one data set, sampler(key, n, d), true value(d))
    "KSG MI (k=3)": ("MI", lambda x, y: est.ksg_mi(x, y), _mi_task, lambda d: 1.0),
    "Gaussian MI": ("MI", lambda x, y: est.gaussian_mi(x, y), _mi_task, lambda d: 1.0),
    "KL entropy (k=3)": ("H", lambda x: est.kl_entropy(x),
                         lambda k, n, d: (jax.random.normal(k, (n, d)),),
                         lambda d: 0.5 * d * np.log(2 * np.pi * np.e)),
    "KDE entropy (LOO)": ("H", lambda x: est.kde_entropy(x, leave_one_out=True),
                          lambda k, n, d: (jax.random.normal(k, (n, d)),),
                          lambda d: 0.5 * d * np.log(2 * np.pi * np.e)),
    "Gaussian entropy": ("H", lambda x: est.gaussian_entropy(x),
                         lambda k, n, d: (jax.random.normal(k, (n, d)),),
                         lambda d: 0.5 * d * np.log(2 * np.pi * np.e)),
}


def run_nonparametric(cfg, key):
  rows = []
  for name, (kind, fn, sampler, truth) in NONPARAMETRIC.items():
    start = time.perf_counter()
    for d in cfg["dims"]:
      for n in cfg["sizes"]:
        if n <= 2 * d + 1:
          continue
        keys = jax.random.split(jax.random.fold_in(key, n * 100 + d), cfg["repeats"])
        data = jax.vmap(lambda k: sampler(k, n, d))(keys)
        values = np.asarray(jax.vmap(fn)(*data))
        true = truth(d)
        rows.append(dict(estimator=name, kind=kind, d=d, n=n, true=true, mean=values.mean(),
                         bias=values.mean() - true, std=values.std(ddof=1)))
    print(f"  {name:<18} {time.perf_counter() - start:6.1f} s", flush=True)
  return rows


def plot_nonparametric(rows, path):
  names = list(NONPARAMETRIC)
  fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), squeeze=False)
  axes = axes[0]
  for ax, name in zip(axes, names):
    sub = [r for r in rows if r["estimator"] == name]
    for j, d in enumerate(sorted({r["d"] for r in sub})):
      pts = sorted((r for r in sub if r["d"] == d), key=lambda r: r["n"])
      ns = [r["n"] for r in pts]
      scale = 1.0 if pts[0]["kind"] == "MI" else d  # entropy bias per dimension
      ax.errorbar(ns, [r["bias"] / scale for r in pts], yerr=[r["std"] / scale for r in pts],
                  label=f"d={d}", color=f"C{j}", capsize=2, marker="o", ms=3)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    sizes = sorted({r["n"] for r in sub})
    ax.set_xticks(sizes, [str(n) for n in sizes], rotation=45, fontsize=7)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("N")
    ax.set_ylabel("bias (nats)" if sub[0]["kind"] == "MI" else "bias / d (nats per dim)")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write_markdown(path, cfg, truth, curves, rows, mode):
  steps, per_stage = len(truth), len(truth) // len(STAGES)
  lines = [
      f"# Estimator benchmark ({mode})", "",
      "Generated by `python experiments/estimator_benchmark.py"
      f"{' --tiny' if mode == 'tiny' else ''}`"
      f" on {jax.devices()[0].platform}. All values in nats.", "",
      f"## Critic estimators on a staircase of true MI (d = {cfg['dim']}, batch {cfg['batch']}, "
      f"{steps} steps, separable critic {cfg['hidden']} → {cfg['embed']})", "",
      "Mean (± std) of the per-step training estimates over the last half of each stage.", "",
      "| estimator | " + " | ".join(f"true {m:g}" for m in STAGES) + " |",
      "|---|" + "---|" * len(STAGES),
  ]
  for label, curve in curves.items():
    cells = []
    for s in range(len(STAGES)):
      seg = curve[s * per_stage + per_stage // 2:(s + 1) * per_stage]
      cells.append(f"{seg.mean():.2f} ± {seg.std():.2f}")
    lines.append(f"| {label} | " + " | ".join(cells) + " |")
  lines += ["", f"InfoNCE cannot exceed log N = {np.log(cfg['batch']):.2f}.", "",
            f"## Non-parametric estimators: bias and std over {cfg['repeats']} data sets", "",
            "MI tasks: correlated Gaussians with 1 nat total, d dimensions per variable. Entropy "
            "tasks: N(0, I_d).", "",
            "| estimator | d | N | true | mean | bias | std |", "|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['estimator']} | {r['d']} | {r['n']} | {r['true']:.3f} | {r['mean']:.3f} | "
                 f"{r['bias']:+.3f} | {r['std']:.3f} |")
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke version")
  parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                    "estimators"))
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  cfg = TINY if args.tiny else FULL
  mode = "tiny" if args.tiny else "full"
  os.makedirs(args.out, exist_ok=True)
  key = jax.random.key(args.seed)
  start = time.perf_counter()
  print("staircase:", flush=True)
  truth, curves = run_staircase(cfg, jax.random.fold_in(key, 0))
  print("non-parametric:", flush=True)
  rows = run_nonparametric(cfg, jax.random.fold_in(key, 1))
  plot_staircase(truth, curves, cfg["batch"], os.path.join(args.out, "staircase.png"))
  plot_nonparametric(rows, os.path.join(args.out, "nonparametric.png"))
  write_markdown(os.path.join(args.out, "results.md"), cfg, truth, curves, rows, mode)
  print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
  main()
