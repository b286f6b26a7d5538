"""``--shards N``: one run's samples split over N Inspect evals, and put back together.

**The split.** For each task, the samples the run selects (all, the first ``--limit``, or
``--sample-id``) are ordered by ``sha256(seed, task id, sample id)`` and dealt round-robin
to the shards: the same shards for the same benchmark revision, seed and N, wherever
they run, sizes within one of each other, and hard or long samples that sit together in
the data spread over the shards. Every epoch of a sample runs in the same shard.

**The layout** is Inspect's own for shards (``inspect_ai.log.EvalShards``): the run gets
a folder ``LOG_DIR/<time>-shards-<N>-<id>/``; each task's merged log is ``<task>.eval``
in it, and shard k's Inspect logs are in ``<task>.shards/<k>/`` (k from 1). ``inspect view`` shows the
merged log and hides the shards it covers. ``run-eval-shards.json`` in the folder says
what run it holds, so that ``--resume`` finds it again.

**The merge** takes each shard's newest finished log, checks that it ran exactly this
run (the same run record) on exactly its share, and writes one log with Inspect's public
log API: every sample of every shard, in the order one process writes them (epoch, then
dataset order), its metrics recomputed by Inspect (``recompute_metrics``: the task's own
scorers, metrics and epoch reducers over all samples), and ``shards``, the ledger of the
shard logs it was made from. That log is the run's evidence, as one process's log is.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from run_eval.runner.run.resume import canonical, selection

MANIFEST = "run-eval-shards.json"


def split(ids: list[str], n: int, *, seed: int, task_id: str) -> list[list[str]]:
    """The shares of ``ids`` for ``n`` shards, each in the order of ``ids``.

    >>> split(["a", "b", "c", "d", "e"], 2, seed=42, task_id="t")
    [['a', 'b', 'd'], ['c', 'e']]
    >>> sorted(sum(split([str(i) for i in range(100)], 3, seed=1, task_id="t"), []), key=int) == \\
    ...     [str(i) for i in range(100)]
    True
    >>> [len(s) for s in split([str(i) for i in range(100)], 3, seed=1, task_id="t")]
    [34, 33, 33]
    """
    def key(sample_id: str) -> str:
        return hashlib.sha256(f"{seed}\0{task_id}\0{sample_id}".encode()).hexdigest()

    shuffled = sorted(ids, key=key)
    position = {s: i for i, s in enumerate(ids)}
    return [sorted(shuffled[k::n], key=position.__getitem__) for k in range(n)]


def selected_ids(all_ids: list[str], limit: int | None, sample_ids: list[Any] | None) -> list[str]:
    """The samples a run evaluates, in dataset order: as Inspect selects them (``sample_id``
    wins over ``limit``)."""
    if sample_ids:
        wanted = {str(i) for i in sample_ids}
        return [i for i in all_ids if i in wanted]
    return all_ids[:limit] if limit is not None else list(all_ids)


def inspect_ids(ids: list[str]) -> list[int | str]:
    """Sample ids as Inspect numbers them (a numeric id is an int)."""
    return [int(i) if i.isdigit() else i for i in ids]


def slug(task_id: str) -> str:
    """A task id as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id) or "task"


@dataclass(frozen=True)
class Layout:
    """Where a sharded run's logs are (see the module docstring)."""

    root: Path

    def merged_log(self, task_id: str) -> Path:
        return self.root / f"{slug(task_id)}.eval"

    def shard_dir(self, task_id: str, k: int) -> Path:
        """Shard k's folder (k from 0; the folders are named from 1, as the shards are called)."""
        return self.root / f"{slug(task_id)}.shards" / str(k + 1)

    @staticmethod
    def new(log_dir: Path, n: int) -> "Layout":
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
        return Layout(log_dir / f"{stamp}-shards-{n}-{secrets.token_hex(3)}")


def manifest(n: int, records: dict[str, dict[str, Any]], shares: dict[str, list[list[str]]]) -> dict[str, Any]:
    """What a sharded run folder holds: N, and per task the run record's digest and the shares."""
    return {"version": 1, "shards": n,
            "tasks": {t: {"record_sha256": hashlib.sha256(canonical(records[t]).encode()).hexdigest(),
                          "shares": shares[t]} for t in sorted(records)}}


def write_manifest(layout: Layout, content: dict[str, Any]) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    tmp = layout.root / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(content, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, layout.root / MANIFEST)


def find_run(log_dir: Path, content: dict[str, Any]) -> Layout | None:
    """The newest sharded run folder in log_dir made for exactly this run (for --resume)."""
    if not log_dir.is_dir():
        return None
    for folder in sorted((p for p in log_dir.iterdir() if (p / MANIFEST).is_file()), reverse=True):
        try:
            if json.loads((folder / MANIFEST).read_text(encoding="utf-8")) == content:
                return Layout(folder)
        except (OSError, ValueError):
            continue
    return None


# what makes two run records the same run, whatever machine ran it (the packages, the environment
# lock and the decoding details it implies are the machine's: shards run on HF Jobs have the jobs')
METHOD_KEYS = ("model", "dataset", "spec", "seed", "shuffle_choices_seed", "epochs", "epoch_reducer", "limit",
               "lint", "judge")


