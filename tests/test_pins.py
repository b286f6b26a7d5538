"""Revision pins of local benchmarks and model folders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from run_eval.runner.models.reference import ModelError, resolve_model
from run_eval.tasks.errors import BenchmarkError
from run_eval.tasks.pins import tree_digest
from run_eval.tasks.source import resolve_benchmark

from conftest import EXAMPLE


def test_content_digest_stable_and_sensitive(example_copy: Path, tmp_path: Path):
    first = resolve_benchmark(str(example_copy))
    assert first.pin_kind == "content" and first.revision.startswith("sha256:")
    again = resolve_benchmark(str(example_copy / "eval.yaml"))
    assert again.revision == first.revision and again.root == first.root
    # the same bytes elsewhere pin the same
    other = tmp_path / "elsewhere" / "arithmetic"
    shutil.copytree(example_copy, other)
    assert resolve_benchmark(str(other)).revision == first.revision
    # any byte of data, the eval.yaml, or a renamed/added file changes it
    data = example_copy / "data" / "addition.jsonl"
    data.write_bytes(data.read_bytes().replace(b'"5"', b'"6"', 1))
    changed = resolve_benchmark(str(example_copy)).revision
    assert changed != first.revision
    (example_copy / "eval.yaml").write_text((example_copy / "eval.yaml").read_text() + "\n")
    assert resolve_benchmark(str(example_copy)).revision not in (first.revision, changed)
    before = resolve_benchmark(str(example_copy)).revision
    (example_copy / "data" / "extra.jsonl").write_text("{}\n")
    assert resolve_benchmark(str(example_copy)).revision != before
    # hidden files (caches, .git) are not data
    before = resolve_benchmark(str(example_copy)).revision
    (example_copy / ".cache").mkdir()
    (example_copy / ".cache" / "x").write_text("junk")
    assert resolve_benchmark(str(example_copy)).revision == before


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_clean_git_checkout_pins_to_commit(example_copy: Path):
    git(example_copy, "init", "-q")
    git(example_copy, "add", "-A")
    git(example_copy, "commit", "-qm", "data")
    head = git(example_copy, "rev-parse", "HEAD")
    b = resolve_benchmark(str(example_copy))
    assert (b.pin_kind, b.revision) == ("git", head)
    (example_copy / "data" / "addition.jsonl").write_text("{}\n")  # dirty: fall back to content
    assert resolve_benchmark(str(example_copy)).pin_kind == "content"
    git(example_copy, "checkout", "-q", "--", ".")
    (example_copy / "notes.txt").write_text("untracked")  # untracked file: also not clean
    assert resolve_benchmark(str(example_copy)).pin_kind == "content"


def test_git_ignored_data_is_pinned_by_content(example_copy: Path):
    """A clean checkout whose data git ignores: the commit does not hold what is evaluated."""
    (example_copy / ".gitignore").write_text("data/\n")
    git(example_copy, "init", "-q")
    git(example_copy, "add", "-A")
    git(example_copy, "commit", "-qm", "spec only")
    assert git(example_copy, "status", "--porcelain") == ""  # clean, as git sees it
    b = resolve_benchmark(str(example_copy))
    assert b.pin_kind == "content" and b.revision.startswith("sha256:")


def test_subfolder_of_a_repo_is_pinned_by_content():
    # examples/arithmetic lives inside this repo: its pin must not move with unrelated commits
    b = resolve_benchmark(str(EXAMPLE))
    assert b.pin_kind == "content"


@pytest.mark.parametrize(
    "arg, needle",
    [
        ("does/not-exist-here", "not in the local Hugging Face cache"),  # a Hub id; tests are offline
        ("no such thing", "no such file or folder"),
    ],
)
def test_benchmark_argument_errors(arg, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BenchmarkError) as info:
        resolve_benchmark(arg)
    assert needle in info.value.lines[0]


def test_folder_without_eval_yaml(tmp_path):
    with pytest.raises(BenchmarkError) as info:
        resolve_benchmark(str(tmp_path))
    assert "no eval.yaml in this folder" in info.value.lines[0]


def test_dataset_id_option(example_copy):
    assert resolve_benchmark(str(example_copy)).dataset_id == "local/arithmetic"
    assert resolve_benchmark(str(example_copy), dataset_id="me/arith").dataset_id == "me/arith"
    with pytest.raises(BenchmarkError):
        resolve_benchmark(str(example_copy), dataset_id="not an id")


def test_model_folder_digest_and_ids(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    ref = resolve_model(f"hf/{folder}")
    assert ref.local_path == folder.resolve() and ref.revision == tree_digest(folder)
    assert ref.model_id == "local/m"
    assert resolve_model(f"hf/{folder}", model_id="org/m").model_id == "org/m"
    hub = resolve_model("hf/org/some-model")
    assert (hub.model_id, hub.revision, hub.local_path) == ("org/some-model", None, None)
    assert resolve_model("mockllm/model").revision is None
    for bad in ("nothing", "hf/", "/x"):
        with pytest.raises(ModelError):
            resolve_model(bad)
    with pytest.raises(ModelError) as info:
        resolve_model("hf/./missing-folder")
    assert "no such model folder" in str(info.value)
    with pytest.raises(ModelError):
        resolve_model(f"hf/{folder}", model_id="bad id")


def test_named_yaml_file_gives_its_own_result_name():
    from benchdata import FIXTURES

    b = resolve_benchmark(str(FIXTURES / "valid" / "gpqa.yaml"))
    assert (b.name, b.dataset_id, b.eval_yaml.name) == ("gpqa", "local/gpqa", "gpqa.yaml")
    assert resolve_benchmark(str(EXAMPLE / "eval.yaml")).name == "arithmetic"
