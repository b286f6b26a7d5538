"""`run-eval run MODEL BENCHMARK` (also `run-eval MODEL BENCHMARK`): one evaluation, here or on HF Jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runner import errors
from runner.errors import EXIT_FAILED, EXIT_USAGE
from runner.model import DEFAULT_SEED, ModelError, parse_model_args
from signing.errors import ResultFileError, SigningError
from tasks.errors import TasksError


def fail(lines: list[str] | str, code: int = EXIT_USAGE) -> None:
    errors.fail(lines, code)


@click.command("run")
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
@click.option("--backend", type=click.Choice(["auto", "inspect"]), default="auto", show_default=True,
              help="auto: hf/ models run on run-eval's hf-batch/ provider (Inspect's hf/ model, a faster "
              "batcher, same answers); inspect: run MODEL with Inspect's own provider. Recorded.")
@click.option("--resume", is_flag=True,
              help="Finish this run from its Inspect logs in --log-dir: continue the newest unfinished log of "
              "each task made with exactly these settings (completed samples are not redone), reuse finished "
              "ones, run the rest from the start.")
@click.option("--allow-errors", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Let up to N samples per task fail (a count, or a fraction of the task's samples if < 1): "
              "they are left out of the score, which is then marked a subset. Default: any failed sample "
              "fails the run.")
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
    backend: str,
    resume: bool,
    allow_errors: float | None,
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
    from runner import interrupt
    from runner.report import print_outcome
    from runner.run import RunFailed, RunInterrupted, RunRequest, execute

    if allow_errors is not None and allow_errors >= 1 and allow_errors != int(allow_errors):
        fail(f"--allow-errors {allow_errors:g}: expected a whole number of samples, or a fraction below 1")
    if where == "hf-jobs":
        if resume:
            fail("--resume continues a local run from its logs in --log-dir; it cannot be used with --on hf-jobs")
        forwarded = [*(a for t in task_ids for a in ("--task", t)), "--seed", str(seed), "--backend", backend]
        for flag, value in (("--limit", limit), ("--epochs", epochs), ("--max-tokens", max_tokens),
                            ("--temperature", temperature), ("--max-connections", max_connections),
                            ("--allow-errors", None if allow_errors is None else f"{allow_errors:g}")):
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
            backend=backend,
            log_dir=log_dir,
            output_dir=output_dir,
            model_id=model_id,
            dataset_id=dataset_id,
            display=None if sys.stdout.isatty() else "plain",
            expect_spec=dict(e.partition("=")[::2] for e in expect_spec),
            sample_ids=[int(i) if i.isdigit() else i for i in sample_ids] or None,
            resume=resume,
            allow_errors=allow_errors,
        )
        with interrupt.sigterm_as_interrupt():  # SIGTERM stops the run as Ctrl-C does (exit 143)
            outcome = execute(req, notify=lambda msg: click.echo(f"run-eval: {msg}", err=True))
    except (TasksError, ResultFileError, ModelError, SigningError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)])
    except RunInterrupted as ex:
        fail(ex.lines, interrupt.exit_code())
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
