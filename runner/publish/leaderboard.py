"""`run-eval leaderboard BENCHMARK`: the published record, ranked only where comparable.

The Hub ranks every model's value for a benchmark in one list, whatever method produced
it. Here each entry is read from the result file it came from (pinned to the commit that
was read: `main`, or the PR's ref), decided with the user's trust stores (`decide`), and
put in a **comparability group**: entries are comparable when they agree in every field
that `diff` says breaks a comparison (runner/compare/diff.py: dataset revision, task,
config and split, spec fingerprint, solvers, scorers, field_spec, generation settings,
decoding, epochs and reducer, limit, metric, samples and subset). Each group is ranked on
its own; unsigned and invalid entries (method unknown or not believable) and Hub rows whose
repo or file cannot be read (`unreadable`: gated, private, deleted) are listed apart, never
ranked.

Within a group, each value has a 95% interval (stats.score_interval: Wilson for a mean of
0/1 scores, from n or the smaller effective n its signed stderr implies, so it stays in
[0, 1]; value ± z·stderr otherwise; none where the stderr is unknown or 0, and such an entry
is never separated from another). **Ranks** are read from the same intervals made
simultaneous: each at level 1 − 0.05/n for a group of n (Bonferroni over the n intervals, so
that all of them hold at once with 95% confidence). An entry is significantly better than
another when its lower end is above the other's upper end; an entry's rank is 1 + the number
of entries significantly better than it (as LMSYS's Chatbot Arena ranks), and `rank_range`
[best, worst] = [1 + #better, n − #worse] is a simultaneous 95% confidence set for the ranks
(Klein, Wright & Wieczorek, "A joint confidence region for an overall ranking of
populations", J. R. Stat. Soc. C, 2020). Counting uses two sorted lists and bisection:
O(n log n), and the output grows linearly with n. Equal values share a rank, and a better value never gets a
worse rank: where different widths would say otherwise, the better value takes the smaller
best (and the worse value the larger worst), which only widens what is claimed.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.compare.diff import FIELDS, get
from run_eval.runner.compare.stats import LEVEL, score_interval
from run_eval.runner.errors import LinesError
from run_eval.runner.publish.record import (DEFAULT_MAX_COMMITS, Change, Conflict, History, OnScale, Provenance,
                                            SignedCheck, Undeclared, check_against, entry_key, find_conflicts,
                                            find_undeclared, read_history, rewrites)
from run_eval.signing.claims import Claims
from run_eval.signing.results import RESULTS_DIR, ResultFileError
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import decide, find_result_files, load_entries

ALPHA = 0.05
RANKED = ("verified", "signed", "self-signed")
UNREADABLE = "unreadable"  # a Hub row whose repo or file could not be read (gated, private, deleted)
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
    provenance: Provenance | None = None  # source, user, org, date, notes, file, PR (record.Provenance)
    signer: str | None = None  # the trust store's name for the key, else "key <thumbprint>"
    key: tuple[Any, Any, str | None, int] | None = None  # (dataset id, task_id, source name, occurrence) in its file
    rewritten: tuple[Change, ...] = ()  # the value's rewrites on main (record.read_history)
    checks: tuple[SignedCheck, ...] = ()  # what signed entries for the same model and task say of it
    corroborated_by: tuple[str, ...] = ()  # other keys whose signed entry, same method, agrees
    kid: str | None = None  # the signing key's thumbprint

    @property
    def signed(self) -> bool:
        """Its value is a token's (Inspect's, a fraction), believed to be what was signed."""
        return self.status in RANKED and self.claims is not None

    def interval(self, level: float = LEVEL) -> tuple[float, float] | None:
        """The value's interval at ``level`` (stats.score_interval); None where its uncertainty is unknown."""
        if self.claims is None:
            return None
        m = self.claims.metric
        return score_interval(m.name, float(m.value), m.stderr, m.samples, level)


def method_of(c: Claims) -> dict[str, Any]:
    """The fields that must agree for two values to be compared (diff's breaking fields)."""
    return {label: get(c, path) for label, path in METHOD_FIELDS}


