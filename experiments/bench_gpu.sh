#!/usr/bin/env bash
# The GPU benchmark in one call: jaxssl's ResNet-18 VICReg step (bf16, batch 256 and 1024, full
# step + model step, profile at 1024) and its PyTorch twin, experiments/torch_vicreg_step.py (fp32 /
# bf16 eager / torch.compile bf16), on the same GPU. Figures: docs/performance.md.
# Usage: bash experiments/bench_gpu.sh [DIR_OF_torch_vicreg_step.py] [OUT_DIR]
set -u
TORCH_DIR=${1:-experiments}
OUTDIR=${2:-runs/bench_gpu}
mkdir -p "$OUTDIR"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -c 'import jax, flax, optax, torch; print("jax", jax.__version__, "flax", flax.__version__, "optax", optax.__version__, "torch", torch.__version__)'
PYTHONUNBUFFERED=1 timeout 330 python3 experiments/bench_gpu.py --batches 256,1024 --steps 30 \
  --profile-dir /tmp/jaxssl_profile --json "$OUTDIR/jaxssl.json" 2>&1 | grep -v 'dataset_info.json' \
  | tee "$OUTDIR/jaxssl.log"
(cd /tmp/jaxssl_profile 2>/dev/null && tar czf - .) > "$OUTDIR/profile.tgz" 2>/dev/null
PYTHONUNBUFFERED=1 timeout 200 python3 "$TORCH_DIR/torch_vicreg_step.py" 2>&1 | tee "$OUTDIR/torch.log"
