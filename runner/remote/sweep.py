"""`run-eval sweep`: the matrix models x benchmarks, at most N runs at a time.

Each cell is one `run-eval run` subprocess (locally, or `--on hf-jobs`, where it submits,
follows and fetches), so a sweep cell and a single run share one code path. A cell's
results go to OUTPUT_DIR/<model>/.eval_results/ (one folder per model repo). A failed
cell is retried up to --retries times without stopping the others. A cell is skipped when
its folder already holds, for every selected task, an entry with a valid token whose
claims match what the cell would run now (model and dataset commits, spec fingerprint,
seed, limit, epochs, generation settings, backend, model args, judges): the same lock. Tokens
are decided with the user's trust stores: a result signed by a revoked key is run again.
The judges a lock names are resolved once per sweep (a local judge's folder hashed, a Hub
judge's branch asked for its commit), not once per graded task of every cell.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from run_eval.runner.launch import self_command
from run_eval.runner.remote.submit import JobOptions
from run_eval.runner.run.options import RunOptions
from run_eval.signing.results import read_raw, result_path
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import decide


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


class JudgeIdentities:
    """The ``expected_identity`` of the graded tasks of one sweep, each judge set resolved
    once. What a task's judges resolve to depends on the task only through the judge names
    (``--judge``, else the eval.yaml's), and on the model only when none is named (the model
    grades); so those are the key. Thread-safe: cells read their lock from worker threads.
    A resolution that failed is remembered too, so a broken judge is not asked again."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], list[str] | Exception] = {}
        self._lock = threading.Lock()

    def of(self, task: Any, judges: tuple[str, ...], model: Any) -> list[str]:
        from run_eval.runner.models.judge import declared_judges, expected_identity, is_graded

        if not is_graded(task):
            return []
        names = tuple(judges) or tuple(declared_judges(task))
        key = (names, None if names else model.spec)
        with self._lock:
            if key not in self._seen:
                try:
                    self._seen[key] = expected_identity(task, judges, model)
                except Exception as ex:
                    self._seen[key] = ex
            got = self._seen[key]
        if isinstance(got, Exception):
            raise got
        return list(got)


@dataclass
class SweepOptions:
    options: RunOptions  # how every cell evaluates (forwarded to each `run-eval run`)
    output_dir: Path
    job: JobOptions | None = None  # --on hf-jobs: where each cell's job runs
    max_parallel: int = 1
    retries: int = 1
    trust: TrustStore = field(default_factory=TrustStore)  # the user's: a revoked key's result is redone
    judges: JudgeIdentities = field(default_factory=JudgeIdentities, repr=False, compare=False)  # per sweep

    @property
    def run_args(self) -> list[str]:
        return self.options.argv() + (self.job.argv() if self.job is not None else [])


@dataclass(frozen=True)
class Lock:
    """What a result for a cell must claim to count as done: the same commits, method and run
    settings the cell would record now (runner/run/record.py), task by task."""

    model_revision: str
    dataset: tuple[str, str]  # (id, revision)
    bench_name: str
    tasks: dict[str, tuple[str, int]]  # task id -> (spec fingerprint, epochs)
    run: dict[str, Any]  # seed, limit, epoch_reducer-free run claims: generate_config, model_args, backend
    judges: dict[str, list[str]] = field(default_factory=dict)  # task id -> judge_identity (model-graded tasks)


def expected_lock(cell: Cell, opts: SweepOptions) -> Lock | None:
    """The cell's lock; None when it cannot be known here (an API model has no commit, or
    an input does not resolve): such a cell always runs."""
    from run_eval.runner.models.decoding import decoding_settings
    from run_eval.runner.models.reference import (
        HF_PROVIDERS,
        is_hub_model,
        parse_model_args,
        portable_model_args,
        resolve_model,
    )
    from run_eval.tasks.hub import resolve_commit
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import load_spec

    o = opts.options
    try:
        ref = resolve_model(cell.model)
        if ref.revision is None:
            if not is_hub_model(ref):
                return None
            ref = replace(ref, revision=resolve_commit(ref.name, ref.requested_revision, "model"))
        bench = resolve_benchmark(cell.benchmark)
        tasks = load_spec(bench.eval_yaml).select(list(o.task_ids))
        args = parse_model_args(o.model_args)
        if is_hub_model(ref):  # what pin_hub_model adds: the snapshot (recorded as hf-snapshot:...) or the commit
            args = {**args, **({"model_path": None} if ref.provider in HF_PROVIDERS else {"revision": ref.revision})}
        d = decoding_settings(ref, seed=o.seed, temperature=o.temperature, max_tokens=o.max_tokens,
                              max_connections=o.max_connections, model_args=args, backend=o.backend)
        judges = {t.task_id: opts.judges.of(t, o.judges, ref) for t in tasks}
    except Exception:
        return None
    return Lock(
        model_revision=str(ref.revision),
        dataset=(bench.dataset_id, bench.revision),
        bench_name=bench.name,
        tasks={t.task_id: (t.fingerprint(), o.epochs if o.epochs is not None else t.model.epochs) for t in tasks},
        run={"seed": o.seed, "limit": o.limit, "generate_config": d.generate_config, "backend": d.backend,
             "model_args": portable_model_args(ref, d.model_args)},
        judges=judges,
    )


def cell_done(cell: Cell, opts: SweepOptions) -> bool:
    """Whether the cell's folder holds, for every selected task, an entry whose token (valid,
    and not refused by the user's trust stores) claims the cell's lock."""
    from run_eval.runner.models.judge import judge_identity

    lock = expected_lock(cell, opts)
    if lock is None:
        return False
    path = result_path(opts.output_dir / cell.folder_name, lock.bench_name)
    try:
        entries = read_raw(path)
    except Exception:
        return False
    found: dict[str, float] = {}
    for raw in entries:
        c = decide(raw, opts.trust).claims
        if c is None or c.run is None or c.spec is None or c.dataset.task_id not in lock.tasks:
            continue
        spec_sha, epochs = lock.tasks[c.dataset.task_id]
        run = {"seed": c.run.seed, "limit": c.run.limit, "generate_config": c.run.generate_config,
               "backend": c.run.backend, "model_args": c.run.model_args}
        judges = judge_identity(c.run.judge.model_dump() if c.run.judge is not None else None)
        if ((c.dataset.id, c.dataset.revision) == lock.dataset and c.model.revision == lock.model_revision
                and c.spec.sha256 == spec_sha and c.run.epochs == epochs and run == lock.run
                and judges == lock.judges.get(c.dataset.task_id, [])):
            found[c.dataset.task_id] = c.metric.value
    if set(found) == set(lock.tasks):
        cell.values = found
        return True
    return False


def run_cell(cell: Cell, opts: SweepOptions) -> None:
    folder = opts.output_dir / cell.folder_name
    cmd = [*self_command(), "run", cell.model, cell.benchmark, "--output-dir", str(folder), "--log-dir", str(folder / "logs"),
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
