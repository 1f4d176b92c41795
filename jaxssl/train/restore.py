"""A pretraining run's model, mesh and variables for evaluation: no optimizer, no jitted train step.

`restored_model(config, workdir)` builds the network of `config`, the mesh, and reads the
parameters and batch statistics (with the step and the skipped-step count) of the run's latest
readable checkpoint -- only those fields of the TrainState, so the optimizer is never built.
`initial_variables()` gives the same network at initialisation, as `jaxssl.train.setup` draws it
(the random-init baseline of the evaluation).
"""
import dataclasses
import json

import jax
import ml_collections
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxssl.errors import MissingRunError
from jaxssl.models import SSLModel, build_model
from jaxssl.parallel.mesh import make_mesh
from jaxssl.train import checkpoint as ckpt
from jaxssl.train.state import initial_variables

@dataclasses.dataclass
class RestoredModel:
  """A run's network for evaluation.

  Attributes:
    config: the run's config.
    mesh: the device mesh (`config.mesh.fsdp`).
    model: the `SSLModel` (encoder, projector, ...).
    image_shape: (H, W, C) the model was built for.
    variables: {'params', 'batch_stats'} of the latest readable checkpoint (None: not restored).
    step, skipped_steps: the checkpoint's step and its count of skipped (non-finite) steps.
  """
  config: ml_collections.ConfigDict
  mesh: jax.sharding.Mesh
  model: SSLModel
  image_shape: tuple
  variables: dict | None = None
  step: int = 0
  skipped_steps: int = 0

  def initial_variables(self) -> dict:
    """The network at initialisation: `create_train_state`'s draw for `config.seed`."""
    return initial_variables(jax.random.PRNGKey(self.config.seed), self.model,
                             image_shape=self.image_shape)


def model_and_mesh(config: ml_collections.ConfigDict, *, image_shape: tuple,
                   mesh=None) -> RestoredModel:
  """The run's model and mesh, nothing restored."""
  mesh = mesh or make_mesh(fsdp=config.mesh.fsdp if 'mesh' in config else 1)
  return RestoredModel(config=config, mesh=mesh, model=build_model(config.model),
                       image_shape=tuple(image_shape))


def restored_model(config: ml_collections.ConfigDict, workdir, *, image_shape: tuple,
                   mesh=None) -> RestoredModel:
  """The run's model and mesh with the variables of `workdir`'s latest readable checkpoint.

  Raises:
    MissingRunError: the workdir has no (readable) checkpoint.
  """
  run = model_and_mesh(config, image_shape=image_shape, mesh=mesh)
  replicated = NamedSharding(run.mesh, P())
  abstract = jax.eval_shape(lambda: dict(
      run.initial_variables(), step=np.int32(0), skipped_steps=np.int32(0)))
  abstract = {k: v for k, v in abstract.items() if not isinstance(v, dict) or v}  # no empty trees
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
                          abstract)
  manager = ckpt.make_manager(workdir, keep=config.keep_checkpoints)
  try:
    restored = ckpt.restore_latest(manager, abstract, json.loads(config.to_json()),
                                   partial=True)
  finally:
    manager.close()
  if restored is None:
    raise MissingRunError(f'No checkpoint in {workdir}/checkpoints; run `jaxssl pretrain '
                          f'--workdir {workdir}` first.')
  state = restored[0]
  run.variables = {'params': state['params'], 'batch_stats': state.get('batch_stats', {})}
  run.step, run.skipped_steps = int(state['step']), int(state['skipped_steps'])
  return run
