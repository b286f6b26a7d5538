"""One local run: benchmark -> Inspect tasks -> inspect_ai.eval() -> pinned result entries.

Nothing is written to ``.eval_results`` unless every selected task finished; the
Inspect logs (the evidence) are kept either way.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

from runner import resume
from runner.errors import LinesError
from runner.model import Decoding, ModelRef, decoding_settings, is_hub_model, pin_hub_model, resolve_model
from runner.remote import executor_claims
from signing.evidence import log_sha256, samples_sha256
from signing.keys import SigningKey, load_or_create
from signing.results import read_entries, result_path, write_entries
from signing.token import build_claims, sign
from tasks.build import BuiltTask, build_tasks
from tasks.source import Benchmark, resolve_benchmark
from tasks.spec import EvalSpec, load_spec


# Inspect settings chosen for throughput (BENCHMARKS.md): no realtime sample buffer (a
# sqlite database for live viewing that costs a few ms per sample); the .eval log, the
# evidence, is still written with every sample, flushed every LOG_BUFFER samples.
EVAL_SETTINGS: dict[str, Any] = {"log_realtime": False, "log_buffer": 100, "score_display": False}


class RunFailed(LinesError):
    """The evaluation ran but did not finish; ``lines`` say why, the Inspect logs hold the evidence."""


class RunInterrupted(RunFailed):
    """The user stopped the run (Ctrl-C) before every task finished."""


@dataclass
class RunRequest:
    model: str
    benchmark: str
    task_ids: tuple[str, ...] = ()
    limit: int | None = None
    epochs: int | None = None
    seed: int = 42
    max_tokens: int | None = None
    temperature: float | None = None
    max_connections: int | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    log_dir: Path = Path("logs")
    output_dir: Path = Path(".")
    model_id: str | None = None
    dataset_id: str | None = None
    display: str | None = None  # Inspect display type; None = Inspect's default
    backend: str = "auto"  # see runner.model.backend_model
    expect_spec: dict[str, str] = field(default_factory=dict)  # task id -> fingerprint (jobs)
    sample_ids: list[str] | None = None  # evaluate only these samples (reproduce --samples)
    resume: bool = False  # continue this run's unfinished Inspect logs in log_dir (runner/resume.py)
    allow_errors: float | None = None  # errored samples a task may leave out: a count >= 1, or a fraction < 1


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    metric: str
    value: float
    stderr: float | None
    samples: int
    total_samples: int
    log: str
    errored: int = 0  # samples left out of the score because they failed (--allow-errors)
    run_samples: int = 0  # samples evaluated (errored included)


@dataclass(frozen=True)
class RunOutcome:
    benchmark: Benchmark
    model: ModelRef
    results: list[TaskResult]
    result_file: Path


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Prepared:
    benchmark: Benchmark
    spec: EvalSpec
    built: list[BuiltTask]
    model: ModelRef
    key: SigningKey
    model_args: dict[str, Any]  # with the pinned snapshot / revision of a Hub model


def prepare(req: RunRequest, notify: Callable[[str], None] = lambda _m: None) -> Prepared:
    """Everything that can fail on bad input, done before a model is loaded."""
    benchmark = resolve_benchmark(req.benchmark, dataset_id=req.dataset_id)
    spec = load_spec(benchmark.eval_yaml)
    selected = spec.select(list(req.task_ids))
    for t in selected:
        want = req.expect_spec.get(t.task_id)
        if want is not None and want != t.fingerprint():
            raise RunFailed([f"task {t.task_id!r}: the eval.yaml's method (spec {t.fingerprint()[:12]}) is not "
                             f"the one this run was submitted with ({want[:12]})"])
    model, model_args = pin_hub_model(resolve_model(req.model, model_id=req.model_id), req.model_args)
    read_entries(result_path(req.output_dir, benchmark.name))  # fail now, not after the run
    built = build_tasks(benchmark, spec, selected, seed=req.seed, epochs=req.epochs)
    key, created = load_or_create()
    if created:
        notify(
            f"created signing key {key.public.kid} at {key.path} (mode 0600); "
            "share its public key with: run-eval keys export"
        )
    return Prepared(benchmark, spec, built, model, key, model_args)


def execute(req: RunRequest, notify: Callable[[str], None] = lambda _m: None) -> RunOutcome:
    from inspect_ai import eval as inspect_eval

    p = prepare(req, notify)
    benchmark, spec, built, model = p.benchmark, p.spec, p.built, p.model
    decoding = decoding_settings(
        model,
        seed=req.seed,
        temperature=req.temperature,
        max_tokens=req.max_tokens,
        max_connections=req.max_connections,
        model_args=p.model_args,
        backend=req.backend,
    )
    for b in built:
        b.task.metadata = (b.task.metadata or {}) | {
            "run_eval": run_record(req, benchmark, spec, b, model, decoding.generate_config,
                                   decoding.model_args, decoding.mode, decoding.backend)
        }
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
            limit=req.limit,
            sample_id=req.sample_ids,
            log_dir=str(req.log_dir),
            display=req.display,  # type: ignore[arg-type]
            fail_on_error=False,
            **EVAL_SETTINGS,
            **decoding.generate_config,
        )
        by_task.update({b.spec.task_id: log for b, log in zip(fresh, new)})
    logs = [by_task.get(b.spec.task_id) for b in built]
    if any(log is None or log.status == "cancelled" for log in logs):
        from runner.interrupt import describe

        raise RunInterrupted(
            [f"{describe()} before every task finished; no result file was written; finish the run with "
             f"the same command and --resume (Inspect logs so far: {req.log_dir})"]
        )
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
        elif errored and len(errored) > errors_allowed(req.allow_errors, run):
            first = next(s for s in log.samples if s.error is not None)
            allowed = "" if req.allow_errors is None else \
                f" (--allow-errors {req.allow_errors:g} allows {errors_allowed(req.allow_errors, run)})"
            failures.append(
                f"task {b.spec.task_id!r}: {len(errored)} of {run} samples failed{allowed}, "
                f"first: {one_line(first.error.message)} (Inspect log: {log.location})"
            )
    if failures:
        raise RunFailed(failures + ["no result file was written"])

    results = [task_result(b, log) for b, log in zip(built, logs)]
    all_ids = [t.task_id for t in spec.tasks]
    entries = []
    for b, r, log in zip(built, results, logs):
        entry = EvalResultEntry(
            dataset_id=benchmark.dataset_id,
            task_id=r.task_id,
            value=r.value,
            dataset_revision=benchmark.revision,
            date=completed_at(log),
            source_url=r.log,
            source_name="Inspect log",
            notes=notes_line(b, r, req, decoding, all_ids, [x.task_id for x in results]),
        )
        record = b.task.metadata["run_eval"]
        entry.verify_token = sign(token_claims(entry, record, r, log), p.key)
        entries.append(entry)
    path = result_path(req.output_dir, benchmark.name)
    write_entries(path, entries)
    return RunOutcome(benchmark=benchmark, model=model, results=results, result_file=path)


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
        "seed": req.seed,
        "shuffle_choices_seed": b.shuffle_seed,
        "epochs": req.epochs if req.epochs is not None else m.epochs,
        "epoch_reducer": m.epoch_reducer or "mean",
        "limit": req.limit,
        "decoding": decoding,
        "backend": backend,
        "generate_config": generate_config,
        "model_args": portable_model_args(model, model_args),
        "packages": {
            "run-eval": package_version("run-eval"),
            "inspect_ai": package_version("inspect_ai"),
            "python": sys.version.split()[0],
        },
    }


def token_claims(entry: EvalResultEntry, record: dict[str, Any], r: TaskResult, log: Any) -> dict[str, Any]:
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
                                    "packages")},
        evidence={"log_sha256": log_sha256(log.location), "samples_sha256": samples_sha256(log)},
        executor=executor_claims(),
    )


def subset_claim(record: dict[str, Any], r: TaskResult) -> dict[str, Any] | None:
    """metric.subset: why the score covers fewer than all samples (--limit, failed samples)."""
    if r.samples >= r.total_samples and not r.errored:
        return None
    return {"limit": record["limit"], **({"errored": r.errored} if r.errored else {})}


def errored_ids(log: Any) -> set[str]:
    """Ids of the samples that failed (in any epoch)."""
    return {str(s.id) for s in log.samples or [] if s.error is not None}


def errors_allowed(allow: float | None, run: int) -> int:
    """How many of `run` samples may fail: --allow-errors N (a count) or X < 1 (a fraction)."""
    if allow is None:
        return 0
    return int(allow * run) if allow < 1 else int(allow)


def portable_model_args(model: ModelRef, model_args: dict[str, Any]) -> dict[str, Any]:
    """Model args as recorded: a pinned Hub snapshot's cache path is named by repo and commit."""
    if is_hub_model(model) and "model_path" in model_args:
        return {**model_args, "model_path": f"hf-snapshot:{model.name}@{model.revision}"}
    return dict(model_args)


