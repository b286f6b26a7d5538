"""eval.yaml task -> Inspect AI Task, through Inspect's public API only.

Mirrors ``task_create_from_hf`` in inspect-ai 0.3.285 (``inspect_ai/_eval/task/hf.py``):
the same record -> Sample mapping, the same solver and scorer chain, the same epochs.
Differences, each on purpose and recorded:

- ``shuffle_choices`` is seeded (Inspect's is not, so its runs cannot be repeated);
- ``field_spec.id``, when the file names it, gives the sample ids (Inspect ignores it
  and numbers samples 1..N, which is what happens here too when it is absent);
- data is read from a fresh, private ``datasets`` cache for local benchmarks, so the
  samples are always those of the bytes that were pinned.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from string import ascii_uppercase
from typing import Any

from inspect_ai import Epochs, Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser, ContentImage, ContentText

from run_eval.tasks.errors import BenchmarkError
from run_eval.tasks.pins import display_path
from run_eval.tasks.registry import GRADED_SCORERS, SCORERS, SOLVERS
from run_eval.tasks.source import Benchmark, ensure_data
from run_eval.tasks.spec import EvalSpec, FieldSpecModel, TaskSpec


# a ``graders`` value: the evaluated model grades the task (model_role None: Inspect's default
# model), so that its scorers never fall back on Inspect's default role ``grader``, which may be
# bound to another task's judge
EVALUATED_MODEL = ""


@dataclass(frozen=True)
class BuiltTask:
    spec: TaskSpec
    task: Task
    samples: int  # rows in the split
    shuffle_seed: int | None  # seed used for shuffle_choices, None when not shuffled
    columns: tuple[str, ...] = ()  # the split's columns

    def sample_ids(self) -> list[str]:
        """The id each sample has in the run: its id, or its position from 1 as Inspect numbers them."""
        return [str(s.id) if s.id is not None else str(n) for n, s in enumerate(self.task.dataset, start=1)]


def build_tasks(
    benchmark: Benchmark,
    spec: EvalSpec,
    selected: list[TaskSpec],
    *,
    seed: int,
    epochs: int | None = None,
    graders: dict[str, str] | None = None,
) -> list[BuiltTask]:
    """``graders``: task id -> the model role that grades its model-graded scorers (their
    ``model`` arg is then dropped: the judge is bound to the role when the run starts), or
    ``EVALUATED_MODEL``: no role, the evaluated model grades. A task not in it keeps its
    scorers' args as declared (lint builds tasks so)."""
    ensure_data(benchmark, {t.model.config for t in selected})
    return [build_task(benchmark, spec, t, seed=seed, epochs=epochs, grader=(graders or {}).get(t.task_id))
            for t in selected]


def build_task(
    benchmark: Benchmark,
    spec: EvalSpec,
    task: TaskSpec,
    *,
    seed: int,
    epochs: int | None = None,
    grader: str | None = None,
) -> BuiltTask:
    m = task.model
    records = load_records(benchmark, spec, task)
    samples = []
    for row, record in enumerate(records):
        try:
            samples.append(record_to_sample(record, m.field_spec, task.id_column))
        except (KeyError, IndexError, TypeError, ValueError) as ex:
            raise BenchmarkError(
                f"{display_path(spec.path)}: tasks[{task.index}].field_spec: row {row} of config "
                f"{m.config!r} split {m.split!r} cannot become a sample: {type(ex).__name__}: {ex}"
            ) from None
    if not samples:
        raise BenchmarkError(
            f"{display_path(spec.path)}: tasks[{task.index}]: config {m.config!r} split "
            f"{m.split!r} has no rows"
        )
    dataset = MemoryDataset(
        samples, name=f"{benchmark.dataset_id}/{task.task_id}", location=str(benchmark.root)
    )
    shuffle_seed = None
    if m.shuffle_choices:
        shuffle_seed = seed
        dataset.shuffle_choices(seed=seed)
    solvers = [SOLVERS[s.name](**s.args) for s in m.solvers]
    scorers = [SCORERS[s.name](**_scorer_args(s.name, s.args, grader)) for s in m.scorers]
    built = Task(
        name=f"{benchmark.name}/{task.task_id}",
        dataset=dataset,
        solver=solvers,
        scorer=scorers,
        epochs=Epochs(epochs if epochs is not None else m.epochs, m.epoch_reducer),
    )
    return BuiltTask(spec=task, task=built, samples=len(samples), shuffle_seed=shuffle_seed,
                     columns=tuple(records[0]))


