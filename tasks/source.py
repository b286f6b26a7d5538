"""Where a benchmark comes from: a local folder or eval.yaml file, or a Hub dataset id.

BENCHMARK on the command line is either a local path (a folder laid out as a Hugging
Face dataset repo with ``eval.yaml`` at its root, or the ``eval.yaml`` file itself)
or a Hub dataset id ``org/name[@revision]``. A path that exists always wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from run_eval.tasks.errors import BenchmarkError
from run_eval.tasks.hub import is_repo_id, is_repo_ref
from run_eval.tasks.pins import git_commit_if_clean, tree_digest

PinKind = Literal["git", "content", "hub"]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark resolved to files on disk and pinned to the exact data evaluated."""

    dataset_id: str  # the id written into result entries
    name: str  # result file stem: .eval_results/<name>.yaml
    root: Path  # folder given to datasets.load_dataset
    eval_yaml: Path
    revision: str  # git commit, or sha256:<content digest>
    pin_kind: PinKind
    local: bool

    def describe(self) -> str:
        return f"{self.dataset_id}@{self.revision}"


def resolve_benchmark(arg: str, *, dataset_id: str | None = None) -> Benchmark:
    """Resolve the BENCHMARK argument; raise BenchmarkError with one clear line when it cannot be."""
    if dataset_id is not None and not is_repo_id(dataset_id):
        raise BenchmarkError(
            f"--dataset-id {dataset_id!r}: expected a Hub dataset id like 'org/name'"
        )
    path = Path(arg).expanduser()
    if path.exists():
        return _local(path, dataset_id)
    if is_repo_ref(arg):
        return _hub(arg, dataset_id)
    raise BenchmarkError(
        f"BENCHMARK {arg!r}: no such file or folder (expected a folder with eval.yaml, "
        "an eval.yaml file, or a Hub dataset id org/name[@revision])"
    )


def _local(path: Path, dataset_id: str | None) -> Benchmark:
    if path.is_dir():
        root = path.resolve()
        eval_yaml = root / "eval.yaml"
        if not eval_yaml.is_file():
            raise BenchmarkError(
                f"BENCHMARK {str(path)!r}: no eval.yaml in this folder "
                "(expected a dataset repo folder with eval.yaml at its root)"
            )
    else:
        eval_yaml = path.resolve()
        root = eval_yaml.parent
    # a folder (or its eval.yaml) is named after the folder; another .yaml file after itself
    name = _safe_name(root.name if eval_yaml.name == "eval.yaml" else eval_yaml.stem)
    commit = git_commit_if_clean(root)
    if commit is not None:
        revision, kind = commit, "git"
    else:
        try:
            revision, kind = tree_digest(root), "content"
        except OSError as ex:
            raise BenchmarkError(
                f"BENCHMARK {str(path)!r}: cannot read {ex.filename}: {ex.strerror}"
            ) from None
    return Benchmark(
        dataset_id=dataset_id or f"local/{name}",
        name=name,
        root=root,
        eval_yaml=eval_yaml,
        revision=revision,
        pin_kind=kind,  # type: ignore[arg-type]
        local=True,
    )


def _hub(arg: str, dataset_id: str | None) -> Benchmark:
    from run_eval.tasks.hub import hub_benchmark_files, split_rev

    if dataset_id is not None:
        raise BenchmarkError(f"--dataset-id: only for a local benchmark folder; {arg!r} is a Hub id already")
    repo_id, rev = split_rev(arg)
    sha, root = hub_benchmark_files(repo_id, rev, f"BENCHMARK {arg!r}")
    return Benchmark(
        dataset_id=repo_id,
        name=_safe_name(repo_id.split("/")[1]),
        root=root,
        eval_yaml=root / "eval.yaml",
        revision=sha,
        pin_kind="hub",
        local=False,
    )


def ensure_data(benchmark: Benchmark, configs: set[str]) -> None:
    """Fetch a Hub benchmark's data files for these configs at its pinned commit (no-op locally)."""
    if benchmark.local:
        return
    from run_eval.tasks.hub import fetch_data

    fetch_data(benchmark.dataset_id, benchmark.revision, benchmark.root, configs,
               f"BENCHMARK {benchmark.dataset_id}@{benchmark.revision[:12]}")


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "-", name).strip("-.")
    return cleaned or "benchmark"
