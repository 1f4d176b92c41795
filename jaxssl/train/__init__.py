"""The training engine: TrainState, the jitted step, optimizers, checkpoints, the loop.

`pretrain`, `setup` and the loop's types are imported on first use, so that evaluation, which
restores a model through `jaxssl.train.restore` and `jaxssl.train.checkpoint`, does not import the
training loop.
"""
from jaxssl.train.state import TrainState, create_train_state

_LOOP = ('PretrainResult', 'TrainingDivergedError', 'TrainingParts', 'pretrain', 'setup')
_STEP = ('make_train_step',)

__all__ = ['PretrainResult', 'TrainingDivergedError', 'TrainingParts', 'pretrain', 'setup',
           'TrainState', 'create_train_state', 'make_train_step']


def __getattr__(name):
  """The loop's and the step's names, imported on first use."""
  # pylint: disable=import-outside-toplevel
  if name in _LOOP:
    from jaxssl.train import loop
    return getattr(loop, name)
  if name in _STEP:
    from jaxssl.train import step
    return getattr(step, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