def _scorer_args(name: str, args: dict[str, Any], grader: str | None) -> dict[str, Any]:
    """A model-graded scorer's args with every grader explicit: the role its judge is bound
    to, or no role (``EVALUATED_MODEL``: Inspect grades with the evaluated model); the
    declared ``model`` is dropped either way (the run resolved it into the role)."""
    if grader is None or name not in GRADED_SCORERS:
        return args
    return {**{k: v for k, v in args.items() if k != "model"}, "model_role": grader or None}


def load_records(benchmark: Benchmark, spec: EvalSpec, task: TaskSpec) -> list[dict[str, Any]]:
    """Rows of the task's config/split; every column the field_spec names must exist."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    logging.getLogger("datasets").setLevel(logging.ERROR)
    m = task.model
    where = f"{display_path(spec.path)}: tasks[{task.index}]"
    with tempfile.TemporaryDirectory(prefix="run-eval-datasets-") as cache:
        try:
            ds = datasets.load_dataset(
                str(benchmark.root), name=m.config, split=m.split, cache_dir=cache
            )
        except Exception as ex:  # datasets raises many types for a bad config/split/file
            raise BenchmarkError(f"{where}: {_load_problem(benchmark, m.config, m.split, ex)}") from None
        columns = list(ds.column_names)
        missing = [
            f"{where}.field_spec.{key}: column {col!r} is not in config {m.config!r} split "
            f"{m.split!r} (columns: {', '.join(columns)})"
            for key, col in referenced_columns(m.field_spec, task.id_column)
            if col not in columns
        ]
        if missing:
            raise BenchmarkError(missing)
        return ds.to_list()


def referenced_columns(fs: FieldSpecModel, id_column: str | None) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = [("input", fs.input)]
    if not fs.target.startswith("literal:"):
        cols.append(("target", fs.target))
    if isinstance(fs.choices, list):
        cols += [(f"choices[{i}]", c) for i, c in enumerate(fs.choices)]
    elif fs.choices is not None:
        cols.append(("choices", fs.choices))
    cols += [(f"metadata[{i}]", c) for i, c in enumerate(fs.metadata or [])]
    if fs.input_image:
        cols.append(("input_image", fs.input_image))
    if id_column:
        cols.append(("id", id_column))
    # description is read with record.get() by Inspect: a missing column means no description
    return cols


def _load_problem(benchmark: Benchmark, config: str, split: str, ex: Exception) -> str:
    import datasets

    text = str(ex).strip()
    msg = text.splitlines()[0] if text else f"no rows could be read ({type(ex).__name__})"
    try:
        configs = datasets.get_dataset_config_names(str(benchmark.root))
    except Exception:
        configs = []
    if configs and config not in configs:
        return f"config {config!r} is not in {benchmark.root} (configs: {', '.join(configs)})"
    if "split" in msg.lower():
        return f"split {split!r} is not in config {config!r} of {benchmark.root}: {msg}"
    return f"cannot load config {config!r} split {split!r} from {benchmark.root}: {msg}"


def record_to_sample(record: dict[str, Any], fs: FieldSpecModel, id_column: str | None) -> Sample:
    """One dataset row -> Sample, as Inspect's eval.yaml loader maps it."""
    if fs.input_image and record[fs.input_image] not in [None, ""]:
        input_value: Any = [
            ChatMessageUser(
                content=[
                    ContentText(text=record[fs.input]),
                    ContentImage(image=record[fs.input_image]),
                ]
            )
        ]
    else:
        input_value = record[fs.input]
    kwargs: dict[str, Any] = {"input": input_value}
    if target := _target(record, fs.target, fs.choices is not None):
        kwargs["target"] = target
    if choices := _choices(record, fs.choices):
        kwargs["choices"] = choices
    if fs.metadata:
        kwargs["metadata"] = {name: record[name] for name in fs.metadata}
    if fs.description is not None:
        kwargs["description"] = _description(record.get(fs.description))
    if id_column is not None:
        kwargs["id"] = record[id_column]
    return Sample(**kwargs)


def _target(record: dict[str, Any], target: str, is_choices: bool) -> str:
    if target.startswith("literal:"):
        return target.removeprefix("literal:")
    value = record[target]
    if isinstance(value, int) and is_choices:
        value = ascii_uppercase[value]
    return str(value)


def _choices(record: dict[str, Any], choices: str | list[str] | None) -> Any:
    if choices is None:
        return None
    if isinstance(choices, list):
        return [record[c] for c in choices]
    return record[choices]


def _description(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"Sample 'description' field must be a string (got {type(value).__name__})")
    return value or None
