"""eval.yaml: read, validate and fingerprint a benchmark's declared method.

The schema is the one Inspect AI's own loader (``inspect eval hf/...``,
``inspect_ai/_eval/task/hf.py`` in inspect-ai 0.3.285) accepts, with the same
meaning and the same (pydantic, lax) coercions, so a file is valid here exactly
when it is valid there. Three additions, checks Inspect makes late or not at
all: duplicate task ids are rejected (they would overwrite each other's result
entry), solver/scorer ``args`` are checked against the function they are
passed to, so a typo fails before a model is loaded, and a template is text, never a
file or a URL (see :func:`names_a_resource`).

Every problem becomes one line ``FILE: KEY.PATH: what is wrong (expected ...)``. The file
is read with :mod:`safeyaml` (plain data only; size, depth, alias-expansion and duplicate
key limits), since an eval.yaml comes from any dataset repo.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from typing_extensions import Annotated

from run_eval import safeyaml
from run_eval.tasks.errors import SpecError
from run_eval.tasks.pins import display_path
from run_eval.tasks.registry import RESOURCE_ARGS, SCORER_NAMES, SCORERS, SOLVER_NAMES, SOLVERS

EPOCH_REDUCER_PATTERN = r"^(pass_at_\d+|at_least_\d+|max|mode|median|mean)$"
TASK_KEYS = (
    "id",
    "config",
    "split",
    "field_spec",
    "shuffle_choices",
    "epochs",
    "epoch_reducer",
    "solvers",
    "scorers",
)
FRAMEWORK = "inspect-ai"


@dataclass
class FieldSpecModel:
    """Inspect's FieldSpec as the eval.yaml loader extends it (HFFieldSpec)."""

    input: str = "input"
    target: str = "target"
    choices: str | list[str] | None = None
    id: str = "id"
    metadata: list[str] | None = None
    sandbox: str = "sandbox"
    files: str = "files"
    setup: str = "setup"
    input_image: str | None = None
    checkpoint: str | None = field(default="checkpoint", kw_only=True)
    description: str | None = field(default=None, kw_only=True)


class SolverModel(BaseModel):
    name: Literal[SOLVER_NAMES]  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)


class ScorerModel(BaseModel):
    name: Literal[SCORER_NAMES]  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)


class TaskModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    config: str = "default"
    split: str = "test"
    field_spec: FieldSpecModel
    shuffle_choices: bool | None = None
    epochs: int = Field(default=1, ge=1)
    epoch_reducer: Annotated[str, StringConstraints(pattern=EPOCH_REDUCER_PATTERN)] | None = None
    solvers: list[SolverModel] = Field(min_length=1)
    scorers: list[ScorerModel] = Field(min_length=1)


@dataclass(frozen=True)
class TaskSpec:
    """One task of an eval.yaml, defaults applied."""

    index: int
    model: TaskModel
    id_column: str | None  # field_spec.id when the file names it (Inspect ignores it)

    @property
    def task_id(self) -> str:
        return self.model.id if self.model.id is not None else "default"

    def as_dict(self) -> dict[str, Any]:
        """The task entry after defaults are applied, as plain JSON data."""
        return self.model.model_dump(mode="json")

    def fingerprint(self) -> str:
        """sha256 of the RFC 8785 canonical JSON of the task entry after defaults."""
        return hashlib.sha256(rfc8785.dumps(self.as_dict())).hexdigest()


@dataclass(frozen=True)
class EvalSpec:
    path: Path
    name: str | None
    description: str | None
    tasks: list[TaskSpec]
    sha256: str  # of the eval.yaml bytes

    def select(self, ids: list[str] | tuple[str, ...]) -> list[TaskSpec]:
        if not ids:
            return list(self.tasks)
        known = {t.task_id: t for t in self.tasks}
        missing = [i for i in ids if i not in known]
        if missing:
            raise SpecError(
                [
                    f"{display_path(self.path)}: --task {i!r} is not a task of this benchmark "
                    f"(expected one of: {', '.join(known)})"
                    for i in missing
                ]
            )
        return [known[i] for i in dict.fromkeys(ids)]


def load_spec(path: Path) -> EvalSpec:
    """Read and validate an eval.yaml file; raise SpecError with every problem found."""
    label = display_path(path)
    try:
        raw_bytes = safeyaml.read_bytes(path)
        data = safeyaml.loads(raw_bytes)
    except OSError as ex:
        raise SpecError([f"{path}: cannot read ({ex.strerror or ex})"]) from None
    except safeyaml.YamlInputError as ex:
        raise SpecError([f"{path}: {ex}; fix the file or ask its author"]) from None
    return parse_spec(data, path=path, sha256=hashlib.sha256(raw_bytes).hexdigest(), label=label)


