"""`run-eval push MODEL_REPO [FILES...]`: signed result files to a model repo, as one PR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import trust_option
from run_eval.runner.errors import EXIT_FAILED, fail


@click.command("push")
@click.argument("model_repo")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-pr", is_flag=True, help="Commit to main directly (for the model's owner) instead of opening a PR.")
@click.option("--allow-subset", is_flag=True, help="Also push results computed on a subset (--limit).")
@click.option("--allow-unsigned", is_flag=True, help="Also push entries without a verifyToken.")
@click.option("--log-repo", metavar="ORG/NAME",
              help="Upload each entry's Inspect log to this dataset repo and point source.url at it.")
@trust_option
def push_command(model_repo: str, files: tuple[Path, ...], no_pr: bool, allow_subset: bool,
                 allow_unsigned: bool, log_repo: str | None, trust: Any) -> None:
    """Send signed result files to MODEL_REPO's .eval_results/ as one pull request.

    FILES default to .eval_results/*.yaml in the current folder. Every entry is checked
    first; nothing is sent unless all may go. An entry whose log is only a file here is
    pushed without source.url (say --log-repo to publish the logs).
    """
    from run_eval.runner.publish.push import PushError, check_files, push
    from run_eval.tasks.hub import is_repo_id

    if not is_repo_id(model_repo):
        raise click.BadParameter("expected a Hub model id like 'org/name'", param_hint=f"MODEL_REPO {model_repo!r}")
    try:
        plan = check_files(model_repo, list(files), trust=trust, allow_subset=allow_subset,
                           allow_unsigned=allow_unsigned)
        info = push(plan, create_pr=not no_pr, log_repo=log_repo)
    except PushError as ex:
        fail(ex.lines, EXIT_FAILED)
    n = sum(len(f.entries) for f in plan.files)
    if plan.unpublished:
        k = len(plan.unpublished)
        click.echo(f"run-eval: {k} entr{'y' if k == 1 else 'ies'} pushed without source.url: the Inspect log is a "
                   f"file on this machine ({plan.unpublished[0]}) that no one else can open; pass --log-repo "
                   "ORG/NAME to publish the logs with the results", err=True)
    if getattr(info, "pr_url", None):
        click.echo(f"opened pull request {info.pr_url} with {n} entries in {len(plan.files)} file(s)")
    else:
        click.echo(f"committed {getattr(info, 'oid', '')} to {model_repo} main with {n} entries")
    for line in scale_notes(plan):
        click.echo(line, err=True)


def scale_notes(plan: Any) -> list[str]:
    """One line per benchmark whose Hub leaderboard lists percentages while the pushed entries
    are fractions (Inspect's values, as run-eval writes them): the Hub sorts values as written,
    so these will sort below every percentage there. Nothing when the board cannot be read."""
    from huggingface_hub import HfApi

    from run_eval.runner.compare.scale import number, record_scale

    ours: dict[str, list[float]] = {}
    for f in plan.files:
        for e in f.entries:
            ds, value = (e.get("dataset") or {}).get("id"), number(e.get("value"))
            if isinstance(ds, str) and value is not None:
                ours.setdefault(ds, []).append(value)
    out = []
    for ds, values in ours.items():
        if record_scale(values) != "fraction":
            continue
        try:
            board = HfApi().get_dataset_leaderboard(ds)
        except Exception:  # no board for this benchmark, or none we may read: nothing to compare with
            continue
        published = [v for r in board if (v := number(r.value)) is not None]
        if record_scale(published) in ("percent", "mixed"):
            out.append(f"run-eval: note: the Hub's leaderboard of {ds} lists values in percent, and these entries "
                       "are fractions (Inspect's values, as run-eval writes them), which it will sort below them; "
                       f"run-eval leaderboard {ds} shows both on one scale")
    return out
