"""The verifyToken's claims, typed: one frozen model per section, and pure converters to and
from the token's JSON payload (in the manner of huggingface_hub's ``EvalResultEntry``).

Every reader of a token goes through :class:`Claims`, so a section is either there with the
types run-eval writes, or absent (``None``) where it may be: a command that needs an absent
section says so in one line instead of failing on a missing key. A payload that does not
fit is a malformed token (:class:`ClaimsError`, one line naming the claim).

>>> c = Claims.from_payload({"version": 1, "hash": "ab", "iat": 1760000000, "entry": {},
...     "model": {"id": "org/m"}, "dataset": {"id": "org/b", "task_id": "t"},
...     "metric": {"name": "accuracy", "value": 0.5}})
>>> c.model.id, c.metric.value, c.run is None
('org/m', 0.5, True)
>>> Claims.from_payload({**c.to_payload(), "metric": {"name": "accuracy"}})
Traceback (most recent call last):
...
run_eval.signing.claims.ClaimsError: claim metric.value: required
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class ClaimsError(ValueError):
    """The payload is not run-eval's claims; the message is one line naming the claim."""


class _Section(BaseModel):
    # strict: a string is not a number, a float not an int; unknown members are kept (a
    # newer run-eval may add some) and are part of what was signed
    model_config = ConfigDict(frozen=True, strict=True, extra="allow", allow_inf_nan=False)


class ModelClaim(_Section):
    """Which model: its id (binds the token to a model repo), its commit or content digest,
    and the Inspect model string it ran as."""

    id: str
    revision: str | None = None
    spec: str | None = None


class DatasetClaim(_Section):
    """Which data: the benchmark's id and revision, how it was pinned, and the task."""

    id: str
    task_id: str
    revision: str | None = None
    pin: str | None = None  # hub | git | content
    config: str | None = None
    split: str | None = None


class SpecClaim(_Section):
    """Which method: the task's fingerprint, the eval.yaml's digest, the task after defaults."""

    sha256: str
    eval_yaml_sha256: str | None = None
    task: dict[str, Any] | None = None


class MetricClaim(_Section):
    """The number: the metric's name and value, its stderr, and how many samples it covers."""

    name: str
    value: float
    stderr: float | None = None
    samples: int | None = None
    total_samples: int | None = None
    subset: dict[str, Any] | None = None  # why fewer than all samples: {limit, errored}


class EnvironmentClaim(_Section):
    """Where the weights ran: what can change greedy answers besides the package versions."""

    device: str | None = None  # cpu | cuda | mps | ...
    accelerator: str | None = None  # e.g. "NVIDIA H200"; None on a CPU
    accelerator_count: int | None = None
    dtype: str | None = None  # the weights' dtype as loaded (or asked for)
    cuda: str | None = None  # torch's CUDA version


class LintClaim(_Section):
    """What ``run-eval lint`` found before the run: the rules broken, and whether its errors
    could stop the run (``enforced`` is False when it ran with ``--no-lint``; ``ignored``
    names the rules accepted with ``--lint-ignore``)."""

    enforced: bool
    ignored: list[str] = []  # rules whose errors were accepted with --lint-ignore
    errors: list[str] = []
    warnings: list[str] = []


class JudgeClaim(_Section):
    """Who graded a model-graded task: the judges used (model string, provider, revision or
    digest, decoding, and for a judge that is not pinned, such as an API alias, the models
    that answered: ``answered_by``), the ones the eval.yaml declares, and whether they differ.
    What makes two judges the same is ``judge_identity`` (runner/models/judge.py)."""

    used: list[dict[str, Any]]
    declared: list[str] | None = None
    substituted: bool = False


class RunClaim(_Section):
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


class EvidenceClaim(_Section):
    """The Inspect log: its sha256, and the digest of its per-sample scores."""

    log_sha256: str
    samples_sha256: str


class ExecutorClaim(_Section):
    """Where the run was executed: this machine, or an HF Job (by id, flavor, namespace)."""

    kind: Literal["local", "hf-jobs"]
    job_id: str | None = None
    flavor: str | None = None
    namespace: str | None = None


class Claims(_Section):
    """All of a token's claims. ``model``, ``dataset`` and ``metric`` are always there; the
    other sections may be absent (``None``) in a token from another or an older signer."""

    version: Literal[1]
    hash: str
    iat: float
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
        claim that does not fit."""
        if not isinstance(payload, dict):
            raise ClaimsError("the claims are not a JSON object")
        try:
            return cls.model_validate(payload)
        except ValidationError as ex:
            raise ClaimsError(_describe(ex.errors()[0])) from None

    def to_payload(self) -> dict[str, Any]:
        """The claims as the token's JSON payload (absent sections left out)."""
        return self.model_dump(mode="json", exclude_none=False, exclude_unset=True)

    def section(self, name: str) -> Any:
        """A section by name, or None (for a field table such as `diff`'s)."""
        return getattr(self, name, None)


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "missing":
        return f"claim {where}: required"
    got = err.get("input")
    shown = repr(got) if isinstance(got, (str, int, float, bool)) or got is None else type(got).__name__
    if len(shown) > 60:
        shown = shown[:59] + "…"
    expected = _EXPECTED.get(kind) or str(err.get("msg", kind)).replace("Input should be", "expected")
    return f"claim {where}: {expected[:1].lower() + expected[1:]} (got {shown})"


_EXPECTED = {"model_type": "expected a JSON object", "dict_type": "expected a JSON object",
             "string_type": "expected a string", "int_type": "expected an integer",
             "float_type": "expected a number", "bool_type": "expected true or false",
             "finite_number": "expected a finite number"}
