"""``run-eval lint``: a benchmark's method checked against its data before any model runs.

A method bug of the DROP kind (a ``.`` stop sequence on decimal targets) produces a signed,
plausible score; nothing fails. Lint reads the tasks exactly as a run builds them (same
loader, same pinning, same samples) and reports each rule it finds broken
(:data:`RULES`) with the samples it touches. ``run`` lints first and stops on errors.
"""

from __future__ import annotations

from run_eval.tasks.build import BuiltTask
from run_eval.tasks.lint.checks import ModelLimits, TaskData, lint_task
from run_eval.tasks.lint.findings import RULES, Finding, Rule, SampleRef

__all__ = ["RULES", "Finding", "ModelLimits", "Rule", "SampleRef", "TaskData", "lint_built", "errors_of"]


def task_data(built: BuiltTask) -> TaskData:
    samples = list(built.task.dataset)
    return TaskData(built.spec.task_id, built.spec.model, list(zip(built.sample_ids(), samples)), built.columns)


def lint_built(built: list[BuiltTask], limits: ModelLimits | None = None) -> list[Finding]:
    """Every finding of every task, errors first, in task order."""
    found = [f for b in built for f in lint_task(task_data(b), limits)]
    return sorted(found, key=lambda f: f.severity != "error")


def errors_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]
