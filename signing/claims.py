"""The verifyToken's claims, typed: one frozen msgspec ``Struct`` per section, and pure
converters to and from the token's JSON payload (in the manner of huggingface_hub's
``EvalResultEntry``).

Every reader of a token goes through :class:`Claims`, so a section is either there with the
types run-eval writes, or absent (``None``) where it may be: a command that needs an absent
section says so in one line instead of failing on a missing key. A payload that does not
fit is a malformed token (:class:`ClaimsError`, one line naming the claim).

Why msgspec and not pydantic: ``run-eval verify`` decides every entry of every file it is
given, and importing pydantic and building these models was about a third of the command's
start-up, and checking a payload several times what msgspec takes (BENCHMARKS.md section 3).
msgspec checks the same declared types in strict mode (a string is not a number, a float
not an int, no inf or NaN); only the one-line reason is worked out here, when it fails.

>>> c = Claims.from_payload({"version": 1, "hash": "ab", "iat": 1760000000, "entry": {},
...     "model": {"id": "org/m"}, "dataset": {"id": "org/b", "task_id": "t"},
...     "metric": {"name": "accuracy", "value": 0.5}})
>>> c.model.id, c.metric.value, c.run is None
('org/m', 0.5, True)
>>> Claims.from_payload({**c.to_payload(), "metric": {"name": "accuracy"}})
Traceback (most recent call last):
...
run_eval.signing.claims.ClaimsError: claim metric.value: required
>>> Claims.from_payload({**c.to_payload(), "run": {"seed": 1.0}})
Traceback (most recent call last):
...
run_eval.signing.claims.ClaimsError: claim run.seed: expected an integer (got 1.0)
"""

from __future__ import annotations

import copy
import math
import sys
import types
import typing
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct


class ClaimsError(ValueError):
    """The payload is not run-eval's claims; the message is one line naming the claim."""


# a JSON number that is finite (what allow_inf_nan=False said): inf and NaN are out of range
Finite = Annotated[float, Meta(ge=-sys.float_info.max, le=sys.float_info.max)]


class Section(Struct, frozen=True):
    """A section of the claims. Strict types (msgspec.convert(..., strict=True)); members a
    section does not declare are ignored here, but kept in :meth:`Claims.to_payload` (a
    newer run-eval may add some, and they are part of what was signed)."""

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The section's declared fields as a plain dict (nested sections as dicts, defaults
        included), as pydantic's ``model_dump`` gave it; every value is JSON already, so
        ``mode`` is accepted for the callers' sake and changes nothing."""
        return msgspec.to_builtins(self)


class ModelClaim(Section, frozen=True):
    """Which model: its id (binds the token to a model repo), its commit or content digest,
    and the Inspect model string it ran as."""

    id: str
    revision: str | None = None
    spec: str | None = None


class DatasetClaim(Section, frozen=True):
    """Which data: the benchmark's id and revision, how it was pinned, and the task."""

    id: str
    task_id: str
    revision: str | None = None
    pin: str | None = None  # hub | git | content
    config: str | None = None
    split: str | None = None


class SpecClaim(Section, frozen=True):
    """Which method: the task's fingerprint, the eval.yaml's digest, the task after defaults."""

    sha256: str
    eval_yaml_sha256: str | None = None
    task: dict[str, Any] | None = None


class MetricClaim(Section, frozen=True):
    """The number: the metric's name and value, its stderr, and how many samples it covers."""

    name: str
    value: Finite
    stderr: Finite | None = None
    samples: int | None = None
    total_samples: int | None = None
    subset: dict[str, Any] | None = None  # why fewer than all samples: {limit, errored}


class EnvironmentClaim(Section, frozen=True):
    """Where the weights ran: what can change greedy answers besides the package versions."""

    device: str | None = None  # cpu | cuda | mps | ...
    accelerator: str | None = None  # e.g. "NVIDIA H200"; None on a CPU
    accelerator_count: int | None = None
    dtype: str | None = None  # the weights' dtype as loaded (or asked for)
    cuda: str | None = None  # torch's CUDA version


class LintClaim(Section, frozen=True):
    """What ``run-eval lint`` found before the run: the rules broken, and whether its errors
    could stop the run (``enforced`` is False when it ran with ``--no-lint``; ``ignored``
    names the rules accepted with ``--lint-ignore``)."""

    enforced: bool
    ignored: list[str] = []  # rules whose errors were accepted with --lint-ignore
    errors: list[str] = []
    warnings: list[str] = []


class JudgeClaim(Section, frozen=True):
    """Who graded a model-graded task: the judges used (model string, provider, revision or
    digest, decoding, and for a judge that is not pinned, such as an API alias, the models
    that answered: ``answered_by``), the ones the eval.yaml declares, and whether they differ.
    What makes two judges the same is ``judge_identity`` (runner/models/judge.py)."""

    used: list[dict[str, Any]]
    declared: list[str] | None = None
    substituted: bool = False


class RunClaim(Section, frozen=True):
    """How it ran: seeds, epochs, limit, decoding, backend, generate config, model args,
    package versions and the environment."""

    seed: int | None = None
    shuffle_choices_seed: int | None = None
    epochs: int | None = None
    epoch_reducer: str | None = None
    limit: int | None = None
    decoding: str | None = None
    backend: str | None = None
    generate_config: dict[str, Any] = {}
    model_args: dict[str, Any] = {}
    packages: dict[str, str | None] = {}
    environment: EnvironmentClaim | None = None
    lint: LintClaim | None = None  # absent in tokens from before lint
    judge: JudgeClaim | None = None  # model-graded tasks only


class EvidenceClaim(Section, frozen=True):
    """The Inspect log: its sha256, and the digest of its per-sample scores."""

    log_sha256: str
    samples_sha256: str


