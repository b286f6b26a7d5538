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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def results_command(model_repo: str, trust: Any, closed: bool, as_json: bool) -> None:
    """List MODEL_REPO's published entries (main and open PRs) with their verification status."""
    from run_eval.runner.publish.published import HubResultsError, list_results
    from run_eval.tasks.hub import is_repo_id

    if not is_repo_id(model_repo):
        raise click.BadParameter("expected a Hub model id like 'org/name'", param_hint=f"MODEL_REPO {model_repo!r}")
    if closed:
        return closed_command(model_repo, trust, as_json)
    try:
        rows = list_results(model_repo, trust=trust)
    except HubResultsError as ex:
        fail(ex.lines, EXIT_FAILED)
    if as_json:
        click.echo(json.dumps({"entries": [r.as_dict() for r in rows]}, indent=2))
        return
    if not rows:
        click.echo(f"{model_repo}: no .eval_results entries on main or in open pull requests")
        return
    print_rows(("where", "file", "task", "value", "status", "signer / reason"),
               [(r.where, r.path, str(r.verdict.task_id), str(r.verdict.value), r.status, signer_or_reason(r))
                for r in rows],
               title=f"{model_repo}: published results", status_column=4)


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
