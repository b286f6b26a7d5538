"""Evidence digests over an Inspect log, and the score recomputed from its samples."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

CHUNK = 1 << 20
MEAN_METRICS = ("accuracy", "mean")


def log_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def sample_scores(log: Any) -> list[list[Any]]:
    """[sample id, epoch, score value] of the first scorer, sorted: what samples_sha256 binds."""
    scorer = log.results.scores[0].scorer if log.results and log.results.scores else None
    rows = []
    for s in log.samples or []:
        if not s.scores:
            continue
        score = s.scores.get(scorer) if scorer in s.scores else next(iter(s.scores.values()))
        rows.append([str(s.id), int(s.epoch), _jsonable(score.value)])
    return sorted(rows, key=lambda r: (r[0], r[1]))


def samples_sha256(log: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(sample_scores(log))).hexdigest()


@dataclass(frozen=True)
class Recomputed:
    value: float | None  # None when the metric cannot be recomputed here
    note: str


def recompute_metric(log: Any, metric: str) -> Recomputed:
    """The first scorer's metric from the per-sample (epoch-reduced) scores in the log."""
    from inspect_ai.scorer import value_to_float

    if metric not in MEAN_METRICS:
        return Recomputed(None, f"metric {metric!r} is not recomputed (only {', '.join(MEAN_METRICS)})")
    reductions = log.reductions or []
    if not reductions:
        return Recomputed(None, "the log has no per-sample reductions")
    first = reductions[0]
    to_float = value_to_float()
    values = [to_float(s.value) for s in first.samples]
    if not values:
        return Recomputed(None, "the log has no scored samples")
    return Recomputed(sum(values) / len(values), f"mean of {len(values)} reduced sample scores")


def per_sample_values(log: Any) -> dict[str, float]:
    """The first scorer's epoch-reduced score of each sample, as a float (C=1, I=0, ...)."""
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    reductions = log.reductions or []
    if not reductions:
        return {}
    return {str(s.sample_id): to_float(s.value) for s in reductions[0].samples}
