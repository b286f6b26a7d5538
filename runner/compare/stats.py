"""Is a re-run's score the same as a claimed one? Paired and unpaired comparisons.

Formulas from Miller, "Adding Error Bars to Evals" (arXiv:2411.00640), which Inspect's
stderr() follows: the standard error of a mean score is sd/sqrt(n); for two runs on the
same questions the per-question differences d_i are used (paired: SE = sd(d)/sqrt(n)),
which removes the question-difficulty variance; for two independent means
SE = sqrt(SE_a^2 + SE_b^2). A claim without a stderr gets one derived from its value and
n where the metric allows it (accuracy: each sample scores 0 or 1, so
SE = sqrt(p(1-p)/(n-1))); a stderr is never taken to be 0.

Decision rule (documented in the README), on the 95% interval of Δ = reproduced - original:
- `not-reproduced` when the claim disagrees with its own evidence, or the interval
  excludes 0;
- `reproduced` when the whole interval lies within ±tolerance;
- `inconclusive` otherwise (it includes 0 but reaches beyond ±tolerance): we say about
  how many samples would decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import NormalDist

LEVEL = 0.95


def z_crit(level: float = LEVEL) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


@dataclass
class Comparison:
    kind: str  # "paired" or "unpaired"
    original: float
    reproduced: float
    n: int
    delta: float
    se: float
    z: float | None
    ci: tuple[float, float]
    p_value: float | None
    changed_samples: list[str] = field(default_factory=list)
    se_original: float | None = None  # each run's own stderr (for each one's interval)
    se_reproduced: float | None = None

    def half_width(self) -> float:
        return (self.ci[1] - self.ci[0]) / 2


def paired(original: dict[str, float], reproduced: dict[str, float]) -> Comparison:
    """Per-sample comparison over the samples both runs scored."""
    ids = sorted(set(original) & set(reproduced), key=str)
    if not ids:
        raise ValueError("no sample was scored in both runs")
    d = [reproduced[i] - original[i] for i in ids]
    n = len(d)
    mean_d = sum(d) / n
    sd = math.sqrt(sum((x - mean_d) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    se = sd / math.sqrt(n)
    a, se_a = mean_and_stderr([original[i] for i in ids])
    b, se_b = mean_and_stderr([reproduced[i] for i in ids])
    c = _finish("paired", a, b, n, mean_d, se, [str(i) for i in ids if reproduced[i] != original[i]])
    return replace(c, se_original=se_a, se_reproduced=se_b)


def unpaired(original: float, original_se: float, reproduced: float, reproduced_se: float, n: int) -> Comparison:
    """Two independent means, each with its own (known) stderr."""
    se = math.sqrt(original_se ** 2 + reproduced_se ** 2)
    c = _finish("unpaired", original, reproduced, n, reproduced - original, se, [])
    return replace(c, se_original=original_se, se_reproduced=reproduced_se)


BINARY_METRICS = ("accuracy",)  # metrics whose per-sample values are 0 or 1


def derived_stderr(metric: str, value: float, n: int | None) -> float | None:
    """The stderr of a mean of 0/1 scores from its value and n (as Inspect's stderr() computes
    it, with n - 1); None where the metric does not allow it.

    >>> round(derived_stderr("accuracy", 0.5, 101), 4), derived_stderr("f1", 0.5, 100)
    (0.05, None)
    """
    if metric not in BINARY_METRICS or n is None or n < 2 or not 0.0 <= value <= 1.0:
        return None
    return math.sqrt(value * (1 - value) / (n - 1))


def mean_and_stderr(values: list[float]) -> tuple[float, float]:
    """Mean and stderr (sd with n - 1, over sqrt(n)) of per-sample scores."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd / math.sqrt(n)


def _finish(kind: str, a: float, b: float, n: int, delta: float, se: float, changed: list[str]) -> Comparison:
    zc = z_crit()
    if se > 0:
        z = delta / se
        p = math.erfc(abs(z) / math.sqrt(2))  # two-sided: 2 * P(Z > |z|)
    else:
        z, p = (None, None) if delta == 0 else (math.copysign(math.inf, delta), 0.0)
    return Comparison(kind, a, b, n, delta, se, z, (delta - zc * se, delta + zc * se), p, changed)


def verdict(c: Comparison, *, tolerance: float, claim_matches_evidence: bool | None) -> tuple[str, str]:
    """(verdict, why) by the rule in the module docstring."""
    if claim_matches_evidence is False:
        return "not-reproduced", "the claimed value disagrees with its own log's per-sample scores"
    lo, hi = c.ci
    interval = f"Δ = {c.delta:+.4f}, 95% CI [{lo:+.4f}, {hi:+.4f}]"
    if lo > 0 or hi < 0:
        return "not-reproduced", f"the score differs: {interval} excludes 0"
    if -tolerance <= lo and hi <= tolerance:
        return "reproduced", f"{interval} lies within ±{tolerance}"
    half = c.half_width()
    if abs(c.delta) < tolerance:
        needed = math.ceil(c.n * (half / (tolerance - abs(c.delta))) ** 2)
        return "inconclusive", (f"{interval} includes 0 but reaches beyond ±{tolerance}; about {needed} samples "
                                "would be needed to tell")
    needed = math.ceil(c.n * (half / abs(c.delta)) ** 2) if c.delta else None
    return "inconclusive", (f"{interval} includes 0, and |Δ| is at least the tolerance ±{tolerance}; "
                            + (f"about {needed} samples would be needed to tell" if needed else "more samples "
                               "would be needed to tell"))
