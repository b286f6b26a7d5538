"""The runs audit reads: Inspect logs given directly, found in folders, or named by result
files' ``source.url``; each reduced to what the rules need, per sample.

A folder's logs are the files Inspect itself lists as logs (``list_eval_logs``: ``.eval``
files, and ``.json`` files named as Inspect names its logs), so what ``eval_set`` writes
beside them (``logs.json``, ``eval-set.json``) is not taken for a log; the shard logs of a
``--shards`` run are left out where their merged log is there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlparse

from run_eval.runner.errors import LinesError, one_line
from run_eval.tasks.lint.checks import stop_sequences
from run_eval.tasks.spec import SolverModel

LOG_SUFFIXES = (".eval", ".json")
RESULT_SUFFIXES = (".yaml", ".yml")


class AuditInputError(LinesError):
    """An argument is not a log, a folder of logs or a result file whose logs can be read."""


class UnfinishedLog(AuditInputError):
    """The log is of a run that did not finish (cancelled, or still running)."""


@dataclass(frozen=True)
class Outcome:
    """One sample (one epoch) of one run, as the scorer saw it."""

    id: str
    epoch: int
    target: str
    completion: str
    answer: str | None  # what the scorer extracted
    value: float  # the first scorer's value as a float (1.0 = right); NaN when unscored
    no_answer: bool  # the scorer found no answer at all (empty, or not in its format)
    stop_reason: str
    output_tokens: int | None

    @property
    def failed(self) -> bool:
        return not (self.value >= 1.0)


@dataclass(frozen=True)
class Run:
    """One model on one task, from one log."""

    model: str
    dataset_id: str
    task_id: str
    log: Path
    scorer: str
    value: float | None
    stderr: float | None
    stop_seqs: tuple[str, ...]
    max_tokens: int | None
    samples: tuple[Outcome, ...]


def find_logs(args: list[str]) -> list[tuple[Path, bool]]:
    """Every log the arguments name, in order, each once, and whether it was named itself
    (rather than found in a folder)."""
    found: list[tuple[Path, bool]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            logs = folder_logs(path)
            if not logs:
                raise AuditInputError(f"{arg}: no Inspect logs (*.eval, *.json) in this folder")
            found += [(p, False) for p in logs]
        elif not path.exists():
            raise AuditInputError(f"{arg}: no such file or folder (expected Inspect logs or result files)")
        elif path.suffix in RESULT_SUFFIXES:
            found += [(p, True) for p in _logs_of_result_file(path)]
        elif path.suffix in LOG_SUFFIXES:
            found.append((path, True))
        else:
            raise AuditInputError(f"{arg}: not an Inspect log (.eval, .json) or a result file (.yaml)")
    named: dict[Path, bool] = {}
    for p, explicit in found:
        named[p.resolve()] = named.get(p.resolve(), False) or explicit
    return list(named.items())


def folder_logs(folder: Path) -> list[Path]:
    """The Inspect logs under ``folder``, as Inspect lists them, sorted by path; hidden
    files left out."""
    from inspect_ai.log import list_eval_logs

    logs = [Path(unquote(urlparse(info.name).path)) if info.name.startswith("file:") else Path(info.name)
            for info in list_eval_logs(str(folder), recursive=True)]
    return sorted(p for p in without_merged_shards(logs) if not p.name.startswith("."))


def without_merged_shards(logs: list[Path]) -> list[Path]:
    """The listing without the shard logs (``<name>.shards/<k>/*.eval``, Inspect's layout for
    shards, see runner/run/shards.py) whose merged log ``<name>.eval`` is in it: the merged log
    holds their samples, and a run is read once (as ``inspect view`` lists them).

    >>> [str(p) for p in without_merged_shards([Path("r/a.eval"), Path("r/a.shards/1/x.eval"),
    ...                                          Path("r/b.shards/1/y.eval")])]
    ['r/a.eval', 'r/b.shards/1/y.eval']
    """
    present = set(logs)
    return [p for p in logs if not (p.parent.parent.name.endswith(".shards")
                                    and p.parent.parent.with_name(p.parent.parent.name[:-7] + ".eval") in present)]


def read_runs(args: list[str], skipped: Callable[[Path], None]) -> list[Run]:
    """The runs of every log the arguments name. An unfinished log found in a folder (a run
    stopped and then resumed into a new log, or still going) is skipped and reported to
    ``skipped``; one named directly is an error."""
    runs = []
    for path, explicit in find_logs(args):
        try:
            runs.append(read_run(path))
        except UnfinishedLog:
            if explicit:
                raise
            skipped(path)
    if not runs:
        raise AuditInputError(f"{', '.join(args)}: no finished run to audit")
    return runs


def _logs_of_result_file(path: Path) -> list[Path]:
    from run_eval.signing.errors import ResultFileError
    from run_eval.signing.results import read_entries

    try:
        entries = read_entries(path)
    except ResultFileError as ex:
        raise AuditInputError(str(ex)) from None
    except Exception as ex:  # huggingface_hub's parser: a file that is not a list of entries
        raise AuditInputError(f"{path}: not a result file ({type(ex).__name__}: {one_line(str(ex), 160)})") from None
    out = []
    for e in entries:
        url = e.source_url or ""
        local = Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)
        candidates = [local] if local.is_absolute() else [local, path.parent.parent / local, path.parent / local]
        hit = next((c for c in candidates if url and c.is_file()), None)
        if hit is None:
            raise AuditInputError(f"{path}: task {e.task_id!r}: its log {url or '(no source.url)'} is not on this "
                                  "machine; fetch it and pass the log itself")
        out.append(hit)
    return out


def read_run(path: Path) -> Run:
    from inspect_ai.log import read_eval_log
    from inspect_ai.scorer import value_to_float

    try:
        log = read_eval_log(str(path))
    except Exception as ex:  # Inspect raises ValueError/KeyError/zip errors for a file that is not a log
        raise AuditInputError(f"{path}: not a readable Inspect log ({_why(ex)})") from None
    if log.status != "success" or not log.samples:
        raise UnfinishedLog(f"{path}: the run did not finish ({log.status}); audit reads finished runs")
    record = (log.eval.metadata or {}).get("run_eval") or {}
    solvers, gen = _method(log, record)
    scorer = log.results.scores[0].scorer if log.results and log.results.scores else None
    to_float = value_to_float()
    samples = []
    for s in log.samples:
        score = (s.scores or {}).get(scorer) if scorer else None
        if score is None and s.scores:
            scorer, score = next(iter(s.scores.items()))
        try:
            value = to_float(score.value) if score is not None else math.nan
        except Exception:
            value = math.nan
        answer = score.answer if score is not None else None
        completion = s.output.completion if s.output else ""
        reason = getattr(score, "reason", None) if score is not None else None
        usage = s.output.usage if s.output else None
        samples.append(Outcome(
            id=str(s.id), epoch=s.epoch, target=_target(s.target), completion=completion, answer=answer,
            value=value, no_answer=(reason in ("no_response", "invalid_response_format")
                                    or (score is not None and score.value == "N") or not completion.strip()),
            stop_reason=str(s.output.stop_reason if s.output else "unknown"),
            output_tokens=getattr(usage, "output_tokens", None)))
    value, stderr = _headline(log)
    model = (record.get("model") or {}).get("id") or log.eval.model
    ds = record.get("dataset") or {}
    return Run(model=model, dataset_id=ds.get("id") or str(log.eval.dataset.name or ""),
               task_id=ds.get("task_id") or log.eval.task, log=path, scorer=scorer or "",
               value=value, stderr=stderr,
               stop_seqs=tuple(dict.fromkeys(stop_sequences(solvers) + list(gen.get("stop_seqs") or []))),
               max_tokens=_max_tokens(solvers, gen), samples=tuple(samples))


def _why(ex: Exception) -> str:
    """Why Inspect could not read a log, in a few words: pydantic's report (a JSON file that
    is not a log, such as eval_set's logs.json) is many lines; its first problem is enough."""
    from pydantic import ValidationError

    if isinstance(ex, ValidationError) and ex.errors():
        first = ex.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the log"
        return f"{where}: {str(first.get('msg', '')).lower()}"
    return f"{type(ex).__name__}: {one_line(str(ex), 160)}"


def _target(target: Any) -> str:
    return target if isinstance(target, str) else " | ".join(map(str, target))


def _method(log: Any, record: dict[str, Any]) -> tuple[list[SolverModel], dict[str, Any]]:
    """The solvers (as eval.yaml entries) and the run's generate config."""
    task = (record.get("spec") or {}).get("task")
    if task:
        solvers = [SolverModel.model_validate(s) for s in task.get("solvers") or []]
        return solvers, dict(record.get("generate_config") or {})
    # a log from another harness: Inspect's plan (its generate steps and generate config)
    steps = getattr(log.plan, "steps", None) or []
    solvers = [SolverModel(name="generate", args=dict(st.params or {})) for st in steps if st.solver == "generate"]
    config = getattr(log.plan, "config", None)
    return solvers, config.model_dump(exclude_none=True) if config is not None else {}


def _max_tokens(solvers: list[SolverModel], gen: dict[str, Any]) -> int | None:
    from_solver = [s.args["max_tokens"] for s in solvers
                   if s.name == "generate" and isinstance(s.args.get("max_tokens"), int)]
    return from_solver[-1] if from_solver else gen.get("max_tokens")


def _headline(log: Any) -> tuple[float | None, float | None]:
    if not log.results or not log.results.scores:
        return None, None
    metrics = log.results.scores[0].metrics
    names = [n for n in metrics if n not in ("stderr", "std", "var")]
    value = float(metrics[names[0]].value) if names else None
    stderr = float(metrics["stderr"].value) if "stderr" in metrics else None
    return value, stderr
