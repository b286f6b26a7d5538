"""`run-eval run MODEL BENCHMARK` (also `run-eval MODEL BENCHMARK`): one evaluation, here or on HF Jobs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import job_options, run_options
from run_eval.runner.errors import EXIT_FAILED, EXIT_USAGE, fail
from run_eval.runner.models.reference import ModelError, parse_model_args
from run_eval.runner.run.options import RunOptions
from run_eval.signing.errors import ResultFileError, SigningError
from run_eval.tasks.errors import TasksError


@click.command("run")
@click.argument("model")
@click.argument("benchmark")
@run_options
@click.option("--resume", is_flag=True,
              help="Finish this run from its Inspect logs in --log-dir: continue the newest unfinished log of "
              "each task made with exactly these settings (completed samples are not redone), reuse finished "
              "ones, run the rest from the start.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("logs"),
              show_default=True, help="Where Inspect writes its logs (the evidence).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where .eval_results/ is written.")
@click.option("--model-id", metavar="ORG/NAME", help="Hub id of a local model folder (recorded).")
@click.option("--dataset-id", metavar="ORG/NAME",
              help="Hub id of a local benchmark folder (default: local/<folder>).")
@job_options
@click.option("--detach", is_flag=True, help="HF Jobs: submit and return; follow later with `run-eval jobs`.")
@click.option("--push-pr", is_flag=True, help="Also open a PR with the signed result on the model repo.")
@click.option("--upload-results", metavar="ORG/NAME", hidden=True)
@click.option("--expect-spec", "expect_spec", multiple=True, metavar="TASK=SHA256", hidden=True)
@click.option("--sample-id", "sample_ids", multiple=True, metavar="ID", hidden=True)
@click.option("--shard", metavar="K/N", hidden=True, callback=lambda _c, _p, v: parse_shard(v))
def run_command(model: str, benchmark: str, options: RunOptions, resume: bool, log_dir: Path, output_dir: Path,
                model_id: str | None, dataset_id: str | None, where: str, job: Any, detach: bool, push_pr: bool,
                upload_results: str | None, expect_spec: tuple[str, ...], sample_ids: tuple[str, ...],
                shard: tuple[int, int] | None) -> None:
    """Evaluate MODEL on BENCHMARK and write OUTPUT_DIR/.eval_results/<benchmark>.yaml.

    \b
    MODEL      an Inspect model string: hf/./local-folder, hf/org/name, vllm/...,
               openai/..., mockllm/model
    BENCHMARK  a Hub dataset id org/name[@revision], a folder holding eval.yaml and
               its data (a dataset repo layout), or the eval.yaml file itself
    """
    from dataclasses import replace

    options = replace(options, sample_ids=tuple(sample_ids))
    try:
        parse_model_args(options.model_args)  # refuse secrets in -M before anything else happens
    except ModelError as ex:
        fail(str(ex), EXIT_USAGE)
    if where == "hf-jobs" and options.shards > 1:
        outcome = run_sharded_on_jobs(model, benchmark, options, job, log_dir=log_dir, output_dir=output_dir,
                                      resume=resume, detach=detach)
        print_outcome(outcome)
        if push_pr:
            after_job_run(outcome, None, push_pr)
        return
    if where == "hf-jobs":
        if resume:
            fail("--resume continues a local run from its logs in --log-dir; it cannot be used with --on hf-jobs "
                 "(except with --shards N: the run folder in --log-dir knows its jobs)", EXIT_USAGE)
        submit_remote(model, benchmark, options, job, push_pr, detach, output_dir)
        return
    outcome = run_here(model, benchmark, options, resume=resume, log_dir=log_dir, output_dir=output_dir,
                       model_id=model_id, dataset_id=dataset_id, expect_spec=expect_spec, shard=shard)
    if isinstance(outcome, list):  # one shard of a sharded run: its logs are the coordinator's to merge
        if upload_results and shard is not None:
            upload_shard(log_dir, shard[0], outcome, upload_results)
        return
    print_outcome(outcome)
    if upload_results or push_pr:
        after_job_run(outcome, upload_results, push_pr)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``--shard K/N`` (a worker of ``--shards N``) as (k, n) counted from 0."""
    if value is None:
        return None
    k, _, n = value.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"{value!r}: expected K/N with 1 <= K <= N")
    return int(k) - 1, int(n)


def run_here(model: str, benchmark: str, options: RunOptions, *, resume: bool, log_dir: Path, output_dir: Path,
             model_id: str | None, dataset_id: str | None, expect_spec: tuple[str, ...],
             shard: tuple[int, int] | None = None) -> Any:
    from run_eval.runner.run.execute import execute
    from run_eval.runner.run.request import RunRequest

    def run(notify: Any) -> Any:
        req = RunRequest(
            model, benchmark, options, log_dir=log_dir, output_dir=output_dir, model_id=model_id,
            dataset_id=dataset_id,
            display="none" if shard is not None else None if sys.stdout.isatty() else "plain",
            expect_spec=dict(e.partition("=")[::2] for e in expect_spec), resume=resume, shard=shard,
        )
        return execute(req, notify=notify)

    return guarded(run, log_dir)


