"""Is a re-run's score the same as a claimed one? Paired and unpaired comparisons.

Formulas from Miller, "Adding Error Bars to Evals" (arXiv:2411.00640), which Inspect's
stderr() follows: the standard error of a mean score is sd/sqrt(n); for two runs on the
same questions the per-question differences d_i are used (paired: SE = sd(d)/sqrt(n)),
which removes the question-difficulty variance; for two independent means
SE = sqrt(SE_a^2 + SE_b^2).

Decision rule (documented in the README):
- `not-reproduced` when the 95% interval of the difference excludes 0, or when the claim
  disagrees with its own evidence;
- `reproduced` when the interval includes 0 and is narrow enough to rule out a
  difference of `tolerance` (its half-width <= tolerance);
- `inconclusive` otherwise: the interval includes 0 but is too wide; we say how many
  samples would make it narrow enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
    return _finish("paired", sum(original[i] for i in ids) / n, sum(reproduced[i] for i in ids) / n, n, mean_d, se,
                   [str(i) for i in ids if reproduced[i] != original[i]])


def unpaired(original: float, original_se: float | None, reproduced: float, reproduced_se: float | None,
             n: int) -> Comparison:
    se = math.sqrt((original_se or 0.0) ** 2 + (reproduced_se or 0.0) ** 2)
    return _finish("unpaired", original, reproduced, n, reproduced - original, se, [])


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
    if lo > 0 or hi < 0:
        return "not-reproduced", (f"the score differs: Δ = {c.delta:+.4f}, 95% CI [{lo:+.4f}, {hi:+.4f}] "
                                  "excludes 0")
    if c.half_width() <= tolerance:
        return "reproduced", f"Δ = {c.delta:+.4f}, 95% CI [{lo:+.4f}, {hi:+.4f}] within ±{tolerance}"
    needed = math.ceil(c.n * (c.half_width() / tolerance) ** 2)
    return "inconclusive", (f"95% CI [{lo:+.4f}, {hi:+.4f}] includes 0 but is wider than ±{tolerance}; "
                            f"about {needed} samples would be needed to tell")
