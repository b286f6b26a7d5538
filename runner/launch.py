"""How run-eval starts another run-eval: the shards of a run, the cells of a sweep.

Another instance is started the way this one was (the same interpreter, the same script
or ``-m`` module, e.g. a test's wrapper that registers test models), so that what that
start-up set up holds in the new process too; when this command was not started from the
command line (it runs in-process, e.g. in a test), it is ``python -m run_eval``.
"""

from __future__ import annotations

import os
import sys

_started_as: list[str] | None = None


def started_from_command_line(argv: list[str] | None) -> None:
    """Called by ``main``: remember how this process was started when ``argv`` is its own."""
    global _started_as
    if argv is not None and list(argv) != sys.argv[1:]:
        return  # called in-process with arguments of its own: not this process's command line
    orig = list(getattr(sys, "orig_argv", []))
    n_args = len(sys.argv) - 1
    prefix = orig[:len(orig) - n_args] if n_args else orig
    rest = prefix[1:]
    if not rest or rest[-1] == "-c":
        return
    if os.path.isfile(rest[-1]):  # a script: by its absolute path, whatever the new process's folder
        rest[-1] = os.path.abspath(rest[-1])
    _started_as = [sys.executable, *rest]


def self_command() -> list[str]:
    """The command that starts another ``run-eval`` like this one (arguments to be added)."""
    return list(_started_as) if _started_as else [sys.executable, "-m", "run_eval"]
