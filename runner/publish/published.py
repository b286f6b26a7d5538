"""What a model repo has published: the entries of its `.eval_results/*.yaml` on `main` and
in its open pull requests, read through huggingface_hub and each verified (`run-eval
results`; `reproduce` of a Hub TARGET reads them the same way)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from run_eval.runner.errors import LinesError
from run_eval.signing.results import RESULTS_DIR, ResultFileError, parse_raw
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import Verdict, decide
from run_eval.tasks.hub import hub_error, is_repo_id


class HubResultsError(LinesError):
    """A model repo's results cannot be read; ``lines`` say why."""


def remote_entries(api: Any, repo_id: str, path_in_repo: str, revision: str = "main") -> list[dict[str, Any]]:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    try:
        local = hf_hub_download(repo_id, path_in_repo, revision=revision, token=api.token)
    except RemoteEntryNotFoundError:
        return []
    return parse_raw(Path(local).read_bytes(), f"{repo_id}/{path_in_repo}@{revision}")


class _Decided:
    """An entry read from a repo, with its verdict: status and reason as the listings show them."""

    verdict: Verdict

    @property
    def status(self) -> str:
        return self.verdict.status

    @property
    def reason(self) -> str | None:
        return self.verdict.reason


@dataclass(frozen=True)
class Published(_Decided):
    where: str  # "main" or "PR #n"
    path: str
    index: int
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {"where": self.where, "path": self.path, "index": self.index, **self.verdict.as_dict()}


@contextmanager
def reading(repo_id: str) -> Iterator[None]:
    """Read from the model repo ``repo_id`` (org/name): a Hub error is one HubResultsError line."""
    if not is_repo_id(repo_id):
        raise HubResultsError(f"MODEL {repo_id!r}: expected a Hub model id like 'org/name'")
    try:
        yield
    except HubResultsError:
        raise
    except Exception as ex:
        msg = hub_error(ex, f"MODEL {repo_id!r}", repo_id, repo_type="model")
        if msg is None:
            raise
        raise HubResultsError(msg) from None


def list_results(repo_id: str, *, trust: TrustStore) -> list[Published]:
    """Entries in the repo's .eval_results/ on main and in open pull requests, each verified."""
    from huggingface_hub import HfApi

    api = HfApi()
    out: list[Published] = []
    with reading(repo_id):
        refs = [("main", "main")]
        for d in api.get_repo_discussions(repo_id, discussion_type="pull_request", discussion_status="open"):
            refs.append((f"PR #{d.num}", f"refs/pr/{d.num}"))
        for label, rev in refs:
            for path in _result_paths(api, repo_id, rev):
                try:
                    entries = remote_entries(api, repo_id, path, rev)
                except ResultFileError as ex:
                    out.append(Published(label, path, 0, Verdict("invalid", str(ex))))
                    continue
                for i, raw in enumerate(entries):
                    out.append(Published(label, path, i, decide(raw, trust, model_id=repo_id)))
    return out


@dataclass(frozen=True)
class ClosedEntry(_Decided):
    """An entry of a closed, unmerged result PR: what the record's history would not show."""

    num: int
    author: str | None
    closed_at: str | None
    path: str
    index: int
    verdict: Verdict
    dataset_id: Any
    on_main: Any  # the value main has for the same benchmark and task (None: main has none)

    def as_dict(self) -> dict[str, Any]:
        return {"pull_request": self.num, "author": self.author, "closed_at": self.closed_at, "path": self.path,
                "index": self.index, "dataset_id": self.dataset_id, **self.verdict.as_dict(),
                "on_main": self.on_main}


def closed_results(repo_id: str, *, trust: TrustStore) -> list[ClosedEntry]:
    """Entries in the .eval_results/ of the repo's closed (not merged) pull requests, each
    decided, with who opened the PR, when it was closed, and main's value for the same task."""
    from huggingface_hub import HfApi

    api = HfApi()
    out = []
    with reading(repo_id):
        on_main = {(_ds(raw, "id"), _ds(raw, "task_id")): raw.get("value")
                   for path in _result_paths(api, repo_id, "main") for raw in remote_entries(api, repo_id, path)
                   if isinstance(raw, dict)}
        for d in api.get_repo_discussions(repo_id, discussion_type="pull_request", discussion_status="closed"):
            details = api.get_discussion_details(repo_id, d.num)
            closes = [e for e in details.events if getattr(e, "new_status", None) == "closed"]
            closed_at = closes[-1].created_at.isoformat() if closes and closes[-1].created_at else None
            for path in _result_paths(api, repo_id, f"refs/pr/{d.num}"):
                try:
                    entries = remote_entries(api, repo_id, path, f"refs/pr/{d.num}")
                except ResultFileError as ex:
                    out.append(ClosedEntry(d.num, d.author, closed_at, path, 0, Verdict("invalid", str(ex)), None,
                                           None))
                    continue
                for i, raw in enumerate(entries):
                    key = (_ds(raw, "id"), _ds(raw, "task_id"))
                    out.append(ClosedEntry(d.num, d.author, closed_at, path, i, decide(raw, trust, model_id=repo_id),
                                           key[0], on_main.get(key)))
    return out


def _result_paths(api: Any, repo_id: str, revision: str) -> list[str]:
    return sorted(f for f in api.list_repo_files(repo_id, revision=revision)
                  if f.startswith(f"{RESULTS_DIR}/") and f.endswith(".yaml"))


def _ds(raw: Any, key: str) -> Any:
    ds = raw.get("dataset") if isinstance(raw, dict) else None
    return ds.get(key) if isinstance(ds, dict) else None
