"""The published record's concepts, one dataclass each, with pure converters (in the manner of
huggingface_hub's ``_eval_results.py``): where an entry comes from (:class:`Provenance`),
one model's disagreeing values for one task (:class:`Conflict`), task ids the benchmark does
not declare (:class:`Undeclared`), the scale a listing shows values on (:class:`OnScale`),
how a value changed over a repo's commits (:class:`Change`, :class:`History`), and what a
signed entry says of another entry (:class:`SignedCheck`).

Why: the record on the Hub is mostly unsigned values copied from model cards, written in
percent, published under several task ids, sometimes twice for one task and rewritten in
later commits. None of that is an error to refuse: it is what a reader needs to see beside
each number before trusting it. Only ``read_history`` does I/O (through huggingface_hub).

>>> p = Provenance.from_entry({"dataset": {"id": "d/x", "task_id": "t"}, "value": 80.2,
...     "source": {"url": "https://x", "name": "Model card"}}, file=".eval_results/x.yaml")
>>> p.source_name, p.label()
('Model card', 'Model card')
>>> find_conflicts([("m", "t", 75.8, p), ("m", "t", 80.2, p), ("n", "t", 1.0, p)])[0].as_dict()["values"][1]
{'value': 80.2, 'source_name': 'Model card', 'file': '.eval_results/x.yaml'}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from run_eval.runner.compare.scale import RecordScale, Scale, convert, entry_scale, number, record_scale, shown_scale
from run_eval.runner.compare.stats import claim_verdict

DEFAULT_MAX_COMMITS = 50  # commits a history reads at most (newest first); said when cut
A_FRACTION = 0.5  # how a signed entry votes on the record's scale: its value is Inspect's, a fraction


def _text(value: Any) -> str | None:
    """A field as text (a YAML timestamp becomes its ISO form), None when absent."""
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------ provenance

@dataclass(frozen=True)
class Provenance:
    """Where an entry comes from, as its file says (the Hub's ``source``, ``date``, ``notes``)
    and as it was read (``file``, ``pull_request``: None on main or a local file)."""

    source_name: str | None = None
    source_url: str | None = None
    user: str | None = None
    org: str | None = None
    date: str | None = None
    notes: str | None = None
    file: str | None = None
    pull_request: int | None = None

    @classmethod
    def from_entry(cls, raw: Any, *, file: str | None, pull_request: int | None = None) -> "Provenance":
        """From one raw entry of a result file (anything: a malformed entry gives what it has).

        >>> Provenance.from_entry({"date": "2026-03-17", "notes": "With tools"}, file="f.yaml").as_dict()["date"]
        '2026-03-17'
        """
        raw = raw if isinstance(raw, dict) else {}
        src = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        return cls(_text(src.get("name")), _text(src.get("url")), _text(src.get("user")), _text(src.get("org")),
                   _text(raw.get("date")), _text(raw.get("notes")), file, pull_request)

    def as_dict(self) -> dict[str, Any]:
        return {"source_name": self.source_name, "source_url": self.source_url, "user": self.user, "org": self.org,
                "date": self.date, "notes": self.notes, "file": self.file, "pull_request": self.pull_request}

    def label(self) -> str:
        """What a table shows: the source's name (else its URL), and the PR it is read from.

        >>> Provenance(source_url="https://swebench.com", pull_request=3).label()
        'https://swebench.com (PR #3)'
        """
        name = self.source_name or self.source_url or "-"
        return name + (f" (PR #{self.pull_request})" if self.pull_request else "")


# ------------------------------------------------------------------ one scale

@dataclass(frozen=True)
class OnScale:
    """The record's scale: ``published`` (what its values are written on: fraction, percent,
    mixed, or unknown) and ``shown`` (the one scale every listed value is shown and compared on).

    >>> s = OnScale.of([75.8, 80.2], signed=1)
    >>> s.published, s.shown, s.show(0.712, signed=True), s.show(74.0, signed=False), s.fraction(74.0, signed=False)
    ('mixed', 'percent', 71.2, 74.0, 0.74)
    """

    published: RecordScale
    shown: Scale

    @classmethod
    def of(cls, unsigned_values: Iterable[Any], *, signed: int = 0) -> "OnScale":
        """From the unsigned values as written and the number of signed entries (each a fraction:
        run-eval writes Inspect's values, and a token's value is never guessed from its size)."""
        votes = [v for x in unsigned_values if (v := number(x)) is not None] + [A_FRACTION] * signed
        return cls(record_scale(votes), shown_scale(votes))

    def scale_of(self, value: Any, *, signed: bool) -> Scale:
        return "fraction" if signed else entry_scale(float(value), self.published)

    def show(self, value: Any, *, signed: bool) -> Any:
        """``value`` on the shown scale (a value that is not a number: as written)."""
        v = number(value)
        return value if v is None else convert(v, self.scale_of(v, signed=signed), self.shown)

    def fraction(self, value: Any, *, signed: bool) -> float | None:
        v = number(value)
        return None if v is None else convert(v, self.scale_of(v, signed=signed), "fraction")

    def show_interval(self, ci: list[float] | None) -> list[float] | None:
        """A signed entry's interval (a fraction's) on the shown scale."""
        return None if ci is None else [convert(x, "fraction", self.shown) for x in ci]

    def as_dict(self) -> dict[str, str]:
        return {"published": self.published, "shown": self.shown}


# ------------------------------------------------------------------ conflicts

@dataclass(frozen=True)
class Stated:
    """One value a conflict lists, and where it was read."""

    value: Any
    source_name: str | None
    file: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source_name": self.source_name, "file": self.file}


@dataclass(frozen=True)
class Conflict:
    """One model with two or more different values (on one scale) for one task."""

    model: str
    task_id: Any
    values: tuple[Stated, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "task_id": self.task_id, "values": [v.as_dict() for v in self.values]}


def find_conflicts(items: Iterable[tuple[str, Any, Any, Provenance | None]]) -> list[Conflict]:
    """(model, task_id, value on the shown scale, provenance) -> every (model, task) whose values
    differ (beyond rounding: 10 significant digits), with every value and where it came from."""
    by: dict[tuple[str, str], list[tuple[Any, Any, Provenance | None]]] = {}
    for model, task_id, value, prov in items:
        if number(value) is not None:
            by.setdefault((model, repr(task_id)), []).append((task_id, value, prov))
    out = []
    for (model, _), seen in by.items():
        if len({float(f"{float(v):.10g}") for _, v, _ in seen}) > 1:
            out.append(Conflict(model, seen[0][0], tuple(Stated(v, p.source_name if p else None, p.file if p else None)
                                                         for _, v, p in seen)))
    return out


# ------------------------------------------------------------------ undeclared task ids

@dataclass(frozen=True)
class Undeclared:
    """A task id entries are published under that the benchmark's eval.yaml does not declare."""

    task_id: Any
    models: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "models": list(self.models)}


