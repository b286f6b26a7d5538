"""`run-eval leaderboard BENCHMARK`: the published record, ranked only where comparable.

The Hub ranks every model's value for a benchmark in one list, whatever method produced
it. Here each entry is read from the result file it came from (pinned to the commit that
was read: `main`, or the PR's ref), decided with the user's trust stores (`decide`), and
put in a **comparability group**: entries are comparable when they agree in every field
that `diff` says breaks a comparison (runner/compare/diff.py: dataset revision, task,
config and split, spec fingerprint, solvers, scorers, field_spec, generation settings,
decoding, epochs and reducer, limit, metric, samples and subset). Each group is ranked on
its own; unsigned and invalid entries (method unknown or not believable) are listed apart,
never ranked.

Within a group, each value has a 95% interval from its signed stderr (derived from value
and n for accuracy when absent); adjacent entries are **tied** unless an unpaired z-test of
their difference is significant at 5% after Holm-Bonferroni correction over the group's
adjacent comparisons. Ties share a rank (the best position of the tied block).
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.compare.diff import FIELDS, get
from run_eval.runner.compare.stats import derived_stderr, z_crit
from run_eval.runner.errors import LinesError
from run_eval.signing.claims import Claims
from run_eval.signing.results import RESULTS_DIR, ResultFileError
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import decide, find_result_files, load_entries

ALPHA = 0.05
RANKED = ("verified", "signed", "self-signed")
METHOD_FIELDS = [(label, path) for label, path, breaks in FIELDS if breaks]


class LeaderboardError(LinesError):
    pass


@dataclass(frozen=True)
class Row:
    """One model's entry for the benchmark, as read and decided."""

    model: str
    value: Any
    status: str
    reason: str | None
    claims: Claims | None = field(default=None, repr=False)
    task_id: Any = None
    pull_request: int | None = None  # the open PR the entry was read from (None: main, or a local file)
    hub_rank: int | None = None  # the Hub's own rank for this model (None: not from the Hub)
    source: str = ""  # where it was read: repo@commit/path, or a local file
    closed: dict[str, Any] | None = None  # {num, author, closed_at} for an entry of a closed PR

    @property
    def stderr(self) -> float | None:
        if self.claims is None:
            return None
        m = self.claims.metric
        return m.stderr if m.stderr is not None else derived_stderr(m.name, m.value, m.samples)


def method_of(c: Claims) -> dict[str, Any]:
    """The fields that must agree for two values to be compared (diff's breaking fields)."""
    return {label: get(c, path) for label, path in METHOD_FIELDS}


@dataclass
class Ranked:
    row: Row
    ci95: list[float] | None
    rank: int
    tied_with: list[str]


@dataclass
class Group:
    method: dict[str, Any]
    entries: list[Ranked]
    differs_from_largest: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Board:
    benchmark: str
    task_id: str | None
    groups: list[Group]
    unranked: list[Row]
    closed: list[Row]
    hub_mixed_pairs: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark, "task_id": self.task_id,
            "groups": [{"method": g.method, "differs_from_largest": g.differs_from_largest,
                        "entries": [{"model": r.row.model, "value": r.row.value, "ci95": r.ci95, "rank": r.rank,
                                     "tied_with": r.tied_with, "status": r.row.status,
                                     "pull_request": r.row.pull_request, "source": r.row.source}
                                    for r in g.entries]} for g in self.groups],
            "unranked": [{"model": r.model, "value": r.value, "status": r.status, "why": _why_unranked(r),
                          "pull_request": r.pull_request, "source": r.source} for r in self.unranked],
            "closed": [{"model": r.model, "value": r.value, "status": r.status, "reason": r.reason,
                        "task_id": r.task_id, **(r.closed or {}), "source": r.source} for r in self.closed],
            "hub_mixed_pairs": self.hub_mixed_pairs,
        }


def _why_unranked(r: Row) -> str:
    if r.status == "unsigned":
        return "no verifyToken: the method that produced it is unknown"
    return f"invalid token: {r.reason}"


# ------------------------------------------------------------------ building the board

