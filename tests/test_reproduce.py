"""reproduce and diff: honest results hold, inflated or mismatched ones do not."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from run_eval.runner.compare.stats import paired, unpaired, verdict
from run_eval.signing.keys import generate_key
from run_eval.signing.token import build_claims, check_signature, sign

from conftest import EXAMPLE, assert_clean_error, run_inproc


@pytest.fixture(scope="module")
def original(tiny_model, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("orig")
    bench = work / "arithmetic"
    shutil.copytree(EXAMPLE, bench)
    proc = run_inproc(f"hf/{tiny_model}", str(bench), "--task", "addition", "--max-tokens", "4",
                   "--output-dir", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return {"work": work, "bench": bench, "file": work / "out" / ".eval_results" / "arithmetic.yaml"}


def repro(original, tiny_model, *extra, file=None):
    return run_inproc("reproduce", str(file or original["file"]), "--model-path", str(tiny_model),
                   "--benchmark-path", str(original["bench"]), "--json", *extra, cwd=original["work"])


def test_honest_result_is_reproduced_per_sample(original, tiny_model, tmp_path):
    # 30 identical samples bound |Δ| by ±0.11 (Tango's interval): reproduced within ±0.15, not ±0.05
    proc = repro(original, tiny_model, "--html", str(tmp_path / "r.html"), "--tolerance", "0.15")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert (e["verdict"], e["kind"], e["n"], e["delta"], e["changed_samples"]) == ("reproduced", "paired", 30, 0.0, [])
    assert e["claim_matches_evidence"] is True
    page = (tmp_path / "r.html").read_text()
    assert "<svg" in page and "reproduced" in page


def test_spot_check_on_a_seeded_subset(original, tiny_model):
    """Five matching samples are a spot check, not a proof: the interval is ±0.43 (it was [0, 0],
    `reproduced`), and the verdict says how many samples would tell."""
    proc = repro(original, tiny_model, "--samples", "5")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert e["n"] == 5 and e["kind"] == "paired" and e["verdict"] == "inconclusive"
    assert e["ci95"] == pytest.approx([-0.4345, 0.4345], abs=1e-4) and e["se"] > 0
    assert "about 73 samples would be needed to tell" in e["why"]


def forge(original, tmp_path, *, value_delta: float, drop_source: bool) -> Path:
    """The same entry with an inflated value, re-signed (validly) with another key."""
    (entry,) = yaml.safe_load(original["file"].read_text())
    claims = check_signature(entry["verifyToken"]).payload
    entry = {k: v for k, v in entry.items() if k != "verifyToken"}
    entry["value"] = entry["value"] + value_delta
    if drop_source:
        entry.pop("source")
    extra = {k: v for k, v in claims.items() if k not in ("version", "hash", "iat", "entry")}
    extra["metric"] = {**extra["metric"], "value": entry["value"]}
    key = generate_key(tmp_path / "other-key.pem")
    forged = {**entry, "verifyToken": sign(build_claims(entry, **extra), key)}
    path = tmp_path / "forged" / ".eval_results" / "arithmetic.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump([forged], sort_keys=False))
    return path


def test_inflated_value_disagrees_with_its_own_log(original, tiny_model, tmp_path):
    path = forge(original, tmp_path, value_delta=0.3, drop_source=False)
    assert run_inproc("verify", str(path), cwd=tmp_path).returncode == 0  # a valid signature, by someone else
    proc = repro(original, tiny_model, file=path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert e["verdict"] == "not-reproduced" and e["claim_matches_evidence"] is False
    assert "disagrees with its own log" in e["why"]


def test_inflated_value_without_a_log_differs_unpaired(original, tiny_model, tmp_path):
    path = forge(original, tmp_path, value_delta=0.3, drop_source=True)
    proc = repro(original, tiny_model, file=path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert e["verdict"] == "not-reproduced" and e["kind"] == "unpaired"
    assert e["delta"] == pytest.approx(-0.3) and e["ci95"][1] < 0 and "the score differs" in e["why"]


def test_changed_eval_yaml_stops_with_the_spec_difference(original, tiny_model, tmp_path):
    changed = tmp_path / "arithmetic"
    shutil.copytree(original["bench"], changed)
    text = (changed / "eval.yaml").read_text().replace("Answer with the number only.", "Reply with a number.")
    (changed / "eval.yaml").write_text(text)
    proc = run_inproc("reproduce", str(original["file"]), "--model-path", str(tiny_model),
                   "--benchmark-path", str(changed), cwd=tmp_path)
    assert_clean_error(proc, "task 'addition' is not the signed method", "solvers: signed")
    assert proc.returncode == 2


def test_invalid_or_unsigned_tokens_are_refused(original, tiny_model, tmp_path):
    (entry,) = yaml.safe_load(original["file"].read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([{**entry, "value": 0.01}]))
    assert_clean_error(repro(original, tiny_model, file=bad), "the token is invalid (hash mismatch: value")
    unsigned = tmp_path / "unsigned.yaml"
    unsigned.write_text(yaml.safe_dump([{k: v for k, v in entry.items() if k != "verifyToken"}]))
    assert_clean_error(repro(original, tiny_model, file=unsigned), "no verifyToken")
    assert_clean_error(run_inproc("reproduce", str(original["file"]), cwd=tmp_path), "pass --benchmark-path")


def test_diff_names_max_tokens(original, tiny_model, tmp_path):
    # (max_tokens 1 cuts the two-digit answers: lint says so, and --no-lint runs it anyway)
    proc = run_inproc(f"hf/{tiny_model}", str(original["bench"]), "--task", "addition", "--max-tokens", "1",
                      "--no-lint", "--output-dir", str(tmp_path), cwd=original["work"])
    assert proc.returncode == 0, proc.stderr
    other = tmp_path / ".eval_results" / "arithmetic.yaml"
    d = run_inproc("diff", str(original["file"]), str(other), "--json", cwd=tmp_path)
    assert d.returncode == 0, d.stderr
    data = json.loads(d.stdout)
    assert data["comparable"] is False and "max_tokens" in data["blocking"]
    # the agreement is what the two logs say, sample by sample (1 token vs 4: some answers differ)
    from inspect_ai.log import read_eval_log

    (ea,), (eb,) = yaml.safe_load(original["file"].read_text()), yaml.safe_load(other.read_text())
    la, lb = read_eval_log(ea["source"]["url"]), read_eval_log(eb["source"]["url"])
    sa, sb = ({s.id: next(iter(s.scores.values())).value for s in log.samples} for log in (la, lb))
    differ = sorted(str(i) for i in sa if sa[i] != sb[i])
    assert data["sample_agreement"] == {"both": 30, "same": 30 - len(differ), "differ": differ}
    assert differ, "max_tokens 1 and 4 gave the same scores: the agreement check shows nothing here"
    human = run_inproc("diff", str(original["file"]), str(other), cwd=tmp_path)
    assert "not comparable: they differ in max_tokens" in human.stdout
    same_run = run_inproc("diff", str(original["file"]), str(original["file"]), cwd=tmp_path)
    assert "comparable: same benchmark commit" in same_run.stdout


def test_stats_formulas():
    # scores that are not 0/1: the normal paired interval (Miller 2024), SE = sd(d)/sqrt(n)
    a = {str(i): 0.25 * (i % 5) for i in range(40)}
    b = dict(a)
    b["0"] = 1.0  # one sample moves from 0 to 1
    c = paired(a, b, metric="f1")
    diffs = [1.0] + [0.0] * 39
    mean = 1 / 40
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / 39)
    assert c.delta == pytest.approx(1 / 40) and c.changed_samples == ["0"]
    # the half-width is never less than the bound for 'no change seen' (z²/(n+z²)): here it is
    z2 = 1.959964 ** 2
    assert 1.959964 * sd / math.sqrt(40) < z2 / (40 + z2)
    assert c.ci == pytest.approx((1 / 40 - z2 / (40 + z2), 1 / 40 + z2 / (40 + z2)), rel=1e-5)
    v, why = verdict(c, tolerance=0.05, claim_matches_evidence=True)
    assert v == "inconclusive" and "samples would be needed" in why
    # two independent means of such scores: SE = sqrt(SE_a² + SE_b²)
    u = unpaired(0.5, 0.05, 100, [0.8] * 50 + [0.7, 0.9] * 25, metric="f1")
    se_b = math.sqrt(sum((x - 0.8) ** 2 for x in [0.7, 0.9] * 25) / 99) / 10
    assert u.se == pytest.approx(math.sqrt(0.05 ** 2 + se_b ** 2))
    assert verdict(u, tolerance=0.05, claim_matches_evidence=None)[0] == "not-reproduced"
    same = paired({str(i): float(i % 2) for i in range(200)}, {str(i): float(i % 2) for i in range(200)},
                  metric="accuracy")
    assert verdict(same, tolerance=0.05, claim_matches_evidence=True)[0] == "reproduced"


@pytest.mark.parametrize("command", [["reproduce"], ["diff"], ["push", "org/model"]])
def test_a_non_utf8_result_file_is_one_line_for_every_reader(tmp_path, command):
    bad = tmp_path / ".eval_results" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_bytes(b"- dataset: {id: a/b}\n  value: \xff\xfe\n")
    args = [*command, str(bad)] + ([str(bad)] if command == ["diff"] else [])
    proc = run_inproc(*args, cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"})
    assert_clean_error(proc, "bad.yaml", "not valid UTF-8")
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr  # push adds 'nothing was sent'


def test_html_draws_each_run_with_its_own_interval():
    """The page's two bars are each run's own 95% interval (not the comparison's): Wilson's, so
    inside [0, 1]; the claim's from its stderr's effective n (0.25/0.1² = 25 samples)."""
    import re

    from run_eval.runner.compare.html import reproduce_page
    from run_eval.runner.compare.reproduce import compare_values
    from run_eval.signing.claims import Claims

    claims = Claims.from_payload({"version": 1, "hash": "h", "iat": 0, "entry": {},
                                  "model": {"id": "org/m"}, "dataset": {"id": "org/b", "task_id": "t"},
                                  "metric": {"name": "accuracy", "value": 0.5, "stderr": 0.1, "samples": 100}})
    rerun = {str(i): float(i < 50) for i in range(400)}  # 0.125 on 400 samples: a much narrower interval
    outcome = compare_values(claims, None, None, rerun, tolerance=0.05)
    c = outcome.comparison
    assert (c.se_original, round(c.se_reproduced, 4)) == (0.1, 0.0166)
    assert c.ci_original == pytest.approx((0.3175, 0.6825), abs=1e-4)  # Wilson, p = .5, n = 25
    assert c.ci_reproduced == pytest.approx((0.0961, 0.1610), abs=1e-4)  # Wilson, 50 of 400
    bars = [(float(a), float(b)) for a, b in re.findall(r"<line x1=([\d.]+) y1=\d+ x2=([\d.]+) y2=\d+ stroke=steelblue",
                                                        reproduce_page([outcome]))]
    want = [60 + 400 * x for x in (*c.ci_original, *c.ci_reproduced)]
    assert [x for bar in bars for x in bar] == pytest.approx(want, abs=0.06)