@dataclass
class Ranked:
    row: Row
    ci95: list[float] | None
    rank: int  # 1 + the entries significantly better than this one
    rank_range: list[int]  # [best, worst]: the ranks it could hold (simultaneous 95%)
    rank_ci: list[float] | None = None  # the simultaneous interval the ranks are read from


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
    scale: OnScale = field(default_factory=lambda: OnScale("unknown", "fraction"))
    conflicts: list[Conflict] = field(default_factory=list)
    undeclared: list[Undeclared] = field(default_factory=list)
    declared: list[str] | None = None  # the task ids the benchmark's eval.yaml declares (None: not read)
    spec: dict[str, Any] = field(default_factory=dict)  # where they were read, or why they could not be

    def entry(self, r: Row) -> dict[str, Any]:
        """What every listing says of one entry: its value on the shown scale and as written,
        its provenance, the signed entries that check it, and its rewrites."""
        return {"model": r.model, "task_id": r.task_id, "value": self.scale.show(r.value, signed=r.signed),
                "published_value": r.value, "status": r.status, "pull_request": r.pull_request, "source": r.source,
                "provenance": (r.provenance or Provenance(pull_request=r.pull_request)).as_dict(),
                "checks": [c.as_dict() for c in r.checks], "corroborated_by": list(r.corroborated_by),
                "rewritten": [c.as_dict() for c in r.rewritten]}

    def as_dict(self) -> dict[str, Any]:
        show = self.scale.show_interval
        return {
            "benchmark": self.benchmark, "task_id": self.task_id, "scale": self.scale.as_dict(),
            "groups": [{"method": g.method, "differs_from_largest": g.differs_from_largest,
                        "rank_level": rank_level(len(g.entries)),
                        "entries": [{**self.entry(r.row), "ci95": show(r.ci95), "rank": r.rank,
                                     "rank_range": r.rank_range, "rank_ci": show(r.rank_ci)}
                                    for r in g.entries]} for g in self.groups],
            "unranked": [{**self.entry(r), "why": _why_unranked(r)} for r in self.unranked],
            "closed": [{**self.entry(r), "reason": r.reason, **(r.closed or {})} for r in self.closed],
            "hub_mixed_pairs": self.hub_mixed_pairs,
            "conflicts": [c.as_dict() for c in self.conflicts],
            "declared_task_ids": self.declared, "spec": self.spec,
            "undeclared_task_ids": [u.as_dict() for u in self.undeclared],
        }


def _why_unranked(r: Row) -> str:
    if r.status == "unsigned":
        return "no verifyToken: the method that produced it is unknown"
    if r.status == UNREADABLE:
        return f"the result file could not be read: {r.reason}"
    return f"invalid token: {r.reason}"


# ------------------------------------------------------------------ building the board

def build(rows: list[Row], closed: list[Row], *, benchmark: str, task_id: str | None,
          declared: list[str] | None = None, spec: dict[str, Any] | None = None,
          tolerance: float = 0.05) -> Board:
    """Group, rank and compare rows (pure: no I/O). ``rows`` are every entry of the benchmark:
    the task ids that ``declared`` (the eval.yaml's, None: unknown) does not declare are listed
    whatever ``task_id`` asks; the board itself holds ``task_id``'s entries (and the rows that
    name no task: unreadable files). Every value is shown on the record's scale; a signed
    entry's value is a fraction, and ranking uses the claims as signed."""
    undeclared = [] if declared is None else find_undeclared(
        ((r.model, r.task_id) for r in rows if r.status != UNREADABLE), declared)
    scale = OnScale.of([r.value for r in rows + closed if not r.signed], signed=sum(r.signed for r in rows + closed))
    rows = annotate([r for r in rows if task_id is None or r.task_id in (task_id, None)], scale, tolerance)
    closed = annotate([r for r in closed if task_id is None or r.task_id in (task_id, None)], scale, tolerance)
    conflicts = find_conflicts((r.model, r.task_id, scale.show(r.value, signed=r.signed), r.provenance)
                               for r in rows if r.status != UNREADABLE and r.task_id is not None)
    ranked_rows = [r for r in rows if r.signed]
    unranked = [r for r in rows if not r.signed]
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
    return Board(benchmark, task_id, groups, unranked, closed, hub_mixed_pairs(rows, groups), scale, conflicts,
                 undeclared, declared, spec or {})


