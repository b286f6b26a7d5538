"""Is a re-run's score the same as a claimed one? Intervals that respect what a score can be.

Why these methods: a normal interval around a proportion (value ± z·SE) leaves [0, 1] with
few samples, and collapses to a point when every sample agrees (SE = 0), which claims a
certainty that a handful of samples cannot give. So:

- **One score** (a leaderboard value, each run on the reproduce page): for a mean of 0/1
  scores (a metric in BINARY_METRICS, value in [0, 1]) the **Wilson score interval**
  (Wilson 1927; Newcombe 1998a, "Two-sided confidence intervals for the single proportion",
  Stat Med 17:857, method 3): with p̂ the value, n the samples and z the normal quantile,
  centre (p̂ + z²/2n) / (1 + z²/n), half-width z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²). It stays
  in [0, 1] and has width > 0 at p̂ = 0 or 1. Where a signed stderr says the value is less
  certain than n independent 0/1 samples would make it (Inspect's stderr uses n − 1; a
  clustered stderr is wider), n is replaced by the effective n = p̂(1−p̂)/SE², never more than
  n. Other metrics: value ± z·SE, and no interval at all where SE is unknown or 0.
- **Paired 0/1 scores** (reproduce with the original log): Δ = reproduced − original =
  (gains − losses)/n over the samples both runs scored; its interval is **Tango's score
  interval** for a difference of paired proportions (Tango 1998, Stat Med 17:891, the
  interval Fagerland, Lydersen & Laake 2014 recommend, Stat Methods Med Res 23:1): the Δ₀
  whose score statistic, (gains − losses − nΔ₀) / √(n(2p̃ + Δ₀(1−Δ₀))) with p̃ the constrained
  maximum-likelihood loss rate, stays within ±z. At Δ₀ = 0 it is McNemar's test, whose p the
  comparison reports. With no sample changed it is still ±z²/(n+z²) wide (one sample:
  ±0.79), so one sample never reproduces a score, and two changed samples cannot show that
  it differs (McNemar p = 0.16 for 2 of 2).
- **Unpaired 0/1 scores** (no original log): **Newcombe's hybrid score interval** for a
  difference of independent proportions (Newcombe 1998b, Stat Med 17:873, method 10), from
  the Wilson intervals of the claim (its n, or the effective n of its stderr) and of the re-run.
- **Other metrics** (means of scores that are not 0/1): the normal paired interval
  (SE = sd(dᵢ)/√n over per-sample differences, Miller, "Adding Error Bars to Evals",
  arXiv:2411.00640, as Inspect's stderr()) or unpaired (SE = √(SE_a² + SE_b²)). Below
  MIN_NORMAL_N samples the normal approximation is not trusted (the verdict is
  `inconclusive`). A stderr is never 0: "no sample changed" still allows a change rate up to
  z²/(n+z²) (Wilson, 0 of n), each change up to the scores' range, so a paired half-width is
  never less than that bound, and an unpaired stderr of 0 is replaced by it.

Decision rule (documented in the README), on the 95% interval of Δ = reproduced − original:
- `not-reproduced` when the claim disagrees with its own evidence, or the interval
  excludes 0;
- `reproduced` when the whole interval lies within ±tolerance;
- `inconclusive` otherwise (it includes 0 but reaches beyond ±tolerance, or too few
  samples for the method): we say about how many samples would decide, computed with the
  same interval at a larger n (the observed rates kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Callable

LEVEL = 0.95
BINARY_METRICS = ("accuracy",)  # metrics whose per-sample values are 0 or 1
MIN_NORMAL_N = 30  # below this, a normal interval of a mean of non-0/1 scores is not trusted
_MAX_SAMPLES = 10 ** 9  # the search for "samples needed" gives up beyond this

Interval = tuple[float, float]


def z_crit(level: float = LEVEL) -> float:
    """The two-sided normal quantile for ``level``.

    >>> round(z_crit(), 4), round(z_crit(1 - 0.05 / 3), 4)
    (1.96, 2.394)
    """
    return NormalDist().inv_cdf(0.5 + level / 2)


# ------------------------------------------------------------------ one score

def wilson(successes: float, n: float, level: float = LEVEL) -> Interval:
    """Wilson score interval of a proportion successes/n (formula in the module docstring).

    One right out of 12: inside [0, 1], unlike 1/12 ± 1.96·√(p(1−p)/n) = [-0.07, 0.24].

    >>> [round(x, 4) for x in wilson(1, 12)]
    [0.0149, 0.3539]
    >>> [round(x, 4) for x in wilson(0, 1)], [round(x, 4) for x in wilson(100, 100)]
    ([0.0, 0.7935], [0.963, 1.0])
    """
    if n <= 0:
        return 0.0, 1.0
    z = z_crit(level)
    p = min(max(successes / n, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def effective_n(value: float, n: int | None, stderr: float | None) -> float | None:
    """The n of a proportion's Wilson interval: its samples, or fewer where its signed stderr
    says it is less certain than that many independent 0/1 samples (p(1−p)/SE²).

    >>> effective_n(0.5, 100, None), round(effective_n(0.5, 100, 0.1), 6), round(effective_n(0.5, None, 0.05), 6)
    (100, 25.0, 100.0)
    """
    from_se = None
    if stderr is not None and stderr > 0 and 0.0 < value < 1.0:
        from_se = value * (1 - value) / (stderr * stderr)
    if n is not None and n > 0:
        return n if from_se is None or from_se >= n else from_se
    return from_se


def score_interval(metric: str, value: float, stderr: float | None, n: int | None,
                   level: float = LEVEL) -> Interval | None:
    """A score's interval at ``level``: Wilson for a mean of 0/1 scores, value ± z·SE for other
    metrics; None where nothing is known of its uncertainty (no n, no stderr, or SE = 0).

    >>> [round(x, 4) for x in score_interval("accuracy", 1 / 12, None, 12)]
    [0.0149, 0.3539]
    >>> [round(x, 3) for x in score_interval("f1", 0.5, 0.1, 100)], score_interval("f1", 0.5, 0.0, 100)
    ([0.304, 0.696], None)
    """
    if metric in BINARY_METRICS and 0.0 <= value <= 1.0:
        n_eff = effective_n(value, n, stderr)
        return None if n_eff is None else wilson(value * n_eff, n_eff, level)
    if stderr is None or not stderr > 0 or not math.isfinite(stderr):
        return None
    half = z_crit(level) * stderr
    return value - half, value + half


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
    """Mean and stderr (sd with n - 1, over sqrt(n)) of per-sample scores, as Inspect's stderr()."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd / math.sqrt(n)