def declared_task_ids(data: Any) -> tuple[str | None, list[str]]:
    """(evaluation_framework, the task ids) an eval.yaml declares, whatever framework runs it,
    read leniently: the record of a benchmark run by another framework can still be read
    against the ids its eval.yaml declares (a task without an id is ``default``).

    >>> declared_task_ids({"evaluation_framework": "swe-bench", "tasks": [{"id": "verified"}, {"config": "x"}]})
    ('swe-bench', ['verified', 'default'])
    >>> declared_task_ids({"tasks": "nonsense"})
    (None, [])
    """
    if not isinstance(data, dict):
        return None, []
    framework = data.get("evaluation_framework")
    tasks = data.get("tasks") if isinstance(data.get("tasks"), list) else []
    ids = [str(t.get("id")) if t.get("id") is not None else "default" for t in tasks if isinstance(t, dict)]
    return (framework if isinstance(framework, str) else None), list(dict.fromkeys(ids))


def parse_spec(data: Any, *, path: Path, sha256: str, label: str | None = None) -> EvalSpec:
    label = label or display_path(path)
    problems: list[str] = []
    if not isinstance(data, dict):
        raise SpecError([f"{label}: expected a mapping with a 'tasks' list at the top level"])
    framework = data.get("evaluation_framework")
    if isinstance(framework, str) and framework != FRAMEWORK:
        raise SpecError([f"{label}: evaluation_framework: this benchmark is run by {_key_name(framework)}, not by "
                         f"Inspect AI: run-eval can read, check and rank its published results (run-eval "
                         "leaderboard, run-eval results) but cannot run it"])
    if framework is not None and framework != FRAMEWORK:
        problems.append(f"{label}: evaluation_framework: expected a framework name such as {FRAMEWORK!r}")
    for key in ("name", "description"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(f"{label}: {key}: expected a string")
    raw_tasks = data.get("tasks")
    if raw_tasks is None:
        problems.append(f"{label}: tasks: required (a list of task entries)")
        raise SpecError(problems)
    if not isinstance(raw_tasks, list):
        problems.append(f"{label}: tasks: expected a list of task entries")
        raise SpecError(problems)
    if not raw_tasks:
        problems.append(f"{label}: tasks: must list at least one task")

    specs: list[TaskSpec] = []
    seen_ids: dict[str, int] = {}
    for i, raw in enumerate(raw_tasks):
        where = f"tasks[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{label}: {where}: expected a mapping")
            continue
        try:
            model = TaskModel.model_validate(raw)
        except ValidationError as ex:
            problems.extend(f"{label}: {where}{_format_error(err)}" for err in ex.errors())
            continue
        if len(raw_tasks) > 1 and model.id is None:
            problems.append(f"{label}: {where}.id: required when there is more than one task")
        if model.id is not None:
            if model.id in seen_ids:
                problems.append(
                    f"{label}: {where}.id: {model.id!r} is already the id of tasks[{seen_ids[model.id]}]"
                )
            seen_ids.setdefault(model.id, i)
        problems.extend(f"{label}: {where}{p}" for p in _check_args(model))
        problems.extend(f"{label}: {where}{p}" for p in _check_templates(model))
        raw_fs = raw.get("field_spec")
        id_column = model.field_spec.id if isinstance(raw_fs, dict) and "id" in raw_fs else None
        specs.append(TaskSpec(index=i, model=model, id_column=id_column))

    if problems:
        raise SpecError(problems)
    return EvalSpec(
        path=path,
        name=data.get("name"),
        description=data.get("description"),
        tasks=specs,
        sha256=sha256,
    )


def _check_args(model: TaskModel) -> list[str]:
    """Check solver/scorer args against the signatures of the functions they go to."""
    problems = []
    for kind, entries, registry in (
        ("solvers", model.solvers, SOLVERS),
        ("scorers", model.scorers, SCORERS),
    ):  # registry: name -> Inspect's public factory
        for j, entry in enumerate(entries):
            fn = registry[entry.name]
            try:
                _bind_args(fn, entry.args)
            except TypeError as ex:
                problems.append(
                    f".{kind}[{j}].args: {ex} for {kind[:-1]} '{entry.name}' "
                    f"(expected: {_describe_params(fn)})"
                )
    return problems


def _check_templates(model: TaskModel) -> list[str]:
    """Templates that Inspect would read from a file or a URL instead of using as text."""
    problems = []
    for kind, entries in (("solvers", model.solvers), ("scorers", model.scorers)):
        for j, entry in enumerate(entries):
            for key in RESOURCE_ARGS.get(entry.name, ()):
                value = entry.args.get(key)
                why = names_a_resource(value) if isinstance(value, str) else None
                if why:
                    problems.append(f".{kind}[{j}].args.{key}: {_key_name(value)} is {why}; a template in an "
                                    "eval.yaml must be the template's text: refusing to read it (ask the "
                                    "benchmark's author to inline the template)")
    return problems


# a URL or an fsspec URL / chain (http://, s3://, file:/..., simplecache::...), and fsspec's
# prefixes of a local path (file:, local:)
_URLISH = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*(::|:/)|(file|local):)")
_PATHISH = ("/", "~", "./", "../")


