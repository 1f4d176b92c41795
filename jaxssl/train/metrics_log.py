"""Metrics to `metrics.jsonl` (one strict-JSON object a line: a non-finite value is written as
`null`) and TensorBoard (tensorboardX, no TF)."""
import math
from pathlib import Path

from tensorboardX import SummaryWriter

from jaxssl.evaluate.plots import read_metrics
from jaxssl.io import atomic_write_text, dumps_strict


class MetricsWriter:
  """Appends metric dicts to `workdir/metrics.jsonl` and TensorBoard event files.

  On resume from step s, lines with step > s (written after the last checkpoint) are dropped first,
  so the log matches the state: no duplicate steps.
  """

  def __init__(self, workdir: str | Path, *, resume_step: int = 0, enabled: bool = True):
    self.enabled = enabled
    if not enabled:
      return
    self.path = Path(workdir) / 'metrics.jsonl'
    if self.path.exists():
      # read_metrics skips a last line cut short by a kill -9 mid-write.
      kept = [r for r in read_metrics(self.path) if r.get('step', 0) <= resume_step]
      atomic_write_text(self.path, ''.join(dumps_strict(r) + '\n' for r in kept))
    self.file = open(self.path, 'a')
    self.tb = SummaryWriter(str(Path(workdir) / 'tensorboard'))

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