def guarded(run: Any, log_dir: Path) -> Any:
    """``run(notify)`` with SIGTERM taken as Ctrl-C (exit 143), and every way a run ends badly
    as its lines and exit status: bad input 2, a failed run (here or in a job) 1, stopped 130."""
    from run_eval.runner.remote.submit import RemoteError, RemoteInputError
    from run_eval.runner.run import interrupt
    from run_eval.runner.run.execute import stopped_line
    from run_eval.runner.run.request import RunFailed, RunInterrupted

    try:
        with interrupt.sigterm_as_interrupt():  # SIGTERM stops the run as Ctrl-C does (exit 143)
            return run(lambda msg: click.echo(f"run-eval: {msg}", err=True))
    except (TasksError, ResultFileError, ModelError, SigningError, RemoteInputError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)], EXIT_USAGE)
    except RunInterrupted as ex:
        fail(ex.lines, interrupt.exit_code())
    except (RunFailed, RemoteError) as ex:
        fail(ex.lines, EXIT_FAILED)
    except KeyboardInterrupt:  # the signal landed outside Inspect's task loop: the same line as inside it
        fail(stopped_line(log_dir), interrupt.exit_code())


def print_outcome(outcome: Any) -> None:
    """The short table printed after a run, then the pins and the result file."""
    from rich.console import Console
    from rich.table import Table

    from run_eval.tasks.pins import display_path

    console = Console()
    b, m = outcome.benchmark, outcome.model
    table = Table(title=f"{m.model_id} on {b.dataset_id}", title_justify="left")
    for col in ("task", "metric", "value ± stderr", "samples", "log"):
        table.add_column(col, overflow="fold")
    for r in outcome.results:
        value = f"{r.value:.4f}" + (f" ± {r.stderr:.4f}" if r.stderr is not None else "")
        samples = f"{r.samples}/{r.total_samples}" + (f" ({r.errored} failed)" if r.errored else "")
        table.add_row(r.task_id, r.metric, value, samples, display_path(Path(r.log)))
    console.print(table)
    console.print(f"dataset revision: {b.revision} ({b.pin_kind})", highlight=False, soft_wrap=True)
    console.print(f"model revision:   {m.revision or 'not pinned'}", highlight=False, soft_wrap=True)
    console.print(f"result file:      {outcome.result_file}", highlight=False, soft_wrap=True)


def submit_remote(model: str, benchmark: str, options: RunOptions, job: Any, push_pr: bool, detach: bool,
                  output_dir: Path) -> None:
    from run_eval.runner.remote.submit import RemoteError, RemoteInputError, submit_run

    try:
        _, files = submit_run(model=model, benchmark=benchmark, options=options, job=job, push_pr=push_pr,
                              detach=detach, output_dir=output_dir, echo=click.echo)
    except RemoteInputError as ex:
        fail(ex.lines, EXIT_USAGE)
    except RemoteError as ex:
        fail(ex.lines, EXIT_FAILED)
    except (TasksError, ModelError, SigningError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)], EXIT_USAGE)
    for f in files:
        click.echo(f"result file:      {f}")


def run_sharded_on_jobs(model: str, benchmark: str, options: RunOptions, job: Any, *, log_dir: Path,
                        output_dir: Path, resume: bool, detach: bool) -> Any:
    from run_eval.runner.remote.sharded import Detached, run_sharded_on_jobs as run_on_jobs

    def run(notify: Any) -> Any:
        try:
            return run_on_jobs(model=model, benchmark=benchmark, options=options, job=job, log_dir=log_dir,
                               output_dir=output_dir, resume=resume, detach=detach,
                               display=None if sys.stdout.isatty() else "plain", notify=notify)
        except Detached as ex:
            click.echo("\n".join(ex.lines))
            sys.exit(0)

    return guarded(run, log_dir)


def upload_shard(log_dir: Path, k: int, logs: list[Path], repo: str) -> None:
    """In a job running one shard: its Inspect logs to the results repo, for the submitter to merge."""
    from run_eval.runner.remote.results import upload_shard_logs
    from run_eval.runner.remote.submit import RemoteError

    try:
        folder = upload_shard_logs(log_dir, logs, repo)
    except RemoteError as ex:
        fail(ex.lines, EXIT_FAILED)
    click.echo(f"uploaded shard {k + 1} logs to {repo}/{folder}/logs/")


def after_job_run(outcome: Any, upload_results: str | None, push_pr: bool) -> None:
    """In a job: send the signed result where the submitter asked."""
    from run_eval.runner.publish.push import PushError, check_files, push
    from run_eval.runner.remote.results import upload_results as upload
    from run_eval.runner.remote.submit import RemoteError
    from run_eval.signing.trust import TrustStore

    try:
        if upload_results:
            folder = upload(outcome.result_file, upload_results)
            click.echo(f"uploaded result and logs to {upload_results}/{folder}/")
        if push_pr:
            plan = check_files(outcome.model.model_id, [outcome.result_file], trust=TrustStore(),
                               allow_subset=True, allow_unsigned=False)
            info = push(plan, create_pr=True)
            click.echo(f"opened pull request {getattr(info, 'pr_url', '')}")
            if plan.unpublished:
                click.echo(f"pushed {len(plan.unpublished)} entries without source.url: their Inspect logs are files "
                           "inside this job that were not uploaded, which no one else can open", err=True)
    except (RemoteError, PushError) as ex:
        fail(ex.lines, EXIT_FAILED)
