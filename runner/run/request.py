"""What a run is asked to do and what it gives back, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.errors import LinesError
from run_eval.runner.models.reference import ModelRef, parse_model_args
from run_eval.runner.run.options import RunOptions
from run_eval.tasks.source import Benchmark


class RunFailed(LinesError):
    """The evaluation ran but did not finish; ``lines`` say why, the Inspect logs hold the evidence."""


class RunInterrupted(RunFailed):
    """The user stopped the run (Ctrl-C) before every task finished."""


@dataclass
class RunRequest:
    """One run: MODEL on BENCHMARK with these options, and where its files go."""

    model: str
    benchmark: str
    options: RunOptions = field(default_factory=RunOptions)
    log_dir: Path = Path("logs")
    output_dir: Path = Path(".")
    model_id: str | None = None
    dataset_id: str | None = None
    display: str | None = None  # Inspect display type; None = Inspect's default
    expect_spec: dict[str, str] = field(default_factory=dict)  # task id -> fingerprint (jobs)
    shard: tuple[int, int] | None = None  # (k, n), from 0: run only shard k of n into log_dir (runner/run/sharded.py)
    resume: bool = False  # continue this run's unfinished Inspect logs in log_dir (runner/run/resume.py)
    # a sentence put first in each entry's notes, from that task's result, before the entry is signed (so
    # the token binds it): `reproduce` of a published value says there what it checked and found
    note: Callable[[TaskResult], str] | None = None
    # the token's executor claim when the samples ran elsewhere than this process (the HF Jobs of a sharded
    # run, runner/remote/sharded.py); None: this process (jobs/executor.py)
    executor: dict[str, Any] | None = None

    @property
    def model_args(self) -> dict[str, Any]:
        """The ``-M`` options as values (YAML scalars); ModelError for a bad one."""
        return parse_model_args(self.options.model_args)

    @property
    def sample_ids(self) -> list[int | str] | None:
        """The samples to evaluate (numeric ids as Inspect numbers them), or None for all."""
        return [int(i) if str(i).isdigit() else i for i in self.options.sample_ids] or None


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
