"""The reproduce decision rule (runner/compare/stats.py): an interval that reflects how many
samples were compared, stays within what a score can be, and never has zero width."""

from __future__ import annotations

import pytest


def claims(value: float, stderr: float | None, n: int, metric: str = "accuracy"):
    from run_eval.signing.claims import Claims

    return Claims.from_payload({"version": 1, "hash": "h", "iat": 0, "entry": {}, "model": {"id": "org/m"},
                                "dataset": {"id": "org/b", "task_id": "t"},
                                "metric": {"name": metric, "value": value, "stderr": stderr, "samples": n}})


def scores(ones: int, n: int, start: int = 0) -> dict[str, float]:
    return {f"s{i:04d}": 1.0 if start <= i < start + ones else 0.0 for i in range(n)}


def decide(original: dict, rerun: dict, *, metric: str = "accuracy", tolerance: float = 0.05):
    from run_eval.runner.compare.reproduce import compare_values

    value = sum(original.values()) / len(original)
    return compare_values(claims(value, None, len(original), metric), original, value, rerun, tolerance=tolerance)


def test_one_matching_sample_is_not_reproduced():
    """`reproduce --samples 1` with one matching sample said `reproduced`, CI [0, 0]."""
    o = decide({"s0": 1.0}, {"s0": 1.0})
    assert o.verdict == "inconclusive" and "samples would be needed" in o.why, o.why
    assert o.comparison.ci == pytest.approx((-0.7935, 0.7935), abs=1e-4) and o.comparison.se > 0


def test_two_mismatching_samples_are_not_a_certain_difference():
    """Two samples that both flipped said `not-reproduced`: McNemar's p for 2 of 2 is 0.16."""
    o = decide({"s0": 1.0, "s1": 1.0}, {"s0": 0.0, "s1": 0.0})
    assert o.verdict == "inconclusive", o.why
    assert o.comparison.p_value == pytest.approx(0.1573, abs=1e-4) and o.comparison.ci[1] > 0


def test_many_matching_samples_reproduce_and_a_clear_change_does_not():
    same = scores(100, 200)
    o = decide(same, same)
    assert o.verdict == "reproduced" and o.comparison.ci == pytest.approx((-0.0189, 0.0189), abs=1e-4)
    # 30 identical samples still allow |Δ| up to 0.11: not within ±0.05, but within ±0.15
    assert decide(scores(15, 30), scores(15, 30)).verdict == "inconclusive"
    assert decide(scores(15, 30), scores(15, 30), tolerance=0.15).verdict == "reproduced"
    worse = decide(scores(100, 200), scores(80, 200))
    assert worse.verdict == "not-reproduced" and worse.comparison.ci[1] < 0 and "excludes 0" in worse.why
    # the conformance corpus's shift: 12 of 600 samples gained, none lost (McNemar z = 3.46)
    shift = decide(scores(300, 600), scores(312, 600))
    assert shift.verdict == "not-reproduced" and shift.comparison.p_value < 0.001


def test_scores_that_are_not_0_1_need_enough_samples_and_never_have_zero_width():
    few = {f"s{i}": 0.5 for i in range(10)}
    o = decide(few, few, metric="f1")
    assert o.verdict == "inconclusive" and "needs at least 30" in o.why
    many = {f"s{i}": 0.25 * (i % 5) for i in range(200)}
    same = decide(many, many, metric="f1")
    assert same.verdict == "reproduced" and same.comparison.ci[1] > 0  # no change seen is not certainty
    shifted = decide(many, {k: min(1.0, v + 0.1) for k, v in many.items()}, metric="f1")
    assert shifted.verdict == "not-reproduced"


def test_each_run_has_its_own_interval_within_0_and_1():
    from run_eval.runner.compare.stats import paired, unpaired, verdict, wilson

    c = paired(scores(1, 12), scores(1, 12), metric="accuracy")
    assert c.ci_original == c.ci_reproduced == pytest.approx(wilson(1, 12)) and c.ci_original[0] > 0
    u = unpaired(1.0, None, 12, [1.0] * 12, metric="accuracy")  # a perfect claim: its derived stderr is 0
    assert u.ci_original == pytest.approx((0.7575, 1.0), abs=1e-4) and u.se > 0
    assert verdict(u, tolerance=0.05, claim_matches_evidence=None)[0] == "inconclusive"


def test_unpaired_differences_respect_the_claims_n():
    """No original log: Newcombe's interval from the claim's n (or its stderr's effective n)."""
    from run_eval.runner.compare.stats import unpaired, verdict

    u = unpaired(0.5, None, 1000, [1.0] * 500 + [0.0] * 500, metric="accuracy")
    assert verdict(u, tolerance=0.05, claim_matches_evidence=None)[0] == "reproduced"
    wide = unpaired(0.5, 0.1, 1000, [1.0] * 500 + [0.0] * 500, metric="accuracy")  # stderr says n = 25
    v, why = verdict(wide, tolerance=0.05, claim_matches_evidence=None)
    assert v == "inconclusive" and "claim's own interval is too wide" in why
    far = unpaired(0.9, 0.03, 400, [1.0] * 200 + [0.0] * 200, metric="accuracy")
    assert verdict(far, tolerance=0.05, claim_matches_evidence=None)[0] == "not-reproduced" and far.p_value < 1e-6