def annotate(rows: list[Row], scale: OnScale, tolerance: float) -> list[Row]:
    """Each row with the checks of the signed entries for the same model and task (every other
    one), and, for a signed row, the other keys whose entry of the same method agrees with it
    (``corroborated_by``)."""
    signed: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if r.signed:
            signed.setdefault((r.model, repr(r.task_id)), []).append(r)
    out = []
    for r in rows:
        others = [s for s in signed.get((r.model, repr(r.task_id)), []) if s is not r]
        checks = tuple(check_against(scale.fraction(r.value, signed=r.signed), s.interval(),
                                     s.claims.metric.samples if s.claims else None, signer=s.signer or "-",
                                     shown_value=scale.show(s.value, signed=True), tolerance=tolerance)
                       for s in others)
        corroborated = tuple(dict.fromkeys(
            c.signer for s, c in zip(others, checks)
            if r.signed and r.claims is not None and s.claims is not None and c.verdict == "consistent"
            and s.kid != r.kid and method_of(s.claims) == method_of(r.claims)))
        out.append(replace(r, checks=checks, corroborated_by=corroborated))
    return out


def rank_level(n: int) -> float:
    """The level of each of a group's n simultaneous intervals (Bonferroni: 1 − ALPHA/n).

    >>> rank_level(1), round(rank_level(3), 4)
    (0.95, 0.9833)
    """
    return 1 - ALPHA / max(n, 1)


def rank(rows: list[Row]) -> list[Ranked]:
    """Best first, each with its 95% interval, its rank and the range of ranks it could hold
    (rank_ranges on the group's simultaneous intervals)."""
    rows = sorted(rows, key=lambda r: (-float(r.value), r.model))
    wide = [r.interval(rank_level(len(rows))) for r in rows]
    out = []
    for r, w, (best, worst) in zip(rows, wide, rank_ranges([float(r.value) for r in rows], wide)):
        ci = r.interval()
        out.append(Ranked(r, None if ci is None else list(ci), best, [best, worst], None if w is None else list(w)))
    return out


def rank_ranges(values: list[float], intervals: list[tuple[float, float] | None]) -> list[tuple[int, int]]:
    """[best, worst] rank of each value (sorted best first), from simultaneous intervals (None:
    unknown, never separated): best = 1 + #{j: low_j > high_i}, worst = n − #{j: high_j < low_i},
    counted by bisection in sorted ends; then equal values share, and a better value never gets
    a worse best or worst (only widening).

    The issue's example (.80, .75, .70, stderr .02, 3 simultaneous intervals at z = 2.394):
    .80 and .70 differ, .75 differs from neither.

    >>> h = 2.394 * 0.02
    >>> rank_ranges([.80, .75, .70], [(v - h, v + h) for v in (.80, .75, .70)])
    [(1, 2), (1, 3), (2, 3)]
    >>> # an unknown interval (None) is never separated, and an equal value shares its rank
    >>> rank_ranges([.9, .5, .5, .1], [(.8, 1.), (.4, .6), None, (0., .2)])
    [(1, 2), (1, 4), (1, 4), (3, 4)]
    """
    n = len(values)
    lows = [w[0] if w else -math.inf for w in intervals]
    highs = [w[1] if w else math.inf for w in intervals]
    sorted_lows, sorted_highs = sorted(lows), sorted(highs)
    best = [1 + n - bisect_right(sorted_lows, h) for h in highs]
    worst = [n - bisect_left(sorted_highs, lo) for lo in lows]
    starts = [i for i in range(n) if i == 0 or values[i] != values[i - 1]]
    spans = list(zip(starts, starts[1:] + [n]))
    running = n
    for a, b in reversed(spans):
        running = min([running] + best[a:b])
        best[a:b] = [running] * (b - a)
    running = 1
    for a, b in spans:
        running = max([running] + worst[a:b])
        worst[a:b] = [running] * (b - a)
    return list(zip(best, worst))


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

def _row(raw: Any, trust: TrustStore, *, model_id: str | None, fallback_model: str, file: str,
         occurrence: int = 0, pull_request: int | None = None, **extra: Any) -> Row:
    v = decide(raw, trust, model_id=model_id)
    # a Hub row is the repo it was read from; a local file's, the model its token names
    model = model_id or (v.claims.model.id if v.claims is not None else v.model or fallback_model)
    return Row(model=str(model), value=v.value, status=v.status, reason=v.reason, claims=v.claims,
               task_id=v.task_id, pull_request=pull_request,
               provenance=Provenance.from_entry(raw, file=file, pull_request=pull_request),
               signer=v.signer or (f"key {v.kid[:12]}" if v.kid else None), kid=v.kid,
               key=(*entry_key(raw), occurrence), **extra)