def task_result(b: BuiltTask, log: Any) -> TaskResult:
    scores = log.results.scores if log.results else []
    if not scores:
        raise RunFailed([f"task {b.spec.task_id!r}: Inspect reported no scores (log: {log.location})"])
    first = scores[0]
    names = [n for n in first.metrics if n not in ("stderr", "std", "var")]
    metric = names[0] if names else next(iter(first.metrics))
    stderr = first.metrics.get("stderr")
    errored = errored_ids(log)
    return TaskResult(
        task_id=b.spec.task_id,
        metric=metric,
        value=float(first.metrics[metric].value),
        stderr=float(stderr.value) if stderr is not None else None,
        samples=int(log.results.completed_samples) // max(1, b.task.epochs or 1),  # Inspect counts epochs
        total_samples=b.samples,
        log=str(log.location),
        errored=len(errored),
        run_samples=len({str(s.id) for s in log.samples or []}),
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
) -> str:
    m = b.spec.model
    epochs = req.epochs if req.epochs is not None else m.epochs
    parts = [
        f"inspect-ai {package_version('inspect_ai')} via run-eval {package_version('run-eval')}",
        "solvers: " + ", ".join(s.name for s in m.solvers),
        f"scorer: {m.scorers[0].name} ({r.metric})",
        f"epochs: {epochs} ({m.epoch_reducer or 'mean'})",
        f"seed: {req.seed}",
        f"decoding: {decoding.mode}",
        f"backend: {decoding.backend}",
    ]
    if b.shuffle_seed is not None:
        parts.append(f"choices shuffled with seed {b.shuffle_seed}")
    if req.limit is not None and req.limit < b.samples:
        parts.append(f"limit: {min(req.limit, b.samples)} of {b.samples} samples")
    if r.errored:
        parts.append(f"{r.errored} of {r.run_samples} samples failed (left out of the score)")
    if set(run_ids) != set(all_ids):
        parts.append(f"tasks run: {', '.join(run_ids)} of {', '.join(all_ids)}")
    return "; ".join(parts)


def one_line(text: str, limit: int = 300) -> str:
    """An error message on one line: rich markup dropped, lines joined, shortened."""
    plain = re.sub(r"\[/?(bold|italic|red|green|yellow|blue|dim|b|i)\]", "", str(text))
    line = " ".join(part.strip() for part in plain.splitlines() if part.strip()) or "unknown error"
    return line if len(line) <= limit else line[: limit - 1] + "…"
