"""`run-eval reproduce TARGET`: re-run a signed score and say whether it holds; check an unsigned
one against the benchmark's declared method (and, with --publish, say so on the model repo)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import job_options, trust_option
from run_eval.runner.errors import fail

EXIT_NOT_REPRODUCED, EXIT_BAD, EXIT_INCONCLUSIVE = 1, 2, 3


@click.command("reproduce")
@click.argument("target")
@click.option("--task", metavar="ID", help="Pick this task's entry.")
@click.option("--benchmark", metavar="ORG/NAME", help="Pick the entries of this benchmark (dataset id).")
@click.option("--model-path", metavar="DIR", help="Your copy of a model that was a local folder (its digest is checked).")
@click.option("--benchmark-path", metavar="DIR", help="Your copy of a benchmark that was a local folder (checked).")
@click.option("--log", "log_arg", metavar="LOG", help="The original Inspect log (default: the entry's source.url).")
@click.option("--samples", type=click.IntRange(min=1), help="Spot check a seeded random subset of N samples.")
@click.option("--tolerance", type=click.FloatRange(min=0.0, min_open=True), default=0.05, show_default=True,
              help="A difference this small is not worth telling apart (the interval must be within ±tolerance).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the re-run's logs and result here (default: a temporary folder).")
@click.option("--judge", "judges", multiple=True, metavar="MODEL",
              help="Grade the re-run with this judge instead of the recorded one (repeatable); the verdict then "
              "says the judge differs.")
@click.option("--publish", is_flag=True,
              help="Unsigned entries: open a PR on the model repo with the check's signed entry, whose notes cite "
              "the checked value and the verdict.")
@click.option("--log-repo", metavar="ORG/NAME",
              help="With --publish: upload the check's Inspect log to this dataset repo and link it (source.url).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a report with a plot of both scores and their 95% intervals.")
@click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Re-run over N worker processes (--on hf-jobs: N jobs), as run --shards N: the same result.")
@trust_option
@job_options
def reproduce_command(target: str, task: str | None, benchmark: str | None, model_path: str | None,
                      benchmark_path: str | None, log_arg: str | None, samples: int | None, tolerance: float,
                      output_dir: Path | None, judges: tuple[str, ...], publish: bool, log_repo: str | None,
                      as_json: bool, html_file: Path | None, shards: int, trust: Any, where: str, job: Any) -> None:
    """Re-run TARGET's score from its verifyToken and say, with statistics, whether it holds.

    TARGET: a result file (or a folder with .eval_results/), or a Hub model repo org/name.
    An entry of a Hub model repo without a verifyToken is checked instead: the benchmark's
    declared method is run on the model and the published value is compared with the measured
    95% interval (consistent, inconsistent or inconclusive: the claim's method is unknown).
    Exit: 0 all reproduced or consistent, 1 any not reproduced, graded by another judge
    (method-differs) or inconsistent, 2 bad input, 3 inconclusive.
    """
    from run_eval.runner.compare.html import reproduce_page
    from run_eval.runner.compare.reproduce import ClaimOutcome, ReproduceError, jobs_runner, reproduce
    from run_eval.runner.models.reference import ModelError
    from run_eval.runner.run.request import RunFailed
    from run_eval.signing.results import ResultFileError, atomic_write_text
    from run_eval.tasks.errors import TasksError

    if log_repo and not publish:
        fail(["--log-repo: only with --publish (it uploads the check's log for the PR it opens)"], EXIT_BAD)
    try:
        outcomes = reproduce(target, task=task, benchmark=benchmark, model_path=model_path,
                             bench_path=benchmark_path, log_arg=log_arg, samples=samples, tolerance=tolerance,
                             output_dir=output_dir, trust=trust, judges=tuple(judges), publish=publish,
                             log_repo=log_repo, remote=where != "local", shards=shards,
                             run=None if where == "local" else jobs_runner(
                                 job, echo=lambda m: click.echo(m, err=True), trust=trust, shards=shards))
    except (ReproduceError, TasksError, ModelError) as ex:
        fail(ex.lines if hasattr(ex, "lines") else [str(ex)], EXIT_BAD)
    except ResultFileError as ex:
        fail([str(ex)], EXIT_BAD)
    except RunFailed as ex:
        fail(ex.lines, EXIT_NOT_REPRODUCED)
    if as_json:
        click.echo(json.dumps({"entries": [o.as_dict() for o in outcomes]}, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console()
        for o in outcomes:
            if isinstance(o, ClaimOutcome):
                _print_claim(console, o)
                continue
            c = o.comparison
            for w in o.warnings:
                console.print(f"warning: {w}", style="yellow", highlight=False, markup=False)
            t = Table(title=escape(f"{o.task_id}: {o.verdict}") + (" (judge differs)" if o.judge_differs else ""),
                      title_justify="left")
            for col in ("", "score", "95% CI"):
                t.add_column(col)
            t.add_row("claimed", _num(o.claimed), "")
            t.add_row("original log", _num(o.original_log) if o.original_log is not None else "no log", "")
            if c is not None:
                t.add_row("reproduced", f"{c.reproduced:.4f}", "")
                t.add_row(f"Δ ({c.kind}, n={c.n})", f"{c.delta:+.4f}", f"[{c.ci[0]:+.4f}, {c.ci[1]:+.4f}]")
                t.add_row("SE / z", f"{c.se:.4f}", "" if c.z is None else f"z = {c.z:+.2f}")
            console.print(t)
            console.print(o.why, highlight=False, markup=False)
            if c is not None and c.changed_samples:
                console.print(f"samples whose score changed: {', '.join(c.changed_samples[:20])}"
                              + (" …" if len(c.changed_samples) > 20 else ""), highlight=False, markup=False)
    if html_file:
        atomic_write_text(html_file, reproduce_page(outcomes))
    verdicts = {o.verdict for o in outcomes}
    sys.exit(EXIT_NOT_REPRODUCED if verdicts & {"not-reproduced", "method-differs", "inconsistent"}
             else EXIT_INCONCLUSIVE if "inconclusive" in verdicts else 0)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _print_claim(console: Any, o: Any) -> None:
    """An unsigned entry's check: the claim as published and on the measured scale, the
    measured value and its 95% interval, and that the claim's method is unknown."""
    from rich.markup import escape
    from rich.table import Table

    for w in o.warnings:
        console.print(f"warning: {w}", style="yellow", highlight=False, markup=False)
    c, m = o.claim, o.measured
    t = Table(title=escape(f"{o.task_id}: {o.verdict}") + " (unsigned claim: its method is unknown, so it cannot be "
              "reproduced, only found consistent or not)", title_justify="left")
    for col in ("", "value", "95% CI"):
        t.add_column(col)
    source = f", source {c['source_name']!r}" if c.get("source_name") else ""
    t.add_row(escape(f"claimed ({c['file']}{source})"), escape(f"{c['published_value']} ({c['scale']})"), "")
    t.add_row("claimed, on the measured scale", _num(c["value"]), "")
    ci = m.get("ci95")
    t.add_row(f"measured (declared method, n={m['n']})", _num(m["value"]),
              f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "none")
    console.print(t)
    console.print(o.why, highlight=False, markup=False)
    if o.published:
        console.print(f"opened pull request {o.published}: {o.note}", highlight=False, markup=False)
