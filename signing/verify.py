"""Offline verification of result entries: one status per entry, with the reason.

verified    valid signature by a trusted ``executor`` key
signed      valid signature by a trusted ``evaluator`` key
self-signed valid signature, key not in the trust store (integrity only)
unsigned    no verifyToken
invalid     anything else, with the reason
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from run_eval import safeyaml
from run_eval.signing.evidence import log_sha256, recompute_metric, samples_sha256
from run_eval.signing.results import RESULTS_DIR, safe_load_yaml
from run_eval.signing.token import Checked, TokenInvalid, check_signature, entry_hash, show, signed_view
from run_eval.signing.trust import TrustStore

STATUSES = ("verified", "signed", "self-signed", "unsigned", "invalid")


@dataclass
class Verdict:
    file: str
    index: int
    task_id: str | None
    status: str
    reason: str | None = None
    kid: str | None = None
    signer: str | None = None  # the trust store's name for the key
    model: str | None = None
    value: Any = None
    evidence: str | None = None  # what --log checked

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


@dataclass
class Report:
    verdicts: list[Verdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read at all

    @property
    def ok(self) -> bool:
        return not self.problems and all(v.status != "invalid" for v in self.verdicts)


def find_result_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            pattern = "*.yaml" if p.name == RESULTS_DIR else f"{RESULTS_DIR}/*.yaml"
            found = sorted(p.glob(pattern))
            if not found:
                problems.append(f"{p}: no {RESULTS_DIR}/*.yaml in this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems


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


OnlineCheck = Callable[["Verdict", dict[str, Any]], None]


def verify_paths(paths: list[Path], *, trust: TrustStore, model_id: str | None = None,
                 logs: list[Path] | None = None, online: OnlineCheck | None = None) -> Report:
    """Every entry of the result files under ``paths``, verified offline. ``online``, when
    given, is called with each entry whose signature holds (verdict, claims) to add a check
    that needs the network (runner/remote/online.py); this package makes no network call."""
    report = Report()
    files, report.problems = find_result_files(paths)
    log_index = _index_logs(logs or [], report.problems)
    used_logs: set[Path] = set()
    for f in files:
        try:
            entries = load_entries(f)
        except ValueError as ex:
            report.problems.append(str(ex))
            continue
        for i, raw in enumerate(entries):
            v, checked = _verify_entry(raw, trust=trust, model_id=model_id, file=str(f), index=i)
            if log_index and v.status != "invalid" and v.status != "unsigned":
                _check_evidence(v, raw, log_index, used_logs, checked.claims)
            if online is not None and v.status not in ("invalid", "unsigned"):
                online(v, checked.claims)
            report.verdicts.append(v)
    for path in set(log_index.values()) - used_logs:
        report.problems.append(f"--log {path}: no verified entry points to this log (by dataset and task)")
    return report


def verify_entry(raw: Any, *, trust: TrustStore, model_id: str | None = None,
                 file: str = "-", index: int = 0) -> Verdict:
    return _verify_entry(raw, trust=trust, model_id=model_id, file=file, index=index)[0]


def _verify_entry(raw: Any, *, trust: TrustStore, model_id: str | None, file: str,
                  index: int) -> tuple[Verdict, Checked | None]:
    """The verdict, and the checked token when its signature is valid (for --log and --online)."""
    task_id = None
    if isinstance(raw, dict) and isinstance(raw.get("dataset"), dict):
        task_id = _plain(raw["dataset"].get("task_id"))
    v = Verdict(file=file, index=index, task_id=task_id, status="invalid",
                value=_plain(raw.get("value")) if isinstance(raw, dict) else None)
    if not isinstance(raw, dict):
        v.reason = "entry is not a mapping"
        return v, None
    token = raw.get("verifyToken")
    if token is None:
        v.status = "unsigned"
        return v, None
    checked = None
    try:
        checked = check_signature(token)
        v.kid = checked.key.kid
        _check_binding(raw, checked)
        claims = checked.claims
        v.model = _plain(claims["model"].get("id"))
        if model_id is not None and v.model != model_id:
            raise TokenInvalid(f"the token is for model {show(v.model)}, not {model_id!r}")
        v.status, v.signer = _trust_status(checked, trust)
    except TokenInvalid as ex:
        v.status, v.reason = "invalid", str(ex)
    return v, checked


def _check_binding(raw: dict[str, Any], checked: Checked) -> None:
    claims = checked.claims
    if entry_hash(raw) != claims["hash"]:
        signed = claims.get("entry") if isinstance(claims.get("entry"), dict) else {}
        changed = _diff(signed_view(raw), signed)
        what = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        verb = "differ" if len(changed) > 1 else "differs"
        raise TokenInvalid(f"hash mismatch: {what or 'the entry'} {verb} from what was signed")
    # the hash matches the entry; the claims must agree with it too
    ds = raw.get("dataset") if isinstance(raw.get("dataset"), dict) else {}
    cds = claims["dataset"]
    pairs = [
        ("value", raw.get("value"), claims["metric"].get("value"), "metric.value"),
        ("dataset.id", ds.get("id"), cds.get("id"), "dataset.id"),
        ("dataset.revision", ds.get("revision"), cds.get("revision"), "dataset.revision"),
        ("dataset.task_id", ds.get("task_id"), cds.get("task_id"), "dataset.task_id"),
    ]
    for name, have, claimed, claim in pairs:
        if have != claimed:
            raise TokenInvalid(f"{name} {show(have)} differs from the token's {claim} {show(claimed)}")


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=repr):
            name = k if isinstance(k, str) and k.isprintable() and len(k) <= 40 else show(k, 40)
            out += _diff(a.get(k), b.get(k), f"{prefix}.{name}" if prefix else name)
        return out
    return [] if a == b and type(a) is type(b) else [prefix or "entry"]


def _plain(value: Any) -> Any:
    """A value from a stranger's file as a Verdict shows it: JSON scalars as they are, any
    other YAML type (a date, a list, bytes...) as its short repr, so printing never fails."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return show(value, 100)


