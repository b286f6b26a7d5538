"""Record -> Sample for every field_spec key, and the data errors a user can hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai.model import ContentImage, ContentText

from run_eval.tasks.build import build_tasks, record_to_sample
from run_eval.tasks.errors import BenchmarkError
from run_eval.tasks.source import resolve_benchmark
from run_eval.tasks.spec import FieldSpecModel, load_spec

from benchdata import PNG_DATA_URI


def fs(**kw) -> FieldSpecModel:
    return FieldSpecModel(**kw)


def test_input_target_plain():
    s = record_to_sample({"q": "2+2?", "a": 4}, fs(input="q", target="a"), None)
    assert (s.input, s.target, s.choices, s.metadata, s.id) == ("2+2?", "4", None, None, None)


def test_literal_target_ignores_record():
    s = record_to_sample({"q": "x"}, fs(input="q", target="literal:A", choices=None), None)
    assert s.target == "A"


def test_integer_target_becomes_letter_only_with_choices():
    rec = {"q": "x", "i": 2, "opts": ["a", "b", "c"]}
    assert record_to_sample(rec, fs(input="q", target="i", choices="opts"), None).target == "C"
    assert record_to_sample(rec, fs(input="q", target="i"), None).target == "2"


def test_choices_from_one_column_or_several():
    rec = {"q": "x", "t": "A", "opts": ["a", "b"], "c1": "one", "c2": "two"}
    assert record_to_sample(rec, fs(input="q", target="t", choices="opts"), None).choices == ["a", "b"]
    assert record_to_sample(rec, fs(input="q", target="t", choices=["c2", "c1"]), None).choices == ["two", "one"]


def test_metadata_description_and_id_column():
    rec = {"q": "x", "t": "y", "m1": 1, "m2": "two", "d": "about", "qid": "Q7"}
    s = record_to_sample(rec, fs(input="q", target="t", metadata=["m1", "m2"], description="d"), "qid")
    assert s.metadata == {"m1": 1, "m2": "two"}
    assert s.description == "about"
    assert s.id == "Q7"
    assert record_to_sample(rec | {"d": ""}, fs(input="q", target="t", description="d"), None).description is None


def test_input_image_makes_multimodal_message_only_when_present():
    rec = {"q": "what?", "t": "y", "img": PNG_DATA_URI}
    s = record_to_sample(rec, fs(input="q", target="t", input_image="img"), None)
    (msg,) = s.input
    assert isinstance(msg.content[0], ContentText) and msg.content[0].text == "what?"
    assert isinstance(msg.content[1], ContentImage) and msg.content[1].image == PNG_DATA_URI
    assert record_to_sample(rec | {"img": ""}, fs(input="q", target="t", input_image="img"), None).input == "what?"


def write_bench(root: Path, eval_yaml: str, rows: list[dict] | None, config="default", split="test") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "eval.yaml").write_text(eval_yaml)
    if rows is not None:
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (root / "README.md").write_text(
            f"---\nconfigs:\n- config_name: {config}\n  data_files:\n  - split: {split}\n    path: data/{split}.jsonl\n---\n"
        )
    return root


TASK = """
tasks:
  - field_spec: {{input: {input}, target: {target}{extra}}}
    solvers: [{{name: generate}}]
    scorers: [{{name: exact}}]
{more}"""


def build(root: Path):
    bench = resolve_benchmark(str(root))
    spec = load_spec(bench.eval_yaml)
    return build_tasks(bench, spec, spec.tasks, seed=0)


def errors(root: Path) -> list[str]:
    with pytest.raises(BenchmarkError) as info:
        build(root)
    return info.value.lines


def test_missing_columns_named_with_key_path(tmp_path):
    root = write_bench(tmp_path / "b", TASK.format(input="question", target="answer",
                                                   extra=", choices: [c1, c2], metadata: [m]", more=""),
                       [{"q": "x", "a": "y", "c1": "1"}])
    lines = errors(root)
    assert [line.split(": ")[1] for line in lines] == [
        "tasks[0].field_spec.input", "tasks[0].field_spec.target",
        "tasks[0].field_spec.choices[1]", "tasks[0].field_spec.metadata[0]",
    ]
    assert "column 'question' is not in config 'default' split 'test' (columns: q, a, c1)" in lines[0]


def test_unknown_split_and_config(tmp_path):
    root = write_bench(tmp_path / "b", TASK.format(input="q", target="a", extra="", more="    split: validation\n"),
                       [{"q": "x", "a": "y"}])
    (line,) = errors(root)
    assert "tasks[0]: split 'validation' is not in config 'default'" in line
    root = write_bench(tmp_path / "c", TASK.format(input="q", target="a", extra="", more="    config: nope\n"),
                       [{"q": "x", "a": "y"}], config="main")
    (line,) = errors(root)
    assert "tasks[0]: config 'nope' is not in" in line and "(configs: main)" in line


def test_no_data_and_empty_split(tmp_path):
    root = write_bench(tmp_path / "b", TASK.format(input="q", target="a", extra="", more=""), None)
    (line,) = errors(root)
    from run_eval.tasks.pins import display_path

    assert line.startswith(f"{display_path(root / 'eval.yaml')}: tasks[0]: ")
    assert line.endswith(f"No (supported) data files found in {root}")  # datasets' own words
    root = write_bench(tmp_path / "c", TASK.format(input="q", target="a", extra="", more=""), [])
    (line,) = errors(root)
    assert "tasks[0]" in line


def test_row_that_cannot_become_a_sample(tmp_path):
    root = write_bench(tmp_path / "b", TASK.format(input="q", target="i", extra=", choices: opts", more=""),
                       [{"q": "x", "i": 0, "opts": ["a"]}, {"q": "y", "i": 40, "opts": ["a"]}])
    (line,) = errors(root)
    assert "tasks[0].field_spec: row 1 of config 'default' split 'test' cannot become a sample: IndexError" in line


def test_epochs_override_keeps_reducer(tmp_path):
    root = write_bench(tmp_path / "b", TASK.format(input="q", target="a", extra="",
                                                   more="    epochs: 3\n    epoch_reducer: max\n"),
                       [{"q": "x", "a": "y"}])
    bench = resolve_benchmark(str(root))
    spec = load_spec(bench.eval_yaml)
    (b,) = build_tasks(bench, spec, spec.tasks, seed=0)
    assert b.task.epochs == 3
    (o,) = build_tasks(bench, spec, spec.tasks, seed=0, epochs=5)
    assert o.task.epochs == 5
    assert len(o.task.epochs_reducer) == 1 and "max" in o.task.epochs_reducer[0].__qualname__