def shard_log(folder: Path, record: dict[str, Any], share: list[str], *, exact: bool = True) -> Any | None:
    """The newest finished (``success``) log in a shard's folder made for this run's record
    (all of it; with ``exact=False`` its METHOD_KEYS) on exactly this share; None if none."""
    from inspect_ai.log import read_eval_log

    want = canonical(record if exact else {k: record.get(k) for k in METHOD_KEYS})
    best: tuple[str, str] | None = None
    for path in sorted(folder.glob("*.eval")) if folder.is_dir() else []:
        try:
            header = read_eval_log(str(path), header_only=True)
        except Exception:  # being written, or not an Inspect log
            continue
        theirs = (header.eval.metadata or {}).get("run_eval") or {}
        if canonical(theirs if exact else {k: theirs.get(k) for k in METHOD_KEYS}) != want:
            continue
        if header.status != "success" or selection(header.eval.config.sample_id) != selection(share):
            continue
        if best is None or str(header.eval.created) >= best[0]:
            best = (str(header.eval.created), str(path))
    return read_eval_log(best[1]) if best else None


class MergeError(Exception):
    """The shard logs cannot be merged into this run's log (one line: what and where)."""


def merge(task_id: str, shards: list[tuple[int, Any, list[str]]], n: int, order: list[str],
          requested_ids: list[Any] | None, limit: int | None) -> Any:
    """One EvalLog from the shards' logs of one task (see the module docstring).

    ``shards``: (k, its log, its share) for each shard with samples of this task, k from 0
    of ``n``; ``order``: every selected sample in dataset order;
    ``requested_ids`` and ``limit`` the run's ``--sample-id`` and ``--limit``: the merged log
    says what one process's log would."""
    from inspect_ai.log import EvalShardEntry, EvalShards, recompute_metrics

    shard_logs = [log for _, log, _ in shards]
    first = shard_logs[0]
    record = (first.eval.metadata or {}).get("run_eval")
    entries, samples = [], []
    for k, log, share in shards:
        where = f"task {task_id!r}, shard {k + 1}/{n} ({log.location})"
        if (log.eval.metadata or {}).get("run_eval") != record:
            raise MergeError(f"{where}: made by a different run (its run record differs from the first shard's)")
        ran = selection(log.eval.config.sample_id)
        if ran != selection(share):
            raise MergeError(f"{where}: its {len(ran or [])} samples are not its share of this run "
                             f"({len(share)} samples)")
        if log.status != "success":
            raise MergeError(f"{where}: {log.status}")
        samples += log.samples or []
        entries.append(EvalShardEntry(
            shard=str(k + 1), log=Path(str(log.location)).name, eval_set_id=log.eval.eval_set_id, status=log.status,
            samples=len(log.samples or []), selected=len(share),
            selection_digest=hashlib.sha256(canonical(share).encode()).hexdigest(),
            started_at=log.stats.started_at, completed_at=log.stats.completed_at,
            model_usage=log.stats.model_usage, role_usage=log.stats.role_usage,
            size=os.path.getsize(str(log.location)) if os.path.exists(str(log.location)) else 0,
        ))
    position = {s: i for i, s in enumerate(order)}
    seen = {(str(s.id), s.epoch) for s in samples}
    if len(seen) != len(samples) or {i for i, _ in seen} != set(order):
        raise MergeError(f"task {task_id!r}: the shards' samples are not exactly the run's {len(order)} samples")
    samples.sort(key=lambda s: (s.epoch, position[str(s.id)]))
    kind = "ids" if requested_ids else ("count" if limit is not None else "none")
    spec = first.eval.model_copy(deep=True)
    spec.eval_id, spec.run_id = secrets.token_hex(11), secrets.token_hex(11)
    spec.config.sample_id = requested_ids or None
    spec.config.limit = None if requested_ids else limit
    spec.dataset.sample_ids = list(order)  # type: ignore[misc]
    spec.shards = EvalShards(selection=kind, sample_count=len(order) if kind == "count" else None,
                             ledger=entries)
    stats = first.stats.model_copy(deep=True)
    stats.started_at = min(str(log.stats.started_at) for log in shard_logs)
    stats.completed_at = max(str(log.stats.completed_at) for log in shard_logs)
    stats.model_usage = _usage_sum(log.stats.model_usage for log in shard_logs)
    stats.role_usage = _usage_sum(log.stats.role_usage for log in shard_logs)
    merged = first.model_copy(update={"eval": spec, "stats": stats, "samples": samples, "status": "success",
                                      "error": None, "location": ""})
    merged.results = first.results.model_copy(update={"logged_samples": None}) if first.results else None
    recompute_metrics(merged)
    return merged


def _usage_sum(usages: Any) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for usage in usages:
        for name, u in (usage or {}).items():
            total[name] = total[name] + u if name in total else u
    return total


def write_log(log: Any, path: Path) -> Any:
    """Write ``log`` to ``path`` with Inspect's public API, atomically; the log, located there
    (not read back: writing a log of thousands of samples costs seconds, reading it again as
    many)."""
    from inspect_ai.log import write_eval_log

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_eval_log(log, str(tmp), format="eval")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.location = str(path)
    return log
