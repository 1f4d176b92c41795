"""`jaxssl prepare | pretrain | evaluate | demo | bench` -- the command line.

Configs: `--config FILE` (a Python file with get_config()), then any number of `--config.KEY=VALUE`
overrides, e.g. `jaxssl pretrain --config experiments/configs/vicreg_fmnist.py --workdir runs/v
--config.batch_size=512`.
"""
import argparse
import logging
import sys


EXIT_MOSTLY_SKIPPED = 3  # pretrain / demo ran, but skipped > 10 % of its steps (see train.loop)


def _split_overrides(argv):
  rest, overrides = [], []
  for arg in argv:
    if arg.startswith('--config.'):
      overrides.append(arg[len('--config.'):])
    else:
      rest.append(arg)
  return rest, overrides


def _parser():
  parser = argparse.ArgumentParser(prog='jaxssl', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = parser.add_subparsers(dest='command', required=True)

  p = sub.add_parser('prepare', help='build a local data set as array_record (no TensorFlow)')
  p.add_argument('name', help='fashion_mnist_idx | cifar10_pickle | cifar100_pickle | image_folder')
  p.add_argument('--data-dir', default=None, help='TFDS data dir (default $TFDS_DATA_DIR or '
                 '~/tensorflow_datasets)')
  p.add_argument('--source-dir', default=None,
                 help='where the raw files are (IDX / pickles / the image tree)')
  p.add_argument('--name', default=None, dest='dataset_name',
                 help='image_folder: the data set name to prepare the tree as (read it by this)')
  p.add_argument('--skip-bad-files', action='store_true',
                 help='image_folder: leave unreadable files out with a warning (default: fail)')

  p = sub.add_parser('pretrain', help='pretrain an SSL encoder (resumes from --workdir)')
  p.add_argument('--config', default=None, help='config file (default: the embedded VICReg demo)')
  p.add_argument('--workdir', required=True)

  p = sub.add_parser('evaluate', help='linear probe, kNN and diagnostics of a pretrained run')
  p.add_argument('--workdir', required=True)
  p.add_argument('--baselines', action='store_true',
                 help='also probe the random-init encoder and raw pixels')
  p.add_argument('--supervised-baseline', action='store_true',
                 help='also train the same encoder end to end on the labels, to convergence: '
                      'early-stopped on a held-out part of the training split (supervised_top1)')
  p.add_argument('--supervised-epochs', type=float, default=None,
                 help="the supervised baseline's most epochs, its cosine schedule spanning them "
                      '(default 20)')
  p.add_argument('--supervised-holdout', type=float, default=None,
                 help='fraction of the training images it holds out (default 0.1; 0: none, a '
                      'fixed-length run of --supervised-epochs)')
  p.add_argument('--supervised-patience', type=int, default=None,
                 help='epochs without a better held-out top-1 before it stops (default 5)')

  p = sub.add_parser('export', help='the pretrained encoder alone, for JAX or PyTorch')
  p.add_argument('--workdir', required=True, help='a pretraining workdir (its latest checkpoint)')
  p.add_argument('--out', required=True, help='the export directory (replaces an earlier export)')
  p.add_argument('--which', choices=['online', 'target'], default='online',
                 help='the trained network, or the EMA target (BYOL, MoCo v3)')
  p.add_argument('--format', choices=['jax', 'torch'], default='jax',
                 help='jax: Flax variables; torch: a torchvision resnet18/resnet50 state_dict')
  p.add_argument('--head', action='store_true', help='also export the projector (--format jax)')
  p.add_argument('--image-shape', default=None, metavar='H,W,C',
                 help='record this input shape (default: read from the prepared data set)')

  p = sub.add_parser('demo', help='the main job: pretrain VICReg on Fashion-MNIST, evaluate, plot')
  p.add_argument('--workdir', default='runs/demo')
  p.add_argument('--config', default=None)

  p = sub.add_parser('bench', help='throughput benchmarks')
  p.add_argument('what', choices=['train', 'estimators'])
  p.add_argument('--config', default=None)
  p.add_argument('--steps', type=int, default=20)
  p.add_argument('--rounds', type=int, default=3,
                 help='alternating rounds of jaxssl and PyTorch eager; medians are compared')
  p.add_argument('--torch', choices=['auto', 'yes', 'no'], default='auto',
                 help='run the PyTorch anchor side by side (when torch is installed)')
  p.add_argument('--profile', default=None, metavar='DIR',
                 help='also write a jax.profiler trace of the timed steps to DIR (TensorBoard)')
  return parser


def main(argv=None) -> int:
  from jaxssl.platform import keep_freed_memory
  keep_freed_memory()  # before JAX starts its CPU backend: steps reuse their buffers' pages
  argv = sys.argv[1:] if argv is None else list(argv)
  rest, overrides = _split_overrides(argv)
  args, unknown = _parser().parse_known_args(rest)
  # A command prints its result, a progress bar and the warnings that ask the user to act:
  # jaxssl's own INFO lines, and only WARNING and above of the libraries (JAX's backend probing,
  # TFDS's and orbax's progress notes are INFO).
  logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
  logging.getLogger('jaxssl').setLevel(logging.INFO)
  from jaxssl.config import load_config
  from jaxssl.errors import ConfigError, JaxsslError
  try:
    if args.command == 'bench' and args.what == 'estimators':
      from jaxssl.bench import estimators as benchmark
      return benchmark.main(unknown) or 0
    if unknown:
      raise ConfigError(f'Unknown arguments {unknown}; config fields are set with '
                        '--config.KEY=VALUE.')
    if args.command == 'prepare':
      from jaxssl import data
      builder = data.prepare(args.name, data_dir=args.data_dir, source_dir=args.source_dir,
                             dataset_name=args.dataset_name, skip_bad_files=args.skip_bad_files)
      print(f'Prepared {builder.name} in {builder.data_dir}')
      return 0
    if args.command == 'pretrain':
      from jaxssl.train import pretrain
      config = load_config(args.config, overrides)
      result = pretrain(config, args.workdir)
      print(f'Pretrained {result.steps_done} of {result.total_steps} steps '
            f'({result.skipped_steps} skipped: non-finite loss or gradient) in '
            f'{result.wall_seconds:.0f} s; workdir {args.workdir}')
      return EXIT_MOSTLY_SKIPPED if result.mostly_skipped else 0
    if args.command == 'evaluate':
      from jaxssl.evaluate.run import evaluate_workdir, print_summary
      options = {k: v for k, v in dict(epochs=args.supervised_epochs,
                                       holdout=args.supervised_holdout,
                                       patience=args.supervised_patience).items() if v is not None}
      if args.supervised_holdout == 0:
        options['patience'] = None  # nothing held out: nothing to stop on
      summary = evaluate_workdir(args.workdir, baselines=args.baselines,
                                 supervised_baseline=args.supervised_baseline and (options or True))
      print_summary(summary)
      return 0
    if args.command == 'export':
      from jaxssl.export import export
      shape = _image_shape(args.image_shape) if args.image_shape else None
      path = export(args.workdir, args.out, which=args.which, format=args.format, head=args.head,
                    image_shape=shape)
      print(f'Exported the {args.which} encoder of {args.workdir} ({args.format}) to {path}')
      return 0
    if args.command == 'demo':
      from jaxssl.demo import run_demo
      summary = run_demo(args.workdir, config_path=args.config, overrides=overrides)
      return EXIT_MOSTLY_SKIPPED if summary['mostly_skipped'] else 0
    if args.command == 'bench':
      from jaxssl.bench.training import bench_train
      config = load_config(args.config, overrides)
      bench_train(config, steps=args.steps, torch_mode=args.torch, profile_dir=args.profile,
                  rounds=args.rounds)
      return 0
  except JaxsslError as error:  # a mistake the user can fix: one line; anything else is a bug
    message = ' '.join(str(error).split())  # one line, however the message was wrapped
    print(f'jaxssl {args.command}: error: {message}', file=sys.stderr)
    return 2
  return 0


def _image_shape(text: str) -> tuple[int, int, int]:
  """`--image-shape H,W,C` as a tuple of three positive ints."""
  from jaxssl.errors import ConfigError  # pylint: disable=import-outside-toplevel
  try:
    shape = tuple(int(n) for n in text.split(','))
  except ValueError:
    shape = ()
  if len(shape) != 3 or min(shape) < 1:
    raise ConfigError('--image-shape takes H,W,C (three positive whole numbers, e.g. '
                      f'224,224,3), got {text!r}.')
  return shape


if __name__ == '__main__':
  sys.exit(main())