class ExecutorClaim(Section, frozen=True):
    """Where the run was executed: this machine, or an HF Job (by id, flavor, namespace)."""

    kind: Literal["local", "hf-jobs"]
    job_id: str | None = None
    flavor: str | None = None
    namespace: str | None = None


class Claims(Section, frozen=True, dict=True):
    """All of a token's claims. ``model``, ``dataset`` and ``metric`` are always there; the
    other sections may be absent (``None``) in a token from another or an older signer.
    (``dict=True``: room for the payload as signed, which :meth:`to_payload` gives back.)"""

    version: Literal[1]
    hash: str
    iat: Finite
    entry: dict[str, Any]
    model: ModelClaim
    dataset: DatasetClaim
    metric: MetricClaim
    spec: SpecClaim | None = None
    run: RunClaim | None = None
    evidence: EvidenceClaim | None = None
    executor: ExecutorClaim | None = None

    @classmethod
    def from_payload(cls, payload: Any) -> Claims:
        """The payload (a token's decoded JSON) as typed claims; ClaimsError naming the first
        claim that does not fit (in the order the sections and their fields are declared)."""
        if not isinstance(payload, dict):
            raise ClaimsError("the claims are not a JSON object")
        try:
            claims = msgspec.convert(payload, cls, strict=True)
        except msgspec.ValidationError as ex:
            raise ClaimsError(_describe(payload, cls, ex)) from None
        msgspec.structs.force_setattr(claims, "_payload", payload)
        return claims

    def to_payload(self) -> dict[str, Any]:
        """The claims as the token's JSON payload: every member as signed, the ones no
        section declares included (absent sections left out)."""
        payload = getattr(self, "_payload", None)
        if payload is None:  # built by hand, not from a payload
            return {k: v for k, v in msgspec.to_builtins(self).items() if v is not None}
        return copy.deepcopy(payload)

    def section(self, name: str) -> Any:
        """A section by name, or None (for a field table such as `diff`'s); a member that no
        section declares, as it was signed."""
        if name in self.__struct_fields__:
            return getattr(self, name)
        payload = getattr(self, "_payload", None)
        return payload.get(name) if payload is not None else None

    # a copy keeps the payload as signed (msgspec's own copy and pickle know the fields only)
    def __copy__(self) -> Claims:
        return self  # frozen: the same claims

    def __reduce__(self) -> tuple[Any, ...]:  # pickle, copy.deepcopy: checked again
        return type(self).from_payload, (self.to_payload(),)


# ------------------------------------------------------------------ the one-line reason

def _describe(payload: dict[str, Any], cls: type[Struct], ex: msgspec.ValidationError) -> str:
    """``claim WHERE: WHAT (got VALUE)`` for the first claim that does not fit. msgspec
    stops at the first problem in the payload's own member order; the reason names the first
    in the declared order (the same one for the same claims however their members are
    ordered), found by walking the declared types along the payload."""
    found = _first_problem(payload, cls, ())
    if found is None:  # the walk and msgspec disagree: say what msgspec said
        return f"claim: {' '.join(str(ex).split())}"
    where, expected, got = found
    name = ".".join(str(p) for p in where)
    if expected is None:
        return f"claim {name}: required"
    shown = repr(got) if isinstance(got, (str, int, float, bool)) or got is None else type(got).__name__
    if len(shown) > 60:
        shown = shown[:59] + "…"
    return f"claim {name}: {expected} (got {shown})"


_Problem = tuple[tuple[Any, ...], "str | None", Any]  # (where, what was expected or None if missing, what was there)
_SCALARS = {str: "expected a string", int: "expected an integer", bool: "expected true or false"}


def _first_problem(value: Any, tp: Any, where: tuple[Any, ...]) -> _Problem | None:
    """The first place where ``value`` does not fit the declared type ``tp``, or None."""
    if tp is Any:
        return None
    origin = typing.get_origin(tp)
    if origin is Annotated:  # Finite
        if isinstance(value, float) and not math.isfinite(value):
            return where, "expected a finite number", value
        return _first_problem(value, typing.get_args(tp)[0], where)
    if origin in (Union, types.UnionType):  # X | None
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _first_problem(value, inner, where)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if any(type(value) is type(a) and value == a for a in allowed):
            return None
        names = [repr(a) for a in allowed]
        return where, "expected " + (f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]), value
    if isinstance(tp, type) and issubclass(tp, Struct):
        if not isinstance(value, dict):
            return where, "expected a JSON object", value
        for f in msgspec.structs.fields(tp):
            if f.encode_name not in value:
                if f.required:
                    return (*where, f.name), None, None
                continue
            found = _first_problem(value[f.encode_name], f.type, (*where, f.name))
            if found is not None:
                return found
        return None
    if origin is dict:
        if not isinstance(value, dict):
            return where, "expected a JSON object", value
        key_type, item_type = typing.get_args(tp)
        for k, v in value.items():
            found = _first_problem(k, key_type, (*where, k, "[key]")) or _first_problem(v, item_type, (*where, k))
            if found is not None:
                return found
        return None
    if origin is list:
        if not isinstance(value, list):
            return where, "expected a valid list", value
        (item_type,) = typing.get_args(tp)
        for i, v in enumerate(value):
            found = _first_problem(v, item_type, (*where, i))
            if found is not None:
                return found
        return None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return where, "expected a number", value
        try:
            float(value)
        except OverflowError:  # an integer beyond a float's range
            return where, "expected a number", value
        return None
    if tp in _SCALARS:
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return None if ok else (where, _SCALARS[tp], value)
    raise TypeError(f"no reason for the declared type {tp!r}")  # a type added to the claims above
