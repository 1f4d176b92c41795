"""Every mistake a user can make on the command line: one line on stderr, exit 2, no traceback, and
nothing written or changed (the files under the test's directories are compared before and after).

The commands run in this process (`jaxssl.cli.main`), which is what `jaxssl` runs: an exception
that is not one of jaxssl's user errors (`jaxssl.errors.JaxsslError`) would escape it and fail the
test, as it would print a traceback from the command.
"""
import os
from pathlib import Path

import pytest

from jaxssl.cli import main
from jaxssl.train import pretrain

from helpers import TINY_OVERRIDES, tiny_config

TINY = [f'--config.{o}' for o in TINY_OVERRIDES]


@pytest.fixture(scope='module')
def places(tmp_path_factory, fashion_mnist_data_dir):
  """A run of one step on Fashion-MNIST (its workdir), an empty workdir, a folder that is no
  export, a file where a workdir should be."""
  root = tmp_path_factory.mktemp('mistakes')
  run = root / 'run'
  pretrain(tiny_config(f'data_dir="{fashion_mnist_data_dir}"'), run, stop_after_steps=1)
  (root / 'empty').mkdir()
  (root / 'not_an_export').mkdir()
  (root / 'not_an_export' / 'notes.txt').write_text('mine')
  (root / 'a_file').write_text('not a directory')
  return {'root': root, 'run': run, 'data': fashion_mnist_data_dir}


def _snapshot(*roots):
  files = {}
  for root in roots:
    for path in Path(root).rglob('*'):
      if path.is_file() and not path.name.startswith('.prepare.lock'):
        stat = path.stat()
        files[str(path)] = (stat.st_size, stat.st_mtime_ns)
  return files


# (id, command line with {root}/{run}/{data} placeholders, what the one line says)
MISTAKES = [
    ('pretrain-objective', ['pretrain', '--workdir', '{root}/new', '--config.objective.name=vicregg'],
     "Unknown objective.name 'vicregg'"),
    ('pretrain-bad-value', ['pretrain', '--workdir', '{root}/new', '--config.batch_size=-5'],
     'Bad value for batch_size'),
    ('pretrain-not-python', ['pretrain', '--workdir', '{root}/new', '--config', 'README.md'],
     'is not a Python file'),
    ('pretrain-no-such-config-name', ['pretrain', '--workdir', '{root}/new', '--config',
                                      'experiments/configs/fmnist.py:nosuch'],
     "get_config('nosuch') failed: No Fashion-MNIST config for 'nosuch'"),
    ('pretrain-unknown-key', ['pretrain', '--workdir', '{root}/new', '--config.nosuch=1'],
     "Unknown config key 'nosuch'"),
    ('pretrain-unknown-argument', ['pretrain', '--workdir', '{root}/new', '--epochs', '3'],
     "Unknown arguments ['--epochs', '3']"),
    ('pretrain-data-not-prepared', ['pretrain', '--workdir', '{root}/new',
                                    '--config.dataset=nosuch_data', '--config.data_dir={root}'],
     'nosuch_data'),
    ('pretrain-resume-other-config', ['pretrain', '--workdir', '{run}', *TINY,
                                      '--config.data_dir={data}', '--config.batch_size=32'],
     'holds checkpoints of a different config: batch_size: checkpoint has 16, this run has 32'),
    ('pretrain-workdir-is-a-file', ['pretrain', '--workdir', '{root}/a_file', *TINY,
                                    '--config.data_dir={data}'], 'Cannot write to workdir'),
    ('evaluate-no-run', ['evaluate', '--workdir', '{root}/empty'],
     'is not a pretraining workdir'),
    ('evaluate-bad-holdout', ['evaluate', '--workdir', '{run}', '--supervised-baseline',
                              '--supervised-holdout', '1.5'],
     'holdout must be a fraction in [0, 1), found 1.5'),
    ('export-onto-a-folder', ['export', '--workdir', '{run}', '--out', '{root}/not_an_export'],
     'exists and is not a jaxssl export: pick another --out'),
    ('export-torch-of-convnet', ['export', '--workdir', '{run}', '--out', '{root}/torch',
                                 '--format', 'torch'], "Encoder 'convnet' has no torch counterpart"),
    ('export-no-checkpoint', ['export', '--workdir', '{root}/empty', '--out', '{root}/out'],
     'No checkpoint in'),
    ('export-bad-image-shape', ['export', '--workdir', '{run}', '--out', '{root}/out',
                                '--image-shape', 'a,b'], '--image-shape takes H,W,C'),
    ('prepare-unknown-data-set', ['prepare', 'nosuch', '--data-dir', '{root}/tfds'], 'nosuch'),
    ('prepare-missing-image-folder', ['prepare', 'image_folder', '--source-dir', '{root}/nowhere',
                                      '--name', 'mine', '--data-dir', '{root}/tfds'], 'nowhere'),
    ('bench-unknown-objective', ['bench', 'train', '--config.objective.name=nope'],
     "Unknown objective.name 'nope'"),
    ('demo-missing-config', ['demo', '--workdir', '{root}/demo', '--config', '{root}/nosuch.py'],
     'does not exist'),
    ('demo-unknown-key', ['demo', '--workdir', '{root}/demo', '--config.epoch=1'],
     "Unknown config key 'epoch'"),
]


def test_the_table_covers_every_subcommand():
  assert {m[1][0] for m in MISTAKES} == {'pretrain', 'evaluate', 'export', 'prepare', 'bench',
                                        'demo'}
  assert len(MISTAKES) >= 15


@pytest.mark.parametrize('args, expected', [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_one_line_exit_2_and_changes_nothing(args, expected, places, capfd):
  args = [a.format(**{k: str(v) for k, v in places.items()}) for a in args]
  before = _snapshot(places['root'], places['data'])
  capfd.readouterr()
  status = main(args)
  out, err = capfd.readouterr()
  assert status == 2, (status, err[-2000:])
  lines = [line for line in err.splitlines() if line.strip()]
  assert len(lines) == 1, err[-3000:]
  assert lines[0].startswith(f'jaxssl {args[0]}: error: '), lines[0]
  assert expected in lines[0], lines[0]
  assert 'Traceback' not in err and not out.strip(), (out, err)
  assert _snapshot(places['root'], places['data']) == before
  for created in ('new', 'out', 'torch', 'demo', 'tfds', 'nowhere'):
    assert not os.path.exists(places['root'] / created), created
