"""`run-eval sweep --models A,B --benchmarks X,Y`: every model on every benchmark."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import job_options, run_options, trust_option
from run_eval.runner.run.options import RunOptions


def _split(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("expected a comma-separated list")
    return items


@click.command("sweep")
@click.option("--models", required=True, help="Comma-separated MODEL strings.")
@click.option("--benchmarks", required=True, help="Comma-separated BENCHMARKs.")
@click.option("--max-parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cells running at once.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="Retries of a failed cell.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("sweep"),
              show_default=True, help="Results go to OUTPUT_DIR/<model>/.eval_results/.")
@run_options
@job_options
@trust_option
def sweep_command(models: str, benchmarks: str, max_parallel: int, retries: int, output_dir: Path,
                  options: RunOptions, where: str, job: Any, trust: Any) -> None:
    """Run every MODEL on every BENCHMARK, at most --max-parallel at a time.

    A cell whose folder already holds a valid result for the same lock (decided with your
    trust stores: a revoked key's result is redone) is skipped. Exit status 0 when every
    cell has a result, 1 when any failed.
    """
    from run_eval.runner.models.reference import ModelError, parse_model_args
    from run_eval.runner.remote.sweep import SweepOptions, sweep

    try:
        parse_model_args(options.model_args)
    except ModelError as ex:
        raise click.UsageError(str(ex)) from None
    opts = SweepOptions(options=options, job=job if where == "hf-jobs" else None, output_dir=output_dir,
                        max_parallel=max_parallel, retries=retries, trust=trust)
    cells = sweep(_split(models), _split(benchmarks), opts)
    failed = [c for c in cells if c.state == "failed"]
    for c in failed:
        click.echo(f"run-eval: error: {c.model} on {c.benchmark} failed after {c.attempts} attempt(s): {c.detail}",
                   err=True)
    sys.exit(1 if failed else 0)
