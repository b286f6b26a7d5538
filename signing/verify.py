"""The trust decision, made once: a result entry and the user's trust stores in, one
immutable :class:`Verdict` out (in the manner of sigstore-python's verification results).

verified    valid signature by a trusted ``executor`` key
signed      valid signature by a trusted ``evaluator`` key
self-signed valid signature, key not in the trust store (integrity only)
unsigned    no verifyToken
invalid     anything else, with the reason (what was found, what was expected)

Every command that reads a token (``verify``, ``push``, ``results``, ``reproduce``,
``diff``, ``sweep``, and fetching a job's result) calls :func:`decide` with the stores of
:func:`run_eval.signing.trust.load_trust_stores`, so a revocation or a validity window
counts everywhere. Checks of evidence (``--log``) and of the job online (``--online``)
give results of their own (:class:`Check`); an entry whose check fails is invalid.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

from run_eval import safeyaml
from run_eval.signing.claims import Claims
from run_eval.signing.results import RESULTS_DIR, safe_load_yaml
from run_eval.signing.token import Checked, TokenInvalid, check_signature, entry_hash, show, signed_view
from run_eval.signing.trust import TrustStore

Status = Literal["verified", "signed", "self-signed", "unsigned", "invalid"]
STATUSES: tuple[Status, ...] = ("verified", "signed", "self-signed", "unsigned", "invalid")


@dataclass(frozen=True)
class Verdict:
    """What the trust decision says of one entry. ``claims`` are the token's typed claims
    when its signature holds (whatever the trust store says), else None."""

    status: Status
    reason: str | None = None  # why invalid: what was found and what was expected
    task_id: Any = None
    value: Any = None
    model: Any = None  # the model id the token is bound to
    kid: str | None = None  # the signing key's thumbprint
    signer: str | None = None  # the trust store's name for the key
    claims: Claims | None = field(default=None, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        """A valid signature: the claims can be believed to be what the signer signed."""
        return self.status in ("verified", "signed", "self-signed")

    def as_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "status": self.status, "reason": self.reason, "kid": self.kid,
                "signer": self.signer, "model": self.model, "value": self.value}


@dataclass(frozen=True)
class Check:
    """The result of a check beyond the signature (evidence, online): ``ok`` None when it
    was not made, with a note saying why; False makes the entry invalid, with the note as
    the reason."""

    ok: bool | None
    note: str


@dataclass(frozen=True)
class EntryReport:
    """One entry of a verified file: the decision and any further checks."""

    file: str
    index: int
    verdict: Verdict
    checks: tuple[Check, ...] = ()

    @property
    def status(self) -> Status:
        return "invalid" if any(c.ok is False for c in self.checks) else self.verdict.status

    @property
    def reason(self) -> str | None:
        failed = [c.note for c in self.checks if c.ok is False]
        return failed[0] if failed else self.verdict.reason

    @property
    def evidence(self) -> str | None:
        notes = [c.note for c in self.checks if c.ok is not False]
        return "; ".join(notes) if notes else None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, **self.verdict.as_dict(), "status": self.status,
                "reason": self.reason, "evidence": self.evidence}


@dataclass
class Report:
    entries: list[EntryReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read at all

    @property
    def ok(self) -> bool:
        return not self.problems and all(e.status != "invalid" for e in self.entries)


# ------------------------------------------------------------------ the decision

def decide(raw: Any, trust: TrustStore, *, model_id: str | None = None) -> Verdict:
    """The one trust decision for a result entry: signature (EdDSA, the header's key), the
    token's binding to this entry, to ``model_id`` when given, then the trust store (the
    key's role, revocation, validity window at the token's ``iat``)."""
    if not isinstance(raw, dict):
        return Verdict("invalid", f"the entry is not a mapping (got {type(raw).__name__})")
    ds = raw.get("dataset")
    base = {"task_id": _plain(ds.get("task_id")) if isinstance(ds, dict) else None, "value": _plain(raw.get("value"))}
    token = raw.get("verifyToken")
    if token is None:
        return Verdict("unsigned", **base)
    try:
        checked = check_signature(token)
    except TokenInvalid as ex:
        return Verdict("invalid", str(ex), **base)
    c = checked.claims
    signed = {**base, "kid": checked.key.kid, "model": c.model.id}
    try:
        _check_binding(raw, checked)
        if model_id is not None and c.model.id != model_id:
            raise TokenInvalid(f"the token is for model {show(c.model.id)}, not {model_id!r}")
        status, signer = _trust_status(checked, trust)
    except TokenInvalid as ex:
        return Verdict("invalid", str(ex), **signed)
    return Verdict(status, None, signer=signer, claims=c, **signed)


def _check_binding(raw: dict[str, Any], checked: Checked) -> None:
    c = checked.claims
    if entry_hash(raw) != c.hash:
        changed = _diff(signed_view(raw), c.entry)
        what = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        verb = "differ" if len(changed) > 1 else "differs"
        first = f"; {changed[0]} is {show(_at(signed_view(raw), changed[0]), 40)}, signed " \
                f"{show(_at(c.entry, changed[0]), 40)}" if changed and changed[0] != "entry" else ""
        raise TokenInvalid(f"hash mismatch: {what or 'the entry'} {verb} from what was signed{first}")
    # the hash matches the entry; the claims must agree with it too
    ds = raw.get("dataset") if isinstance(raw.get("dataset"), dict) else {}
    pairs = [
        ("value", raw.get("value"), c.metric.value, "metric.value"),
        ("dataset.id", ds.get("id"), c.dataset.id, "dataset.id"),
        ("dataset.revision", ds.get("revision"), c.dataset.revision, "dataset.revision"),
        ("dataset.task_id", ds.get("task_id"), c.dataset.task_id, "dataset.task_id"),
    ]
    for name, have, claimed, claim in pairs:
        if have != claimed or isinstance(have, bool) != isinstance(claimed, bool):
            raise TokenInvalid(f"{name} is {show(have)}, the token's {claim} is {show(claimed)}")


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=repr):
            name = k if isinstance(k, str) and k.isprintable() and len(k) <= 40 else show(k, 40)
            out += _diff(a.get(k), b.get(k), f"{prefix}.{name}" if prefix else name)
        return out
    return [] if a == b and type(a) is type(b) else [prefix or "entry"]


def _at(d: Any, path: str) -> Any:
    """The value at a dotted path of _diff's (for a reason: what is there, what was signed)."""
    for part in path.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d


