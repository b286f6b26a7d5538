"""The runner's user-facing failures: each carries the lines to print, one per problem."""

from __future__ import annotations

import re
import sys

import click

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM during a run (128 + SIGTERM): runner/run/interrupt.py


class LinesError(Exception):
    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


def fail(lines: list[str] | str, code: int) -> None:
    """Print one `run-eval: error:` line per problem and exit with `code`."""
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(f"run-eval: error: {line}", err=True)
    sys.exit(code)


def one_line(text: str, limit: int = 300) -> str:
    """An error message on one line: rich markup dropped, lines joined, shortened."""
    plain = re.sub(r"\[/?(bold|italic|red|green|yellow|blue|dim|b|i)\]", "", str(text))
    line = " ".join(part.strip() for part in plain.splitlines() if part.strip()) or "unknown error"
    return line if len(line) <= limit else line[: limit - 1] + "…"