def names_a_resource(text: str) -> str | None:
    """Why Inspect's ``resource()`` would read ``text`` (a file, a URL) instead of using it as
    the template's text; None when it is text. ``resource()`` reads any string that names an
    existing local path or has a URL or filesystem scheme: from a stranger's eval.yaml that
    would put your files (``~/.cache/huggingface/token``) into every prompt and log, or make
    the run fetch a URL. A path is refused even where it does not exist, so a benchmark is
    refused on every machine alike.

    >>> names_a_resource("Answer with the number only.\\n\\n{prompt}") is None
    True
    >>> names_a_resource("Question: {prompt}") is None
    True
    >>> names_a_resource("https://example.org/prompt.txt"), names_a_resource("file:/etc/passwd")
    ('a URL', 'a URL')
    >>> names_a_resource("~/.cache/huggingface/token")
    'a file path'
    """
    if _URLISH.match(text):
        return "a URL"
    try:
        if os.path.exists(os.path.expanduser(text)):
            return "a file path"
    except (ValueError, OSError):  # a NUL byte, a name too long: not a path
        pass
    if "\n" not in text and "{" not in text and text.startswith(_PATHISH):
        return "a file path"
    return None


def _bind_args(fn: Any, args: dict[str, Any]) -> None:
    """Raise TypeError as calling fn(**args) would, also for keys a typed **kwargs lacks."""
    sig = inspect.signature(fn)
    bound = sig.bind(**args)
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is not inspect.Parameter.VAR_KEYWORD:
            continue
        allowed = _unpacked_keys(fn, name)
        unknown = [k for k in value if allowed is not None and k not in allowed]
        if unknown:
            raise TypeError(f"got an unexpected keyword argument {unknown[0]!r}")


def _unpacked_keys(fn: Any, param: str) -> set[str] | None:
    """The keys of ``**kwargs: Unpack[SomeTypedDict]``; None when any key is allowed."""
    try:
        ann = inspect.signature(fn, eval_str=True).parameters[param].annotation
    except (NameError, TypeError):
        return None
    if getattr(get_origin(ann), "__name__", str(get_origin(ann))).endswith("Unpack"):
        (typed_dict,) = get_args(ann)
        return set(get_type_hints(typed_dict))
    return None


def _describe_params(fn: Any) -> str:
    names = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            keys = _unpacked_keys(fn, p.name)
            names.append(f"{', '.join(sorted(keys))}" if keys is not None else f"**{p.name}")
    return ", ".join(names) if names else "no arguments"


# the tags pydantic puts in an error's location for the branch of a union it tried (a type
# name, or a type with its parameters): not keys of the file
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|constrained-str|function-[\w-]+(\[.*\])?|"
                        r"(list|dict|literal|tuple|set|frozenset)\[.*\])$")


def _loc(loc: tuple[Any, ...], *, last_is_key: bool = False) -> str:
    """An error's location as a key path (``.solvers[0].args``). ``last_is_key``: the last part
    is a key the author wrote (an unknown key), whatever its name, even ``str`` or ``int``."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif _UNION_TAG.match(str(part)) and not (last_is_key and i == len(loc) - 1):
            continue  # pydantic union-branch tags, not keys
        else:
            out += f".{_key_name(str(part))}"
    return out


def _key_name(name: str) -> str:
    """A key as the file's author wrote it, quoted unless it is plainly a word, and short."""
    if name and len(name) <= 60 and name.isprintable() and not any(c.isspace() for c in name):
        return name
    text = repr(name)
    return text if len(text) <= 60 else text[:59] + "…"


def _format_error(err: dict[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    value = err.get("input")
    path = _loc(loc, last_is_key=kind == "extra_forbidden")
    last = loc[-1] if loc else ""
    if kind == "missing":
        return f"{path}: required"
    if kind == "extra_forbidden":
        return f"{path}: unknown key (expected one of: {', '.join(TASK_KEYS)})"
    if kind == "literal_error" and last == "name":
        what = "solver" if "solvers" in loc else "scorer"
        allowed = SOLVER_NAMES if what == "solver" else SCORER_NAMES
        return f"{path}: {value!r} is not a {what} (expected one of: {', '.join(allowed)})"
    if kind == "string_pattern_mismatch" and last == "epoch_reducer":
        return (
            f"{path}: {value!r} is not an epoch reducer "
            "(expected one of: mean, median, mode, max, pass_at_N, at_least_N)"
        )
    if kind == "too_short":
        return f"{path}: must list at least one entry"
    if kind == "greater_than_equal":
        return f"{path}: {value!r} is too small (expected an integer >= {err['ctx']['ge']})"
    msg = err.get("msg", kind)
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return f"{path}: {_lower_first(msg)}{shown}"


def _lower_first(s: str) -> str:
    s = re.sub(r"^Input should be", "expected", s)
    return s[:1].lower() + s[1:]
