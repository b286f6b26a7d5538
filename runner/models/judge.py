"""The judge of a model-graded benchmark, pinned and recorded like the evaluated model.

A judge is part of the method: two scores graded by different judges (or by two snapshots
of one judge) are not comparable. The judge of every model-graded scorer
(``model_graded_fact``, ``model_graded_qa``) of the selected tasks is

* the ``--judge`` models when given (one, or several: Inspect grades by majority vote);
* else the ``model`` the eval.yaml declares for that scorer;
* else (nothing declared) the evaluated model itself, as in Inspect.

Each judge is resolved like MODEL: a Hub model pinned to its commit (the snapshot at that
commit is what loads), a local folder by content digest; decoded greedily with the run's
seed for local models. run-eval gives the judge to Inspect through a model role
(``grader``, Inspect's own default role of these scorers; the scorer's ``model`` arg is
dropped so the role is used), so the Inspect log records it (``eval.model_roles``) and
every grading prompt and answer is in the sample's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from run_eval.runner.errors import one_line
from run_eval.runner.models.decoding import Decoding, decoding_settings
from run_eval.runner.models.reference import (
    LOCAL_PROVIDERS,
    ModelError,
    ModelRef,
    pin_hub_model,
    portable_model_args,
    resolve_model,
)
from run_eval.tasks.registry import GRADED_SCORERS
from run_eval.tasks.spec import TaskSpec

ROLE = "grader"


def declared_judges(task: TaskSpec) -> list[str]:
    """The judges the eval.yaml names for the task's model-graded scorers (in order, once each)."""
    out: list[str] = []
    for s in task.model.scorers:
        if s.name in GRADED_SCORERS:
            model = s.args.get("model")
            out += [str(m) for m in (model if isinstance(model, list) else [model]) if m is not None]
    return list(dict.fromkeys(out))


def is_graded(task: TaskSpec) -> bool:
    return any(s.name in GRADED_SCORERS for s in task.model.scorers)


@dataclass(frozen=True)
class Judge:
    """One judge model, resolved, pinned and with its decoding settings."""

    given: str  # as named (--judge, the eval.yaml)
    ref: ModelRef
    decoding: Decoding

    def record(self) -> dict[str, Any]:
        """What the token records of it: model string, provider, revision, decoding."""
        return {"model": self.ref.spec, "id": self.ref.model_id, "provider": self.ref.provider,
                "revision": self.ref.revision, "generate_config": self.decoding.generate_config,
                "model_args": portable_model_args(self.ref, self.decoding.model_args),
                "decoding": self.decoding.mode, "backend": self.decoding.backend}

    def inspect_model(self) -> Any:
        """The Inspect model that grades (built now: a local judge's weights load here)."""
        from inspect_ai.model import GenerateConfig, get_model

        from run_eval.runner.models.providers import describe_local_model

        d = self.decoding
        if self.ref.provider in LOCAL_PROVIDERS:
            describe_local_model(d.model)
        return get_model(d.model, config=GenerateConfig(**d.generate_config), **d.model_args)


def resolve_judge(given: str, *, seed: int, backend: str, what: str) -> Judge:
    """Resolve and pin one judge; ModelError naming ``what`` (``--judge X``, the eval.yaml)."""
    try:
        ref, args = pin_hub_model(resolve_model(given), {})
        decoding = decoding_settings(ref, seed=seed, temperature=None, max_tokens=None, max_connections=None,
                                     model_args=args, backend=backend)
    except ModelError as ex:
        raise ModelError(f"judge {given!r} ({what}): {_strip_model_prefix(str(ex))}") from None
    except Exception as ex:  # pin_hub_model raises its own one-line errors for the Hub
        lines = getattr(ex, "lines", None) or [str(ex)]
        raise ModelError(f"judge {given!r} ({what}): {_strip_model_prefix(lines[0])}") from None
    return Judge(given, ref, decoding)


def _strip_model_prefix(msg: str) -> str:
    return msg.split(": ", 1)[1] if msg.startswith("MODEL ") and ": " in msg else msg


