"""Errors the tasks package raises for bad user input: each carries one line per problem."""

from __future__ import annotations


class TasksError(Exception):
    """A problem with a benchmark the user named; ``lines`` are ready to print."""

    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


class SpecError(TasksError):
    """The eval.yaml is not valid."""


class BenchmarkError(TasksError):
    """The benchmark cannot be found or its data cannot be read."""
