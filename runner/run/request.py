"""What a run is asked to do and what it gives back, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from run_eval.runner.errors import LinesError
from run_eval.runner.models.reference import ModelRef, parse_model_args
from run_eval.runner.run.options import DEFAULT_SEED, RunOptions
from run_eval.tasks.source import Benchmark


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
    seed: int = DEFAULT_SEED
    max_tokens: int | None = None
    temperature: float | None = None
    max_connections: int | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    log_dir: Path = Path("logs")
    output_dir: Path = Path(".")
    model_id: str | None = None
    dataset_id: str | None = None
    display: str | None = None  # Inspect display type; None = Inspect's default
    backend: str = "auto"  # see runner/models/decoding.py, backend_model
    expect_spec: dict[str, str] = field(default_factory=dict)  # task id -> fingerprint (jobs)
    sample_ids: list[str] | None = None  # evaluate only these samples (reproduce --samples)
    resume: bool = False  # continue this run's unfinished Inspect logs in log_dir (runner/run/resume.py)
    allow_errors: float | None = None  # errored samples a task may leave out: a count >= 1, or a fraction < 1

    @classmethod
    def from_options(cls, model: str, benchmark: str, options: RunOptions, **where: Any) -> RunRequest:
        """A request for these run options; ``where``: log_dir, output_dir, model_id, display, ...
        Raises ModelError for a bad ``-M``."""
        return cls(
            model=model, benchmark=benchmark, task_ids=options.task_ids, limit=options.limit,
            epochs=options.epochs, seed=options.seed, max_tokens=options.max_tokens,
            temperature=options.temperature, max_connections=options.max_connections,
            model_args=parse_model_args(options.model_args), backend=options.backend,
            allow_errors=options.allow_errors,
            sample_ids=[int(i) if str(i).isdigit() else i for i in options.sample_ids] or None,
            **where,
        )


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
