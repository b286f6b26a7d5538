"""`run-eval verify PATH...`: check every entry's verifyToken offline."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import click

from signing.errors import SigningError
from signing.trust import load_trust
from signing.verify import Report, verify_paths

# The rich table is for a person at a terminal looking at a few entries; anything else (a
# pipe, a file, CI, or more entries than fit a screen) gets one plain line per entry,
# which is also ~100x cheaper than laying out a table of thousands of rows.
TABLE_MAX_ENTRIES = 100

BADGES = {
    "verified": "[green]✔ verified[/green]",
    "signed": "[green]✔ signed[/green]",
    "self-signed": "[yellow]~ self-signed[/yellow]",
    "unsigned": "[dim]- unsigned[/dim]",
    "invalid": "[red]✘ invalid[/red]",
}


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_id", metavar="ORG/NAME",
              help="The model repo these results claim to belong to; a token for another model is invalid.")
@click.option("--log", "logs", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An Inspect log: check the evidence digests and recompute the value (repeatable).")
@click.option("--trust", "trust_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A trust store file to use besides RUN_EVAL_HOME/trust.yaml (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--online", is_flag=True, help="For hf-jobs entries, also check the job on the Hub "
              "(exists in the claimed namespace, COMPLETED, same commits and spec in its command).")
def verify_command(paths: tuple[Path, ...], model_id: str | None, logs: tuple[Path, ...],
                   trust_files: tuple[Path, ...], as_json: bool, online: bool) -> None:
    """Verify the verifyTokens of result files (or folders holding .eval_results/*.yaml).

    Exit status: 0 no entry invalid, 1 some entry invalid or unreadable, 2 usage error.
    """
    # Everything imported so far lives until exit: keep the collector from re-scanning it
    # while thousands of result files are parsed (about a tenth of the time for 1,000 files).
    gc.freeze()
    try:
        store = load_trust()
        for f in trust_files:
            store = store.merged(load_trust(f, missing_ok=False))
    except SigningError as ex:
        raise click.UsageError(str(ex)) from None
    report = verify_paths(list(paths), trust=store, model_id=model_id, logs=list(logs), online=online)
    if as_json:
        click.echo(json.dumps({"entries": [v.as_dict() for v in report.verdicts],
                               "problems": report.problems}, indent=2))
    else:
        print_report(report)
    sys.exit(0 if report.ok else 1)


def _who(v) -> str:
    who = v.reason if v.status == "invalid" else (v.signer or (f"key {v.kid[:12]}…" if v.kid else ""))
    if v.evidence and v.status != "invalid":
        who = f"{who}; {v.evidence}"
    return who


def _counts(report: Report) -> str:
    counts = {s: sum(1 for v in report.verdicts if v.status == s) for s in BADGES}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no entries"


def print_report(report: Report) -> None:
    if sys.stdout.isatty() and len(report.verdicts) <= TABLE_MAX_ENTRIES:
        print_table(report)
    else:
        print_plain(report)


def print_plain(report: Report) -> None:
    """One tab-separated line per entry (file, task, value, status, signer or reason), the
    problems, and the counts."""
    lines = ["\t".join(("file", "task", "value", "status", "signer / reason"))] if report.verdicts else []
    lines += ["\t".join((v.file, str(v.task_id), str(v.value), v.status, _who(v))) for v in report.verdicts]
    lines += [f"run-eval: error: {p}" for p in report.problems]
    lines.append(_counts(report))
    click.echo("\n".join(lines))


def print_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if report.verdicts:
        table = Table(show_lines=False)
        for col in ("file", "task", "value", "status", "signer / reason"):
            table.add_column(col, overflow="fold")
        for v in report.verdicts:
            table.add_row(v.file, str(v.task_id), str(v.value), BADGES[v.status], _who(v))
        console.print(table)
    for p in report.problems:
        console.print(f"run-eval: error: {p}", style="red", highlight=False, soft_wrap=True)
    console.print(_counts(report), highlight=False)
