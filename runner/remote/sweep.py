"""`run-eval sweep`: the matrix models x benchmarks, at most N runs at a time.

Each cell is one `run-eval run` subprocess (locally, or `--on hf-jobs`, where it submits,
follows and fetches), so a sweep cell and a single run share one code path. A cell's
results go to OUTPUT_DIR/<model>/.eval_results/ (one folder per model repo). A failed
cell is retried up to --retries times without stopping the others. A cell is skipped when
its folder already holds, for every selected task, an entry with a valid token whose
claims match what the cell would run now (model and dataset commits, spec fingerprint,
seed, limit, epochs, generation settings): the same lock.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from run_eval.runner.remote.submit import JobOptions
from run_eval.runner.run.options import RunOptions
from run_eval.signing.results import read_raw, result_path
from run_eval.signing.token import TokenInvalid, check_signature
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import verify_entry


@dataclass
class Cell:
    model: str
    benchmark: str
    state: str = "pending"  # pending, running, done, failed, skipped
    attempts: int = 0
    detail: str = ""
    values: dict[str, float] = field(default_factory=dict)

    @property
    def folder_name(self) -> str:
        """org--name for a Hub model, the folder's name for a local one."""
        name = (self.model.split("/", 1)[1] if "/" in self.model else self.model).split("@")[0]
        if name.startswith((".", "/", "~")) or Path(name).expanduser().exists():
            name = Path(name).name
        else:
            name = name.replace("/", "--")
        return re.sub(r"[^\w.-]+", "_", name).strip("._") or "model"


@dataclass
class SweepOptions:
    options: RunOptions  # how every cell evaluates (forwarded to each `run-eval run`)
    output_dir: Path
    job: JobOptions | None = None  # --on hf-jobs: where each cell's job runs
    max_parallel: int = 1
    retries: int = 1

    @property
    def run_args(self) -> list[str]:
        return self.options.argv() + (self.job.argv() if self.job is not None else [])


def expected_lock(cell: Cell, opts: SweepOptions) -> dict[str, Any] | None:
    """What a result for this cell must claim to count as done; None when it cannot be known here."""
    from run_eval.runner.models.reference import resolve_model
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import load_spec

    try:
        ref = resolve_model(cell.model)
        if ref.revision is None:
            from run_eval.runner.models.reference import is_hub_model

            if not is_hub_model(ref):
                return None  # an API model has no commit: always run it
            from run_eval.tasks.hub import resolve_commit

            ref_rev = resolve_commit(ref.name, ref.requested_revision, "model")
        else:
            ref_rev = ref.revision
        bench = resolve_benchmark(cell.benchmark)
        spec = load_spec(bench.eval_yaml)
        tasks = spec.select(list(opts.options.task_ids))
    except Exception:
        return None
    return {
        "model_revision": ref_rev,
        "dataset": (bench.dataset_id, bench.revision),
        "bench_name": bench.name,
        "specs": {t.task_id: t.fingerprint() for t in tasks},
    }


def cell_done(cell: Cell, opts: SweepOptions) -> bool:
    lock = expected_lock(cell, opts)
    if lock is None:
        return False
    path = result_path(opts.output_dir / cell.folder_name, lock["bench_name"])
    try:
        entries = read_raw(path)
    except Exception:
        return False
    o = opts.options
    found: dict[str, float] = {}
    for raw in entries:
        if verify_entry(raw, trust=TrustStore()).status in ("invalid", "unsigned"):
            continue
        try:
            c = check_signature(raw["verifyToken"]).claims
        except TokenInvalid:
            continue
        task = (c.get("dataset") or {}).get("task_id")
        run = c.get("run") or {}
        gen = run.get("generate_config") or {}
        if (
            task in lock["specs"]
            and (c["dataset"].get("id"), c["dataset"].get("revision")) == lock["dataset"]
            and (c.get("model") or {}).get("revision") == lock["model_revision"]
            and (c.get("spec") or {}).get("sha256") == lock["specs"][task]
            and run.get("seed") == o.seed
            and run.get("limit") == o.limit
            and (o.epochs is None or run.get("epochs") == o.epochs)
            and gen.get("max_tokens") == o.max_tokens
            and gen.get("temperature") == o.temperature
        ):
            found[task] = raw.get("value")
    if set(found) == set(lock["specs"]):
        cell.values = found
        return True
    return False


def run_cell(cell: Cell, opts: SweepOptions) -> None:
    exe = shutil.which("run-eval")
    cmd = [exe] if exe else [sys.executable, "-m", "run_eval"]
    folder = opts.output_dir / cell.folder_name
    cmd += ["run", cell.model, cell.benchmark, "--output-dir", str(folder), "--log-dir", str(folder / "logs"),
            *opts.run_args]
    while cell.attempts <= opts.retries:
        cell.attempts += 1
        cell.state, cell.detail = "running", f"attempt {cell.attempts}"
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            cell.state, cell.detail = "done", ""
            cell_done(cell, opts)  # read back the values
            return
        errors = [line for line in proc.stderr.splitlines() if line.startswith("run-eval: error:")]
        cell.detail = (errors[0].removeprefix("run-eval: error: ") if errors else f"exit {proc.returncode}")[:200]
    cell.state = "failed"


STYLE = {"pending": "dim", "running": "cyan", "done": "green", "failed": "red", "skipped": "green"}


def status_table(cells: list[Cell]) -> Table:
    t = Table(title="sweep", title_justify="left")
    for col in ("model", "benchmark", "state", "attempts", "detail"):
        t.add_column(col, overflow="fold")
    for c in cells:
        t.add_row(c.model, c.benchmark, f"[{STYLE[c.state]}]{c.state}[/]", str(c.attempts), c.detail)
    return t


def summary_table(cells: list[Cell]) -> Table:
    t = Table(title="scores", title_justify="left")
    for col in ("model", "benchmark", "task", "value"):
        t.add_column(col)
    for c in cells:
        if c.values:
            for task, value in sorted(c.values.items()):
                t.add_row(c.model, c.benchmark, task, f"{value:.4f}")
        else:
            t.add_row(c.model, c.benchmark, "-", f"[red]{c.state}[/]")
    return t


def sweep(models: list[str], benchmarks: list[str], opts: SweepOptions, console: Console | None = None) -> list[Cell]:
    console = console or Console()
    cells = [Cell(m, b) for m in models for b in benchmarks]
    for c in cells:
        if cell_done(c, opts):
            c.state, c.detail = "skipped", "a valid result for the same lock exists"
    todo = [c for c in cells if c.state == "pending"]
    done = threading.Event()
    with Live(status_table(cells), console=console, refresh_per_second=2, transient=False) as live:
        def refresh() -> None:
            while not done.is_set():
                live.update(status_table(cells))
                time.sleep(0.5)

        ticker = threading.Thread(target=refresh, daemon=True)
        ticker.start()
        with ThreadPoolExecutor(max_workers=opts.max_parallel) as pool:
            list(pool.map(lambda c: run_cell(c, opts), todo))
        done.set()
        ticker.join()
        live.update(Group(status_table(cells), summary_table(cells)))
    return cells
