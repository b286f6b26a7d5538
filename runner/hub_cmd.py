"""`run-eval push` and `run-eval results`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import click
from rich.console import Console
from rich.table import Table

from runner.errors import fail
from runner.push import PushError, check_files, list_results, push
from runner.verify_cmd import BADGES
from signing.errors import SigningError
from signing.trust import load_trust

T = TypeVar("T")


def _trust(files: tuple[Path, ...]):
    store = load_trust()
    for f in files:
        store = store.merged(load_trust(f, missing_ok=False))
    return store


def _or_fail(fn: Callable[[], T]) -> T:
    """fn(), with a bad trust store as a usage error (exit 2) and a refused push as exit 1."""
    try:
        return fn()
    except SigningError as ex:
        raise click.UsageError(str(ex)) from None
    except PushError as ex:
        fail(ex.lines, 1)


@click.command("push")
@click.argument("model_repo")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-pr", is_flag=True, help="Commit to main directly (for the model's owner) instead of opening a PR.")
@click.option("--allow-subset", is_flag=True, help="Also push results computed on a subset (--limit).")
@click.option("--allow-unsigned", is_flag=True, help="Also push entries without a verifyToken.")
@click.option("--log-repo", metavar="ORG/NAME",
              help="Upload each entry's Inspect log to this dataset repo and point source.url at it.")
@click.option("--trust", "trust_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Extra trust store (for the statuses shown; any valid signature may be pushed).")
def push_command(model_repo: str, files: tuple[Path, ...], no_pr: bool, allow_subset: bool,
                 allow_unsigned: bool, log_repo: str | None, trust_files: tuple[Path, ...]) -> None:
    """Send signed result files to MODEL_REPO's .eval_results/ as one pull request.

    FILES default to .eval_results/*.yaml in the current folder. Every entry is checked
    first; nothing is sent unless all may go.
    """
    plan = _or_fail(lambda: check_files(model_repo, list(files), trust=_trust(trust_files),
                                        allow_subset=allow_subset, allow_unsigned=allow_unsigned))
    info = _or_fail(lambda: push(plan, create_pr=not no_pr, log_repo=log_repo))
    n = sum(len(f.entries) for f in plan.files)
    if getattr(info, "pr_url", None):
        click.echo(f"opened pull request {info.pr_url} with {n} entries in {len(plan.files)} file(s)")
    else:
        click.echo(f"committed {getattr(info, 'oid', '')} to {model_repo} main with {n} entries")


@click.command("results")
@click.argument("model_repo")
@click.option("--trust", "trust_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def results_command(model_repo: str, trust_files: tuple[Path, ...], as_json: bool) -> None:
    """List MODEL_REPO's published entries (main and open PRs) with their verification status."""
    rows = _or_fail(lambda: list_results(model_repo, trust=_trust(trust_files)))
    if as_json:
        import json

        click.echo(json.dumps({"entries": [{"where": r.where, "path": r.path, **r.verdict.as_dict()} for r in rows]},
                              indent=2))
        return
    if not rows:
        click.echo(f"{model_repo}: no .eval_results entries on main or in open pull requests")
        return
    table = Table(title=f"{model_repo}: published results", title_justify="left")
    for col in ("where", "file", "task", "value", "status", "signer / reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        v = r.verdict
        who = v.reason if v.status == "invalid" else (v.signer or (f"key {v.kid[:12]}…" if v.kid else ""))
        table.add_row(r.where, r.path, str(v.task_id), str(v.value), BADGES[v.status], who)
    Console().print(table)
