"""What lint reports: one :class:`Finding` per rule and task, and the table of rules.

>>> f = Finding("stop-in-target", "quarters", 2, (SampleRef("3", "0.75"),), "cuts 2 targets")
>>> f.severity, f.as_json()["samples"]
('error', [{'id': '3', 'value': '0.75'}])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
MAX_SAMPLES = 3  # sample ids shown per finding


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str  # what the rule catches, for README and --help


RULES: dict[str, Rule] = {r.id: r for r in [
    Rule("stop-in-target", "error",
         "a stop sequence of the generate config occurs inside expected answers, and the answer cut there "
         "scores lower with the declared scorer (the DROP bug)"),
    Rule("stop-in-target-unchecked", "warning",
         "a stop sequence occurs inside targets whose scorer cannot be run offline (pattern, model-graded)"),
    Rule("target-unscorable", "error",
         "the target itself, answered in the scorer's format, is scored wrong by the declared scorer "
         "(e.g. it normalises to nothing)"),
    Rule("target-matches-anything", "error",
         "an empty answer is scored right for this target (e.g. a target of only punctuation under match)"),
    Rule("choice-target-out-of-range", "error",
         "the choice scorer cannot read a sample's target: a letter or number beyond its choices, or not a "
         "label at all (Inspect's scorer raises on it; `b`, `A,C` and numeric labels it reads are fine)"),
    Rule("literal-target-is-column", "warning",
         "a literal: target is the name of a column (the column was probably meant)"),
    Rule("too-few-choices", "error", "a multiple-choice sample has fewer than two choices"),
    Rule("duplicate-choices", "warning", "a sample lists the same choice twice"),
    Rule("empty-input", "error", "a sample's input is empty"),
    Rule("empty-target", "error", "a sample's target is empty"),
    Rule("conflicting-targets", "warning", "samples with the same input (and choices) have different targets"),
    Rule("duplicate-id", "error", "two samples share an id"),
    Rule("template-field-missing", "warning",
         "a {field} of a prompt or system template that some or all samples' metadata lack (Inspect keeps it "
         "as written: a literal `{word}` may be meant); an error in a model_graded_* template, whose "
         "str.format fails every grading"),
    Rule("template-literal-brace", "warning",
         "literal braces in a template that are read as a field and change the text"),
    Rule("template-invalid", "error", "a template that cannot be rendered for a sample (the run would fail)"),
    Rule("template-no-prompt", "error",
         "a prompt_template without {prompt} that leaves every sample with the same prompt: no input reaches "
         "the model (a warning when metadata fields fill it but the input itself is not among them)"),
    Rule("max-tokens-below-target", "error",
         "with --model: max_tokens is smaller than targets in that model's tokens (not for model_graded_* "
         "scorers, whose targets are grading criteria, not answers)"),
    Rule("prompt-exceeds-context", "error", "with --model: prompts longer than the model's context"),
]}


@dataclass(frozen=True)
class SampleRef:
    """A sample a finding touches, and the offending value (shortened)."""

    id: str
    value: str

    @classmethod
    def of(cls, sample_id: Any, value: Any, width: int = 60) -> SampleRef:
        text = value if isinstance(value, str) else repr(value)
        return cls(str(sample_id), text if len(text) <= width else text[: width - 1] + "…")


@dataclass(frozen=True)
class Finding:
    """One rule broken by one task: how many samples, up to three examples, and what to do."""

    rule: str
    task_id: str
    count: int
    samples: tuple[SampleRef, ...]
    message: str  # what is wrong and what to do, one line
    severity_override: Severity | None = None

    @property
    def severity(self) -> Severity:
        return self.severity_override or RULES[self.rule].severity

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "task_id": self.task_id, "count": self.count,
                "samples": [{"id": s.id, "value": s.value} for s in self.samples], "message": self.message}

    def line(self) -> str:
        """The finding as one line, for a run's stderr."""
        shown = ", ".join(f"{s.id}: {s.value!r}" for s in self.samples)
        return f"{self.severity} {self.rule} [task {self.task_id}] {self.message}" + (
            f" (e.g. sample {shown})" if shown else "")


def finding(rule: str, task_id: str, hits: list[SampleRef], message: str,
            severity: Severity | None = None) -> Finding:
    return Finding(rule, task_id, len(hits), tuple(hits[:MAX_SAMPLES]), message, severity)