def find_undeclared(items: Iterable[tuple[str, Any]], declared: Iterable[str]) -> list[Undeclared]:
    """(model, task_id) pairs -> each task id not in ``declared``, with its models (sorted).

    >>> [u.as_dict() for u in find_undeclared([("a", "x"), ("b", "y"), ("c", "y")], ["x"])]
    [{'task_id': 'y', 'models': ['b', 'c']}]
    """
    ok = set(declared)
    by: dict[str, tuple[Any, set[str]]] = {}
    for model, task_id in items:
        if task_id is not None and str(task_id) not in ok:
            by.setdefault(repr(task_id), (task_id, set()))[1].add(model)
    return [Undeclared(t, tuple(sorted(models))) for t, models in by.values()]


# ------------------------------------------------------------------ history

@dataclass(frozen=True)
class Change:
    """One value change of one entry: ``frm``/``to`` None when the entry was added/removed;
    ``source_name`` the entry's source after the change (before it, for a removal)."""

    commit: str
    date: str | None
    author: str | None
    frm: Any
    to: Any
    source_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "date": self.date, "author": self.author, "from": self.frm, "to": self.to,
                "source_name": self.source_name}

    @property
    def rewrite(self) -> bool:
        """A value replaced by another (not an entry added or removed)."""
        return self.frm is not None and self.to is not None


