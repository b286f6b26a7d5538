"""The ``run-eval`` command line.

``run-eval MODEL BENCHMARK`` is short for ``run-eval run MODEL BENCHMARK``. Every bad
input ends in one ``run-eval: error: ...`` line per problem and exit status 2 (usage,
bad input) or 1 (the run failed); tracebacks are shown only with RUN_EVAL_DEBUG=1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from runner.model import DEFAULT_SEED, ModelError, parse_model_args
from signing.errors import SigningError
from signing.results import ResultFileError
from tasks.errors import TasksError

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a command, starts the ``run`` command."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("run-eval", "MODEL BENCHMARK [OPTIONS] | COMMAND [ARGS]...")


def fail(lines: list[str] | str, code: int = EXIT_USAGE) -> None:
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(f"run-eval: error: {line}", err=True)
    sys.exit(code)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="run-eval", prog_name="run-eval")
def cli() -> None:
    """Evaluate MODEL on an eval.yaml BENCHMARK with Inspect AI and write a pinned
    .eval_results/<benchmark>.yaml in the Hugging Face Community Evals format.

    \b
    run-eval MODEL BENCHMARK [OPTIONS]     same as: run-eval run ...
    """


@cli.command("run")
@click.argument("model")
@click.argument("benchmark")
@click.option("--task", "task_ids", multiple=True, metavar="ID",
              help="Run only this task of the eval.yaml (repeatable; default: all tasks).")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate at most N samples per task.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the eval.yaml's epochs.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed for generation and for shuffle_choices (recorded).")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Maximum tokens to generate.")
@click.option("--temperature", type=click.FloatRange(min=0.0),
              help="Sampling temperature; local models decode greedily unless this is > 0.")
@click.option("--max-connections", type=click.IntRange(min=1),
              help="Concurrent requests (batch size for hf/).")
@click.option("-M", "model_args", multiple=True, metavar="KEY=VALUE",
              help="Model argument passed to Inspect (repeatable), e.g. -M device=cpu.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("logs"),
              show_default=True, help="Where Inspect writes its logs (the evidence).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where .eval_results/ is written.")
@click.option("--model-id", metavar="ORG/NAME", help="Hub id of a local model folder (recorded).")
@click.option("--dataset-id", metavar="ORG/NAME",
              help="Hub id of a local benchmark folder (default: local/<folder>).")
def run_command(
    model: str,
    benchmark: str,
    task_ids: tuple[str, ...],
    limit: int | None,
    epochs: int | None,
    seed: int,
    max_tokens: int | None,
    temperature: float | None,
    max_connections: int | None,
    model_args: tuple[str, ...],
    log_dir: Path,
    output_dir: Path,
    model_id: str | None,
    dataset_id: str | None,
) -> None:
    """Evaluate MODEL on BENCHMARK and write OUTPUT_DIR/.eval_results/<benchmark>.yaml.

    \b
    MODEL      an Inspect model string: hf/./local-folder, hf/org/name, vllm/...,
               openai/..., mockllm/model
    BENCHMARK  a folder holding eval.yaml and its data (a dataset repo layout),
               or the eval.yaml file itself
    """
    from runner.report import print_outcome
    from runner.run import RunFailed, RunInterrupted, RunRequest, execute

    try:
        req = RunRequest(
            model=model,
            benchmark=benchmark,
            task_ids=task_ids,
            limit=limit,
            epochs=epochs,
            seed=seed,
            max_tokens=max_tokens,
            temperature=temperature,
            max_connections=max_connections,
            model_args=parse_model_args(model_args),
            log_dir=log_dir,
            output_dir=output_dir,
            model_id=model_id,
            dataset_id=dataset_id,
            display=None if sys.stdout.isatty() else "plain",
        )
        outcome = execute(req, notify=lambda msg: click.echo(f"run-eval: {msg}", err=True))
    except (TasksError, ResultFileError, ModelError, SigningError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)])
    except RunInterrupted as ex:
        fail(ex.lines, EXIT_INTERRUPTED)
    except RunFailed as ex:
        fail(ex.lines, EXIT_FAILED)
    print_outcome(outcome)


@cli.command("tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".tiny-model"))
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--benchmark", "benchmark_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Example benchmark whose test items are kept out of training.")
def tiny_model_command(out_dir: Path, steps: int, seed: int, benchmark_dir: Path | None) -> None:
    """Train the tiny offline demo model (random init, local tokenizer, CPU) into OUT_DIR.

    It answers the example benchmark (examples/arithmetic) in the expected formats;
    evaluate it with: run-eval hf/./OUT_DIR examples/arithmetic
    """
    try:
        from runner.tiny_model import build
    except ImportError as ex:
        fail(f"the tiny model needs the 'local' extra ({ex.name} is missing): pip install -e '.[local]'")
    path = build(out_dir, benchmark_dir=benchmark_dir, steps=steps, seed=seed,
                 progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"tiny model written to {path}")


def _register() -> None:
    from runner.hub_cmd import push_command, results_command
    from runner.keys_cmd import keys_group
    from runner.verify_cmd import verify_command

    cli.add_command(keys_group)
    cli.add_command(verify_command)
    cli.add_command(push_command)
    cli.add_command(results_command)


_register()


def main(argv: list[str] | None = None) -> Any:
    debug = os.environ.get("RUN_EVAL_DEBUG") == "1"
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
        click.echo("run-eval: interrupted; no result file was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C surfaces as either
        click.echo("run-eval: interrupted; no result file was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
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
