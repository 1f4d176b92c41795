"""`jaxssl export`: the pretrained encoder out of a workdir, for JAX (Flax) or PyTorch.

    jaxssl export --workdir runs/demo --out exports/demo                     # `jaxssl.load_encoder`
    jaxssl export --workdir runs/r50 --out exports/r50_torch --format torch  # torchvision ResNet

An export is a directory of two files, written atomically (into a temporary directory beside
`--out`, renamed when complete):

* `encoder.json`: what rebuilds the module -- `encoder` (a `jaxssl.models.ENCODERS` name),
  `encoder_kwargs`, `dtype`, `normalize` (mean / std applied after uint8 -> [0, 1], those of the
  run's first view; null for none), `image_shape` (H, W, C of the images the encoder was trained
  on: the views' crop size for an image folder, whatever its files' sizes; null when the data set
  is not prepared where the export runs), `eval_image_shape` (the evaluation crop's), `input_sizes`
  ('any' for the convolutional encoders, which take any H x W as torchvision's do; 'image_shape'
  for a ViT, whose position embeddings fix the patch grid: `load_encoder(DIR, image_size=(H, W))`
  resamples them for another size), `feature_dim`, the provenance (`step`, `which`,
  `objective`, `dataset`, `jaxssl_version`), `format_version`, and the weights file's size and
  sha256.
* `variables.safetensors`: the encoder's parameters and batch statistics (`--head`: the projector's
  too). `--format jax`: the Flax variables tree flattened with '/'-joined keys
  (`params/encoder/Conv_0/kernel`, `batch_stats/encoder/BatchNorm_0/mean`). `--format torch`: a
  `state_dict` with torchvision's keys and layouts for `resnet18` / `resnet50` (conv weights OIHW;
  BatchNorm `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`; no `fc`): how a
  PyTorch user loads it, the CIFAR stem's one-line change included, is in docs/api/export.md. The
  ConvNet and the ViTs have no torchvision counterpart: `--format torch` refuses them.

`jaxssl.load_encoder(DIR)` reads either format.

The package, by layer (each imports only those above it):

* `spec`: the format (`encoder.json`, its checks, the flat weights layout);
* `torch_layout`: torchvision's keys and layouts (`to_torch`, `from_torch`);
* `workdir`: a pretraining run's encoder from its checkpoint (`read_workdir`);
* `writer`: the export directory (`export`, `write_export`);
* `loader`: `Encoder` and `load_encoder` (reads an export, or a workdir through `workdir`).
"""
from jaxssl.export.loader import Encoder, load_encoder, load_export
from jaxssl.export.spec import ExportFormatError, flatten, read_spec, unflatten
from jaxssl.export.torch_layout import NoTorchCounterpartError, from_torch, to_torch
from jaxssl.export.workdir import read_workdir, spec_from_config
from jaxssl.export.writer import export, write_export

__all__ = ['Encoder', 'ExportFormatError', 'NoTorchCounterpartError', 'export', 'load_encoder',
           'load_export', 'read_spec', 'read_workdir', 'write_export', 'to_torch', 'from_torch',
           'flatten', 'unflatten', 'spec_from_config']
