"""`run-eval diff A B`: why two scores differ, field by field from their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

from run_eval.runner.models.judge import judge_identity
from run_eval.signing.claims import Claims, Section


def judge_of(c: Claims) -> list[str] | None:
    """The judges that graded, as ``judge_identity`` names them (model, revision or digest,
    decoding mode, the models that answered an unpinned one), not the whole ``run.judge.used``
    record: two runs differing only in --seed or --backend had the same judge."""
    judge = c.run.judge if c.run is not None else None
    return judge_identity(judge) if judge is not None else None


# a path in the claims, or a function of them for a field that is computed
FieldPath = Union[tuple[str, ...], Callable[[Claims], Any]]

# (label, path in the claims, does a difference make the numbers incomparable?)
FIELDS: list[tuple[str, FieldPath, bool]] = [
    ("benchmark", ("dataset", "id"), True),
    ("benchmark commit", ("dataset", "revision"), True),
    ("config / split", ("dataset", "config"), True),
    ("split", ("dataset", "split"), True),
    ("task", ("dataset", "task_id"), True),
    ("spec fingerprint", ("spec", "sha256"), True),
    ("eval.yaml sha256", ("spec", "eval_yaml_sha256"), False),
    ("solvers", ("spec", "task", "solvers"), True),
    ("scorers", ("spec", "task", "scorers"), True),
    ("field_spec", ("spec", "task", "field_spec"), True),
    ("shuffle_choices", ("spec", "task", "shuffle_choices"), True),
    ("model", ("model", "id"), False),
    ("model commit", ("model", "revision"), False),
    ("max_tokens", ("run", "generate_config", "max_tokens"), True),
    ("temperature", ("run", "generate_config", "temperature"), True),
    ("top_p", ("run", "generate_config", "top_p"), True),
    ("seed", ("run", "seed"), False),
    ("decoding", ("run", "decoding"), True),
    ("backend", ("run", "backend"), False),
    ("model_args", ("run", "model_args"), False),
    ("epochs", ("run", "epochs"), True),
    ("epoch_reducer", ("run", "epoch_reducer"), True),
    ("limit", ("run", "limit"), True),
    ("judge", judge_of, True),
    ("judge declared", ("run", "judge", "declared"), False),
    ("lint enforced", ("run", "lint", "enforced"), False),
    ("lint ignored", ("run", "lint", "ignored"), False),
    ("lint errors", ("run", "lint", "errors"), False),
    ("metric", ("metric", "name"), True),
    ("value", ("metric", "value"), False),
    ("stderr", ("metric", "stderr"), False),
    ("samples", ("metric", "samples"), True),
    ("subset", ("metric", "subset"), True),
    ("inspect_ai", ("run", "packages", "inspect_ai"), False),
    ("run-eval", ("run", "packages", "run-eval"), False),
    # the environment lock: none of these makes two numbers incomparable by itself, but each can
    # change greedy answers (reproduce names them when a re-run differs)
    ("torch", ("run", "packages", "torch"), False),
    ("transformers", ("run", "packages", "transformers"), False),
    ("accelerate", ("run", "packages", "accelerate"), False),
    ("tokenizers", ("run", "packages", "tokenizers"), False),
    ("vllm", ("run", "packages", "vllm"), False),
    ("device", ("run", "environment", "device"), False),
    ("accelerator", ("run", "environment", "accelerator"), False),
    ("accelerator_count", ("run", "environment", "accelerator_count"), False),
    ("dtype", ("run", "environment", "dtype"), False),
    ("cuda", ("run", "environment", "cuda"), False),
    ("executor", ("executor", "kind"), False),
]


def get(claims: Claims, path: FieldPath) -> Any:
    """The value at ``path`` in typed claims: sections and their fields by attribute, the free-form
    mappings (generate_config, model_args, packages, the spec's task) by key; None where absent.
    A computed field's function is called on the claims."""
    if callable(path):
        return path(claims)
    value: Any = claims
    for p in path:
        if value is None:
            return None
        value = value.get(p) if isinstance(value, dict) else getattr(value, p, None)
    if isinstance(value, Section):
        return value.model_dump(mode="json")
    return value


@dataclass
class Row:
    label: str
    a: Any
    b: Any
    breaks: bool  # a difference here makes the two numbers incomparable

    @property
    def differs(self) -> bool:
        return self.a != self.b


def compare(a: Claims, b: Claims) -> tuple[list[Row], list[str], list[str]]:
    """(rows, blocking differences, other differences)."""
    rows = [Row(label, get(a, path), get(b, path), breaks) for label, path, breaks in FIELDS]
    blocking = [r.label for r in rows if r.differs and r.breaks]
    other = [r.label for r in rows if r.differs and not r.breaks and r.label not in ("value", "stderr")]
    return rows, blocking, other


def sample_agreement(log_a: Any, log_b: Any) -> tuple[int, int, list[str]]:
    """(samples scored in both, of which the same score, ids that differ)."""
    from run_eval.signing.evidence import per_sample_values

    va, vb = per_sample_values(log_a), per_sample_values(log_b)
    both = sorted(set(va) & set(vb), key=str)
    differ = [i for i in both if va[i] != vb[i]]
    return len(both), len(both) - len(differ), differ