@dataclass(frozen=True)
class History:
    """The changes of one entry of one file, oldest first, under its last key: (dataset id,
    task_id, source name, occurrence among the file's entries of that key). Two entries of one
    task from two sources are two histories; an entry whose source changed with its value is
    one (matched by its position among the file's entries of that task)."""

    file: str
    dataset_id: Any
    task_id: Any
    source_name: str | None
    occurrence: int
    changes: tuple[Change, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "dataset_id": self.dataset_id, "task_id": self.task_id,
                "source_name": self.source_name, "changes": [c.as_dict() for c in self.changes]}


@dataclass(frozen=True)
class Snapshot:
    """A commit and the entries of each result file at it."""

    commit: str
    date: str | None
    author: str | None
    files: dict[str, list[Any]] = field(default_factory=dict)


Key = tuple[str, Any, Any, "str | None", int]  # (file, dataset id, task_id, source name, occurrence)


def entry_key(raw: Any) -> tuple[Any, Any, str | None]:
    """(dataset id, task_id, source name) of a raw entry."""
    raw = raw if isinstance(raw, dict) else {}
    ds = raw.get("dataset") if isinstance(raw.get("dataset"), dict) else {}
    src = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    return ds.get("id"), ds.get("task_id"), _text(src.get("name"))


def keyed(files: dict[str, list[Any]]) -> dict[Key, Any]:
    """{(file, dataset id, task_id, source name, occurrence): value} of one snapshot, in file order."""
    out: dict[Key, Any] = {}
    for path, raws in files.items():
        seen: dict[str, int] = {}
        for raw in raws:
            k = entry_key(raw)
            n = seen[repr(k)] = seen.get(repr(k), -1) + 1
            out[(path, *k, n)] = raw.get("value") if isinstance(raw, dict) else None
    return out


def _pairs(before: dict[Key, Any], now: dict[Key, Any]) -> tuple[list[tuple[Key, Key]], list[Key], list[Key]]:
    """(matched (old, new) keys, removed, added): the same key first, then, among the rest,
    entries of the same file and task by position."""
    pairs = [(k, k) for k in now if k in before]
    old = [k for k in before if k not in now]
    added = []
    for k in (k for k in now if k not in before):
        o = next((o for o in old if o[:3] == k[:3]), None)
        if o is None:
            added.append(k)
        else:
            old.remove(o)
            pairs.append((o, k))
    return pairs, old, added


def histories(snapshots: list[Snapshot], *, from_start: bool = True) -> list[History]:
    """Every value change across ``snapshots`` (oldest first). ``from_start``: the first
    snapshot is the repo's first commit, so its entries count as added; else (the history was
    cut) it is only where reading started.

    >>> e = lambda v, src: {"dataset": {"id": "d", "task_id": "t"}, "value": v, "source": {"url": "u", "name": src}}
    >>> h = histories([Snapshot("c1", "2026-01-01", "alice", {"f": [e(77.8, "Model card"), e(75.8, "official")]}),
    ...                Snapshot("c2", "2026-02-01", "bob", {"f": [e(72.8, "swebench.com"), e(75.8, "official")]})])
    >>> [(x.source_name, [(c.commit, c.author, c.frm, c.to) for c in x.changes]) for x in h]
    [('swebench.com', [('c1', 'alice', None, 77.8), ('c2', 'bob', 77.8, 72.8)]), ('official', [('c1', 'alice', None, 75.8)])]
    """
    keys: list[Key] = []  # each history's current key
    changes: list[list[Change]] = []
    live: dict[Key, int] = {}
    before: dict[Key, Any] = {}
    if snapshots and not from_start:
        before = keyed(snapshots[0].files)
        for k in before:
            live[k] = len(keys)
            keys.append(k)
            changes.append([])
    for snap in snapshots[0 if from_start else 1:]:
        now = keyed(snap.files)
        pairs, removed, added = _pairs(before, now)
        nxt: dict[Key, int] = {}
        for o, k in pairs:
            i = nxt[k] = live[o]
            keys[i] = k
            if before[o] != now[k]:
                changes[i].append(Change(snap.commit, snap.date, snap.author, before[o], now[k], k[3]))
        for o in removed:
            changes[live[o]].append(Change(snap.commit, snap.date, snap.author, before[o], None, o[3]))
        for k in added:
            nxt[k] = len(keys)
            keys.append(k)
            changes.append([Change(snap.commit, snap.date, snap.author, None, now[k], k[3])])
        live, before = nxt, now
    return [History(k[0], k[1], k[2], k[3], k[4], tuple(c)) for k, c in zip(keys, changes) if c]


