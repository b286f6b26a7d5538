"""One local run: benchmark -> Inspect tasks -> inspect_ai.eval() -> pinned result entries.

Nothing is written to ``.eval_results`` unless every selected task finished; the
Inspect logs (the evidence) are kept either way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from huggingface_hub import EvalResultEntry

from run_eval.runner.errors import one_line
from run_eval.runner.models.decoding import Decoding, decoding_settings
from run_eval.runner.models.judge import answered_by, bind_roles
from run_eval.runner.models.providers import describe_local_model
from run_eval.runner.models.reference import HF_PROVIDERS, LOCAL_PROVIDERS
from run_eval.runner.run import resume
from run_eval.runner.run.prepare import Prepared, prepare
from run_eval.runner.run.record import (
    completed_at,
    error_text,
    errored_ids,
    notes_line,
    run_record,
    task_result,
    summaries,
    token_claims,
    ungraded_ids,
)
from run_eval.runner.run.request import RunFailed, RunInterrupted, RunOutcome, RunRequest
from run_eval.signing.results import result_path, write_entries
from run_eval.signing.token import sign
from run_eval.tasks.build import BuiltTask

# Inspect settings chosen for throughput (BENCHMARKS.md): no realtime sample buffer (a
# sqlite database for live viewing that costs a few ms per sample); the .eval log, the
# evidence, is still written with every sample, flushed every LOG_BUFFER samples. No control
# server: Inspect would otherwise open a local HTTP socket per eval for live control (a web
# framework imported and started in every run and every shard worker, about a second here)
# that a one-shot run neither offers nor wants a stranger's process to reach.
EVAL_SETTINGS: dict[str, Any] = {"log_realtime": False, "log_buffer": 100, "score_display": False,
                                 "ctl_server": False}


def stopped_line(log_dir: Path) -> list[str]:
    """What a run stopped by Ctrl-C or SIGTERM says, wherever the signal landed (Inspect returns
    cancelled logs from inside a task, or the event loop raises KeyboardInterrupt elsewhere)."""
    from run_eval.runner.run.interrupt import describe

    return [f"{describe()} before every task finished; no result file was written; finish the run with "
            f"the same command and --resume (Inspect logs so far: {log_dir})"]


@dataclass(frozen=True)
class Started:
    """A prepared run with its decoding settings, its run record in each task, and its judges bound."""

    p: Prepared
    decoding: Decoding
    model_roles: dict[str, Any]


def execute(req: RunRequest, notify: Callable[[str], None] = lambda _m: None) -> RunOutcome | list[Path]:
    """Run, and sign the result: here in one Inspect process, over ``--shards N`` processes
    (runner/run/sharded.py), or as one shard of such a run (``--shard K/N``: Inspect logs only,
    returned, no result: the run that started it merges and signs)."""
    from run_eval.runner.run import sharded

    p = prepare(req, notify)
    if req.options.shards > 1 and req.shard is None:
        return sharded.run_sharded(req, p, notify)
    s = start(req, p)
    if req.shard is not None:
        return sharded.run_shard(req, s, notify)
    return finish(req, s, run_logs(req, s, notify))


def start(req: RunRequest, p: Prepared) -> Started:
    """The decoding settings, the run record kept in each task's metadata, the model loaded."""
    s = records(req, p)
    quiet_loading(p.model.provider, req.display)
    if p.model.provider in LOCAL_PROVIDERS:
        describe_local_model(s.decoding.model)  # loaded once (see providers.py)
    return Started(p, s.decoding, bind_roles(p.judges, p.graders))  # a local judge loads here


def records(req: RunRequest, p: Prepared) -> Started:
    """The decoding settings and the run record kept in each task's metadata; no model loaded."""
    model = p.model
    decoding = decoding_settings(
        model,
        seed=req.options.seed,
        temperature=req.options.temperature,
        max_tokens=req.options.max_tokens,
        max_connections=req.options.max_connections,
        model_args=p.model_args,
        backend=req.options.backend,
    )
    for b in p.built:
        b.task.metadata = (b.task.metadata or {}) | {
            "run_eval": run_record(req, p.benchmark, p.spec, b, model, decoding.generate_config,
                                   decoding.model_args, decoding.mode, decoding.backend, p.findings,
                                   p.judges.get(b.spec.task_id))
        }
    return Started(p, decoding, {})


def run_logs(req: RunRequest, s: Started, notify: Callable[[str], None], *, built: list[BuiltTask] | None = None,
             log_dir: Path | None = None, sample_ids: list[Any] | None = None) -> list[Any]:
    """One Inspect log per task of ``built`` (default: every task), from one eval in ``log_dir``
    over ``sample_ids`` (defaults: the run's); with --resume, reusing or continuing the logs
    there. RunInterrupted when stopped before every task finished."""
    built = s.p.built if built is None else built
    log_dir = req.log_dir if log_dir is None else log_dir
    sample_ids = req.sample_ids if sample_ids is None else sample_ids
    found = {}
    if req.resume:
        found = resume.find_previous(log_dir, {b.spec.task_id: b.task.metadata["run_eval"] for b in built},
                                     sample_ids)
        resume.describe(found, [b.spec.task_id for b in built], log_dir, notify)
    by_task: dict[str, Any] = {t: f.log for t, f in found.items() if f.finished}
    unfinished = [b for b in built if b.spec.task_id in found and b.spec.task_id not in by_task]
    fresh = [b for b in built if b.spec.task_id not in found]
    if unfinished:
        retried = resume.continue_logs([resume.retryable(found[b.spec.task_id].log, b.task) for b in unfinished],
                                       log_dir=log_dir, display=req.display, settings=EVAL_SETTINGS)
        by_task.update({b.spec.task_id: log for b, log in zip(unfinished, retried)})
    if fresh and len(by_task) == len(found):  # (not after an interrupted retry)
        from inspect_ai import eval as inspect_eval

        new = inspect_eval(
            [b.task for b in fresh],
            model=s.decoding.model,
            model_args=s.decoding.model_args,
            limit=None if sample_ids else req.options.limit,  # (Inspect takes one or the other)
            sample_id=sample_ids,
            log_dir=str(log_dir),
            display=req.display,  # type: ignore[arg-type]
            fail_on_error=False,
            model_roles=s.model_roles or None,
            **EVAL_SETTINGS,
            **s.decoding.generate_config,
        )
        by_task.update({b.spec.task_id: log for b, log in zip(fresh, new)})
    logs = [by_task.get(b.spec.task_id) for b in built]
    if any(log is None or log.status == "cancelled" for log in logs):
        raise RunInterrupted(stopped_line(req.log_dir))
    return logs