# ------------------------------------------------------------------ differences

def tango(gains: float, losses: float, n: float, level: float = LEVEL) -> Interval:
    """Tango's score interval for Δ = (gains − losses)/n, a difference of paired proportions
    (gains: samples 0 before and 1 after; losses: 1 before, 0 after; module docstring).

    Nothing changed in 1 sample, in 100; 12 gains of 600; 2 losses of 2:

    >>> [[round(x, 4) for x in tango(*c)] for c in ((0, 0, 1), (0, 0, 100), (12, 0, 600), (0, 2, 2))]
    [[-0.7935, 0.7935], [-0.037, 0.037], [0.0115, 0.0346], [-1.0, 0.3152]]
    """
    z = z_crit(level)
    d_hat = (gains - losses) / n

    def score(d0: float) -> float:
        # Tango (1998) eq. 3, with p̃ the maximum-likelihood loss rate given Δ = d0
        a = 2 * n
        b = -gains - losses + (2 * n - gains + losses) * d0
        c = -losses * d0 * (1 - d0)
        p = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)
        num = gains - losses - n * d0
        var = n * (2 * p + d0 * (1 - d0))
        if var <= 0:
            return 0.0 if num == 0 else math.copysign(math.inf, num)
        return num / math.sqrt(var)

    def solve(lo: float, hi: float, target: float) -> float:
        # score decreases in d0: the d0 in [lo, hi] where it crosses target
        for _ in range(100):
            mid = (lo + hi) / 2
            if score(mid) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    lower = -1.0 if score(-1.0) <= z else solve(-1.0, d_hat, z)
    upper = 1.0 if score(1.0) >= -z else solve(d_hat, 1.0, -z)
    return lower, upper


