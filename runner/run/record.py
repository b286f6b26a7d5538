"""What a run records: the run record kept in each Inspect log, the verifyToken's claims,
the entry's notes, and each task's result as read from its log."""

from __future__ import annotations

import datetime as dt
import math
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

from run_eval.jobs.executor import executor_claims
from run_eval.runner.models.decoding import Decoding
from run_eval.runner.models.environment import environment_lock, installed_versions
from run_eval.runner.models.judge import TaskJudges
from run_eval.runner.models.reference import LOCAL_PROVIDERS, ModelRef, portable_model_args
from run_eval.runner.run.request import RunFailed, RunRequest, TaskResult
from run_eval.signing.evidence import log_sha256, samples_sha256
from run_eval.signing.token import build_claims
from run_eval.tasks.build import BuiltTask
from run_eval.tasks.lint import Finding
from run_eval.tasks.source import Benchmark
from run_eval.tasks.spec import EvalSpec


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def run_record(
    req: RunRequest,
    benchmark: Benchmark,
    spec: EvalSpec,
    b: BuiltTask,
    model: ModelRef,
    generate_config: dict[str, Any],
    model_args: dict[str, Any],
    decoding: str,
    backend: str,
    findings: list[Finding] | None = None,
    judges: TaskJudges | None = None,
) -> dict[str, Any]:
    """What was evaluated and how: kept in the Inspect log as the run's evidence."""
    m = b.spec.model
    return {
        "version": 1,
        "model": {"spec": model.spec, "id": model.model_id, "revision": model.revision},
        "dataset": {
            "id": benchmark.dataset_id,
            "revision": benchmark.revision,
            "pin": benchmark.pin_kind,
            "task_id": b.spec.task_id,
            "config": m.config,
            "split": m.split,
        },
        "spec": {
            "sha256": b.spec.fingerprint(),
            "eval_yaml_sha256": spec.sha256,
            "task": b.spec.as_dict(),
        },
        "seed": req.options.seed,
        "shuffle_choices_seed": b.shuffle_seed,
        "epochs": req.options.epochs if req.options.epochs is not None else m.epochs,
        "epoch_reducer": m.epoch_reducer or "mean",
        "limit": req.options.limit,
        "decoding": decoding,
        "backend": backend,
        "generate_config": generate_config,
        "model_args": portable_model_args(model, model_args),
        "packages": {
            "run-eval": package_version("run-eval"),
            "inspect_ai": package_version("inspect_ai"),
            "python": sys.version.split()[0],
            **(installed_versions() if model.provider in LOCAL_PROVIDERS else {}),
        },
        "environment": environment_lock(model, model_args),
        "lint": lint_record(req, b, findings),
        "judge": judges.record(model) if judges is not None else None,
    }


def lint_record(req: RunRequest, b: BuiltTask, findings: list[Finding] | None) -> dict[str, Any]:
    """run.lint: whether lint errors could stop this run (not with --no-lint), the rules whose
    errors were accepted (--lint-ignore), and the rules this task broke, by severity."""
    mine = [f for f in findings or [] if f.task_id == b.spec.task_id]
    return {"enforced": not req.options.no_lint,
            "ignored": list(req.options.lint_ignore),
            "errors": sorted({f.rule for f in mine if f.severity == "error"}),
            "warnings": sorted({f.rule for f in mine if f.severity == "warning"})}


def token_claims(entry: EvalResultEntry, record: dict[str, Any], r: TaskResult, log: Any, rows: list[Any],
                 executor: dict[str, Any] | None = None) -> dict[str, Any]:
    """The verifyToken's claims: a lock file for this score (see signing/token.py)."""
    (as_written,) = eval_result_entries_to_yaml([entry])
    ds = record["dataset"]
    return build_claims(
        as_written,
        model={"id": record["model"]["id"], "revision": record["model"]["revision"],
               "spec": record["model"]["spec"]},
        dataset={"id": ds["id"], "revision": ds["revision"], "pin": ds["pin"],
                 "task_id": ds["task_id"], "config": ds["config"], "split": ds["split"]},
        spec={"sha256": record["spec"]["sha256"], "eval_yaml_sha256": record["spec"]["eval_yaml_sha256"],
              "task": record["spec"]["task"]},
        metric={"name": r.metric, "value": r.value, "stderr": r.stderr, "samples": r.samples,
                "total_samples": r.total_samples,
                "subset": subset_claim(record, r)},
        run={k: record[k] for k in ("seed", "shuffle_choices_seed", "epochs", "epoch_reducer", "limit",
                                    "decoding", "backend", "generate_config", "model_args",
                                    "packages", "environment", "lint", "judge")},
        evidence={"log_sha256": log_sha256(log.location), "samples_sha256": samples_sha256(log, rows)},
        executor=executor or executor_claims(),
    )


def subset_claim(record: dict[str, Any], r: TaskResult) -> dict[str, Any] | None:
    """metric.subset: why the score covers fewer than all samples (--limit, failed samples)."""
    if r.samples >= r.total_samples and not r.errored:
        return None
    return {"limit": record["limit"], **({"errored": r.errored} if r.errored else {})}


