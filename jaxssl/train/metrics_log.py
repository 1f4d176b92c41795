"""Metrics to `metrics.jsonl` (one strict-JSON object a line: a non-finite value is written as
`null`) and TensorBoard (tensorboardX, no TF)."""
import json
import math
from pathlib import Path

from tensorboardX import SummaryWriter

from jaxssl import run_dir
from jaxssl.run_dir import read_metrics
from jaxssl.io import atomic_write_json, atomic_write_text, dumps_strict


class MetricsWriter:
  """Appends metric dicts to `workdir/metrics.jsonl` and TensorBoard event files.

  On resume from step s, lines with step > s (written after the last checkpoint) are dropped first,
  so the log matches the state: no duplicate steps.
  """

  def __init__(self, workdir: str | Path, *, resume_step: int = 0, enabled: bool = True):
    self.enabled = enabled
    if not enabled:
      return
    self.path = Path(workdir) / run_dir.METRICS
    if self.path.exists():
      # read_metrics skips a last line cut short by a kill -9 mid-write.
      kept = [r for r in read_metrics(self.path) if r.get('step', 0) <= resume_step]
      atomic_write_text(self.path, ''.join(dumps_strict(r) + '\n' for r in kept))
    self.file = open(self.path, 'a')
    self.tb = SummaryWriter(str(Path(workdir) / run_dir.TENSORBOARD))

  def write(self, step: int, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {'step': int(step), **{k: float(v) for k, v in metrics.items()}}
    self.file.write(dumps_strict(record) + '\n')
    self.file.flush()
    for key, value in record.items():
      if key != 'step' and math.isfinite(value):  # TensorBoard: a gap, not a NaN warning
        self.tb.add_scalar(key, value, step)

  def close(self) -> None:
    if self.enabled:
      self.file.close()
      self.tb.close()


# The keys `pretrain` writes to `workdir/summary.json`; evaluation keeps them beside its own.
PRETRAIN_SUMMARY_KEYS = ('steps', 'total_steps', 'skipped_steps', 'mostly_skipped', 'interrupted',
                         'pretrain_seconds', 'images_per_second')


def write_pretrain_summary(workdir: Path, result) -> None:
  """Merges `PRETRAIN_SUMMARY_KEYS` of a `jaxssl.train.PretrainResult` into `workdir/summary.json`
  (atomically)."""
  path = workdir / run_dir.SUMMARY
  summary = json.loads(path.read_text()) if path.exists() else {}
  summary.update(steps=result.steps_done, total_steps=result.total_steps,
                 skipped_steps=result.skipped_steps, mostly_skipped=result.mostly_skipped,
                 interrupted=result.interrupted, pretrain_seconds=result.wall_seconds,
                 images_per_second=result.images_per_second)
  atomic_write_json(path, summary)