def newcombe(original: Interval, p_original: float, reproduced: Interval, p_reproduced: float) -> Interval:
    """Newcombe's hybrid score interval for Δ = p_reproduced − p_original, two independent
    proportions, from their own Wilson intervals (module docstring).

    >>> [round(x, 4) for x in newcombe(wilson(50, 100), 0.5, wilson(50, 100), 0.5)]
    [-0.136, 0.136]
    """
    (lo_o, hi_o), (lo_r, hi_r) = original, reproduced
    d = p_reproduced - p_original
    return (d - math.hypot(p_reproduced - lo_r, hi_o - p_original),
            d + math.hypot(hi_r - p_reproduced, p_original - lo_o))


def _p_of(interval_at: Callable[[float], Interval]) -> float:
    """The two-sided p of Δ = 0 that matches an interval family (``interval_at(level)``): the
    least α whose (1 − α) interval excludes 0 (the intervals narrow as α grows)."""
    def excludes(alpha: float) -> bool:
        lo, hi = interval_at(1 - alpha)
        return lo > 0 or hi < 0

    a, b = 1e-12, 1 - 1e-12
    if excludes(a):
        return 0.0
    if not excludes(b):
        return 1.0
    for _ in range(60):  # excludes(b) and not excludes(a)
        mid = (a + b) / 2
        a, b = (a, mid) if excludes(mid) else (mid, b)
    return b


@dataclass
class Comparison:
    kind: str  # "paired" or "unpaired"
    original: float
    reproduced: float
    n: int
    delta: float
    se: float  # the interval's half-width over z: what SE a normal interval this wide would have
    z: float | None
    ci: Interval
    p_value: float | None
    changed_samples: list[str] = field(default_factory=list)
    se_original: float | None = None  # each run's own stderr (as Inspect computes it)
    se_reproduced: float | None = None
    method: str = "normal"  # how ci was computed (named in the verdict's why)
    ci_original: Interval | None = None  # each run's own 95% interval (Wilson for 0/1 scores)
    ci_reproduced: Interval | None = None
    too_few: str | None = None  # why the method cannot decide with this many samples
    # the interval this comparison would have with N samples, the observed rates kept
    at_n: Callable[[float], Interval] | None = field(default=None, repr=False, compare=False)

    def half_width(self) -> float:
        return (self.ci[1] - self.ci[0]) / 2