def _entries(raws: list[Any], benchmark: str | None) -> list[tuple[Any, int]]:
    """The entries of one file for ``benchmark`` (None: every one), each with its occurrence
    among the file's entries of the same (dataset id, task_id, source name)."""
    seen: dict[str, int] = {}
    out = []
    for raw in raws:
        k = repr(entry_key(raw))
        seen[k] = seen.get(k, -1) + 1
        ds = raw.get("dataset") if isinstance(raw, dict) else None
        if isinstance(ds, dict) and (benchmark is None or ds.get("id") == benchmark):
            out.append((raw, seen[k]))
    return out


def from_files(paths: list[Path], *, trust: TrustStore) -> tuple[list[Row], list[str]]:
    """Rows from local result files and folders (every entry of every task)."""
    files, problems = find_result_files(paths)
    rows = []
    for f in files:
        try:
            entries = load_entries(f)
        except ValueError as ex:
            problems.append(str(ex))
            continue
        for raw, n in _entries(entries, None):
            rows.append(_row(raw, trust, model_id=None, fallback_model=str(f), file=str(f), occurrence=n,
                             source=str(f)))
    return rows, problems


def from_hub(benchmark: str, *, all_models: bool, trust: TrustStore, workers: int = 8,
             progress: Callable[[int, int], None] | None = None,
             max_commits: int = DEFAULT_MAX_COMMITS) -> list[Row]:
    """Rows for every entry of ``benchmark`` (every task) in the files of the Hub's leaderboard:
    each file read from `main` or its PR's ref at the commit read then, in parallel (a bounded
    pool, through the HF cache), and each model's history on main read in the same pool
    (at most ``max_commits`` commits; 0: none) to mark the values rewritten since.

    The Hub shows one row per entry, each naming the whole file: each (model, file, ref) is
    read once and each of its entries listed once, with the Hub's rank of the row that shows
    its value. A repo or file that cannot be read (gated, private, deleted) is one row of
    status `unreadable` with the Hub's one-line reason; the board goes on without it."""
    from huggingface_hub import HfApi

    from run_eval.tasks.hub import hub_error

    api = HfApi()
    board = api.get_dataset_leaderboard(benchmark, base_model_only=False if all_models else None)
    files: dict[tuple[str, int | None, str], list[Any]] = {}
    for entry in board:
        path = entry.filename if entry.filename.startswith(f"{RESULTS_DIR}/") else f"{RESULTS_DIR}/{entry.filename}"
        files.setdefault((entry.model_id, entry.pull_request, path), []).append(entry)
    done = [0]

    def one(key: tuple[str, int | None, str]) -> list[Row]:
        model_id, pr, path = key
        shown = sorted(files[key], key=lambda e: e.rank)
        revision = f"refs/pr/{pr}" if pr else "main"
        try:
            sha = api.model_info(model_id, revision=revision).sha
            raws = _read(api, model_id, path, sha)
            out = [_row(raw, trust, model_id=model_id, fallback_model=model_id, pull_request=pr, file=path,
                        occurrence=n, source=f"{model_id}@{sha}/{path}")
                   for raw, n in _entries(raws, benchmark)]
            if not out:
                out = [Row(model_id, shown[0].value, "invalid", f"{path}@{revision} has no entry for {benchmark}",
                           pull_request=pr, source=f"{model_id}@{sha}/{path}",
                           provenance=Provenance(file=path, pull_request=pr))]
        except (ResultFileError, LinesError) as ex:
            out = [Row(model_id, shown[0].value, "invalid", str(ex), pull_request=pr,
                       provenance=Provenance(file=path, pull_request=pr))]
        except Exception as ex:  # a Hub error about this one repo: list it apart, finish the board
            why = hub_error(ex, f"model {model_id}", model_id, "model")
            if why is None:
                raise
            out = [Row(model_id, shown[0].value, UNREADABLE, why, pull_request=pr,
                       provenance=Provenance(file=path, pull_request=pr))]
        done[0] += 1
        if progress is not None:
            progress(done[0], len(files))
        return _with_hub_ranks(out, shown)

    def history(model_id: str) -> list[History]:
        try:
            return read_history(model_id, max_commits=max_commits)[0]
        except Exception as ex:  # no history is no mark: the entries are listed all the same
            if hub_error(ex, f"model {model_id}", model_id, "model") is None:
                raise
            return []

    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = [r for rows in pool.map(one, list(files)) for r in rows]
        models = sorted({r.model for r in rows if r.status != UNREADABLE and r.pull_request is None})
        hist = dict(zip(models, pool.map(history, models))) if max_commits > 0 else {}
    return [replace(r, rewritten=tuple(rewrites(hist[r.model], r.provenance.file, r.key[:3], r.key[3])))
            if r.model in hist and r.pull_request is None and r.key is not None and r.provenance is not None else r
            for r in rows]


