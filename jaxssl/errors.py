"""The one base class of the mistakes a user can make and fix.

A bad config or override, a data set that is not prepared, a workdir that holds another run, an
export directory that is not one: each is raised as a subclass of `JaxsslError` (and of the
built-in type it always was, `ValueError` or `FileNotFoundError`, so existing `except` clauses keep
working). The `jaxssl` command turns every `JaxsslError` into one line on stderr and exit status 2,
in one place (`jaxssl.cli.main`); any other exception is a bug and keeps its traceback.
"""


class JaxsslError(Exception):
  """A mistake the user can fix; its message says what was expected and how to fix it."""


class ConfigError(JaxsslError, ValueError):
  """A config file or override is invalid."""


class MissingRunError(JaxsslError, FileNotFoundError):
  """A workdir without the run (config, checkpoint) a command needs, or a path that is no export."""


class ExportTargetError(JaxsslError, FileExistsError):
  """`jaxssl export --out` names a directory that holds something other than an export."""