def _plain(value: Any) -> Any:
    """A value from a stranger's file as a Verdict shows it: JSON scalars as they are, any
    other YAML type (a date, a list, bytes...) as its short repr, so printing never fails."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return show(value, 100)


def _trust_status(checked: Checked, trust: TrustStore) -> tuple[Status, str | None]:
    k = trust.find(checked.key.kid)
    if k is None:
        return "self-signed", None
    try:
        at = dt.datetime.fromtimestamp(checked.claims.iat, dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise TokenInvalid(f"malformed token: iat {show(checked.claims.iat)} is not a time") from None
    if k.revoked:
        raise TokenInvalid(f"key {k.name!r} ({k.kid[:12]}…) is revoked (since {_time(k.revoked)}; the token's "
                           f"iat is {_time(at)}): no token of a revoked key is accepted")
    problem = k.window_problem(at)
    if problem:
        raise TokenInvalid(problem)
    return ("verified" if k.role == "executor" else "signed"), k.name


def _time(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ files and checks

def find_result_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Result files: the files named, and every ``.eval_results/*.yaml`` in or below each
    folder named (a folder of model folders, a sweep's output). Other hidden folders are
    not searched."""
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.glob("*.yaml")) if p.name == RESULTS_DIR else _below(p)
            if not found:
                problems.append(f"{p}: no {RESULTS_DIR}/*.yaml in or below this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems


def _below(root: Path) -> list[Path]:
    out = []
    for folder, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") or d == RESULTS_DIR)
        if Path(folder).name == RESULTS_DIR:
            out += sorted(Path(folder).glob("*.yaml"))
            dirs[:] = []
    return out


def load_entries(path: Path) -> list[Any]:
    """The entries of a result file; ValueError with one line (file, what, what to do)."""
    try:
        data = safe_load_yaml(safeyaml.read_bytes(path))
    except OSError as ex:
        raise ValueError(f"{path}: cannot read ({ex.strerror or type(ex).__name__})") from None
    except safeyaml.YamlInputError as ex:
        raise ValueError(f"{path}: not a readable result file: {ex}; fix the file or ask its author") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: not a result file (expected a list of entries); fix the file or ask its author")
    return data


OnlineCheck = Callable[[Claims], Check]


# Workers pay for themselves from about this many files on: forking them and sending their
# verdicts back costs about what verifying 100 files does (measured: BENCHMARKS.md section 3).
PARALLEL_MIN_FILES = 128
_CHUNK_MAX = 64  # files per task sent to a worker: big enough to amortise, small enough to balance


def cores() -> int:
    """The cores this process may run on (``taskset`` counts), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def verify_paths(paths: list[Path], *, trust: TrustStore, model_id: str | None = None,
                 logs: list[Path] | None = None, online: OnlineCheck | None = None,
                 jobs: int | None = 1) -> Report:
    """Every entry of the result files under ``paths``, decided, plus the evidence of
    ``logs`` and, when given, the ``online`` check (runner/remote/online.py; this package
    makes no network call) for each entry whose signature holds.

    ``jobs`` worker processes decide the files (None: one per core when there are at least
    PARALLEL_MIN_FILES files, else 1); the report is the same, in the same order, except
    that verdicts decided in a worker come back without their typed ``claims`` (sending
    them back would cost more than deciding). With ``logs`` or ``online`` the checks need
    the claims, so everything is decided here, in this process."""
    with _collector_paused():
        report = Report()
        files, report.problems = find_result_files(paths)
        logs_by = _index_logs(logs or [], report.problems)
        used_logs: set[Path] = set()
        workers = _workers(jobs, len(files)) if not logs_by and online is None else 1
        decided = _decide_in_workers(files, trust, model_id, workers) if workers > 1 else \
            (_decide_file(f, trust, model_id) for f in files)
        _collect(report, decided, logs_by, used_logs, online)
    for path in sorted(set(logs_by.values()) - used_logs):
        report.problems.append(f"--log {path}: no entry's token names this log (by its sha256, or by its dataset, "
                               "task and model)")
    return report


def _collect(report: Report, decided, logs_by: dict[_LogKey, Path], used_logs: set[Path],
             online: OnlineCheck | None) -> None:
    for problem, entries in decided:
        if problem is not None:
            report.problems.append(problem)
            continue
        for e in entries:
            checks = []
            if logs_by and e.verdict.claims is not None:
                checks.append(check_evidence(e.verdict.claims, logs_by, used_logs))
            if online is not None and e.verdict.claims is not None:
                checks.append(online(e.verdict.claims))
            report.entries.append(EntryReport(e.file, e.index, e.verdict, tuple(checks)) if checks else e)


class _collector_paused:
    """The cyclic garbage collector off for a batch of files, back as it was after (in
    ``with``). Deciding an entry makes thousands of short-lived dicts and strings that
    reference counting frees; the collector's passes over them find nothing to collect
    and cost 5-10% of the per-entry path (BENCHMARKS.md section 3). What a batch leaves
    in a cycle is collected when the collector is back on."""

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            gc.enable()


def _workers(jobs: int | None, files: int) -> int:
    if jobs is None:
        return min(cores(), files // (PARALLEL_MIN_FILES // 2)) if files >= PARALLEL_MIN_FILES else 1
    return max(1, min(jobs, files))


_Decided = tuple["str | None", list[EntryReport]]  # (why the file cannot be read, or None; its entries)


def _decide_file(f: Path, trust: TrustStore, model_id: str | None) -> _Decided:
    try:
        entries = load_entries(f)
    except ValueError as ex:
        return str(ex), []
    return None, [EntryReport(str(f), i, decide(raw, trust, model_id=model_id)) for i, raw in enumerate(entries)]


def _decide_in_workers(files: list[Path], trust: TrustStore, model_id: str | None, workers: int):
    """Yield _decide_file of each file, in order, decided by ``workers`` processes.

    Ctrl-C: SIGINT is blocked while the workers are forked, so they start with it blocked
    and then ignore it; only this process sees it (KeyboardInterrupt: one line and 130, as
    without workers), and the workers end with their current chunk."""
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor

    # fork: a worker starts with everything imported here (spawn would import it again)
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    size = max(1, min(_CHUNK_MAX, -(-len(files) // (workers * 4))))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    blocked = hasattr(signal, "pthread_sigmask")
    if blocked:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(trust, model_id))
    done = False
    try:
        try:
            results = pool.map(_decide_chunk, chunks)  # forks the workers (with SIGINT blocked)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a Ctrl-C meanwhile lands now
        for chunk in results:
            yield from chunk
        done = True
    finally:
        # every result read: wait for the workers to end (an executor left running at exit can
        # print a traceback from its atexit hook); interrupted: drop what is pending
        pool.shutdown(wait=done, cancel_futures=not done)


_WORKER: tuple[TrustStore, str | None] | None = None


def _worker_init(trust: TrustStore, model_id: str | None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _WORKER
    _WORKER = (trust, model_id)


def _decide_chunk(files: list[Path]) -> list[_Decided]:
    assert _WORKER is not None
    trust, model_id = _WORKER
    out = []
    with _collector_paused():
        for f in files:
            problem, entries = _decide_file(f, trust, model_id)
            # the typed claims are left behind: unpickling them here would cost more than deciding
            out.append((problem, [replace(e, verdict=replace(e.verdict, claims=None)) for e in entries]))
    return out


@dataclass(frozen=True)
class _LogKey:
    sha256: str
    dataset: tuple[Any, Any]  # (dataset id, task id)
    model: tuple[Any, Any]  # (model id, model revision)


def _index_logs(logs: list[Path], problems: list[str]) -> dict[_LogKey, Path]:
    if not logs:
        return {}
    from inspect_ai.log import read_eval_log

    from run_eval.signing.evidence import log_sha256

    index: dict[_LogKey, Path] = {}
    for path in logs:
        try:
            header = read_eval_log(str(path), header_only=True)
            rec = (header.eval.metadata or {})["run_eval"]
            key = _LogKey(log_sha256(path), (rec["dataset"]["id"], rec["dataset"]["task_id"]),
                          (rec["model"]["id"], rec["model"]["revision"]))
        except Exception:
            problems.append(f"--log {path}: not an Inspect log written by run-eval")
            continue
        index[key] = path
    return index


def check_evidence(c: Claims, logs_by: dict[_LogKey, Path], used: set[Path]) -> Check:
    """The entry's evidence against the --log it names: the log by its sha256 (else the log of
    the same dataset, task and model, to say it differs), its per-sample digest, and the value
    recomputed from its samples."""
    from inspect_ai.log import read_eval_log

    from run_eval.signing.evidence import recompute_metric, samples_sha256

    if c.evidence is None:
        return Check(None, "not checked (the token names no evidence)")
    same = [(k, p) for k, p in logs_by.items() if k.sha256 == c.evidence.log_sha256]
    if not same:
        like = [p for k, p in logs_by.items()
                if k.dataset == (c.dataset.id, c.dataset.task_id) and k.model == (c.model.id, c.model.revision)]
        if like:
            used.update(like)
            return Check(False, f"--log {like[0]}: its sha256 is not the token's evidence.log_sha256 "
                                f"({c.evidence.log_sha256[:12]}…)")
        return Check(None, "not checked (no --log for this entry)")
    path = same[0][1]
    used.add(path)
    log = read_eval_log(str(path))
    got = samples_sha256(log)
    if got != c.evidence.samples_sha256:
        return Check(False, f"--log {path}: per-sample scores digest {got[:12]}…, the token's "
                            f"evidence.samples_sha256 is {c.evidence.samples_sha256[:12]}…")
    again = recompute_metric(log, c.metric.name)
    if again.value is None:
        return Check(True, f"log digests match; {again.note}")
    if not math.isclose(again.value, c.metric.value, rel_tol=0.0, abs_tol=1e-9):
        return Check(False, f"--log {path}: the samples give {c.metric.name} {again.value!r}, "
                            f"the token claims {c.metric.value!r}")
    return Check(True, f"log digests match; value recomputed ({again.note})")
