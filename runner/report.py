"""The short table printed after a run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from runner.run import RunOutcome
from tasks.pins import display_path


def print_outcome(outcome: RunOutcome, console: Console | None = None) -> None:
    console = console or Console()
    b, m = outcome.benchmark, outcome.model
    table = Table(title=f"{m.model_id} on {b.dataset_id}", title_justify="left")
    for col in ("task", "metric", "value ± stderr", "samples", "log"):
        table.add_column(col, overflow="fold")
    for r in outcome.results:
        value = f"{r.value:.4f}" + (f" ± {r.stderr:.4f}" if r.stderr is not None else "")
        samples = f"{r.samples}/{r.total_samples}" + (f" ({r.errored} failed)" if r.errored else "")
        table.add_row(r.task_id, r.metric, value, samples, display_path(Path(r.log)))
    console.print(table)
    console.print(f"dataset revision: {b.revision} ({b.pin_kind})", highlight=False, soft_wrap=True)
    console.print(f"model revision:   {m.revision or 'not pinned'}", highlight=False, soft_wrap=True)
    console.print(f"result file:      {outcome.result_file}", highlight=False, soft_wrap=True)
