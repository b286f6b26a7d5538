"""`run-eval leaderboard BENCHMARK`: rank only comparable scores, and say what separates the rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import trust_option
from run_eval.runner.cli.output import as_table, print_rows
from run_eval.runner.errors import EXIT_FAILED, EXIT_USAGE, fail
from run_eval.runner.publish.record import DEFAULT_MAX_COMMITS


@click.command("leaderboard")
@click.argument("benchmark", nargs=-1, required=True)
@click.option("--task", "task_id", metavar="ID", help="This task's entries only (default: every task, "
              "each its own group).")
@click.option("--all-models", is_flag=True, help="Hub: also models that declare a base_model (fine-tunes).")
@click.option("--include-closed", is_flag=True, help="Hub: also the entries of the models' closed, unmerged "
              "result PRs (listed apart, never ranked).")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=8, show_default=True,
              help="Hub: result files downloaded at once.")
@click.option("--spec", "spec_arg", metavar="BENCHMARK", help="Local files: the benchmark (a folder, an eval.yaml, "
              "or a Hub dataset id) whose declared task ids the entries are checked against (the Hub: the "
              "dataset's own eval.yaml).")
@click.option("--tolerance", type=click.FloatRange(min=0.0, max=1.0), default=0.05, show_default=True,
              help="How far (as a fraction) a value may lie outside a signed entry's 95% interval and still be "
                   "consistent with it.")
@click.option("--max-commits", type=click.IntRange(min=0), default=DEFAULT_MAX_COMMITS, show_default=True,
              help="Hub: commits of each model's history read to mark rewritten values (0: none).")
@trust_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML page.")
def leaderboard_command(benchmark: tuple[str, ...], task_id: str | None, all_models: bool, include_closed: bool,
                        workers: int, spec_arg: str | None, tolerance: float, max_commits: int, trust: Any,
                        as_json: bool, html_file: Path | None) -> None:
    """Rank only comparable scores of BENCHMARK (a Hub dataset id, or result files/folders).

    Entries are comparable when they agree in every field that `run-eval diff` says breaks a
    comparison; each such group is ranked on its own: rank = 1 + the entries significantly
    better, with the range of ranks each could hold. Unsigned, invalid and unreadable entries
    are listed apart, never ranked. Every entry shows where it comes from, on the record's one
    scale; values that disagree for one model and task, task ids the benchmark does not
    declare, and values rewritten on the Hub are flagged.
    """
    from run_eval.runner.publish.leaderboard import (LeaderboardError, build, closed_rows, from_files, from_hub,
                                                     read_declared)
    from run_eval.runner.publish.published import HubResultsError
    from run_eval.signing.results import atomic_write_text
    from run_eval.tasks.hub import hub_error, is_repo_id

    local = [Path(b) for b in benchmark if Path(b).exists()]
    problems: list[str] = []
    if len(benchmark) == 1 and not local and is_repo_id(benchmark[0]):
        name = benchmark[0]
        if spec_arg is not None:
            raise click.UsageError("--spec is for local files; on the Hub the dataset's own eval.yaml is read")
        try:
            declared, spec = read_declared(name, what=f"BENCHMARK {name!r}")
            rows = from_hub(name, all_models=all_models, trust=trust, workers=workers, max_commits=max_commits,
                            progress=_progress() if sys.stderr.isatty() else None)
            readable = [r.model for r in rows if r.status != "unreadable"]
            closed = closed_rows(readable, benchmark=name, trust=trust, workers=workers) if include_closed else []
        except (LeaderboardError, HubResultsError) as ex:
            fail(ex.lines, EXIT_FAILED)
        except Exception as ex:
            msg = hub_error(ex, f"BENCHMARK {name!r}", name)
            if msg is None:
                raise
            fail(msg, EXIT_FAILED)
    elif len(local) == len(benchmark):
        if include_closed or all_models:
            raise click.UsageError("--include-closed and --all-models read the Hub; BENCHMARK here is local files")
        rows, problems = from_files(local, trust=trust)
        closed = []
        name = ", ".join(benchmark)
        declared, spec = None, {"eval_yaml": None, "why": "no --spec BENCHMARK: undeclared task ids cannot be checked"}
        if spec_arg is not None:
            try:
                declared, spec = read_declared(spec_arg, what=f"--spec {spec_arg!r}")
            except LeaderboardError as ex:
                fail(ex.lines, EXIT_USAGE)
            if declared is None:
                fail(f"--spec {spec_arg!r}: {spec['why']}", EXIT_USAGE)
    else:
        missing = [b for b in benchmark if not Path(b).exists()]
        fail([f"BENCHMARK {b!r}: no such file or folder, and not one Hub dataset id org/name" for b in missing],
             EXIT_USAGE)
    board = build(rows, closed, benchmark=name, task_id=task_id, declared=declared, spec=spec, tolerance=tolerance)
    if html_file is not None:
        from run_eval.runner.publish.leaderboard_html import page

        atomic_write_text(html_file, page(board))
    if as_json:
        click.echo(json.dumps({**board.as_dict(), "problems": problems}, indent=2, default=str))
    else:
        print_board(board, problems)
    sys.exit(1 if problems else 0)


def print_board(board: Any, problems: list[str]) -> None:
    """The scale, one table (or block of lines) per group, then the unranked, the closed, the
    conflicts, the undeclared task ids and the mixed pairs. Every value is on the shown scale."""
    click.echo(f"values on the {board.scale.shown} scale (the record publishes {board.scale.published} values; "
               "published_value in --json is each as written)")
    for i, g in enumerate(board.groups):
        title = f"group {i + 1}" + (" (largest)" if i == 0 else ": differs in " + ", ".join(
            f"{k} {_v(a)} vs {_v(b)}" for k, (a, b) in g.differs_from_largest.items()))
        rows = [(str(r.rank), _range(r.rank_range), r.row.model, _v(board.entry(r.row)["value"]),
                 _ci(board.scale.show_interval(r.ci95)), r.row.status,
                 f"PR #{r.row.pull_request}" if r.row.pull_request else "", _source(r.row), _marks(r.row))
                for r in g.entries]
        if not as_table():
            click.echo(f"# {title}")
        print_rows(("rank", "could rank", "model", "value", "95% CI", "status", "from", "source", "notes"), rows,
                   title=title, status_column=5)
    if board.unranked:
        if not as_table():
            click.echo("# not ranked")
        print_rows(("model", "task", "value", "status", "source", "why", "notes"),
                   [(r.model, _v(r.task_id), _v(board.entry(r)["value"]), r.status, _source(r),
                     "no token" if r.status == "unsigned" else r.reason or "", _marks(r)) for r in board.unranked],
                   title="not ranked (method unknown, token invalid, or file unreadable)", status_column=3)
    if board.closed:
        if not as_table():
            click.echo("# closed pull requests")
        print_rows(("model", "PR", "author", "closed at", "task", "value", "status", "on main", "source"),
                   [(r.model, f"#{r.closed['num']}", r.closed.get("author") or "", r.closed.get("closed_at") or "",
                     str(r.task_id), _v(board.entry(r)["value"]), r.status, _v(r.closed.get("on_main")), _source(r))
                    for r in board.closed],
                   title="closed pull requests (never ranked)", status_column=6)
    for c in board.conflicts:
        click.echo(f"conflict: {c.model} has {len(c.values)} values for task {_v(c.task_id)}: " + "; ".join(
            f"{_v(v.value)} ({v.source_name or 'no source'}, {v.file})" for v in c.values))
    if board.declared is None:
        click.echo(f"task ids not checked against the benchmark's eval.yaml: {board.spec.get('why')}")
    for u in board.undeclared:
        click.echo(f"undeclared task id: {_v(u.task_id)} ({', '.join(u.models)}) is not declared by "
                   f"{board.spec.get('eval_yaml')}, which declares {', '.join(board.declared) or 'none'}; not merged "
                   "with any declared task")
    for pair in board.hub_mixed_pairs:
        a, b = pair["models"]
        why = pair["why"] if isinstance(pair["why"], str) else ", ".join(
            f"{k} {_v(x)} vs {_v(y)}" for k, (x, y) in pair["why"].items())
        click.echo(f"the Hub ranks {a} (#{pair['hub_ranks'][0]}) next to {b} (#{pair['hub_ranks'][1]}), "
                   f"but they are not comparable: {why}")
    for p in problems:
        click.echo(f"run-eval: error: {p}", err=True)


def _source(row: Any) -> str:
    p = row.provenance
    return p.source_name or p.source_url or "-" if p is not None else "-"


def _marks(row: Any) -> str:
    """Rewrites, checks by signed entries, corroboration: what to know before trusting the value."""
    out = [f"rewritten {_v(c.frm)} -> {_v(c.to)} by {c.author or '?'} on {c.date or '?'} ({c.commit[:8]})"
           for c in row.rewritten]
    out += [f"{c.verdict} with {c.signer} ({_v(c.value)})" for c in row.checks]
    if row.corroborated_by:
        out.append("corroborated by " + ", ".join(row.corroborated_by))
    return "; ".join(out)


def _v(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else json.dumps(value, default=str) if not isinstance(value, str) else value


def _range(ranks: list[int]) -> str:
    best, worst = ranks
    return str(best) if best == worst else f"{best}-{worst}"


def _ci(ci: list[float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _progress() -> Any:
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("reading result files", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
        if done == total:
            bar.stop()

    return update