def build(rows: list[Row], closed: list[Row], *, benchmark: str, task_id: str | None) -> Board:
    """Group, rank and compare rows (pure: no I/O)."""
    ranked_rows = [r for r in rows if r.status in RANKED and r.claims is not None]
    unranked = [r for r in rows if not (r.status in RANKED and r.claims is not None)]
    by_method: dict[str, list[Row]] = {}
    methods: dict[str, dict[str, Any]] = {}
    for r in ranked_rows:
        assert r.claims is not None
        m = method_of(r.claims)
        key = json.dumps(m, sort_keys=True, default=str)
        by_method.setdefault(key, []).append(r)
        methods[key] = m
    keys = sorted(by_method, key=lambda k: (-len(by_method[k]), k))
    groups = [Group(methods[k], rank(by_method[k])) for k in keys]
    if groups:
        largest = groups[0].method
        for g in groups[1:]:
            g.differs_from_largest = {label: [g.method[label], largest[label]] for label in g.method
                                      if g.method[label] != largest[label]}
    return Board(benchmark, task_id, groups, unranked, closed, hub_mixed_pairs(rows, groups))


def rank(rows: list[Row]) -> list[Ranked]:
    """Best first, each with its 95% interval; adjacent entries tied unless their difference is
    significant (unpaired z-test, Holm-Bonferroni over the adjacent comparisons)."""
    rows = sorted(rows, key=lambda r: (-float(r.value), r.model))
    zc = z_crit()
    p_values = [_p_value(a, b) for a, b in zip(rows, rows[1:])]
    separated = holm(p_values)
    out: list[Ranked] = []
    block_start = 0
    for i, r in enumerate(rows):
        if i > 0 and separated[i - 1]:
            block_start = i
        se = r.stderr
        ci = None if se is None else [float(r.value) - zc * se, float(r.value) + zc * se]
        out.append(Ranked(r, ci, block_start + 1, []))
    for i, ranked in enumerate(out):
        ranked.tied_with = [o.row.model for o in out if o.rank == ranked.rank and o is not ranked]
    return out


def _p_value(a: Row, b: Row) -> float:
    """Two-sided p of the difference of two independent means; 1 when a stderr is unknown."""
    sa, sb = a.stderr, b.stderr
    if sa is None or sb is None:
        return 1.0
    se = math.sqrt(sa ** 2 + sb ** 2)
    diff = float(a.value) - float(b.value)
    if se == 0:
        return 0.0 if diff else 1.0
    return math.erfc(abs(diff / se) / math.sqrt(2))


