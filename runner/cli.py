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

from runner import errors
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
    errors.fail(lines, code)


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
@click.option("--on", "where", type=click.Choice(["local", "hf-jobs"]), default="local", show_default=True,
              help="Run here, or as a Hugging Face Job.")
@click.option("--flavor", default="a10g-small", show_default=True, help="HF Jobs hardware flavor.")
@click.option("--timeout", "job_timeout", default="2h", show_default=True, help="HF Jobs timeout (e.g. 30m, 2h).")
@click.option("--namespace", metavar="ORG", help="HF Jobs namespace (default: your user).")
@click.option("--detach", is_flag=True, help="HF Jobs: submit and return; follow later with `run-eval jobs`.")
@click.option("--package", metavar="SPEC", help="HF Jobs: pip requirement for run-eval in the job "
              "(default: a wheel of this checkout, uploaded).")
@click.option("--image", metavar="IMAGE", help="HF Jobs: Docker image (default: a PyTorch CUDA image; python for cpu flavors).")
@click.option("--results-repo", metavar="ORG/NAME",
              help="HF Jobs: dataset repo the job uploads its result and logs to (default: NAMESPACE/run-eval-results).")
@click.option("--push-pr", is_flag=True, help="Also open a PR with the signed result on the model repo.")
@click.option("--upload-results", metavar="ORG/NAME", hidden=True)
@click.option("--expect-spec", "expect_spec", multiple=True, metavar="TASK=SHA256", hidden=True)
@click.option("--sample-id", "sample_ids", multiple=True, metavar="ID", hidden=True)
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
    where: str,
    flavor: str,
    job_timeout: str,
    namespace: str | None,
    detach: bool,
    package: str | None,
    image: str | None,
    results_repo: str | None,
    push_pr: bool,
    upload_results: str | None,
    expect_spec: tuple[str, ...],
    sample_ids: tuple[str, ...],
) -> None:
    """Evaluate MODEL on BENCHMARK and write OUTPUT_DIR/.eval_results/<benchmark>.yaml.

    \b
    MODEL      an Inspect model string: hf/./local-folder, hf/org/name, vllm/...,
               openai/..., mockllm/model
    BENCHMARK  a Hub dataset id org/name[@revision], a folder holding eval.yaml and
               its data (a dataset repo layout), or the eval.yaml file itself
    """
    from runner.report import print_outcome
    from runner.run import RunFailed, RunInterrupted, RunRequest, execute

    if where == "hf-jobs":
        forwarded = [*(a for t in task_ids for a in ("--task", t)), "--seed", str(seed)]
        for flag, value in (("--limit", limit), ("--epochs", epochs), ("--max-tokens", max_tokens),
                            ("--temperature", temperature), ("--max-connections", max_connections)):
            if value is not None:
                forwarded += [flag, str(value)]
        forwarded += [a for m in model_args for a in ("-M", m)]
        forwarded += [a for i in sample_ids for a in ("--sample-id", i)]
        try:
            parse_model_args(model_args)  # refuse secrets in -M before anything is sent
        except ModelError as ex:
            fail(str(ex))
        return submit_remote(model, benchmark, task_ids, forwarded, flavor, job_timeout, namespace, package,
                             image, results_repo, push_pr, detach, output_dir)
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
            expect_spec=dict(e.partition("=")[::2] for e in expect_spec),
            sample_ids=[int(i) if i.isdigit() else i for i in sample_ids] or None,
        )
        outcome = execute(req, notify=lambda msg: click.echo(f"run-eval: {msg}", err=True))
    except (TasksError, ResultFileError, ModelError, SigningError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)])
    except RunInterrupted as ex:
        fail(ex.lines, EXIT_INTERRUPTED)
    except RunFailed as ex:
        fail(ex.lines, EXIT_FAILED)
    print_outcome(outcome)
    if upload_results or push_pr:
        after_job_run(outcome, upload_results, push_pr)


def submit_remote(model, benchmark, task_ids, forwarded, flavor, job_timeout, namespace, package, image,
                  results_repo, push_pr, detach, output_dir) -> None:
    from runner.remote import RemoteError, RemoteInputError, submit_run

    try:
        _, files = submit_run(model=model, benchmark=benchmark, task_ids=task_ids, forwarded=forwarded,
                              flavor=flavor, timeout=job_timeout, namespace=namespace, package=package, image=image,
                              results_repo=results_repo, push_pr=push_pr, detach=detach, output_dir=output_dir,
                              echo=click.echo)
    except RemoteInputError as ex:
        fail(ex.lines, EXIT_USAGE)
    except RemoteError as ex:
        fail(ex.lines, EXIT_FAILED)
    except (TasksError, ModelError, SigningError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)])
    for f in files:
        click.echo(f"result file:      {f}")


def after_job_run(outcome, upload_results: str | None, push_pr: bool) -> None:
    """In a job: send the signed result where the submitter asked."""
    from runner.push import PushError, check_files, push
    from runner.remote import RemoteError, upload_results as upload
    from signing.trust import TrustStore

    try:
        if upload_results:
            folder = upload(outcome.result_file, upload_results)
            click.echo(f"uploaded result and logs to {upload_results}/{folder}/")
        if push_pr:
            plan = check_files(outcome.model.model_id, [outcome.result_file], trust=TrustStore(),
                               allow_subset=True, allow_unsigned=False)
            info = push(plan, create_pr=True)
            click.echo(f"opened pull request {getattr(info, 'pr_url', '')}")
    except (RemoteError, PushError) as ex:
        fail(ex.lines, EXIT_FAILED)


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
    from runner.jobs_cmd import jobs_group
    from runner.reproduce_cmd import diff_command, reproduce_command
    from runner.sweep_cmd import sweep_command
    from runner.keys_cmd import keys_group
    from runner.verify_cmd import verify_command

    cli.add_command(keys_group)
    cli.add_command(verify_command)
    cli.add_command(push_command)
    cli.add_command(results_command)
    cli.add_command(jobs_group)
    cli.add_command(sweep_command)
    cli.add_command(reproduce_command)
    cli.add_command(diff_command)


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
