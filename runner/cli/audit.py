"""`run-eval audit LOG_OR_RESULT...`: systematic failure in the outputs of one or many models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from run_eval.runner.cli.output import print_rows
from run_eval.runner.errors import EXIT_USAGE, fail


@click.command("audit")
@click.argument("inputs", nargs=-1, required=True, metavar="LOG_OR_RESULT...")
@click.option("--json", "as_json", is_flag=True, help='{"findings": [{"rule", "task_id", "model", "count", '
              '"samples", "message"}], "distribution": {TASK: {...}}}')
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained page: per task, a histogram of the models' scores and the findings.")
def audit_command(inputs: tuple[str, ...], as_json: bool, html_file: Path | None) -> None:
    """Look for systematic failure in the Inspect logs of one or many models on a benchmark.

    LOG_OR_RESULT is an Inspect log (.eval, .json), a folder of logs, or a result file
    (.eval_results/*.yaml) whose entries' source.url name logs on this machine. Per task and
    model: answers cut by a stop sequence (the DROP signature), answers cut by max_tokens,
    no answer found versus wrong answers, answers a lenient normalisation would accept;
    across models: samples every model fails, and scores that split into two clusters.
    Findings are evidence to look at, not a verdict: the exit status is 0 whatever is found.
    """
    from run_eval.runner.audit.checks import audit
    from run_eval.runner.audit.read import AuditInputError, read_runs

    def skipped(path: Path) -> None:
        click.echo(f"run-eval: skipped {path}: unfinished run (a stopped run resumes into a new log)", err=True)

    try:
        runs = read_runs(list(inputs), skipped)
    except AuditInputError as ex:
        fail(ex.lines, EXIT_USAGE)
    result = audit(runs)
    if html_file is not None:
        from run_eval.runner.audit.html import page
        from run_eval.signing.results import atomic_write_text

        benchmarks = sorted({r.dataset_id for r in runs})
        atomic_write_text(html_file, page(result, ", ".join(benchmarks)))
    if as_json:
        click.echo(json.dumps({"findings": [f.as_json() for f in result.findings],
                               "distribution": result.distribution}, indent=2))
        return
    rows = [(f.rule, f.task_id, f.model or "(all models)", str(f.count), "; ".join(f.samples), f.message)
            for f in result.findings]
    scores = [f"{task}: " + ", ".join(f"{m} {v:.3f}" for m, v in d["models"].items()) +
              (f"; two clusters (Ashman's D {d['d']})" if d.get("bimodal") else "")
              for task, d in result.distribution.items()]
    footer = scores + [f"{len(result.findings)} findings in {len(runs)} runs"
                       + (f"; page: {html_file}" if html_file else "")]
    print_rows(("rule", "task", "model", "samples", "evidence", "finding"), rows, title="audit", footer=footer)
