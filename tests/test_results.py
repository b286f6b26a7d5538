"""The .eval_results file: huggingface_hub's format, merging, atomic replacement."""

from __future__ import annotations

import os

import pytest
import yaml
from huggingface_hub import EvalResultEntry, parse_eval_result_entries

from run_eval.signing.results import (
    ResultFileError,
    atomic_write_text,
    dump_entries,
    read_entries,
    result_path,
    write_entries,
)


def entry(task: str, value: float, dataset: str = "org/bench") -> EvalResultEntry:
    return EvalResultEntry(
        dataset_id=dataset, task_id=task, value=value, dataset_revision="sha256:ab",
        date="2026-11-23T10:00:00Z", source_url="logs/x.eval", source_name="Inspect log", notes="n",
    )


def test_dump_is_community_evals_format():
    text = dump_entries([entry("a", 0.5)])
    data = yaml.safe_load(text)
    assert data == [{
        "dataset": {"id": "org/bench", "task_id": "a", "revision": "sha256:ab"},
        "value": 0.5,
        "date": "2026-11-23T10:00:00Z",
        "source": {"url": "logs/x.eval", "name": "Inspect log"},
        "notes": "n",
    }]
    assert "date: '2026-11-23T10:00:00Z'" in text  # quoted: stays a string for every YAML reader
    assert parse_eval_result_entries(data) == [entry("a", 0.5)]


def test_merge_keeps_other_tasks_and_replaces_same(tmp_path):
    path = result_path(tmp_path, "bench")
    write_entries(path, [entry("a", 0.1), entry("b", 0.2), entry("a", 0.9, dataset="other/x")])
    write_entries(path, [entry("b", 0.7), entry("c", 0.3)])
    got = [(e.dataset_id, e.task_id, e.value) for e in read_entries(path)]
    assert got == [("org/bench", "a", 0.1), ("org/bench", "b", 0.7), ("other/x", "a", 0.9), ("org/bench", "c", 0.3)]


@pytest.mark.parametrize("content", ["{not: yaml: [", "a: mapping", "- [1, 2]", "- {value: 1}"])
def test_unreadable_existing_file_is_left_alone(tmp_path, content):
    path = result_path(tmp_path, "bench")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ResultFileError) as info:
        write_entries(path, [entry("a", 0.5)])
    assert str(path) in str(info.value) and "fix or move it away" in str(info.value)
    assert path.read_text() == content


def test_atomic_write_leaves_no_temp_files_and_keeps_old_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "out" / "f.yaml"
    atomic_write_text(path, "old\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ResultFileError) as info:
        atomic_write_text(path, "new\n")
    assert "No space left on device" in str(info.value)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.yaml"]
