"""The embedded default run: VICReg on Fashion-MNIST with the small ConvNet, on the CPU.

Every field a run uses is here, with its default; `experiments/configs/*.py` import this and change a
few fields. Override any field from the command line: `--config.batch_size=512`.
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # Data: a TFDS name prepared in array_record (`jaxssl prepare NAME`); '' data_dir = TFDS default.
  c.dataset = 'fashion_mnist_idx'
  c.data_dir = ''
  c.num_classes = 10
  c.train_split = 'train'
  c.test_split = 'test'
  # 'memory': the whole split in device memory, batches gathered in jit (small data sets);
  # 'grain': streamed from disk, each process reading its shard with grain (ImageNet-size sets);
  # encoded images (tfds.features.Image) are cropped and decoded on the host by the workers.
  c.input_pipeline = 'memory'
  c.data_workers = 0                    # grain worker processes for decoding ('grain' only)

  c.model = ml_collections.ConfigDict()
  c.model.encoder = 'convnet'           # convnet | resnet18 | resnet50 | vit_s16 | vit_b16
  # 28x28x1 -> 14x14x4 (space-to-depth), then 3x3 convs 64-128-256: 2.3x faster per step than a
  # 32-64-128-256 ConvNet at full resolution on XLA:CPU (see docs/performance.md). The last 4x4 map
  # is pooled to 2x2 (1024 features): after 1 epoch, 88.6% linear probe vs 83.9% with global pooling.
  c.model.encoder_kwargs = ml_collections.ConfigDict(
      {'space_to_depth': 2, 'stages': ((64, 1), (128, 2), (256, 2)), 'pool_grid': 2})
  c.model.dtype = 'float32'             # compute dtype; 'bfloat16' on GPU/TPU. Params stay float32.
  c.model.projector = (512, 512)
  c.model.projector_last_bn = False
  c.model.predictor = ()                # e.g. (512, 512) for BYOL / SimSiam / MoCo v3
  c.model.decoder = ''                  # 'image' | 'mlp': x̂ = decoder(z) for 'reconstruction'
  c.model.decoder_kwargs = ml_collections.ConfigDict()  # e.g. width=64; channels=3, size=32 (CIFAR)
  c.model.decode_from = 'z'             # decode the projector output z, or the features 'h'

  c.objective = ml_collections.ConfigDict()
  c.objective.name = 'vicreg'           # see `jaxssl.objectives.names()`
  c.objective.kwargs = ml_collections.ConfigDict()  # keyword hyper-parameters; published defaults
  c.objective.reconstruct = 'clean'     # decoder target: the 'clean' image or the 'other_view'
  c.ema_base = 0.99                     # target-network decay for BYOL-style objectives

  # Augmentation presets from `jaxssl.augment` (or full dicts).
  c.augment = ml_collections.ConfigDict()
  c.augment.view1 = 'fmnist_view1'
  c.augment.view2 = 'fmnist_view2'

  # XLA:CPU only: YNNPACK for reductions, XLA's own kernels for convolutions (`jaxssl.platform`).
  c.xla_cpu_tuning = True
  c.batch_size = 256                    # global batch (image pairs per step), over all devices
  c.epochs = 2.75
  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'adamw'            # sgd | lars | adamw
  c.optimizer.lr = 5e-3                 # peak lr per 256 images (scaled by batch_size / 256)
  c.optimizer.scale_lr_by_batch = True
  c.optimizer.weight_decay = 1e-4
  c.optimizer.momentum = 0.9
  c.optimizer.warmup_epochs = 0.1
  c.optimizer.grad_clip = 0.0
  c.probe_lr = 1e-3                     # online linear probe (Adam) on stop-gradient features

  c.log_every = 25
  # Online diagnostics (rank, entropy, MI, alignment/uniformity of the batch's h and z; see
  # jaxssl/evaluate/online_diagnostics.py) every this many steps, at a log point; 0 = off.
  c.diagnostics_every = 100
  c.checkpoint_every = 500              # steps; the last step and SIGTERM always checkpoint
  c.keep_checkpoints = 3
  c.max_bad_steps = 20                  # stop after this many consecutive non-finite steps
  c.progress = True

  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 1000              # feature-extraction batch
  c.eval.knn_k = (20, 200)
  # Evaluation view of streamed encoded images (input_pipeline='grain' on `jaxssl prepare
  # image_folder` / imagenet2012 data): shorter side resized to `resize`, then a central `crop`.
  # 0: crop = the training views' crop.out_size, resize = crop * 256 / 224 (the 256 -> 224 protocol).
  c.eval.resize = 0
  c.eval.crop = 0

  # Devices: the batch is split over all of them; fsdp > 1 also splits large parameters and their
  # optimizer moments over groups of `fsdp` devices (see jaxssl/parallel/mesh.py).
  c.mesh = ml_collections.ConfigDict()
  c.mesh.fsdp = 1

  # Multi-process runs (see docs/scaling.md). Empty: single process, or auto-detected from the
  # environment (JAXSSL_DISTRIBUTED=1, SLURM, multi-host TPU); see jaxssl/train/distributed.py.
  c.distributed = ml_collections.ConfigDict()
  c.distributed.coordinator_address = ''  # e.g. '10.0.0.1:1234'; then also the next two
  c.distributed.num_processes = 0
  c.distributed.process_id = -1
  c.distributed.local_device_ids = ()     # e.g. (0, 1) for one process per GPU pair

  c.faults = ml_collections.ConfigDict()
  c.faults.nan_at_steps = ()            # fault injection for tests of the non-finite guard
  return c
