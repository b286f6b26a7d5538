"""`run-eval sweep`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runner.model import DEFAULT_SEED


def _split(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("expected a comma-separated list")
    return items


@click.command("sweep")
@click.option("--models", required=True, help="Comma-separated MODEL strings.")
@click.option("--benchmarks", required=True, help="Comma-separated BENCHMARKs.")
@click.option("--on", "where", type=click.Choice(["local", "hf-jobs"]), default="local", show_default=True)
@click.option("--max-parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cells running at once.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="Retries of a failed cell.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("sweep"),
              show_default=True, help="Results go to OUTPUT_DIR/<model>/.eval_results/.")
@click.option("--task", "task_ids", multiple=True, metavar="ID")
@click.option("--limit", type=click.IntRange(min=1))
@click.option("--epochs", type=click.IntRange(min=1))
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1))
@click.option("--temperature", type=click.FloatRange(min=0.0))
@click.option("-M", "model_args", multiple=True, metavar="KEY=VALUE")
@click.option("--flavor", default="a10g-small", show_default=True)
@click.option("--timeout", "job_timeout", default="2h", show_default=True)
@click.option("--namespace", metavar="ORG")
@click.option("--package", metavar="SPEC")
@click.option("--results-repo", metavar="ORG/NAME")
def sweep_command(models: str, benchmarks: str, where: str, max_parallel: int, retries: int, output_dir: Path,
                  task_ids: tuple[str, ...], limit: int | None, epochs: int | None, seed: int,
                  max_tokens: int | None, temperature: float | None, model_args: tuple[str, ...], flavor: str,
                  job_timeout: str, namespace: str | None, package: str | None, results_repo: str | None) -> None:
    """Run every MODEL on every BENCHMARK, at most --max-parallel at a time.

    Exit status 0 when every cell has a result, 1 when any failed.
    """
    from runner.model import ModelError, parse_model_args
    from runner.sweep import SweepOptions, sweep

    try:
        parse_model_args(model_args)
    except ModelError as ex:
        raise click.UsageError(str(ex)) from None
    run_args = [*(a for t in task_ids for a in ("--task", t)), "--seed", str(seed)]
    for flag, value in (("--limit", limit), ("--epochs", epochs), ("--max-tokens", max_tokens),
                        ("--temperature", temperature)):
        if value is not None:
            run_args += [flag, str(value)]
    run_args += [a for m in model_args for a in ("-M", m)]
    if where == "hf-jobs":
        run_args += ["--on", "hf-jobs", "--flavor", flavor, "--timeout", job_timeout]
        for flag, value in (("--namespace", namespace), ("--package", package), ("--results-repo", results_repo)):
            if value:
                run_args += [flag, value]
    opts = SweepOptions(run_args=run_args, output_dir=output_dir, max_parallel=max_parallel, retries=retries,
                        seed=seed, limit=limit, epochs=epochs, max_tokens=max_tokens, temperature=temperature,
                        task_ids=task_ids)
    cells = sweep(_split(models), _split(benchmarks), opts)
    failed = [c for c in cells if c.state == "failed"]
    for c in failed:
        click.echo(f"run-eval: error: {c.model} on {c.benchmark} failed after {c.attempts} attempt(s): {c.detail}",
                   err=True)
    sys.exit(1 if failed else 0)
