"""reproduce of a published value without a token (issue #21, section 2): the benchmark's
declared method is run on the Hub model, and the claim, on the measured scale, is
`consistent` or `inconsistent` with the measured 95% interval (never `reproduced`);
`--publish` opens a PR whose signed entry cites the claim.

The Hub is the loopback server (tests/hubserver.py), driven by the real huggingface_hub
client in `run-eval` processes. Two runs of the tiny model in all: one for a claim far from
what it scores, one (with --publish) for a claim equal to what it measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import assert_clean_error, hub_cli, run_inproc

pytestmark = pytest.mark.hub

CLAIMS = ".eval_results/bench.yaml"  # the run's own file name: the check must go beside the claim, not over it


def claim(value, *, task="addition", dataset="org/bench", revision=None, source="Model card") -> dict:
    """An entry as the Hub's model cards publish them: no verifyToken, a percent value."""
    ds = {"id": dataset, "task_id": task, **({"revision": revision} if revision else {})}
    return {"dataset": ds, "value": value, "date": "2026-03-17", "source": {"url": "https://huggingface.co/org/tiny", "name": source},
            "notes": "reported number"}


def put_claims(hub, entries: list[dict], path: str = CLAIMS) -> None:
    hub.commit("org/tiny", "model", {path: yaml.safe_dump(entries, sort_keys=False).encode()})


def check(hub, *args: str, cwd: Path):
    return hub_cli(hub, "reproduce", "org/tiny", "--benchmark", "org/bench", "--task", "addition", "--json",
                   *args, cwd=cwd)


READ_BACK = """
import json, sys
from huggingface_hub import HfApi, hf_hub_download
repo, path, ref = sys.argv[1:]
listed = HfApi().list_repo_files(repo, revision=ref)
print(json.dumps([listed, open(hf_hub_download(repo, path, revision=ref)).read()]))
"""


