"""The training engine: TrainState, the jitted step, optimizers, mesh, checkpoints, the loop."""
from jaxssl.train.loop import PretrainResult, TrainingDivergedError, pretrain, setup
from jaxssl.train.state import TrainState, create_train_state
from jaxssl.train.step import make_train_step

__all__ = ['PretrainResult', 'TrainingDivergedError', 'pretrain', 'setup', 'TrainState',
           'create_train_state', 'make_train_step']
