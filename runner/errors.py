"""The runner's user-facing failures: each carries the lines to print, one per problem."""

from __future__ import annotations


class LinesError(Exception):
    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))
