"""How every command that lists things speaks: a table at a terminal (for a person looking
at a few rows), plain tab-separated lines otherwise (a pipe, a file, CI, or more rows than
fit a screen: also ~100x cheaper than laying out a table of thousands of rows), and
``--json`` for scripts (each command prints its own JSON). rich is imported only when a
table is drawn, so a command on the verify path starts fast."""

from __future__ import annotations

import sys
from typing import Any, Sequence

import click

TABLE_MAX_ROWS = 100

# a verification status as a person sees it in a table
BADGES = {
    "verified": "[green]✔ verified[/green]",
    "signed": "[green]✔ signed[/green]",
    "self-signed": "[yellow]~ self-signed[/yellow]",
    "unsigned": "[dim]- unsigned[/dim]",
    "invalid": "[red]✘ invalid[/red]",
}


def signer_or_reason(row: Any) -> str:
    """The last column for a verdict (or a verified entry, with its checks): the reason when
    invalid, else who signed (and what the further checks found)."""
    v = getattr(row, "verdict", row)
    if row.status == "invalid":
        return row.reason or ""
    who = v.signer or (f"key {v.kid[:12]}…" if v.kid else "")
    evidence = getattr(row, "evidence", None)
    return f"{who}; {evidence}" if evidence else who


def status_counts(statuses: Sequence[str]) -> str:
    """``2 verified, 1 invalid`` (in BADGES order), or ``no entries``."""
    counts = {s: sum(1 for x in statuses if x == s) for s in BADGES}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no entries"


def as_table() -> bool:
    return sys.stdout.isatty()


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None,
               status_column: int | None = None, footer: Sequence[str] = (), errors: Sequence[str] = ()) -> None:
    """Rows as a table at a terminal (up to TABLE_MAX_ROWS), else as plain lines: a header
    line, one tab-separated line per row. ``status_column``: the column holding a status,
    shown as a badge in a table. ``errors``: `run-eval: error:` lines after the rows;
    ``footer``: closing lines (counts)."""
    if as_table() and len(rows) <= TABLE_MAX_ROWS:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console()
        if rows:
            # cells hold strangers' text (notes, source names, model ids): shown as written, never
            # read as rich markup (a "[/]" would fail the table, a "[link=...]" make a hyperlink)
            table = Table(title=escape(title) if title else None, title_justify="left")
            for col in columns:
                table.add_column(escape(col), overflow="fold")
            for row in rows:
                cells = [escape(str(c)) for c in row]
                if status_column is not None:
                    cells[status_column] = BADGES.get(str(row[status_column]), cells[status_column])
                table.add_row(*cells)
            console.print(table)
        for e in errors:
            console.print(f"run-eval: error: {e}", style="red", highlight=False, soft_wrap=True, markup=False)
        for line in footer:
            console.print(line, highlight=False, soft_wrap=True, markup=False)
        return
    lines = ["\t".join(columns)] if rows else []
    lines += ["\t".join(_plain(c) for c in row) for row in rows]
    lines += [f"run-eval: error: {e}" for e in errors]
    lines += list(footer)
    click.echo("\n".join(lines))


def _plain(cell: Any) -> str:
    return " ".join(str(cell).split("\t")).replace("\n", " ")