def read_back(hub, ref: str, cwd: Path) -> tuple[list[str], str]:
    """The files at ``ref`` of org/tiny and the text of CLAIMS there, through huggingface_hub."""
    proc = subprocess.run([sys.executable, "-c", READ_BACK, "org/tiny", CLAIMS, ref], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **hub.env, "HF_HOME": str(cwd / "read-back")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed, text = json.loads(proc.stdout)
    return listed, text


@pytest.fixture(scope="module")
def far_claim(hub_server, tmp_path_factory) -> dict:
    """The model card says 95.0 (a percentage, no dataset.revision); checked once for the module."""
    state = hub_server.checkpoint()
    try:
        put_claims(hub_server, [claim(95.0)])
        proc = check(hub_server, cwd=tmp_path_factory.mktemp("far"))
        head = hub_server.head("org/tiny", "model")  # the model's commit when checked (the claim's commit)
    finally:
        hub_server.restore(state)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (entry,) = json.loads(proc.stdout)["entries"]
    return {**entry, "head": head}


def test_a_claim_far_from_the_measured_interval_is_inconsistent(far_claim, hub_server):
    e = far_claim
    assert e["verdict"] == "inconsistent" and e["signed"] is False
    c, m = e["claim"], e["measured"]
    assert (c["value"], c["published_value"], c["source_name"], c["signed"], c["scale"]) == \
        (0.95, 95.0, "Model card", False, "percent")
    assert c["file"] == CLAIMS and c["model"] == "org/tiny"
    assert m["metric"] == "accuracy" and m["n"] == 30 and m["model_revision"] == e["head"]
    lo, hi = m["ci95"]
    assert 0.0 <= lo <= m["value"] <= hi <= 1.0 and hi + 0.05 < 0.95  # Wilson: inside [0, 1], and 0.95 outside
    assert e["why"].startswith("the claim's method is unknown: the claim 95.0 is read as a percentage")
    assert "lies outside the measured 95% interval" in e["why"]
    # no dataset.revision: the eval.yaml at the commit read now, and the check says so
    assert any("names no dataset.revision" in w and hub_server.bench_sha in w for w in e["warnings"])
    assert m["dataset_revision"] == hub_server.bench_sha
    assert e["note"].startswith("Checked the published 95.0 (.eval_results/bench.yaml, source 'Model card') with "
                                "this benchmark's declared method") and e["note"].endswith("inconsistent with it.")
    assert e["published"] is None


def test_a_claim_equal_to_the_measured_value_is_consistent_and_published(far_claim, hub, tmp_path):
    """The measured fraction as a percent, at the benchmark's commit: `consistent`; --publish
    opens a PR that adds the check's signed entry beside the claim (which stays), whose notes
    cite it, and which verifies."""
    measured = far_claim["measured"]["value"]
    percent = round(measured * 100, 4)
    put_claims(hub, [claim(percent, revision=hub.bench_sha)])
    main_before = hub.files_at("org/tiny", "model", "main")
    proc = check(hub, "--publish", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert e["verdict"] == "consistent" and e["claim"]["value"] == pytest.approx(measured, abs=1e-6)
    assert e["measured"]["value"] == measured  # the same declared method, the same greedy answers
    assert not any("dataset.revision" in w for w in e["warnings"])  # the entry named its revision
    assert any("--log-repo" in w for w in e["warnings"])  # the log stays here: the PR has no source.url
    (pr,) = hub.pull_requests("org/tiny")
    assert e["published"] and e["published"].endswith(f"/discussions/{pr['num']}")
    assert hub.files_at("org/tiny", "model", "main") == main_before
    # the PR's file, read back through huggingface_hub (in a process of its own: the clients read
    # HF_ENDPOINT and offline mode when imported)
    listed, text = read_back(hub, pr["ref"], tmp_path)
    assert CLAIMS in listed
    old, new = yaml.safe_load(text)
    assert old == claim(percent, revision=hub.bench_sha)  # the checked entry stays as it was
    assert new["dataset"] == {"id": "org/bench", "task_id": "addition", "revision": hub.bench_sha}
    assert new["value"] == measured and "source" not in new
    sentence = (f"Checked the published {percent} (.eval_results/bench.yaml, source 'Model card') with this "
                "benchmark's declared method, by run-eval: ")
    assert new["notes"].startswith(sentence) and "consistent with it." in new["notes"]
    assert new["notes"].split(". ", 1)[0] + "." == e["note"] or new["notes"].startswith(e["note"])
    assert str(tmp_path) not in text
    # its token binds the notes: run-eval verify says self-signed, bound to the model repo
    pulled = tmp_path / "pulled" / ".eval_results" / "bench.yaml"
    pulled.parent.mkdir(parents=True)
    pulled.write_text(yaml.safe_dump([new], sort_keys=False))
    v = run_inproc("verify", str(pulled), "--model", "org/tiny", "--json", cwd=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr
    assert [x["status"] for x in json.loads(v.stdout)["entries"]] == ["self-signed"]
    pulled.write_text(yaml.safe_dump([{**new, "notes": new["notes"].replace("consistent", "inconsistent")}]))
    v = run_inproc("verify", str(pulled), "--model", "org/tiny", "--json", cwd=tmp_path)
    assert [x["status"] for x in json.loads(v.stdout)["entries"]] == ["invalid"]


def test_what_cannot_be_checked_is_one_line(hub, tmp_path):
    """No run starts: a task the eval.yaml does not declare, a benchmark another framework runs,
    no entry matching, no such model repo, and flags meant for signed entries."""
    hub.add_repo("org/swe", "dataset", files={"eval.yaml": b"name: swe\nevaluation_framework: swe-bench\n"
                                                            b"tasks:\n  - id: verified\n"})
    put_claims(hub, [claim(75.8, task="swe_bench_%_resolved"), claim(80.2, dataset="org/swe", task="verified")])
    cases = [
        (["org/tiny", "--benchmark", "org/bench"], "declares no such task (tasks: addition, comparison)"),
        (["org/tiny", "--benchmark", "org/swe"], "run by swe-bench, not by Inspect AI"),
        (["org/tiny", "--benchmark", "org/bench", "--task", "addition"], "no entry matches --task 'addition'"),
        (["org/nope", "--benchmark", "org/bench"], "TARGET 'org/nope'"),
        (["org/tiny", "--benchmark", "org/swe", "--samples", "5"], "--samples is for signed entries"),
    ]
    for args, needle in cases:
        proc = hub_cli(hub, "reproduce", *args, cwd=tmp_path)
        assert_clean_error(proc, needle)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert hub.pull_requests("org/tiny") == []
    proc = run_inproc("reproduce", "org/tiny", "--log-repo", "org/logs", cwd=tmp_path)
    assert_clean_error(proc, "--log-repo: only with --publish")


def test_claim_sentence_and_scale():
    from run_eval.runner.compare.reproduce import Target, claim_sentence, claim_value

    # a value of 1 says nothing of its scale: the record's other values (percentages) do
    record = [Target("f", claim(v)) for v in (1, 72.8)] + [Target("f", claim(0.5, dataset="other/b"))]
    assert claim_value(record[0], record)[1:] == (0.01, "percent", "percent")
    assert claim_value(record[2], record)[1:] == (0.5, "fraction", "fraction")
    s = claim_sentence(0.5, ".eval_results/b.yaml", None, "fraction", 0.2, None, 3, "inconclusive")
    assert s == ("Checked the published 0.5 (.eval_results/b.yaml, no source named) with this benchmark's declared "
                 "method, by run-eval: 0.2, no interval on 3 samples, too uncertain to tell (inconclusive).")
