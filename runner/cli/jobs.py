"""`run-eval jobs status|logs|wait|cancel|list`: the HF Jobs this tool submitted."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from run_eval.runner.cli.output import print_rows
from run_eval.runner.errors import fail
from run_eval.tasks.hub import hub_error


def _api_call(fn, what: str):
    try:
        return fn()
    except Exception as ex:
        msg = hub_error(ex, what, "", "model")
        if msg is None:
            raise
        fail(msg, 1)


ns_option = click.option("--namespace", metavar="ORG", help="The job's namespace (default: your user).")


@click.group("jobs")
def jobs_group() -> None:
    """Follow and manage run-eval's Hugging Face Jobs."""


@jobs_group.command("status")
@click.argument("job_id")
@ns_option
def status(job_id: str, namespace: str | None) -> None:
    """Show a job's stage, flavor and command."""
    from huggingface_hub import HfApi

    from run_eval.jobs.hfjobs import stage

    info = _api_call(lambda: HfApi().inspect_job(job_id=job_id, namespace=namespace), f"job {job_id}")
    click.echo(f"{info.id}  {stage(info)}  flavor={info.flavor}  {getattr(info, 'url', '')}")
    message = getattr(info.status, "message", None)
    if message:
        click.echo(f"message: {message}")


@jobs_group.command("logs")
@click.argument("job_id")
@ns_option
@click.option("--follow", "-f", is_flag=True, help="Keep following until the job ends.")
def logs(job_id: str, namespace: str | None, follow: bool) -> None:
    """Print a job's logs."""
    from huggingface_hub import HfApi

    def show() -> None:
        for line in HfApi().fetch_job_logs(job_id=job_id, namespace=namespace, follow=follow):
            click.echo(line.rstrip("\n"))

    _api_call(show, f"job {job_id}")


@jobs_group.command("wait")
@click.argument("job_id")
@ns_option
@click.option("--results-repo", metavar="ORG/NAME", help="Fetch the job's result from this repo when it completes.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
def wait_command(job_id: str, namespace: str | None, results_repo: str | None, output_dir: Path) -> None:
    """Wait for a job to end; with --results-repo, fetch its signed result into .eval_results/."""
    from huggingface_hub import HfApi

    from run_eval.jobs.hfjobs import stage, wait
    from run_eval.runner.remote.results import fetch_results
    from run_eval.runner.remote.submit import RESULTS_REPO_NAME, RemoteError

    api = HfApi()
    info = _api_call(lambda: wait(api, job_id, namespace), f"job {job_id}")
    click.echo(f"{job_id}: {stage(info)}")
    if stage(info) != "COMPLETED":
        sys.exit(1)
    ns = namespace or getattr(getattr(info, "owner", None), "name", None)
    repo = results_repo or (f"{ns}/{RESULTS_REPO_NAME}" if ns else None)
    if repo:
        try:
            for f in fetch_results(repo, job_id, output_dir):
                click.echo(f"result file: {f}")
        except RemoteError as ex:
            fail(ex.lines, 1)


@jobs_group.command("cancel")
@click.argument("job_id")
@ns_option
def cancel(job_id: str, namespace: str | None) -> None:
    """Cancel a job."""
    from huggingface_hub import HfApi

    _api_call(lambda: HfApi().cancel_job(job_id=job_id, namespace=namespace), f"job {job_id}")
    click.echo(f"{job_id}: cancel requested")


@jobs_group.command("list")
@ns_option
def list_command(namespace: str | None) -> None:
    """List the jobs run-eval submitted (by their label)."""
    from huggingface_hub import HfApi

    from run_eval.jobs.hfjobs import list_tool_jobs, stage

    jobs = _api_call(lambda: list(list_tool_jobs(HfApi(), namespace)), "HF Jobs")
    rows = [(j.id, stage(j), str(j.flavor), (j.labels or {}).get("benchmark", ""),
             j.created_at.strftime("%Y-%m-%d %H:%M") if j.created_at else "") for j in jobs]
    print_rows(("job", "stage", "flavor", "benchmark", "created"), rows)
