"""The ``run-eval`` command line.

``run-eval MODEL BENCHMARK`` is short for ``run-eval run MODEL BENCHMARK``. Every bad
input ends in one ``run-eval: error: ...`` line per problem and exit status 2 (usage,
bad input) or 1 (the run failed); tracebacks are shown only with RUN_EVAL_DEBUG=1.

Start-up is kept short: this module imports only click, and each command's module is
imported when that command runs (``COMMANDS`` below); ``run-eval --help`` lists them from
the one-line help kept here, which tests/test_startup.py checks against the commands.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

import click

from run_eval.runner.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE

# name -> ("module:attribute", the first line of the command's docstring)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_eval.runner.cli.run:run_command",
            "Evaluate MODEL on BENCHMARK and write OUTPUT_DIR/.eval_results/<benchmark>.yaml."),
    "tiny-model": ("run_eval.runner.cli.tiny_model:tiny_model_command",
                   "Train the tiny offline demo model (random init, local tokenizer, CPU) into OUT_DIR."),
    "keys": ("run_eval.runner.cli.keys:keys_group",
             "Your signing key (Ed25519, under RUN_EVAL_HOME) and the keys you trust."),
    "lint": ("run_eval.runner.cli.lint:lint_command",
             "Check BENCHMARK's method against its data without running a model."),
    "audit": ("run_eval.runner.cli.audit:audit_command",
              "Look for systematic failure in the Inspect logs of one or many models on a benchmark."),
    "verify": ("run_eval.runner.cli.verify:verify_command",
               "Verify the verifyTokens of result files (or folders holding .eval_results/*.yaml)."),
    "push": ("run_eval.runner.cli.push:push_command",
             "Send signed result files to MODEL_REPO's .eval_results/ as one pull request."),
    "results": ("run_eval.runner.cli.results:results_command",
                "List MODEL_REPO's published entries (main and open PRs) with their verification status."),
    "jobs": ("run_eval.runner.cli.jobs:jobs_group", "Follow and manage run-eval's Hugging Face Jobs."),
    "sweep": ("run_eval.runner.cli.sweep:sweep_command",
              "Run every MODEL on every BENCHMARK, at most --max-parallel at a time."),
    "reproduce": ("run_eval.runner.cli.reproduce:reproduce_command",
                  "Re-run TARGET's score from its verifyToken and say, with statistics, whether it holds."),
    "diff": ("run_eval.runner.cli.diff:diff_command",
             "Explain why two scores differ: every methodology field of their tokens, side by side."),
    "leaderboard": ("run_eval.runner.cli.leaderboard:leaderboard_command",
                    "Rank only comparable scores of BENCHMARK (a Hub dataset id, or result files/folders)."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported only when one of them is looked up to run.

    The help listing uses the one-line help in ``lazy`` for commands not imported yet, so
    ``--help`` imports none of them.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def has_command(self, name: str) -> bool:
        return name in self.commands or name in self.lazy

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            if not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


class DefaultGroup(LazyGroup):
    """A group whose first argument, when it is not a command, starts the ``run`` command."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not self.has_command(args[0]) and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("run-eval", "MODEL BENCHMARK [OPTIONS] | COMMAND [ARGS]...")


@click.group(cls=DefaultGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="run-eval", prog_name="run-eval")
def cli() -> None:
    """Evaluate MODEL on an eval.yaml BENCHMARK with Inspect AI and write a pinned
    .eval_results/<benchmark>.yaml in the Hugging Face Community Evals format.

    \b
    run-eval MODEL BENCHMARK [OPTIONS]     same as: run-eval run ...
    """


def _cancelled(ex: BaseException) -> bool:
    """Whether ex is asyncio's CancelledError (without importing asyncio: if it was never
    imported, nothing can have raised it)."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(ex, asyncio.CancelledError)


def main(argv: list[str] | None = None) -> Any:
    """The ``run-eval`` command (``argv``: in-process, with arguments of its own)."""
    try:
        return _main(argv)
    finally:
        if argv is None:  # this process ends now
            # the interpreter's last garbage collections would walk every object a run made (half a
            # million after 400 questions: 1.5 s here, BENCHMARKS.md §7) to free memory the OS frees
            # anyway; frozen, they are left alone (nothing run-eval writes waits on them: files are
            # closed and renamed into place before this point)
            gc.freeze()


def _main(argv: list[str] | None) -> Any:
    from run_eval.runner.launch import started_from_command_line

    debug = os.environ.get("RUN_EVAL_DEBUG") == "1"
    started_from_command_line(argv)
    try:
        code = cli.main(args=argv, prog_name="run-eval", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.UsageError as ex:
        if type(ex).__name__ == "NoArgsIsHelpError" and ex.ctx is not None:
            click.echo(ex.ctx.get_help())  # bare `run-eval`: show the help
            sys.exit(0)
        where = f" (see: {ex.ctx.command_path} --help)" if ex.ctx else ""
        click.echo(f"run-eval: error: {ex.format_message()}{where}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as ex:
        click.echo(f"run-eval: error: {ex.format_message()}", err=True)
        sys.exit(ex.exit_code)
    except click.exceptions.Abort:
        _interrupted()
    except KeyboardInterrupt:  # Ctrl-C surfaces as this or as asyncio's CancelledError (below)
        _interrupted()
    except SystemExit:
        raise
    except Exception as ex:  # last line of defence: one line, never a traceback
        if debug:
            raise
        first = str(ex).strip().splitlines()
        detail = first[0] if first else ""
        click.echo(
            f"run-eval: error: {type(ex).__name__}: {detail} "
            "(set RUN_EVAL_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    except BaseException as ex:
        if _cancelled(ex):
            _interrupted()
        raise


def _interrupted() -> None:
    """One line and 130 (Ctrl-C), or 143 when a run was stopped by SIGTERM (runner/run/interrupt.py)."""
    stopped = sys.modules.get("run_eval.runner.run.interrupt")  # loaded only by a command that handles SIGTERM
    what = stopped.describe() if stopped else "interrupted"
    click.echo(f"run-eval: {what}; no result file was written", err=True)
    sys.exit(stopped.exit_code() if stopped else EXIT_INTERRUPTED)
