"""Audit rules: why a run's samples failed (per model), what every model fails, and whether
the models' scores split into separate clusters (per task).

The per-model rules read each failed sample's output:

* ``stop-truncation``: the answer ends where a stop sequence of the generate config cut it,
  and what was kept is a strict prefix of the target (the DROP signature: ``12.`` for
  ``12.25``; the stop string kept, as transformers keeps it, or dropped with stop reason
  ``stop``, as API providers do);
* ``max-tokens``: the output stopped at max_tokens;
* ``no-answer``: the scorer found no answer at all (empty output, or not in its format),
  as opposed to a wrong answer;
* ``strict-scorer``: the answer equals the target after a reasonable normalisation (numbers
  parsed, whitespace collapsed, case folded, sentence punctuation at the ends dropped) but
  was scored wrong: an estimate of how strict the scorer is.

Across models: ``all-fail`` (samples that every model fails: candidates for a broken
target) and ``score-clusters`` (see :func:`clusters`).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from run_eval.runner.audit.read import Outcome, Run

MAX_SAMPLES = 3
ASHMAN_D_THRESHOLD = 2.0  # Ashman et al. (1994): D > 2 for a clean separation of two components
DIP_P = 0.05  # Hartigan's dip test: unimodality rejected below this p-value
MIN_PER_CLUSTER = 2
RULE_IDS = ("stop-truncation", "max-tokens", "no-answer", "strict-scorer", "all-fail", "score-clusters")


@dataclass(frozen=True)
class AuditFinding:
    rule: str
    task_id: str
    model: str | None  # None for a finding across models
    count: int
    samples: tuple[str, ...]  # sample ids (with the output that shows it)
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "task_id": self.task_id, "model": self.model, "count": self.count,
                "samples": list(self.samples), "message": self.message}


def _show(o: Outcome, what: str | None = None) -> str:
    text = what if what is not None else o.completion.strip()
    return f"{o.id}: {text!r} (target {o.target!r})"


def truncated_by(o: Outcome, stops: tuple[str, ...]) -> str | None:
    """The stop sequence that cut this answer short of its target, or None.

    >>> o = Outcome("7", 1, "12.25", " 12.", "12", 0.0, False, "unknown", 3)
    >>> truncated_by(o, (".",)), truncated_by(o, ("\\n",))
    ('.', None)
    """
    text, target = o.completion.lstrip(), o.target.strip()
    for stop in stops:
        if text.endswith(stop):  # the provider kept the stop string
            body = text[: len(text) - len(stop)]
        elif stop.strip() and text.rstrip().endswith(stop):
            body = text.rstrip()[: len(text.rstrip()) - len(stop)]
        elif o.stop_reason == "stop":  # it dropped it, and says it stopped on one
            body = text.rstrip()
        else:
            continue
        # the longest end of the answer (from a word start) that the target begins with,
        # with the stop sequence right after it inside the target
        for k in range(min(len(body), len(target)), 0, -1):
            start = len(body) - k
            if (start == 0 or not body[start - 1].isalnum()) and body.endswith(target[:k]) \
                    and target[k:].startswith(stop) and len(target) > k + len(stop):
                return stop
    return None


def hit_max_tokens(o: Outcome, max_tokens: int | None) -> bool:
    return o.stop_reason in ("max_tokens", "model_length") or (
        max_tokens is not None and o.output_tokens is not None and o.output_tokens >= max_tokens)


def _lenient(text: str) -> str:
    t = " ".join(text.split()).casefold().strip(".,;:!?\"'()[] ")
    try:
        number = float(t.replace(",", ""))
    except ValueError:
        return t
    return repr(number) if math.isfinite(number) else t


def lenient_match(o: Outcome) -> bool:
    """The answer (as extracted, or the whole output) equals the target after normalisation.

    >>> lenient_match(Outcome("1", 1, "12.5", " 12.50\\n", "12.50", 0.0, False, "stop", 4))
    True
    """
    target = _lenient(o.target)
    return bool(target) and any(_lenient(x) == target for x in (o.answer or "", o.completion) if x.strip())


def per_model(run: Run, task_id: str | None = None) -> list[AuditFinding]:
    failed = [o for o in run.samples if o.failed]
    cut = [(o, stop) for o in failed if (stop := truncated_by(o, run.stop_seqs))]
    capped = [o for o in failed if hit_max_tokens(o, run.max_tokens)]
    none = [o for o in failed if o.no_answer]
    strict = [o for o in failed if not o.no_answer and lenient_match(o) and o not in {c for c, _ in cut}]
    t, m, n = task_id or run.task_id, run.model, len(run.samples)
    out = []
    if cut:
        by_stop: dict[str, int] = defaultdict(int)
        for _, stop in cut:
            by_stop[stop] += 1
        stops = ", ".join(f"{s!r} ({k})" for s, k in by_stop.items())
        out.append(AuditFinding("stop-truncation", t, m, len(cut), tuple(_show(o) for o, _ in cut[:MAX_SAMPLES]),
                                f"{len(cut)} of {len(failed)} failures ({n} samples) stopped on a stop sequence "
                                f"({stops}) while a strict prefix of the target: the answers were cut, not wrong; "
                                "remove it from generate's stop_seqs (run-eval lint shows which targets it cuts)"))
    if capped:
        out.append(AuditFinding("max-tokens", t, m, len(capped), tuple(_show(o) for o in capped[:MAX_SAMPLES]),
                                f"{len(capped)} of {len(failed)} failures stopped at max_tokens "
                                f"({run.max_tokens if run.max_tokens is not None else 'the provider default'}): "
                                "raise max_tokens"))
    if none:
        out.append(AuditFinding("no-answer", t, m, len(none), tuple(_show(o) for o in none[:MAX_SAMPLES]),
                                f"{len(none)} of {len(failed)} failures have no answer the {run.scorer} scorer could "
                                f"find (empty or not in its format); {len(failed) - len(none)} are wrong answers"))
    if strict:
        share = len(strict) / len(failed)
        out.append(AuditFinding("strict-scorer", t, m, len(strict),
                                tuple(_show(o, o.answer or o.completion.strip()) for o in strict[:MAX_SAMPLES]),
                                f"{len(strict)} of {len(failed)} failures ({share:.0%}) equal the target once numbers "
                                f"are parsed and case, spaces and end punctuation ignored: the {run.scorer} scorer "
                                "may be stricter than intended"))
    return out


def across_models(task_id: str, runs: list[Run]) -> list[AuditFinding]:
    models = {r.model for r in runs}
    if len(models) < 2:
        return []
    failed_by: dict[str, set[str]] = defaultdict(set)
    seen: dict[str, set[str]] = defaultdict(set)
    cut_by: dict[str, set[str]] = defaultdict(set)
    for r in runs:
        for o in r.samples:
            seen[o.id].add(r.model)
            if o.failed:
                failed_by[o.id].add(r.model)
                if truncated_by(o, r.stop_seqs):
                    cut_by[o.id].add(r.model)
    every = [i for i in seen if seen[i] == models and failed_by[i] == models]
    if not every:
        return []
    cut_everywhere = [i for i in every if cut_by[i] == models]
    extra = (f"; {len(cut_everywhere)} of them are cut by a stop sequence in every model (stop-truncation)"
             if cut_everywhere else "")
    return [AuditFinding("all-fail", task_id, None, len(every), tuple(every[:MAX_SAMPLES]),
                         f"{len(every)} of {len(seen)} samples are failed by all {len(models)} models: check their "
                         f"targets{extra}")]


def clusters(scores: dict[str, tuple[float, float | None]]) -> dict[str, Any]:
    """Whether the models' scores on a task split into two separate clusters.

    Two conditions, both needed. (1) Hartigan's dip test (the ``diptest`` package) rejects
    a unimodal distribution of the scores at p < DIP_P: an even spread of scores does not
    pass, however it is split. (2) The two groups (the sorted scores split where the
    within-group sum of squares is least, each group at least MIN_PER_CLUSTER models) are
    separated beyond sampling error: Ashman's D, ``sqrt(2) * |m1 - m2| / sqrt(v1 + v2)``,
    is above 2 (a clean separation, Ashman, Bird & Zepf 1994), where each group's variance
    ``v`` adds its models' own sampling variance (stderr^2) to the spread of their scores:
    a gap that a few samples' noise explains is not a split.

    >>> r = clusters({"a": (0.05, 0.01), "b": (0.06, 0.01), "c": (0.71, 0.02), "d": (0.74, 0.02)})
    >>> r["bimodal"], r["low"]
    (True, ['a', 'b'])
    """
    out: dict[str, Any] = {
        "test": f"Hartigan's dip test (p < {DIP_P:g}) and Ashman's D (> {ASHMAN_D_THRESHOLD:g}, stderr included) "
                "between the two groups of the least-squares split of the sorted scores",
        "threshold": ASHMAN_D_THRESHOLD, "dip_p_threshold": DIP_P, "models": {m: v for m, (v, _) in scores.items()},
    }
    items = sorted(scores.items(), key=lambda kv: kv[1][0])
    if len(items) < 2 * MIN_PER_CLUSTER:
        return {**out, "split": False, "bimodal": False, "d": None, "dip_p": None,
                "note": f"needs at least {2 * MIN_PER_CLUSTER} models (has {len(items)})"}
    import diptest
    import numpy as np

    values = [v for _, (v, _) in items]
    _, dip_p = diptest.diptest(np.array(values, dtype=float))

    def sse(xs: list[float]) -> float:
        return statistics.pvariance(xs) * len(xs)

    cut = min(range(MIN_PER_CLUSTER, len(values) - MIN_PER_CLUSTER + 1),
              key=lambda k: sse(values[:k]) + sse(values[k:]))
    low, high = items[:cut], items[cut:]

    def spread(group: list[tuple[str, tuple[float, float | None]]]) -> tuple[float, float]:
        xs = [v for _, (v, _) in group]
        own = statistics.fmean([(se or 0.0) ** 2 for _, (_, se) in group])
        return statistics.fmean(xs), statistics.pvariance(xs) + own

    (m1, v1), (m2, v2) = spread(low), spread(high)
    d = math.sqrt(2) * abs(m2 - m1) / math.sqrt(v1 + v2) if v1 + v2 > 0 else math.inf
    return {**out, "split": True, "d": round(d, 3) if math.isfinite(d) else None, "dip_p": round(float(dip_p), 4),
            "bimodal": bool(dip_p < DIP_P and d > ASHMAN_D_THRESHOLD),
            "low": [m for m, _ in low], "high": [m for m, _ in high], "low_mean": m1, "high_mean": m2}


def cluster_finding(task_id: str, dist: dict[str, Any]) -> AuditFinding | None:
    if not dist.get("bimodal"):
        return None
    d = dist["d"]
    return AuditFinding("score-clusters", task_id, None, len(dist["models"]), tuple(dist["low"][:MAX_SAMPLES]),
                        f"the {len(dist['models'])} models' scores split into two clusters (mean "
                        f"{dist['low_mean']:.3f}: {len(dist['low'])} models; mean {dist['high_mean']:.3f}: "
                        f"{len(dist['high'])} models; dip test p = {dist['dip_p']}, Ashman's D {'inf' if d is None else d} > "
                        f"{ASHMAN_D_THRESHOLD:g}): look for a method bug that hits one group (samples: the low "
                        "cluster's models)")


@dataclass(frozen=True)
class Audit:
    findings: list[AuditFinding]
    distribution: dict[str, dict[str, Any]]  # task -> clusters()
    runs: list[Run]


def audit(runs: list[Run]) -> Audit:
    by_task: dict[str, list[Run]] = defaultdict(list)
    several = len({x.dataset_id for x in runs}) > 1
    for r in runs:
        by_task[f"{r.dataset_id}/{r.task_id}" if several else r.task_id].append(r)
    findings: list[AuditFinding] = []
    distribution = {}
    for task, group in by_task.items():
        for r in group:
            findings += per_model(r, task)
        findings += across_models(task, group)
        dist = clusters({r.model: (r.value, r.stderr) for r in group if r.value is not None})
        distribution[task] = dist
        if (f := cluster_finding(task, dist)) is not None:
            findings.append(f)
    return Audit(findings, distribution, runs)
