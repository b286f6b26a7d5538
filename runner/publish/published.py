"""What a model repo has published: the entries of its `.eval_results/*.yaml` on `main` and
in its open pull requests, read through huggingface_hub and each verified (`run-eval
results`; `reproduce` of a Hub TARGET reads them the same way)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from run_eval.runner.errors import LinesError
from run_eval.runner.publish.record import OnScale, Provenance, SignedCheck, check_against
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
    provenance: Provenance = Provenance()
    raw: Any = field(default=None, repr=False, compare=False)  # the entry as written

    def as_dict(self) -> dict[str, Any]:
        return {"where": self.where, "path": self.path, "index": self.index, **self.verdict.as_dict(),
                "provenance": self.provenance.as_dict()}


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
        refs: list[tuple[str, str, int | None]] = [("main", "main", None)]
        for d in api.get_repo_discussions(repo_id, discussion_type="pull_request", discussion_status="open"):
            refs.append((f"PR #{d.num}", f"refs/pr/{d.num}", d.num))
        for label, rev, num in refs:
            for path in _result_paths(api, repo_id, rev):
                try:
                    entries = remote_entries(api, repo_id, path, rev)
                except ResultFileError as ex:
                    out.append(Published(label, path, 0, Verdict("invalid", str(ex)),
                                         Provenance(file=path, pull_request=num)))
                    continue
                for i, raw in enumerate(entries):
                    out.append(Published(label, path, i, decide(raw, trust, model_id=repo_id),
                                         Provenance.from_entry(raw, file=path, pull_request=num), raw))
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
    provenance: Provenance = Provenance()

    def as_dict(self) -> dict[str, Any]:
        return {"pull_request": self.num, "author": self.author, "closed_at": self.closed_at, "path": self.path,
                "index": self.index, "dataset_id": self.dataset_id, **self.verdict.as_dict(),
                "on_main": self.on_main, "provenance": self.provenance.as_dict()}


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
                                           None, Provenance(file=path, pull_request=d.num)))
                    continue
                for i, raw in enumerate(entries):
                    key = (_ds(raw, "id"), _ds(raw, "task_id"))
                    out.append(ClosedEntry(d.num, d.author, closed_at, path, i, decide(raw, trust, model_id=repo_id),
                                           key[0], on_main.get(key),
                                           Provenance.from_entry(raw, file=path, pull_request=d.num)))
    return out


def _result_paths(api: Any, repo_id: str, revision: str) -> list[str]:
    return sorted(f for f in api.list_repo_files(repo_id, revision=revision)
                  if f.startswith(f"{RESULTS_DIR}/") and f.endswith(".yaml"))


def _ds(raw: Any, key: str) -> Any:
    ds = raw.get("dataset") if isinstance(raw, dict) else None
    return ds.get(key) if isinstance(ds, dict) else None


def checks_of(rows: list[Published], *, tolerance: float) -> list[tuple[SignedCheck, ...]]:
    """For each entry, what every other signed entry of the repo for the same benchmark and
    task says of its value (record.check_against, on one scale: the unsigned values' own, a
    signed value being a fraction)."""
    from run_eval.runner.compare.stats import score_interval

    signed = [r for r in rows if r.verdict.usable and r.verdict.claims is not None]
    ids = {id(r) for r in signed}
    scale = OnScale.of([r.verdict.value for r in rows if id(r) not in ids], signed=len(signed))
    out = []
    for r in rows:
        key = (_ds(r.raw, "id"), r.verdict.task_id)
        mine = scale.fraction(r.verdict.value, signed=id(r) in ids)
        checks = []
        for s in signed:
            if s is r or (_ds(s.raw, "id"), s.verdict.task_id) != key:
                continue
            m = s.verdict.claims.metric  # type: ignore[union-attr]
            who = s.verdict.signer or f"key {(s.verdict.kid or '')[:12]}"
            checks.append(check_against(mine, score_interval(m.name, float(m.value), m.stderr, m.samples), m.samples,
                                        signer=who, shown_value=scale.show(s.verdict.value, signed=True),
                                        tolerance=tolerance))
        out.append(tuple(checks))
    return out
