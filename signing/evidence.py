"""Evidence digests over an Inspect log, and the score recomputed from its samples.

An **unscored** sample (a judge's answer its scorer could not read: Inspect's
``Score.unscored()``, value NaN) stays in the log, and so in ``samples_sha256`` (as
``"nan"``), but out of every value: Inspect's metrics never see it
(``scorer_for_metrics`` in inspect_ai/_eval/task/results.py drops NaN reduced scores
before it calls the metric, and the epoch reducers skip NaN epochs), so the value
recomputed here, and each sample's value in a paired comparison, leave it out the same way.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

CHUNK = 1 << 20


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


def is_unscored(value: Any) -> bool:
    """Inspect's unscored sentinel: a score value that is a float NaN (the test Inspect's
    ``scorer_for_metrics`` applies before a metric sees a score).

    >>> is_unscored(float("nan")), is_unscored(0.0), is_unscored("C"), is_unscored(None)
    (True, False, False, False)
    """
    return isinstance(value, float) and math.isnan(value)


def first_scorer(log: Any) -> str | None:
    """The name of the log's first scorer: the one whose metric a run-eval entry claims."""
    return log.results.scores[0].scorer if log.results and log.results.scores else None


def sample_scores(log: Any, samples: Any = None) -> list[list[Any]]:
    """[sample id, epoch, score value] of the first scorer, sorted: what samples_sha256 binds.
    An unscored sample is bound too (its value as ``"nan"``): the digest covers what the log
    holds, and a sample that gains or loses its score changes it. ``samples`` may be the log's
    sample summaries (Inspect's ``EvalSampleSummary`` keeps each score's value whole), which
    are much cheaper to read than the samples; default: ``log.samples``."""
    scorer = first_scorer(log)
    rows = []
    for s in (log.samples if samples is None else samples) or []:
        if not s.scores:
            continue
        score = s.scores.get(scorer) if scorer in s.scores else next(iter(s.scores.values()))
        rows.append([str(s.id), int(s.epoch), _jsonable(score.value)])
    return sorted(rows, key=lambda r: (r[0], r[1]))


def samples_sha256(log: Any, samples: Any = None) -> str:
    return hashlib.sha256(rfc8785.dumps(sample_scores(log, samples))).hexdigest()


@dataclass(frozen=True)
class Recomputed:
    value: float | None  # None when the metric cannot be recomputed here
    note: str


def reduced_scores(log: Any) -> list[Any] | None:
    """The first scorer's epoch-reduced score of each sample (Inspect's ``EvalSampleScore``),
    unscored ones included; None when the log has no reductions."""
    reductions = log.reductions or []
    if not reductions:
        return None
    scorer = first_scorer(log)
    return next((r for r in reductions if r.scorer == scorer), reductions[0]).samples


def recompute_metric(log: Any, metric: str) -> Recomputed:
    """The first scorer's metric from the per-sample (epoch-reduced) scores in the log,
    computed by Inspect's own metric function over the samples Inspect's metric saw (the
    unscored ones left out)."""
    from inspect_ai.scorer import SampleScore, accuracy, mean

    metrics = {"accuracy": accuracy, "mean": mean}
    if metric not in metrics:
        return Recomputed(None, f"metric {metric!r} is not recomputed (only {', '.join(metrics)})")
    reduced = reduced_scores(log)
    if reduced is None:
        return Recomputed(None, "the log has no per-sample reductions")
    scored = [s for s in reduced if not is_unscored(s.value)]
    if not scored:
        return Recomputed(None, "the log has no scored samples")
    value = metrics[metric]()([SampleScore(score=s, sample_id=s.sample_id) for s in scored])
    unscored = len(reduced) - len(scored)
    left_out = f"; {unscored} unscored left out, as Inspect's metric leaves them" if unscored else ""
    return Recomputed(float(value), f"mean of {len(scored)} reduced sample scores{left_out}")


def per_sample_values(log: Any) -> dict[str, float]:
    """The first scorer's epoch-reduced score of each scored sample, as a float (C=1, I=0,
    ...); unscored samples are not in it, so a paired comparison never compares a NaN."""
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    return {str(s.sample_id): to_float(s.value) for s in reduced_scores(log) or [] if not is_unscored(s.value)}
