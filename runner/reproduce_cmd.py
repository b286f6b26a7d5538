"""`run-eval reproduce` and `run-eval diff`."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from runner.errors import fail

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
@click.option("--json", "as_json", is_flag=True)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a report with a plot of both scores and their 95% intervals.")
@click.option("--on", "where", type=click.Choice(["local", "hf-jobs"]), default="local", show_default=True)
@click.option("--flavor", default="a10g-small", show_default=True)
@click.option("--timeout", "job_timeout", default="2h", show_default=True)
@click.option("--namespace", metavar="ORG")
@click.option("--package", metavar="SPEC")
@click.option("--image", metavar="IMAGE")
@click.option("--results-repo", metavar="ORG/NAME")
def reproduce_command(target, task, benchmark, model_path, benchmark_path, log_arg, samples, tolerance,
                      output_dir, as_json, html_file, where, flavor, job_timeout, namespace, package, image,
                      results_repo) -> None:
    """Re-run TARGET's score from its verifyToken and say, with statistics, whether it holds.

    TARGET: a result file (or a folder with .eval_results/), or a Hub model repo org/name.
    Exit: 0 all reproduced, 1 any not reproduced, 2 bad input, 3 inconclusive.
    """
    from runner.model import ModelError
    from runner.reproduce import ReproduceError, jobs_runner, reproduce
    from runner.run import RunFailed
    from signing.results import ResultFileError
    from tasks.errors import TasksError

    try:
        outcomes = reproduce(target, task=task, benchmark=benchmark, model_path=model_path,
                             bench_path=benchmark_path, log_arg=log_arg, samples=samples, tolerance=tolerance,
                             output_dir=output_dir,
                             run=None if where == "local" else jobs_runner(
                                 flavor=flavor, timeout=job_timeout, namespace=namespace, package=package,
                                 image=image, results_repo=results_repo,
                                 echo=lambda m: click.echo(m, err=True)))
    except (ReproduceError, TasksError, ModelError) as ex:
        fail(ex.lines if hasattr(ex, "lines") else [str(ex)], EXIT_BAD)
    except ResultFileError as ex:
        fail([str(ex)], EXIT_BAD)
    except RunFailed as ex:
        fail(ex.lines, EXIT_NOT_REPRODUCED)
    if as_json:
        click.echo(json.dumps({"entries": [o.as_dict() for o in outcomes]}, indent=2))
    else:
        console = Console()
        for o in outcomes:
            c = o.comparison
            for w in o.warnings:
                console.print(f"warning: {w}", style="yellow", highlight=False)
            t = Table(title=f"{o.task_id}: {o.verdict}", title_justify="left")
            for col in ("", "score", "95% CI"):
                t.add_column(col)
            if c is not None:
                t.add_row("original", f"{c.original:.4f}", "")
                t.add_row("reproduced", f"{c.reproduced:.4f}", "")
                t.add_row(f"Δ ({c.kind}, n={c.n})", f"{c.delta:+.4f}", f"[{c.ci[0]:+.4f}, {c.ci[1]:+.4f}]")
                t.add_row("SE / z", f"{c.se:.4f}", "" if c.z is None else f"z = {c.z:+.2f}")
            console.print(t)
            console.print(o.why, highlight=False)
            if c is not None and c.changed_samples:
                console.print(f"samples whose score changed: {', '.join(c.changed_samples[:20])}"
                              + (" …" if len(c.changed_samples) > 20 else ""), highlight=False)
    if html_file:
        html_file.write_text(html_report(outcomes), encoding="utf-8")
    verdicts = {o.verdict for o in outcomes}
    sys.exit(EXIT_NOT_REPRODUCED if "not-reproduced" in verdicts
             else EXIT_INCONCLUSIVE if "inconclusive" in verdicts else 0)


def html_report(outcomes) -> str:
    """A self-contained page: per entry, both scores with 95% intervals on one axis (SVG)."""
    parts = ["<!doctype html><meta charset=utf-8><title>run-eval reproduce</title>",
             "<body style='font-family:sans-serif'><h1>run-eval reproduce</h1>"]
    for o in outcomes:
        c = o.comparison
        parts.append(f"<h2>{html.escape(o.task_id)}: {html.escape(o.verdict)}</h2><p>{html.escape(o.why)}</p>")
        if c is None:
            continue
        se_each = c.se / (2 ** 0.5) if c.kind == "unpaired" else c.se
        rows = [("original", c.original, se_each), ("reproduced", c.reproduced, se_each)]
        x = lambda v: 60 + 400 * max(0.0, min(1.0, v))  # noqa: E731
        svg = ["<svg width=520 height=120 xmlns='http://www.w3.org/2000/svg'>",
               "<line x1=60 y1=100 x2=460 y2=100 stroke=black />"]
        for tick in (0, 0.25, 0.5, 0.75, 1):
            svg.append(f"<text x={x(tick) - 8:.0f} y=115 font-size=10>{tick}</text>")
        for i, (label, value, se) in enumerate(rows):
            y = 35 + 35 * i
            lo, hi = value - 1.96 * se, value + 1.96 * se
            svg.append(f"<line x1={x(lo):.1f} y1={y} x2={x(hi):.1f} y2={y} stroke=steelblue stroke-width=2 />")
            svg.append(f"<circle cx={x(value):.1f} cy={y} r=4 fill=steelblue />")
            svg.append(f"<text x=0 y={y + 4} font-size=11>{label}</text>")
        svg.append("</svg>")
        parts.append("".join(svg))
    return "\n".join(parts)


@click.command("diff")
@click.argument("a", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--task", metavar="ID", help="Compare this task's entries (default: the first entry of each file).")
@click.option("--json", "as_json", is_flag=True)
def diff_command(a: Path, b: Path, task: str | None, as_json: bool) -> None:
    """Explain why two scores differ: every methodology field of their tokens, side by side."""
    from runner.diff import compare, sample_agreement
    from runner.reproduce import ReproduceError, check_token, load_targets, original_log
    from signing.results import ResultFileError

    try:
        ta, tb = (load_targets(str(p), task=task, benchmark=None)[0] for p in (a, b))
        for t in (ta, tb):
            check_token(t)
    except ReproduceError as ex:
        fail(ex.lines, EXIT_BAD)
    except ResultFileError as ex:
        fail(str(ex), EXIT_BAD)
    rows, blocking, other = compare(ta.claims, tb.claims)
    agreement = None
    la, lb = original_log(ta, None), original_log(tb, None)
    if la is not None and lb is not None:
        agreement = sample_agreement(la, lb)
    if as_json:
        click.echo(json.dumps({
            "comparable": not blocking, "blocking": blocking, "other": other,
            "fields": [{"field": r.label, "a": r.a, "b": r.b, "differs": r.differs, "blocks": r.breaks and r.differs}
                       for r in rows],
            "sample_agreement": None if agreement is None else
            {"both": agreement[0], "same": agreement[1], "differ": agreement[2]},
        }, indent=2, default=str))
        return
    t = Table(title=f"{a.name} vs {b.name}", title_justify="left")
    for col in ("field", "A", "B", ""):
        t.add_column(col, overflow="fold")
    for r in rows:
        mark = "[red]≠ breaks comparison[/red]" if r.differs and r.breaks else ("[yellow]≠[/yellow]" if r.differs else "")
        t.add_row(r.label, json.dumps(r.a, default=str), json.dumps(r.b, default=str), mark)
    console = Console()
    console.print(t)
    if blocking:
        console.print(f"not comparable: they differ in {', '.join(blocking)}", style="red", highlight=False)
    else:
        console.print("comparable: same benchmark commit, method, generation settings and sample set"
                      + (f" (they also differ in {', '.join(other)})" if other else ""), highlight=False)
    if agreement is not None:
        both, same, differ = agreement
        console.print(f"per-sample agreement: {same}/{both} samples scored the same"
                      + (f"; differ: {', '.join(map(str, differ[:20]))}" if differ else ""), highlight=False)
