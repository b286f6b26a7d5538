"""`run-eval results MODEL_REPO`: what a model repo has published, each entry verified."""

from __future__ import annotations

import json
from typing import Any

import click

from run_eval.runner.cli.options import trust_option
from run_eval.runner.cli.output import print_rows, signer_or_reason
from run_eval.runner.errors import EXIT_FAILED, fail


@click.command("results")
@click.argument("model_repo")
@trust_option
@click.option("--closed", is_flag=True, help="Instead: the entries of closed, unmerged result PRs (who opened "
              "each, when it was closed, and what main has for the same task).")
@click.option("--history", is_flag=True, help="Instead: every value change in the repo's result files on main, "
              "with its commit, date and author.")
@click.option("--max-commits", type=click.IntRange(min=1), default=50, show_default=True,
              help="--history: the newest commits read at most (said when the history is cut).")
@click.option("--tolerance", type=click.FloatRange(min=0.0, max=1.0), default=0.05, show_default=True,
              help="How far (as a fraction) a value may lie outside a signed entry's 95% interval and still be "
                   "consistent with it.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def results_command(model_repo: str, trust: Any, closed: bool, history: bool, max_commits: int, tolerance: float,
                    as_json: bool) -> None:
    """List MODEL_REPO's published entries (main and open PRs) with their verification status.

    Each entry shows where it comes from (source, date, notes, file, PR) and what the repo's
    signed entries for the same task say of it; --history shows how values changed over the
    repo's commits."""
    from run_eval.runner.publish.published import HubResultsError, checks_of, list_results
    from run_eval.tasks.hub import is_repo_id

    if not is_repo_id(model_repo):
        raise click.BadParameter("expected a Hub model id like 'org/name'", param_hint=f"MODEL_REPO {model_repo!r}")
    if closed and history:
        raise click.UsageError("--closed and --history are two listings; ask for one")
    if closed:
        return closed_command(model_repo, trust, as_json)
    if history:
        return history_command(model_repo, max_commits, as_json)
    try:
        rows = list_results(model_repo, trust=trust)
    except HubResultsError as ex:
        fail(ex.lines, EXIT_FAILED)
    checks = checks_of(rows, tolerance=tolerance)
    if as_json:
        click.echo(json.dumps({"entries": [{**r.as_dict(), "checks": [c.as_dict() for c in cs]}
                                           for r, cs in zip(rows, checks)]}, indent=2, default=str))
        return
    if not rows:
        click.echo(f"{model_repo}: no .eval_results entries on main or in open pull requests")
        return
    print_rows(("where", "file", "task", "value", "status", "signer / reason", "source", "checks"),
               [(r.where, r.path, str(r.verdict.task_id), str(r.verdict.value), r.status, signer_or_reason(r),
                 r.provenance.label(), "; ".join(f"{c.verdict} with {c.signer} ({c.value})" for c in cs))
                for r, cs in zip(rows, checks)],
               title=f"{model_repo}: published results", status_column=4)


def history_command(model_repo: str, max_commits: int, as_json: bool) -> None:
    """Every value change of the repo's result entries on main (record.read_history)."""
    from run_eval.runner.publish.published import HubResultsError, reading
    from run_eval.runner.publish.record import read_history

    try:
        with reading(model_repo):
            hist, read, cut = read_history(model_repo, max_commits=max_commits)
    except HubResultsError as ex:
        fail(ex.lines, EXIT_FAILED)
    note = (f"only the newest {read} commits were read (--max-commits {max_commits}); older changes are not shown"
            if cut else None)
    if as_json:
        click.echo(json.dumps({"history": [h.as_dict() for h in hist], "commits_read": read, "cut": cut,
                               "note": note}, indent=2, default=str))
        return
    if not hist:
        click.echo(f"{model_repo}: no value change in .eval_results/ in the {read} commits read on main")
    else:
        print_rows(("file", "task", "source", "commit", "date", "author", "from", "to"),
                   [(h.file, str(h.task_id), h.source_name or "-", c.commit[:12], c.date or "", c.author or "",
                     "-" if c.frm is None else str(c.frm), "-" if c.to is None else str(c.to))
                    for h in hist for c in h.changes],
                   title=f"{model_repo}: value changes on main")
    if note:
        click.echo(note)


def closed_command(model_repo: str, trust: Any, as_json: bool) -> None:
    from run_eval.runner.publish.published import HubResultsError, closed_results

    try:
        rows = closed_results(model_repo, trust=trust)
    except HubResultsError as ex:
        fail(ex.lines, EXIT_FAILED)
    if as_json:
        click.echo(json.dumps({"closed": [r.as_dict() for r in rows]}, indent=2, default=str))
        return
    if not rows:
        click.echo(f"{model_repo}: no .eval_results entries in closed pull requests")
        return
    print_rows(("PR", "author", "closed at", "file", "task", "value", "status", "on main", "signer / reason"),
               [(f"#{r.num}", r.author or "", r.closed_at or "", r.path, str(r.verdict.task_id),
                 str(r.verdict.value), r.status, "-" if r.on_main is None else str(r.on_main), signer_or_reason(r))
                for r in rows],
               title=f"{model_repo}: results in closed pull requests", status_column=6)