def read_history(repo_id: str, *, max_commits: int = DEFAULT_MAX_COMMITS, revision: str = "main",
                 results_dir: str = ".eval_results") -> tuple[list[History], int, bool]:
    """(histories, commits read, cut) of a model repo's result files: its commits
    (``HfApi.list_repo_commits``, newest first, at most ``max_commits``), the files at each
    through the HF cache, each distinct blob downloaded and parsed once. Raises the Hub's
    errors (the caller turns them into one line)."""
    from pathlib import Path

    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RemoteEntryNotFoundError
    from huggingface_hub.hf_api import RepoFile

    from run_eval.signing.results import ResultFileError, parse_raw

    api = HfApi()
    commits = api.list_repo_commits(repo_id, revision=revision)
    cut = len(commits) > max_commits
    commits = list(reversed(commits[:max_commits]))
    parsed: dict[str, list[Any]] = {}
    snaps = []
    for c in commits:
        try:
            tree = [f for f in api.list_repo_tree(repo_id, path_in_repo=results_dir, revision=c.commit_id)
                    if isinstance(f, RepoFile) and f.path.endswith(".yaml")]
        except (EntryNotFoundError, RemoteEntryNotFoundError):
            tree = []
        files = {}
        for f in tree:
            if f.blob_id not in parsed:
                local = hf_hub_download(repo_id, f.path, revision=c.commit_id)
                try:
                    parsed[f.blob_id] = parse_raw(Path(local).read_bytes(), f"{repo_id}/{f.path}@{c.commit_id[:12]}")
                except ResultFileError:
                    parsed[f.blob_id] = []  # a file that cannot be read at a commit has no entries there
            files[f.path] = parsed[f.blob_id]
        snaps.append(Snapshot(c.commit_id, c.created_at.isoformat() if c.created_at else None,
                              ", ".join(c.authors) or None, files))
    return histories(snaps, from_start=not cut), len(commits), cut


def rewrites(hist: list[History], file: str | None, raw_key: tuple[Any, Any, str | None],
             occurrence: int = 0) -> list[Change]:
    """The value rewrites (not additions) in the history of the entry of ``file`` keyed ``raw_key``."""
    for h in hist:
        if (h.file, h.dataset_id, h.task_id, h.source_name, h.occurrence) == (file, *raw_key, occurrence):
            return [c for c in h.changes if c.rewrite]
    return []


# ------------------------------------------------------------------ checks by signed entries

@dataclass(frozen=True)
class SignedCheck:
    """What a signed entry for the same model and task says of another entry's value:
    stats.claim_verdict of that value (as a fraction) against the signed entry's 95% interval."""

    signer: str
    value: Any  # the signed entry's value, on the shown scale
    verdict: str  # consistent / inconsistent / inconclusive
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"signer": self.signer, "value": self.value, "verdict": self.verdict, "why": self.why}


def check_against(claim_fraction: float | None, interval: tuple[float, float] | None, n: int | None, *,
                  signer: str, shown_value: Any, tolerance: float) -> SignedCheck:
    """One check; a claim that is not a number is inconclusive.

    >>> check_against(0.9, (0.3, 0.62), 30, signer="k", shown_value=46.0, tolerance=0.05).verdict
    'inconsistent'
    """
    if claim_fraction is None:
        return SignedCheck(signer, shown_value, "inconclusive", "the value is not a number")
    verdict, why = claim_verdict(claim_fraction, interval, n, tolerance=tolerance)
    return SignedCheck(signer, shown_value, verdict, why)