def _trust_status(checked: Checked, trust: TrustStore) -> tuple[str, str | None]:
    k = trust.find(checked.key.kid)
    if k is None:
        return "self-signed", None
    if k.revoked:
        raise TokenInvalid(f"key {k.name!r} ({k.kid[:12]}…) is revoked")
    iat = checked.claims.get("iat")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise TokenInvalid("malformed token: iat is not a number")
    try:
        at = dt.datetime.fromtimestamp(iat, dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise TokenInvalid(f"malformed token: iat {show(iat)} is not a time") from None
    problem = k.window_problem(at)
    if problem:
        raise TokenInvalid(problem)
    return ("verified" if k.role == "executor" else "signed"), k.name


def _index_logs(logs: list[Path], problems: list[str]) -> dict[tuple[str, str], Path]:
    if not logs:
        return {}
    from inspect_ai.log import read_eval_log

    index: dict[tuple[str, str], Path] = {}
    for path in logs:
        try:
            header = read_eval_log(str(path), header_only=True)
            rec = (header.eval.metadata or {}).get("run_eval") or {}
            key = (rec["dataset"]["id"], rec["dataset"]["task_id"])
        except Exception:
            problems.append(f"--log {path}: not an Inspect log written by run-eval")
            continue
        index[key] = path
    return index


def _check_evidence(v: Verdict, raw: dict[str, Any], index: dict[tuple[str, str], Path],
                    used: set[Path], claims: dict[str, Any]) -> None:
    from inspect_ai.log import read_eval_log

    ds = raw.get("dataset") or {}
    path = index.get((ds.get("id"), ds.get("task_id")))
    if path is None:
        v.evidence = "not checked (no --log for this entry)"
        return
    used.add(path)
    ev = claims.get("evidence") or {}
    if log_sha256(path) != ev.get("log_sha256"):
        v.status, v.reason = "invalid", f"--log {path}: differs from the token's evidence.log_sha256"
        return
    log = read_eval_log(str(path))
    if samples_sha256(log) != ev.get("samples_sha256"):
        v.status, v.reason = "invalid", f"--log {path}: per-sample scores differ from evidence.samples_sha256"
        return
    metric = claims.get("metric") or {}
    again = recompute_metric(log, metric.get("name", ""))
    if again.value is None:
        v.evidence = f"log digests match; {again.note}"
    elif abs(again.value - float(metric.get("value", float("nan")))) > 1e-9:
        v.status, v.reason = "invalid", (
            f"--log {path}: the samples give {metric.get('name')} {again.value!r}, "
            f"the token claims {metric.get('value')!r}")
    else:
        v.evidence = f"log digests match; value recomputed ({again.note})"
