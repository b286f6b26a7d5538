"""One local run: benchmark -> Inspect tasks -> inspect_ai.eval() -> pinned result entries.

Nothing is written to ``.eval_results`` unless every selected task finished; the
Inspect logs (the evidence) are kept either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from huggingface_hub import EvalResultEntry

from run_eval.runner.errors import one_line
from run_eval.runner.models.decoding import decoding_settings
from run_eval.runner.models.judge import answered_by, bind_roles
from run_eval.runner.models.providers import describe_local_model
from run_eval.runner.models.reference import HF_PROVIDERS, LOCAL_PROVIDERS
from run_eval.runner.run import resume
from run_eval.runner.run.prepare import prepare
from run_eval.runner.run.record import (
    completed_at,
    errored_ids,
    notes_line,
    run_record,
    task_result,
    token_claims,
    ungraded_ids,
)
from run_eval.runner.run.request import RunFailed, RunInterrupted, RunOutcome, RunRequest
from run_eval.signing.results import result_path, write_entries
from run_eval.signing.token import sign

# Inspect settings chosen for throughput (BENCHMARKS.md): no realtime sample buffer (a
# sqlite database for live viewing that costs a few ms per sample); the .eval log, the
# evidence, is still written with every sample, flushed every LOG_BUFFER samples.
EVAL_SETTINGS: dict[str, Any] = {"log_realtime": False, "log_buffer": 100, "score_display": False}


def stopped_line(log_dir: Path) -> list[str]:
    """What a run stopped by Ctrl-C or SIGTERM says, wherever the signal landed (Inspect returns
    cancelled logs from inside a task, or the event loop raises KeyboardInterrupt elsewhere)."""
    from run_eval.runner.run.interrupt import describe

    return [f"{describe()} before every task finished; no result file was written; finish the run with "
            f"the same command and --resume (Inspect logs so far: {log_dir})"]


def execute(req: RunRequest, notify: Callable[[str], None] = lambda _m: None) -> RunOutcome:
    from inspect_ai import eval as inspect_eval

    p = prepare(req, notify)
    benchmark, spec, built, model = p.benchmark, p.spec, p.built, p.model
    decoding = decoding_settings(
        model,
        seed=req.options.seed,
        temperature=req.options.temperature,
        max_tokens=req.options.max_tokens,
        max_connections=req.options.max_connections,
        model_args=p.model_args,
        backend=req.options.backend,
    )
    for b in built:
        b.task.metadata = (b.task.metadata or {}) | {
            "run_eval": run_record(req, benchmark, spec, b, model, decoding.generate_config,
                                   decoding.model_args, decoding.mode, decoding.backend, p.findings,
                                   p.judges.get(b.spec.task_id))
        }
    quiet_loading(model.provider, req.display)
    if model.provider in LOCAL_PROVIDERS:
        describe_local_model(decoding.model)  # loaded once (see providers.py)
    model_roles = bind_roles(p.judges, p.graders)  # a local judge loads here
    found = {}
    if req.resume:
        found = resume.find_previous(req.log_dir, {b.spec.task_id: b.task.metadata["run_eval"] for b in built},
                                     req.sample_ids)
        resume.describe(found, [b.spec.task_id for b in built], req.log_dir, notify)
    by_task: dict[str, Any] = {t: f.log for t, f in found.items() if f.finished}
    unfinished = [b for b in built if b.spec.task_id in found and b.spec.task_id not in by_task]
    fresh = [b for b in built if b.spec.task_id not in found]
    if unfinished:
        retried = resume.continue_logs([resume.retryable(found[b.spec.task_id].log, b.task) for b in unfinished],
                                       log_dir=req.log_dir, display=req.display, settings=EVAL_SETTINGS)
        by_task.update({b.spec.task_id: log for b, log in zip(unfinished, retried)})
    if fresh and len(by_task) == len(found):  # (not after an interrupted retry)
        new = inspect_eval(
            [b.task for b in fresh],
            model=decoding.model,
            model_args=decoding.model_args,
            limit=req.options.limit,
            sample_id=req.sample_ids,
            log_dir=str(req.log_dir),
            display=req.display,  # type: ignore[arg-type]
            fail_on_error=False,
            model_roles=model_roles or None,
            **EVAL_SETTINGS,
            **decoding.generate_config,
        )
        by_task.update({b.spec.task_id: log for b, log in zip(fresh, new)})
    logs = [by_task.get(b.spec.task_id) for b in built]
    if any(log is None or log.status == "cancelled" for log in logs):
        raise RunInterrupted(stopped_line(req.log_dir))
    failures = []
    for b, log in zip(built, logs):
        # fail_on_error=False keeps Inspect from printing tracebacks; an errored sample
        # is then left out of the score, so an error means there is no valid result
        # unless --allow-errors accepts that many.
        errored = errored_ids(log)
        run = len({str(s.id) for s in log.samples or []})
        if log.status != "success":
            reason = log.error.message if log.error else log.status
            failures.append(
                f"task {b.spec.task_id!r} {log.status}: {one_line(reason)} (Inspect log: {log.location})"
            )
        elif errored and len(errored) > errors_allowed(req.options.allow_errors, run):
            allowed = "" if req.options.allow_errors is None else \
                f" (--allow-errors {req.options.allow_errors:g} allows {errors_allowed(req.options.allow_errors, run)})"
            ungraded = ungraded_ids(log)
            if errored - ungraded:
                first = next(s for s in log.samples if s.error is not None)
                failures.append(
                    f"task {b.spec.task_id!r}: {len(errored - ungraded)} of {run} samples failed{allowed}, "
                    f"first: {one_line(first.error.message)} (Inspect log: {log.location})"
                )
            if ungraded:
                failures.append(ungraded_line(b.spec.task_id, p.judges[b.spec.task_id], p.model, log, ungraded,
                                              run, allowed))
    if failures:
        raise RunFailed(failures + ["no result file was written"])

    results = [task_result(b, log) for b, log in zip(built, logs)]
    all_ids = [t.task_id for t in spec.tasks]
    entries = []
    for b, r, log in zip(built, results, logs):
        record = b.task.metadata["run_eval"]
        if record.get("judge") is not None:  # with the models that answered for a judge that is not pinned
            record = {**record, "judge": answered_by(record["judge"], log)}
        notes = notes_line(b, r, req, decoding, all_ids, [x.task_id for x in results], p.findings,
                           p.judges.get(b.spec.task_id), model, record["judge"])
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
        entry.verify_token = sign(token_claims(entry, record, r, log), p.key)
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


def ungraded_line(task_id: str, judges: Any, model: Any, log: Any, ungraded: set[str], run: int, allowed: str) -> str:
    """One line for the samples whose judge's answer the scorer could not read."""
    first = next(sc for s in log.samples or [] for sc in (s.scores or {}).values()
                 if getattr(sc, "reason", None) == "grader_failed")
    said = one_line(str(first.explanation or "").removeprefix("Grade not found in model output: "))
    names = ", ".join(j.given for j in judges.used) or f"{model.spec} (the evaluated model)"
    return (f"task {task_id!r}: judge {names} answered {len(ungraded)} of {run} samples in a form the scorer "
            f"cannot read (no 'GRADE: C' or 'GRADE: I'){allowed}, first: {said[:80]!r} (Inspect log: "
            f"{log.location})")