def _binary(values: list[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def _floor(n: float, values: list[float]) -> float:
    """The least half-width of a mean of non-0/1 scores: no change seen in n samples still
    allows a change rate up to z²/(n+z²) (Wilson, 0 of n), each up to the scores' range."""
    z2 = z_crit() ** 2
    span = max(1.0, max(values) - min(values)) if values else 1.0
    return span * z2 / (n + z2)


def _finish(c: Comparison) -> Comparison:
    zc = z_crit()
    c.se = c.half_width() / zc
    c.z = c.delta / c.se if c.se > 0 else None
    return c


def paired(original: dict[str, float], reproduced: dict[str, float], *, metric: str) -> Comparison:
    """Per-sample comparison over the samples both runs scored: Tango's interval for 0/1 scores
    of a binary metric, else the normal paired interval (module docstring)."""
    ids = sorted(set(original) & set(reproduced), key=str)
    if not ids:
        raise ValueError("no sample was scored in both runs")
    xs, ys = [original[i] for i in ids], [reproduced[i] for i in ids]
    n = len(ids)
    a, se_a = mean_and_stderr(xs)
    b, se_b = mean_and_stderr(ys)
    changed = [str(i) for i in ids if reproduced[i] != original[i]]
    if metric in BINARY_METRICS and _binary(xs + ys):
        gains = sum(1 for x, y in zip(xs, ys) if y > x)
        losses = sum(1 for x, y in zip(xs, ys) if y < x)
        p = math.erfc(abs(gains - losses) / math.sqrt(2 * (gains + losses))) if gains + losses else 1.0
        c = Comparison("paired", a, b, n, (gains - losses) / n, 0.0, None, tango(gains, losses, n), p, changed,
                       se_a, se_b, "Tango score interval, paired 0/1 scores", wilson(sum(xs), n), wilson(sum(ys), n),
                       at_n=lambda m: tango(gains * m / n, losses * m / n, m))
        return _finish(c)
    d = [y - x for x, y in zip(xs, ys)]
    mean_d = sum(d) / n
    sd = math.sqrt(sum((x - mean_d) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    zc = z_crit()

    def at_n(m: float) -> Interval:
        half = max(zc * sd / math.sqrt(m), _floor(m, xs + ys))
        return mean_d - half, mean_d + half

    lo, hi = at_n(n)
    se = (hi - lo) / (2 * zc)
    p = math.erfc(abs(mean_d / se) / math.sqrt(2))
    too_few = (f"only {n} samples in both runs: a normal interval of a mean of scores that are not 0/1 needs at "
               f"least {MIN_NORMAL_N}") if n < MIN_NORMAL_N else None
    return _finish(Comparison("paired", a, b, n, mean_d, se, None, (lo, hi), p, changed, se_a, se_b,
                              "normal interval of the per-sample differences", _normal(a, se_a),
                              _normal(b, se_b), too_few, at_n))


def unpaired(original: float, original_se: float | None, original_n: int | None, reproduced: list[float], *,
             metric: str) -> Comparison | None:
    """The claim (value, stderr, n: no per-sample scores) against the re-run's per-sample
    scores: Newcombe's interval for a binary metric, else the normal one. None where the
    claim's uncertainty is unknown (no stderr, and none can be derived)."""
    n = len(reproduced)
    b, se_b = mean_and_stderr(reproduced)
    binary = metric in BINARY_METRICS and 0.0 <= original <= 1.0 and _binary(reproduced)
    if binary:
        n_o = effective_n(original, original_n, original_se)
        if n_o is None:
            return None
        successes = sum(reproduced)
        se_o = original_se if original_se is not None else derived_stderr(metric, original, original_n)

        def at(m: float, level: float = LEVEL) -> Interval:
            return newcombe(wilson(original * n_o, n_o, level), original,
                            wilson(successes * m / n, m, level), b)

        c = Comparison("unpaired", original, b, n, b - original, 0.0, None, at(n), _p_of(lambda lv: at(n, lv)),
                       [], se_o, se_b, "Newcombe hybrid score interval, 0/1 scores",
                       wilson(original * n_o, n_o), wilson(successes, n), at_n=at)
        return _finish(c)
    if original_se is None:
        return None
    zc = z_crit()
    # a stderr of 0 (every sample scored the same) is not certainty: the bound for 'no change seen'
    se_o = original_se if original_se > 0 else _floor(original_n or n, reproduced) / zc

    def at_n(m: float) -> Interval:
        se_r = se_b * math.sqrt(n / m) if se_b > 0 else _floor(m, reproduced) / zc
        half = zc * math.sqrt(se_o ** 2 + se_r ** 2)
        return b - original - half, b - original + half

    lo, hi = at_n(n)
    se = (hi - lo) / (2 * zc)
    too_few = (f"only {n} re-run samples: a normal interval of a mean of scores that are not 0/1 needs at least "
               f"{MIN_NORMAL_N}") if n < MIN_NORMAL_N else None
    return _finish(Comparison("unpaired", original, b, n, b - original, se, None, (lo, hi),
                              math.erfc(abs((b - original) / se) / math.sqrt(2)), [], original_se, se_b,
                              "normal interval of two independent means", _normal(original, original_se),
                              _normal(b, se_b), too_few, at_n))


def _normal(value: float, se: float | None) -> Interval | None:
    if se is None:
        return None
    zc = z_crit()
    return value - zc * se, value + zc * se


# ------------------------------------------------------------------ the decision

def _decides(ci: Interval, tolerance: float) -> bool:
    lo, hi = ci
    return lo > 0 or hi < 0 or (-tolerance <= lo and hi <= tolerance)


def samples_needed(c: Comparison, tolerance: float) -> int | None:
    """About how many samples would make the verdict decisive, the observed rates kept (the
    same interval at a larger n); None when no number of samples would (e.g. the claim's own
    interval is wider than the tolerance).

    >>> c = paired({str(i): 1.0 for i in range(30)}, {str(i): 1.0 for i in range(30)}, metric="accuracy")
    >>> samples_needed(c, 0.05)
    73
    """
    if c.at_n is None:
        return None
    lo = max(c.n, 1)
    hi = lo
    while not _decides(c.at_n(hi), tolerance):
        if hi >= _MAX_SAMPLES:
            return None
        hi *= 2
    if hi == lo:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _decides(c.at_n(mid), tolerance):
            hi = mid
        else:
            lo = mid
    return hi


def verdict(c: Comparison, *, tolerance: float, claim_matches_evidence: bool | None) -> tuple[str, str]:
    """(verdict, why) by the rule in the module docstring."""
    if claim_matches_evidence is False:
        return "not-reproduced", "the claimed value disagrees with its own log's per-sample scores"
    lo, hi = c.ci
    interval = f"Δ = {c.delta:+.4f}, 95% CI [{lo:+.4f}, {hi:+.4f}] ({c.method}, n={c.n})"
    if c.too_few:
        return "inconclusive", f"{interval}: {c.too_few}; re-run with more samples"
    if lo > 0 or hi < 0:
        return "not-reproduced", f"the score differs: {interval} excludes 0"
    if -tolerance <= lo and hi <= tolerance:
        return "reproduced", f"{interval} lies within ±{tolerance}"
    needed = samples_needed(c, tolerance)
    tell = (f"about {needed} samples would be needed to tell" if needed is not None else
            "more samples of this re-run cannot tell (the claim's own interval is too wide); compare per sample "
            "with the original log (--log)" if c.kind == "unpaired" else "more samples would be needed to tell")
    if abs(c.delta) < tolerance:
        return "inconclusive", f"{interval} includes 0 but reaches beyond ±{tolerance}; {tell}"
    return "inconclusive", f"{interval} includes 0, and |Δ| is at least the tolerance ±{tolerance}; {tell}"


# ------------------------------------------------------------------ a claim whose method is unknown

MIN_CLAIM_N = 10  # fewer measured samples than this cannot say anything of a claim


def claim_verdict(claim: float, measured: Interval | None, n: int | None, *, tolerance: float) -> tuple[str, str]:
    """(verdict, why) on a published value whose method is unknown (an unsigned entry), given
    the 95% interval measured for it with the benchmark's declared method (both on one scale):
    ``inconsistent`` when the claim lies outside the interval widened by ``tolerance``,
    ``consistent`` when inside, ``inconclusive`` when there is no interval or fewer than
    MIN_CLAIM_N samples. Never ``reproduced``: nothing says the claim was produced this way.

    >>> claim_verdict(0.9, (0.30, 0.62), 30, tolerance=0.05)[0], claim_verdict(0.5, (0.30, 0.62), 30, tolerance=0.05)[0]
    ('inconsistent', 'consistent')
    >>> claim_verdict(0.5, (0.0, 0.79), 1, tolerance=0.05)[0], claim_verdict(0.5, None, 100, tolerance=0.05)[0]
    ('inconclusive', 'inconclusive')
    """
    if measured is None:
        return "inconclusive", "the measured value has no interval (no stderr, and not a proportion)"
    lo, hi = measured
    shown = f"the measured 95% interval [{lo:.4g}, {hi:.4g}] (n={n})"
    if n is not None and n < MIN_CLAIM_N:
        return "inconclusive", f"{shown} rests on fewer than {MIN_CLAIM_N} samples"
    if lo - tolerance <= claim <= hi + tolerance:
        return "consistent", f"{claim:.4g} lies within {shown} widened by ±{tolerance}"
    return "inconsistent", f"{claim:.4g} lies outside {shown} widened by ±{tolerance}"
