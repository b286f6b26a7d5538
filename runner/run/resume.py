"""``run-eval MODEL BENCHMARK --resume``: finish an interrupted run instead of starting over.

For each selected task, the newest Inspect log in ``--log-dir`` whose run record
(``eval.metadata.run_eval``: model and revision, dataset and revision, spec fingerprint,
seed, generation config, limit, epochs, backend, package versions; see
``run_record`` in runner/run/record.py) and sample selection equal this run's exactly is picked:

- a finished log (``success``, no errored sample) is reused as it is;
- an unfinished one (``cancelled``, ``error``, ``started`` after a hard kill, or
  ``success`` with errored samples) is continued with Inspect's public
  ``inspect_ai.eval_retry``: the samples it holds are copied into a new log, not
  recomputed, and only the others run;
- a task with no matching log runs from the start (and the user is told).

The new log is the evidence, as for any run. ``eval_retry`` rebuilds a task from
Inspect's registry; run-eval's tasks are built in memory from the eval.yaml, so each one
is registered under a fresh name (``inspect_ai.task``) and the log handed to
``eval_retry`` is told that name: what runs is the task this run just built, which the
matching record guarantees is the one the log was made with.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_names = itertools.count()


@dataclass(frozen=True)
class Found:
    log: Any  # the EvalLog, read in full
    finished: bool

    @property
    def done(self) -> int:
        return sum(1 for s in self.log.samples or [] if s.error is None)


def canonical(value: Any) -> str:
    """A run record (or any JSON-like value) as one comparable string."""
    return json.dumps(value, sort_keys=True, default=str)


def selection(ids: list[Any] | None) -> list[str] | None:
    """A sample selection (Inspect's ``sample_id``) as comparable strings; None: all samples."""
    return sorted(str(i) for i in ids) if ids else None


def find_previous(log_dir: Path, records: dict[str, dict[str, Any]], sample_ids: list[Any] | None) -> dict[str, Found]:
    """task id -> the newest log in log_dir made with exactly that task's run record."""
    from inspect_ai.log import read_eval_log

    if not log_dir.is_dir():
        return {}
    wanted = {canonical(r): task_id for task_id, r in records.items()}
    newest: dict[str, tuple[str, str]] = {}  # task id -> (created, location)
    for path in sorted(log_dir.resolve().glob("*.eval")):  # the format run-eval writes
        try:
            header = read_eval_log(str(path), header_only=True)
        except Exception:  # a log being written, or not an Inspect log: not ours to resume
            continue
        record = (header.eval.metadata or {}).get("run_eval")
        task_id = wanted.get(canonical(record)) if record is not None else None
        if task_id is None or selection(header.eval.config.sample_id) != selection(sample_ids):
            continue
        created = str(header.eval.created)
        if task_id not in newest or created >= newest[task_id][0]:  # (ties: the later file name)
            newest[task_id] = (created, str(path))
    found = {}
    for task_id, (_, location) in newest.items():
        log = read_eval_log(location)
        finished = log.status == "success" and not any(s.error is not None for s in log.samples or [])
        found[task_id] = Found(log=log, finished=finished)
    return found


def retryable(log: Any, task: Any) -> Any:
    """The log, pointed at `task` (registered under a fresh name) so eval_retry can rebuild it."""
    from inspect_ai import task as register_task
    from inspect_ai.util import registry_info

    def run_eval_task() -> Any:
        return task

    registered = register_task(name=f"run_eval_resumed_{next(_names)}")(run_eval_task)
    spec = log.eval.model_copy(update={"task_registry_name": registry_info(registered).name, "task_file": None})
    return log.model_copy(update={"eval": spec})


def continue_logs(logs: list[Any], *, log_dir: Path, display: str | None, settings: dict[str, Any]) -> list[Any]:
    """Continue unfinished logs with Inspect's eval_retry; one new log each (fewer if interrupted)."""
    from inspect_ai import eval_retry

    if not logs:
        return []
    return list(eval_retry(logs, log_dir=str(log_dir), display=display,  # type: ignore[arg-type]
                           fail_on_error=False, **settings))


def describe(found: dict[str, Found], task_ids: list[str], log_dir: Path, notify: Callable[[str], None]) -> None:
    for task_id in task_ids:
        f = found.get(task_id)
        if f is None:
            notify(f"--resume: no log in {log_dir} matches task {task_id!r} of this run; running it from the start")
        elif f.finished:
            notify(f"--resume: task {task_id!r} already finished; reusing {f.log.location}")
        else:
            total = f.log.results.total_samples if f.log.results else None
            of = f" of {total}" if total else ""
            notify(f"--resume: task {task_id!r}: continuing {f.log.location} ({f.log.status}, "
                   f"{f.done}{of} samples done)")