@dataclass(frozen=True)
class TaskJudges:
    """A task's judges: those used, and those its eval.yaml declares."""

    used: tuple[Judge, ...]  # empty: the evaluated model grades (nothing declared, no --judge)
    declared: tuple[str, ...]

    @property
    def substituted(self) -> bool:
        return bool(self.used) and tuple(j.given for j in self.used) != self.declared

    def record(self, model: ModelRef) -> dict[str, Any]:
        used = [j.record() for j in self.used] if self.used else [{"model": model.spec, "evaluated_model": True}]
        return {"used": used, "declared": list(self.declared) or None, "substituted": self.substituted}

    def notes(self, model: ModelRef) -> str:
        used = ", ".join(j.given for j in self.used) if self.used else f"{model.spec} (the evaluated model)"
        declared = ", ".join(self.declared) or "none"
        return f"judge: {used}" + (f" (eval.yaml: {declared})" if self.substituted else "")


def task_judges(tasks: list[TaskSpec], judges: tuple[str, ...], *, seed: int, backend: str
                ) -> dict[str, TaskJudges]:
    """task id -> its judges, for the tasks with a model-graded scorer. Each distinct judge
    is resolved (and a Hub judge fetched) once."""
    cache: dict[str, Judge] = {}

    def get(name: str, what: str) -> Judge:
        if name not in cache:
            cache[name] = resolve_judge(name, seed=seed, backend=backend, what=what)
        return cache[name]

    out = {}
    for t in tasks:
        if not is_graded(t):
            continue
        declared = tuple(declared_judges(t))
        if judges:
            used = tuple(get(j, "--judge") for j in judges)
        else:
            used = tuple(get(j, f"task {t.task_id!r} of the eval.yaml") for j in declared)
        out[t.task_id] = TaskJudges(used, declared)
    return out


def role_names(judges: dict[str, TaskJudges]) -> dict[str, str]:
    """task id -> the model role its scorers grade with. Tasks graded by the same judges
    share a role; the first set is ``grader``. Tasks the evaluated model grades have none."""
    by_set: dict[tuple[str, ...], str] = {}
    out = {}
    for task_id, tj in judges.items():
        if tj.used:
            key = tuple(j.given for j in tj.used)
            out[task_id] = by_set.setdefault(key, ROLE if not by_set else f"{ROLE}_{len(by_set) + 1}")
    return out


def bind_roles(judges: dict[str, TaskJudges], task_role: dict[str, str]) -> dict[str, Any]:
    """Inspect's ``model_roles``: each role bound to its judge (a list: majority vote). A
    local judge's weights load here; a judge that cannot be built is a ModelError."""
    bound: dict[str, Any] = {}
    for task_id, role in task_role.items():
        if role in bound:
            continue
        models = []
        for j in judges[task_id].used:
            try:
                models.append(j.inspect_model())
            except Exception as ex:  # providers raise their own types (missing API key, no such model)
                raise ModelError(f"judge {j.given!r} cannot be used: {one_line(str(ex))}") from None
        bound[role] = models[0] if len(models) == 1 else models
    return bound


def judge_identity(judge: dict[str, Any] | None) -> list[str]:
    """The judges of a run record or claim (``run.judge``), each as ``model@revision``."""
    used = (judge or {}).get("used") or []
    return [f"{u.get('model')}@{u.get('revision')}" if u.get("revision") else str(u.get("model")) for u in used]


def expected_identity(task: TaskSpec, judges: tuple[str, ...], model: ModelRef) -> list[str]:
    """The ``judge_identity`` a run of ``task`` with these --judge options would record,
    resolved without fetching anything (a Hub judge's branch to its commit)."""
    from run_eval.runner.models.reference import is_hub_model
    from run_eval.tasks.hub import resolve_commit

    if not is_graded(task):
        return []
    names = judges or tuple(declared_judges(task))
    if not names:
        return [model.spec]
    out = []
    for name in names:
        ref = resolve_model(name)
        revision = resolve_commit(ref.name, ref.requested_revision, "model") if is_hub_model(ref) else ref.revision
        out.append(f"{ref.spec}@{revision}" if revision else ref.spec)
    return out