def _with_hub_ranks(rows: list[Row], shown: list[Any]) -> list[Row]:
    """Each row with the Hub's rank of the row that shows its value (the first such row not
    yet taken), else of the first row left: the Hub's rows carry a value, not an entry."""
    left = list(shown)
    out = []
    for r in rows:
        match = next((e for e in left if isinstance(r.value, (int, float)) and math.isclose(
            float(e.value), float(r.value), rel_tol=0.0, abs_tol=1e-12)), left[0] if left else None)
        if match is not None:
            left.remove(match)
        out.append(replace(r, hub_rank=match.rank if match is not None else shown[0].rank))
    return out


def _read(api: Any, repo_id: str, path: str, revision: str) -> list[Any]:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    from run_eval.signing.results import parse_raw

    try:
        local = hf_hub_download(repo_id, path, revision=revision)
    except RemoteEntryNotFoundError:
        raise LeaderboardError(f"{repo_id}@{revision[:12]}: no {path}") from None
    return parse_raw(Path(local).read_bytes(), f"{repo_id}/{path}@{revision[:12]}")


def closed_rows(model_ids: list[str], *, benchmark: str | None, trust: TrustStore, workers: int = 8) -> list[Row]:
    """Entries of the models' closed, unmerged result pull requests (each decided; every task),
    the models read in parallel (the same bounded pool as the board)."""
    from run_eval.runner.publish.published import closed_results

    def one(model_id: str) -> list[Row]:
        return [Row(model_id, c.verdict.value, c.verdict.status, c.verdict.reason, c.verdict.claims,
                    task_id=c.verdict.task_id, source=f"{model_id}@refs/pr/{c.num}/{c.path}",
                    closed={"num": c.num, "author": c.author, "closed_at": c.closed_at, "on_main": c.on_main},
                    provenance=c.provenance, kid=c.verdict.kid,
                    signer=c.verdict.signer or (f"key {c.verdict.kid[:12]}" if c.verdict.kid else None))
                for c in closed_results(model_id, trust=trust)
                if benchmark is None or c.dataset_id == benchmark]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [r for rows in pool.map(one, sorted(set(model_ids))) for r in rows]


def read_declared(arg: str, *, what: str) -> tuple[list[str] | None, dict[str, Any]]:
    """(the task ids, where they were read) of the benchmark ``arg`` (a folder, an eval.yaml, or
    a Hub dataset id, read at the commit its `main` is now): whatever framework runs it. A Hub
    dataset without an eval.yaml gives (None, why); a bad argument raises LeaderboardError."""
    from run_eval import safeyaml
    from run_eval.tasks.errors import BenchmarkError
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import declared_task_ids

    try:
        bench = resolve_benchmark(arg)
    except BenchmarkError as ex:
        if Path(arg).exists():
            raise LeaderboardError([f"{what}: {line}" for line in ex.lines]) from None
        return None, {"eval_yaml": None, "why": "; ".join(ex.lines)}
    try:
        framework, ids = declared_task_ids(safeyaml.load_file(bench.eval_yaml))
    except (OSError, safeyaml.YamlInputError) as ex:
        raise LeaderboardError(f"{what}: {bench.eval_yaml}: cannot be read ({ex}); fix it or name another") from None
    where = f"{bench.dataset_id}@{bench.revision}" if not bench.local else str(bench.eval_yaml)
    return ids, {"eval_yaml": where, "evaluation_framework": framework, "why": None}