def summaries(log: Any) -> list[Any]:
    """What a result needs of a finished log's samples (id, epoch, scores, error), read from
    the log's sample summaries: reading every sample whole (messages, events) costs about
    1 ms a sample here (BENCHMARKS.md §7), its summary a twentieth of that."""
    from inspect_ai.log import read_eval_log_sample_summaries

    return read_eval_log_sample_summaries(log.location)


def error_text(s: Any) -> str:
    """A failed sample's error message (a sample's error, or its summary's, a string)."""
    return s.error if isinstance(s.error, str) else s.error.message


def errored_ids(rows: list[Any]) -> set[str]:
    """Ids of the samples (of a log's ``summaries``) that failed in any epoch: an error, or a
    judge's grade that its scorer could not read (Inspect leaves such a sample unscored: out
    of the metric)."""
    return {str(s.id) for s in rows if s.error is not None} | ungraded_ids(rows)


def ungraded_ids(rows: list[Any]) -> set[str]:
    """Ids of the samples whose judge answered in a form the scorer could not read."""
    return {str(s.id) for s in rows
            if any(getattr(sc, "reason", None) == "grader_failed" for sc in (s.scores or {}).values())}


def task_result(b: BuiltTask, log: Any, rows: list[Any]) -> TaskResult:
    """The task's signed number from its log (Inspect's first scorer and metric), ``rows``
    being the log's ``summaries``."""
    scores = log.results.scores if log.results else []
    if not scores:
        raise RunFailed([f"task {b.spec.task_id!r}: Inspect reported no scores (log: {log.location})"])
    first = scores[0]
    names = [n for n in first.metrics if n not in ("stderr", "std", "var")]
    metric = names[0] if names else next(iter(first.metrics))
    stderr = first.metrics.get("stderr")
    errored = errored_ids(rows)
    value = float(first.metrics[metric].value)
    if not math.isfinite(value):  # every sample unscored (a judge none of whose grades could be read)
        raise RunFailed([f"task {b.spec.task_id!r}: no sample was scored ({metric} is {value}): nothing to sign "
                         f"(log: {log.location})"])
    # the samples the value is the mean of: Inspect's metric leaves unscored ones out
    scored = first.scored_samples
    return TaskResult(
        task_id=b.spec.task_id,
        metric=metric,
        value=value,
        stderr=float(stderr.value) if stderr is not None else None,
        samples=scored if scored is not None else int(log.results.completed_samples) // max(1, b.task.epochs or 1),
        total_samples=b.samples,
        log=str(log.location),
        errored=len(errored),
        run_samples=len({str(s.id) for s in rows}),
    )


def completed_at(log: Any) -> str:
    raw = getattr(log.stats, "completed_at", None) or log.eval.created
    try:
        when = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        when = dt.datetime.now(dt.timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def notes_line(
    b: BuiltTask,
    r: TaskResult,
    req: RunRequest,
    decoding: Decoding,
    all_ids: list[str],
    run_ids: list[str],
    findings: list[Finding] | None = None,
    judges: TaskJudges | None = None,
    model: ModelRef | None = None,
    judge_record: dict[str, Any] | None = None,
) -> str:
    m = b.spec.model
    epochs = req.options.epochs if req.options.epochs is not None else m.epochs
    parts = [
        f"inspect-ai {package_version('inspect_ai')} via run-eval {package_version('run-eval')}",
        "solvers: " + ", ".join(s.name for s in m.solvers),
        f"scorer: {m.scorers[0].name} ({r.metric})",
        *([judges.notes(model, judge_record)] if judges is not None and model is not None else []),
        f"epochs: {epochs} ({m.epoch_reducer or 'mean'})",
        f"seed: {req.options.seed}",
        f"decoding: {decoding.mode}",
        f"backend: {decoding.backend}",
    ]
    if b.shuffle_seed is not None:
        parts.append(f"choices shuffled with seed {b.shuffle_seed}")
    if req.options.limit is not None and req.options.limit < b.samples:
        parts.append(f"limit: {min(req.options.limit, b.samples)} of {b.samples} samples")
    lint = [f.rule for f in findings or [] if f.task_id == b.spec.task_id and f.severity == "error"]
    if req.options.no_lint:
        parts.append(f"lint: not enforced (--no-lint){'; errors: ' + ', '.join(sorted(set(lint))) if lint else ''}")
    elif accepted := sorted(set(lint) & set(req.options.lint_ignore)):
        parts.append(f"lint: errors accepted (--lint-ignore): {', '.join(accepted)}")
    if r.errored:
        parts.append(f"{r.errored} of {r.run_samples} samples failed (left out of the score)")
    if set(run_ids) != set(all_ids):
        parts.append(f"tasks run: {', '.join(run_ids)} of {', '.join(all_ids)}")
    return "; ".join(parts)
