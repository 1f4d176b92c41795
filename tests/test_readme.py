"""The README's examples run as written, and its numbers are what it says.

* the Python example runs and prints a KSG estimate within 10 % of the truth;
* `make demo` and `make test` are Makefile targets;
* every `jaxssl ...` line in a bash block of the README and of the documentation pages parses
  with the command line's own parser, and its `--config` file and `--config.FIELD=VALUE`
  overrides load (nothing is trained or prepared: placeholders such as DIR stay placeholders).
"""
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from jaxssl import cli, objectives
from jaxssl.config import load_config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / 'README.md'
PAGES = [README] + sorted((ROOT / 'docs').rglob('*.md'))
PREPARE_NAMES = {'fashion_mnist_idx', 'cifar10_pickle', 'cifar100_pickle', 'image_folder'}


def _blocks(path: Path, language: str) -> list[str]:
  return re.findall(rf'```{language}\n(.*?)```', path.read_text(), re.S)


def _jaxssl_commands(path: Path) -> list[list[str]]:
  """The `jaxssl ...` command lines of the bash blocks of `path`, as argument lists.

  Continuation lines are joined and comments dropped; a line that runs jaxssl behind another
  command (`srun ... jaxssl pretrain ...`) counts from `jaxssl` on. A command quoted inside
  another one (`gcloud ... --command "jaxssl ..."`) is not taken apart."""
  commands = []
  for block in _blocks(path, 'bash'):
    for line in block.replace('\\\n', ' ').splitlines():
      words = shlex.split(line, comments=True)
      if 'jaxssl' in words:
        commands.append(words[words.index('jaxssl') + 1:])
  return commands


def test_readme_python_example_runs(capsys):
  blocks = _blocks(README, 'python')
  assert len(blocks) == 1, 'the README has one Python example; the rest belong in docs/'
  namespace = {}
  try:
    exec(compile(blocks[0], 'README.md', 'exec'), namespace)  # noqa: S102 -- our own README
    assert np.isfinite(float(namespace['loss']))
    assert set(namespace['terms']) >= {'invariance'}
    estimate, truth = (float(v) for v in capsys.readouterr().out.split())
    assert abs(estimate - truth) < 0.1 * truth  # KSG on 5000 samples, d = 1: within 10%
  finally:
    objectives._registry._REGISTRY.pop('my_objective', None)


def test_readme_make_targets_exist():
  readme = README.read_text()
  makefile = (ROOT / 'Makefile').read_text()
  for target in ('demo', 'test'):
    assert f'make {target}' in readme
    assert re.search(rf'^{target}:', makefile, re.M), f'Makefile has no {target} target'


def test_readme_has_command_lines():
  commands = {words[0] for words in _jaxssl_commands(README)}
  assert commands >= {'prepare', 'pretrain', 'evaluate', 'export', 'bench'}


@pytest.mark.parametrize('page', PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_command_lines_parse(page, monkeypatch):
  monkeypatch.chdir(ROOT)  # config paths are relative to the repository root
  for words in _jaxssl_commands(page):
    line = shlex.join(['jaxssl'] + words)
    rest, overrides = cli._split_overrides(words)
    try:
      args, unknown = cli._parser().parse_known_args(rest)
    except SystemExit as e:
      raise AssertionError(f'{page.name}: `{line}` does not parse') from e
    if args.command == 'bench' and args.what == 'estimators':
      continue  # its own options, passed through to jaxssl.bench.estimators
    assert not unknown, f'{page.name}: `{line}`: unknown arguments {unknown}'
    if args.command == 'prepare':
      assert args.name in PREPARE_NAMES, f'{page.name}: `{line}`: unknown data set {args.name}'
    if args.command in ('pretrain', 'demo', 'bench'):
      load_config(args.config, overrides)  # raises ConfigError on a bad file, field or value
    else:
      assert not overrides, f'{page.name}: `{line}`: --config.* on a command without a config'
