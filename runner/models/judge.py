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
(``grader``, Inspect's own default role of these scorers, or ``grader_2``... when tasks
have different judges; the scorer's ``model`` arg is dropped so the role is used), so the
Inspect log records it (``eval.model_roles``) and every grading prompt and answer is in the
sample's events. A task the evaluated model grades gets no role at all (``model_role``
None: Inspect's default model), so no scorer ever falls back on a role bound for another
task: each task is graded by the judge its token names.

What identifies a judge, for every command that asks "the same judge?" (diff, the
leaderboard, reproduce, sweep), is ``judge_identity``: its model string, its revision or
content digest, its decoding mode, and, for a judge that is not pinned (an API model,
whose name is an alias its provider can move), the models that actually answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # tasks.spec and tasks.registry import Inspect, which diff and the leaderboard
    from run_eval.tasks.spec import TaskSpec  # (judge_identity) must not: they are imported late

ROLE = "grader"


def declared_judges(task: TaskSpec) -> list[str]:
    """The judges the eval.yaml names for the task's model-graded scorers (in order, once each)."""
    from run_eval.tasks.registry import GRADED_SCORERS

    out: list[str] = []
    for s in task.model.scorers:
        if s.name in GRADED_SCORERS:
            model = s.args.get("model")
            out += [str(m) for m in (model if isinstance(model, list) else [model]) if m is not None]
    return list(dict.fromkeys(out))


def is_graded(task: TaskSpec) -> bool:
    from run_eval.tasks.registry import GRADED_SCORERS

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

    def notes(self, model: ModelRef, recorded: Mapping[str, Any] | None = None) -> str:
        """``judge: X`` (and the eval.yaml's when substituted); a judge that is not pinned (an
        API alias) says so, with the models that answered as ``recorded`` (see answered_by) has them."""
        answered = {u.get("model"): u.get("answered_by") for u in (recorded or {}).get("used") or []}

        def named(j: Judge) -> str:
            if j.ref.revision is not None:
                return j.given
            by = answered.get(j.ref.spec)
            return f"{j.given} (not pinned: {'answered by ' + ', '.join(by) if by else 'an API alias'})"

        used = ", ".join(named(j) for j in self.used) if self.used else f"{model.spec} (the evaluated model)"
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
    """task id -> the model role its scorers grade with, for every model-graded task. Tasks
    graded by the same judges share a role; the first set is ``grader``. A task the
    evaluated model grades gets ``EVALUATED_MODEL`` (no role: Inspect's default model), never
    Inspect's default role, which another task's judge may be bound to."""
    from run_eval.tasks.build import EVALUATED_MODEL

    by_set: dict[tuple[str, ...], str] = {}
    out = {}
    for task_id, tj in judges.items():
        if tj.used:
            key = tuple(j.given for j in tj.used)
            out[task_id] = by_set.setdefault(key, ROLE if not by_set else f"{ROLE}_{len(by_set) + 1}")
        else:
            out[task_id] = EVALUATED_MODEL
    return out


def bind_roles(judges: dict[str, TaskJudges], task_role: dict[str, str]) -> dict[str, Any]:
    """Inspect's ``model_roles``: each role bound to its judge (a list: majority vote). A
    local judge's weights load here; a judge that cannot be built is a ModelError."""
    from run_eval.tasks.build import EVALUATED_MODEL

    bound: dict[str, Any] = {}
    for task_id, role in task_role.items():
        if role in bound or role == EVALUATED_MODEL:
            continue
        models = []
        for j in judges[task_id].used:
            try:
                models.append(j.inspect_model())
            except Exception as ex:  # providers raise their own types (missing API key, no such model)
                raise ModelError(f"judge {j.given!r} cannot be used: {one_line(str(ex))}") from None
        bound[role] = models[0] if len(models) == 1 else models
    return bound


def identity_of(used: Mapping[str, Any]) -> str:
    """What identifies one judge of ``run.judge.used``: model string, revision or digest,
    decoding mode, and for a judge that is not pinned the models that answered (not the
    run's seed, backend or generate config: two runs differing only in those had the same
    judge). A task the evaluated model graded has "the evaluated model" (which the entry's
    model claim pins).

    >>> identity_of({"model": "hf/org/j", "revision": "abc", "decoding": "greedy", "seed": 1})
    'hf/org/j@abc (greedy)'
    >>> identity_of({"model": "openai/o3-mini", "decoding": "provider default",
    ...              "answered_by": ["o3-mini-2025-01-31"]})
    'openai/o3-mini (provider default; answered by o3-mini-2025-01-31)'
    >>> identity_of({"model": "hf/org/m", "evaluated_model": True})
    'the evaluated model'
    """
    if used.get("evaluated_model"):
        return "the evaluated model"
    name = f"{used.get('model')}@{used['revision']}" if used.get("revision") else str(used.get("model"))
    how = [str(used["decoding"])] if used.get("decoding") else []
    if used.get("answered_by"):
        how.append("answered by " + ", ".join(used["answered_by"]))
    return f"{name} ({'; '.join(how)})" if how else name


def judge_identity(judge: Any) -> list[str]:
    """The judges of a run record or claim (``run.judge``, a mapping or the claim's model),
    each as ``identity_of`` says: the one answer to "the same judge?" for every command."""
    if judge is not None and not isinstance(judge, Mapping):
        judge = judge.model_dump()
    return [identity_of(u) for u in (judge or {}).get("used") or []]


def answered_by(judge: Mapping[str, Any] | None, log: Any) -> dict[str, Any] | None:
    """The judge record (``run.judge``) with, for each judge that is not pinned (no revision:
    an API model, whose name is an alias its provider can move), ``answered_by``: the models
    that answered its requests in ``log``, as each answer names it (``ModelOutput.model`` of
    the samples' model events for that judge: those of its model string, made through a model
    role, which the evaluated model's own are not)."""
    if judge is None:
        return None
    used = []
    for u in judge.get("used") or []:
        if not u.get("evaluated_model") and not u.get("revision"):
            names = sorted({e.output.model for s in log.samples or [] for e in s.events
                            if e.event == "model" and e.role is not None and e.model == u.get("model")
                            and e.output.model})
            if names:
                u = {**u, "answered_by": names}
        used.append(u)
    return {**judge, "used": used}


def expected_identity(task: TaskSpec, judges: tuple[str, ...], model: ModelRef) -> list[str]:
    """The ``judge_identity`` a run of ``task`` with these --judge options would record,
    resolved without fetching anything (a Hub judge's branch to its commit). A judge that is
    not pinned does not match a recorded one that names the models that answered: like an
    API model's, what its answers would come from now cannot be known here."""
    from run_eval.runner.models.reference import is_hub_model
    from run_eval.tasks.hub import resolve_commit

    if not is_graded(task):
        return []
    names = judges or tuple(declared_judges(task))
    if not names:
        return [identity_of({"model": model.spec, "evaluated_model": True})]
    out = []
    for name in names:
        ref = resolve_model(name)
        revision = resolve_commit(ref.name, ref.requested_revision, "model") if is_hub_model(ref) else ref.revision
        mode = decoding_settings(ref, seed=0, temperature=None, max_tokens=None, max_connections=None,
                                 model_args={}).mode
        out.append(identity_of({"model": ref.spec, "revision": revision, "decoding": mode}))
    return out