def finish(req: RunRequest, s: Started, logs: list[Any]) -> RunOutcome:
    """Judge each task's log (failed samples against --allow-errors), then sign one entry per
    task and write the result file; RunFailed, and no result, if any task failed."""
    p = s.p
    benchmark, spec, built, model, decoding = p.benchmark, p.spec, p.built, p.model, s.decoding
    failures = []
    rows = [summaries(log) for log in logs]
    for b, log, samples in zip(built, logs, rows):
        # fail_on_error=False keeps Inspect from printing tracebacks; an errored sample
        # is then left out of the score, so an error means there is no valid result
        # unless --allow-errors accepts that many.
        errored = errored_ids(samples)
        run = len({str(s.id) for s in samples})
        if log.status != "success":
            reason = log.error.message if log.error else log.status
            failures.append(
                f"task {b.spec.task_id!r} {log.status}: {one_line(reason)} (Inspect log: {log.location})"
            )
        elif errored and len(errored) > errors_allowed(req.options.allow_errors, run):
            allowed = "" if req.options.allow_errors is None else \
                f" (--allow-errors {req.options.allow_errors:g} allows {errors_allowed(req.options.allow_errors, run)})"
            ungraded = ungraded_ids(samples)
            if errored - ungraded:
                first = next(s for s in samples if s.error is not None)
                failures.append(
                    f"task {b.spec.task_id!r}: {len(errored - ungraded)} of {run} samples failed{allowed}, "
                    f"first: {one_line(error_text(first))} (Inspect log: {log.location})"
                )
            if ungraded:
                failures.append(ungraded_line(b.spec.task_id, p.judges[b.spec.task_id], p.model, log, samples,
                                              ungraded, run, allowed))
    if failures:
        raise RunFailed(failures + ["no result file was written"])

    results = [task_result(b, log, samples) for b, log, samples in zip(built, logs, rows)]
    all_ids = [t.task_id for t in spec.tasks]
    entries = []
    for b, r, log, samples in zip(built, results, logs, rows):
        # what ran, as the log records it (the same as this run's record, which resume and the merge of
        # shards check; for shards run on HF Jobs, with the jobs' packages and environment)
        record = (log.eval.metadata or {}).get("run_eval") or b.task.metadata["run_eval"]
        if record.get("judge") is not None:  # with the models that answered for a judge that is not pinned
            record = {**record, "judge": answered_by(record["judge"], log)}
        notes = notes_line(b, r, req, replace(decoding, mode=record["decoding"]), all_ids,
                           [x.task_id for x in results], p.findings, p.judges.get(b.spec.task_id), model,
                           record["judge"])
        if req.note is not None:
            notes = f"{req.note(r)} {notes}"
        entry = EvalResultEntry(
            dataset_id=benchmark.dataset_id,
            task_id=r.task_id,
            value=r.value,
            dataset_revision=benchmark.revision,
            date=completed_at(log),
            source_url=r.log,
            source_name="Inspect log",
            notes=notes,
        )
        assert p.key is not None
        entry.verify_token = sign(token_claims(entry, record, r, log, samples, req.executor), p.key)
        entries.append(entry)
    path = result_path(req.output_dir, benchmark.name)
    write_entries(path, entries)
    return RunOutcome(benchmark=benchmark, model=model, results=results, result_file=path)


def quiet_loading(provider: str, display: str | None) -> None:
    """No download or weight-loading progress bars (huggingface_hub's, transformers') in
    plain output (a pipe, a file, CI): they are carriage-return animations meant for a
    terminal. At a terminal (display None: Inspect's own choice) they stay."""
    if display is None:
        return
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    if provider in HF_PROVIDERS:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


def errors_allowed(allow: float | None, run: int) -> int:
    """How many of `run` samples may fail: --allow-errors N (a count) or X < 1 (a fraction)."""
    if allow is None:
        return 0
    return int(allow * run) if allow < 1 else int(allow)


def ungraded_line(task_id: str, judges: Any, model: Any, log: Any, rows: list[Any], ungraded: set[str], run: int,
                  allowed: str) -> str:
    """One line for the samples whose judge's answer the scorer could not read."""
    first = next(sc for s in rows for sc in (s.scores or {}).values()
                 if getattr(sc, "reason", None) == "grader_failed")
    said = one_line(str(first.explanation or "").removeprefix("Grade not found in model output: "))
    names = ", ".join(j.given for j in judges.used) or f"{model.spec} (the evaluated model)"
    return (f"task {task_id!r}: judge {names} answered {len(ungraded)} of {run} samples in a form the scorer "
            f"cannot read (no 'GRADE: C' or 'GRADE: I'){allowed}, first: {said[:80]!r} (Inspect log: "
            f"{log.location})")