def holm(p_values: list[float], alpha: float = ALPHA) -> list[bool]:
    """Holm-Bonferroni: which of the hypotheses (here: adjacent equal) are rejected at ``alpha``.

    >>> holm([0.001, 0.2, 0.02])
    [True, False, True]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for k, i in enumerate(order):
        if p_values[i] > alpha / (m - k):
            break
        rejected[i] = True
    return rejected


def hub_mixed_pairs(rows: list[Row], groups: list[Group]) -> list[dict[str, Any]]:
    """Neighbours in the Hub's own ranking that are not comparable (different groups, or one
    not rankable): pairs the Hub ranks against each other although their methods differ."""
    group_of = {id(r.row): gi for gi, g in enumerate(groups) for r in g.entries}
    on_hub = sorted((r for r in rows if r.hub_rank is not None), key=lambda r: r.hub_rank)
    out = []
    for a, b in zip(on_hub, on_hub[1:]):
        ga, gb = group_of.get(id(a)), group_of.get(id(b))
        if ga is not None and ga == gb:
            continue
        if ga is None or gb is None:
            why: Any = "not rankable: " + ", ".join(f"{r.model} is {r.status}" for r, g in ((a, ga), (b, gb))
                                                      if g is None)
        else:
            why = {label: [groups[ga].method[label], groups[gb].method[label]] for label in groups[ga].method
                   if groups[ga].method[label] != groups[gb].method[label]}
        out.append({"models": [a.model, b.model], "hub_ranks": [a.hub_rank, b.hub_rank], "why": why})
    return out


# ------------------------------------------------------------------ reading the record

def _row(raw: Any, trust: TrustStore, *, model_id: str | None, fallback_model: str, **extra: Any) -> Row:
    v = decide(raw, trust, model_id=model_id)
    # a Hub row is the repo it was read from; a local file's, the model its token names
    model = model_id or (v.claims.model.id if v.claims is not None else v.model or fallback_model)
    return Row(model=str(model), value=v.value, status=v.status, reason=v.reason, claims=v.claims,
               task_id=v.task_id, **extra)


def _matches(raw: Any, benchmark: str | None, task_id: str | None) -> bool:
    ds = raw.get("dataset") if isinstance(raw, dict) else None
    if not isinstance(ds, dict):
        return False
    return (benchmark is None or ds.get("id") == benchmark) and (task_id is None or ds.get("task_id") == task_id)


def from_files(paths: list[Path], *, task_id: str | None, trust: TrustStore) -> tuple[list[Row], list[str]]:
    """Rows from local result files and folders (every entry; the task filter if given)."""
    files, problems = find_result_files(paths)
    rows = []
    for f in files:
        try:
            entries = load_entries(f)
        except ValueError as ex:
            problems.append(str(ex))
            continue
        for raw in entries:
            if _matches(raw, None, task_id):
                rows.append(_row(raw, trust, model_id=None, fallback_model=str(f), source=str(f)))
    return rows, problems


def from_hub(benchmark: str, *, task_id: str | None, all_models: bool, trust: TrustStore,
             workers: int = 8, progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """Rows for every model of the Hub's leaderboard of ``benchmark``: the result file each
    names, read from `main` or its PR's ref at the commit read then, in parallel (a bounded
    pool, through the HF cache)."""
    from huggingface_hub import HfApi

    api = HfApi()
    board = api.get_dataset_leaderboard(benchmark, base_model_only=False if all_models else None)
    done = [0]

    def one(entry: Any) -> list[Row]:
        pr = entry.pull_request
        revision = f"refs/pr/{pr}" if pr else "main"
        path = entry.filename if entry.filename.startswith(f"{RESULTS_DIR}/") else f"{RESULTS_DIR}/{entry.filename}"
        try:
            sha = api.model_info(entry.model_id, revision=revision).sha
            raws = _read(api, entry.model_id, path, sha)
            out = [_row(raw, trust, model_id=entry.model_id, fallback_model=entry.model_id, pull_request=pr,
                        hub_rank=entry.rank, source=f"{entry.model_id}@{sha}/{path}")
                   for raw in raws if _matches(raw, benchmark, task_id)]
            if not out:
                out = [Row(entry.model_id, entry.value, "invalid", f"{path}@{revision} has no entry for {benchmark}"
                           + (f" task {task_id!r}" if task_id else ""), pull_request=pr, hub_rank=entry.rank,
                           source=f"{entry.model_id}@{sha}/{path}")]
        except (ResultFileError, LinesError) as ex:
            out = [Row(entry.model_id, entry.value, "invalid", str(ex), pull_request=pr, hub_rank=entry.rank)]
        done[0] += 1
        if progress is not None:
            progress(done[0], len(board))
        return out

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [r for rows in pool.map(one, board) for r in rows]


def _read(api: Any, repo_id: str, path: str, revision: str) -> list[Any]:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    from run_eval.signing.results import parse_raw

    try:
        local = hf_hub_download(repo_id, path, revision=revision)
    except RemoteEntryNotFoundError:
        raise LeaderboardError(f"{repo_id}@{revision[:12]}: no {path}") from None
    return parse_raw(Path(local).read_bytes(), f"{repo_id}/{path}@{revision[:12]}")


def closed_rows(model_ids: list[str], *, benchmark: str | None, task_id: str | None,
                trust: TrustStore, workers: int = 8) -> list[Row]:
    """Entries of the models' closed, unmerged result pull requests (each decided), the
    models read in parallel (the same bounded pool as the board)."""
    from run_eval.runner.publish.published import closed_results

    def one(model_id: str) -> list[Row]:
        return [Row(model_id, c.verdict.value, c.verdict.status, c.verdict.reason, c.verdict.claims,
                    task_id=c.verdict.task_id, source=f"{model_id}@refs/pr/{c.num}/{c.path}",
                    closed={"num": c.num, "author": c.author, "closed_at": c.closed_at, "on_main": c.on_main})
                for c in closed_results(model_id, trust=trust)
                if (benchmark is None or c.dataset_id == benchmark)
                and (task_id is None or c.verdict.task_id == task_id)]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [r for rows in pool.map(one, sorted(set(model_ids))) for r in rows]
