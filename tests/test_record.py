"""The record as it is (issue #21, section 1): every entry with its provenance, one model's
disagreeing values flagged, task ids the benchmark does not declare listed, every value on
the record's one scale, the values rewritten in later commits (who, when), and what signed
entries say of the others. The Hub fixture is shaped like the issue's table of real entries,
read through the real huggingface_hub client against the loopback Hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, hub_cli, run_inproc

KEYS = Path(__file__).parent / "fixtures" / "tokens" / "keys"
SWE = "SWE-bench/SWE-bench_Verified"
TB = "harborframework/terminal-bench-2.0"
RESOLVED = "swe_bench_%_resolved"


def entry(dataset: str, task: str, value, *, name: str | None = None, url: str | None = None, **extra) -> dict:
    out = {"dataset": {"id": dataset, "task_id": task}, "value": value, **extra}
    if url:
        out["source"] = {"url": url, **({"name": name} if name else {})}
    return out


def dump(entries: list[dict]) -> bytes:
    return yaml.safe_dump(entries, sort_keys=False).encode()


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict:
    """A run-eval signed entry (Inspect's fraction) of the instant flaky/ model on the SWE
    dataset id, task `addition` (its eval.yaml here declares it)."""
    import testmodels  # noqa: F401  (registers flaky/)

    work = tmp_path_factory.mktemp("record")
    env = {"RUN_EVAL_SIGNING_KEY": (KEYS / "evaluator.pem").read_text(), "RUN_EVAL_HOME": str(work / "home")}
    proc = run_inproc("flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "10", "--model-id",
                      "run-eval/flaky", "--dataset-id", SWE, "--output-dir", str(work), cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    (e,) = yaml.safe_load((work / ".eval_results" / "arithmetic.yaml").read_text())
    return e


@pytest.fixture()
def record(hub, signed):
    """The issue's table on the loopback Hub."""
    hub.add_repo(SWE, "dataset", files={"eval.yaml": yaml.safe_dump(
        {"name": "SWE-bench Verified", "evaluation_framework": "swe-bench",
         "tasks": [{"id": RESOLVED}, {"id": "addition"}]}).encode()})
    hub.add_repo(TB, "dataset", files={"eval.yaml": b"name: Terminal-Bench 2.0\nevaluation_framework: harbor\n"
                                                     b"tasks:\n- id: terminalbench_2\n"})
    hub.add_repo("MiniMaxAI/MiniMax-M2.5", "model", files={".eval_results/swe_bench_verified.yaml": dump([
        entry(SWE, RESOLVED, 75.80, name="SWE-Bench official evaluation", url="https://www.swebench.com",
              notes="high reasoning, official", date="2026-02-12"),
        entry(SWE, RESOLVED, 80.2, name="Model card", url="https://huggingface.co/MiniMaxAI/MiniMax-M2.5",
              notes="MiniMax reported number")])})
    hub.add_repo("zai-org/GLM-5", "model", files={".eval_results/swe_bench_verified.yaml": dump([
        entry(SWE, RESOLVED, 77.8, name="Model card", url="https://huggingface.co/zai-org/GLM-5")])})
    hub.commit("zai-org/GLM-5", "model", {".eval_results/swe_bench_verified.yaml": dump([
        entry(SWE, RESOLVED, 72.80, name="swebench.com", url="https://www.swebench.com")])},
        message="Update SWE-bench Verified", author="swebench-bot")
    hub.add_repo("MiniMaxAI/MiniMax-M2.1", "model", files={".eval_results/swe_bench_verified.yaml": dump([
        entry(SWE, "swe_bench_verified", 74.0, date="2026-03-17", notes="With tools")])})
    hub.add_repo("MiniMaxAI/MiniMax-M2", "model", files={".eval_results/terminal_bench.yaml": dump([
        entry(TB, "terminal_bench", 30.0, name="leaderboard", url="https://www.tbench.ai/leaderboard")])})
    hub.add_repo("MiniMaxAI/MiniMax-M2.7", "model", files={".eval_results/terminal_bench.yaml": dump([
        entry(TB, "terminalbench_2", 57, name="Model Card", url="https://huggingface.co/MiniMaxAI/MiniMax-M2.7")])})
    # run-eval's signed entry, and beside it a model-card claim far from it
    hub.add_repo("run-eval/flaky", "model", files={".eval_results/arithmetic.yaml": dump([
        signed, entry(SWE, "addition", 30.0, name="Model card", url="https://example.com/card")])})
    hub.set_leaderboard(SWE, [
        {"modelId": "MiniMaxAI/MiniMax-M2.5", "value": 80.2, "filename": "swe_bench_verified.yaml"},
        {"modelId": "MiniMaxAI/MiniMax-M2.5", "value": 75.8, "filename": "swe_bench_verified.yaml"},
        {"modelId": "zai-org/GLM-5", "value": 72.8, "filename": "swe_bench_verified.yaml"},
        {"modelId": "MiniMaxAI/MiniMax-M2.1", "value": 74.0, "filename": "swe_bench_verified.yaml"},
        {"modelId": "run-eval/flaky", "value": 30.0, "filename": "arithmetic.yaml"},
        {"modelId": "run-eval/flaky", "value": signed["value"], "filename": "arithmetic.yaml"},
    ])
    hub.set_leaderboard(TB, [{"modelId": "MiniMaxAI/MiniMax-M2", "value": 30.0, "filename": "terminal_bench.yaml"},
                             {"modelId": "MiniMaxAI/MiniMax-M2.7", "value": 57, "filename": "terminal_bench.yaml"}])
    return hub


@pytest.mark.hub
def test_the_record_legible_on_the_hub(record, signed, tmp_path):
    proc = hub_cli(record, "leaderboard", SWE, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    assert board["scale"] == {"published": "mixed", "shown": "percent"}
    entries = [e for g in board["groups"] for e in g["entries"]] + board["unranked"]
    assert len(entries) == 6 and all(set(e["provenance"]) == {"source_name", "source_url", "user", "org", "date",
                                                              "notes", "file", "pull_request"} for e in entries)
    # run-eval's signed entry: ranked on its claims, shown on the record's (percent) scale
    ((mine,),) = [g["entries"] for g in board["groups"]]
    assert mine["model"] == "run-eval/flaky" and mine["published_value"] == signed["value"]
    assert mine["value"] == pytest.approx(100 * signed["value"])
    assert 0 <= mine["ci95"][0] <= mine["value"] <= mine["ci95"][1] <= 100 and mine["ci95"][1] > 1
    by = {(e["model"], e["provenance"]["source_name"]): e for e in board["unranked"]}
    official = by[("MiniMaxAI/MiniMax-M2.5", "SWE-Bench official evaluation")]
    assert official["value"] == official["published_value"] == 75.8
    assert official["provenance"]["notes"] == "high reasoning, official"
    assert official["provenance"]["file"] == ".eval_results/swe_bench_verified.yaml"
    m21 = by[("MiniMaxAI/MiniMax-M2.1", None)]
    assert (m21["provenance"]["date"], m21["provenance"]["notes"]) == ("2026-03-17", "With tools")
    # the conflicts: two values of M2.5, and the model card against run-eval's signed entry
    conflicts = {c["model"]: c for c in board["conflicts"]}
    assert set(conflicts) == {"MiniMaxAI/MiniMax-M2.5", "run-eval/flaky"}
    assert {(v["value"], v["source_name"]) for v in conflicts["MiniMaxAI/MiniMax-M2.5"]["values"]} == {
        (75.8, "SWE-Bench official evaluation"), (80.2, "Model card")}
    assert conflicts["MiniMaxAI/MiniMax-M2.5"]["task_id"] == RESOLVED
    # the card's 30.0 is checked against the signed entry (a fraction's interval): it disagrees
    (check,) = by[("run-eval/flaky", "Model card")]["checks"]
    assert check["verdict"] == "inconsistent" and check["value"] == pytest.approx(mine["value"])
    # task ids the eval.yaml (framework swe-bench) does not declare: listed, never merged
    assert board["declared_task_ids"] == [RESOLVED, "addition"]
    assert board["spec"]["evaluation_framework"] == "swe-bench"
    assert board["undeclared_task_ids"] == [{"task_id": "swe_bench_verified", "models": ["MiniMaxAI/MiniMax-M2.1"]}]
    # GLM-5's 77.8 was rewritten to 72.80 by another author
    (glm,) = [e for e in board["unranked"] if e["model"] == "zai-org/GLM-5"]
    (rewrite,) = glm["rewritten"]
    assert (rewrite["from"], rewrite["to"], rewrite["author"]) == (77.8, 72.8, "swebench-bot") and rewrite["date"]
    assert glm["provenance"]["source_name"] == "swebench.com"

    # a terminal, a pipe, a page: the same facts (--task asks one task; undeclared ids are still said)
    page = tmp_path / "board.html"
    plain = hub_cli(record, "leaderboard", SWE, "--task", RESOLVED, "--html", str(page), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "values on the percent scale (the record publishes mixed values" in plain.stdout
    assert "conflict: MiniMaxAI/MiniMax-M2.5 has 2 values" in plain.stdout
    assert "undeclared task id: swe_bench_verified (MiniMaxAI/MiniMax-M2.1)" in plain.stdout
    assert "\tSWE-Bench official evaluation\t" in plain.stdout and "rewritten 77.8 -> 72.8 by swebench-bot" in plain.stdout
    text = page.read_text()
    assert "SWE-Bench official evaluation" in text and "Undeclared task ids" in text and "swebench-bot" in text
    assert not any(asset in text for asset in ("src=", "href=", "<link", "@import", "url("))

    # a benchmark run by another framework (harbor): read and listed all the same
    tb = json.loads(hub_cli(record, "leaderboard", TB, "--json", "--max-commits", "0", cwd=tmp_path).stdout)
    assert tb["spec"]["evaluation_framework"] == "harbor" and len(tb["unranked"]) == 2
    assert tb["undeclared_task_ids"] == [{"task_id": "terminal_bench", "models": ["MiniMaxAI/MiniMax-M2"]}]
    assert tb["scale"] == {"published": "percent", "shown": "percent"}


@pytest.mark.hub
def test_results_history_and_checks(record, signed, tmp_path):
    proc = hub_cli(record, "results", "zai-org/GLM-5", "--history", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (h,) = out["history"]
    assert (h["file"], h["task_id"]) == (".eval_results/swe_bench_verified.yaml", RESOLVED)
    added, rewritten = h["changes"]
    assert (added["from"], added["to"]) == (None, 77.8)
    assert (rewritten["from"], rewritten["to"], rewritten["author"]) == (77.8, 72.8, "swebench-bot")
    assert rewritten["commit"] == record.head("zai-org/GLM-5", "model") and rewritten["date"]
    assert out["cut"] is False
    plain = hub_cli(record, "results", "zai-org/GLM-5", "--history", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "\t77.8\t72.8" in plain.stdout and "swebench-bot" in plain.stdout
    cut = hub_cli(record, "results", "zai-org/GLM-5", "--history", "--max-commits", "1", cwd=tmp_path)
    assert "no value change" in cut.stdout and "only the newest 1 commits were read" in cut.stdout
    listed = hub_cli(record, "results", "run-eval/flaky", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    mine, card = json.loads(listed.stdout)["entries"]
    assert mine["status"] == "self-signed" and card["status"] == "unsigned"
    assert card["provenance"]["source_name"] == "Model card" and card["provenance"]["pull_request"] is None
    assert [c["verdict"] for c in card["checks"]] == ["inconsistent"] and mine["checks"] == []


def test_local_files_need_a_spec_to_check_task_ids(signed, tmp_path):
    folder = tmp_path / "results" / ".eval_results"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text(yaml.safe_dump([signed, entry(SWE, "swe_bench_verified", 74.0)], sort_keys=False))
    spec = tmp_path / "swe"
    spec.mkdir()
    (spec / "eval.yaml").write_text(f"evaluation_framework: swe-bench\ntasks:\n- id: '{RESOLVED}'\n")
    unchecked = json.loads(run_inproc("leaderboard", str(folder), "--json", cwd=tmp_path).stdout)
    assert unchecked["declared_task_ids"] is None and "--spec" in unchecked["spec"]["why"]
    assert unchecked["scale"] == {"published": "mixed", "shown": "percent"}
    proc = run_inproc("leaderboard", str(folder), "--spec", str(spec), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    assert {u["task_id"] for u in board["undeclared_task_ids"]} == {"addition", "swe_bench_verified"}
    bad = run_inproc("leaderboard", str(folder), "--spec", str(tmp_path / "results"), cwd=tmp_path)
    assert bad.returncode == 2 and "--spec" in bad.stderr and "Traceback" not in bad.stderr


def test_signed_entries_of_one_method_from_two_keys_corroborate():
    from dataclasses import replace

    from test_leaderboard import signed_row

    from run_eval.runner.publish.leaderboard import build

    a = replace(signed_row("org/m", 0.70, None, n=200), signer="alice", kid="k1")
    b = replace(signed_row("org/m", 0.72, None, n=200), signer="bob", kid="k2")
    far = replace(signed_row("org/m", 0.20, None, n=200), signer="carol", kid="k3")
    (g,) = build([a, b, far], [], benchmark="org/b", task_id=None).groups
    shown = {e.row.signer: e.row for e in g.entries}
    assert shown["alice"].corroborated_by == ("bob",) and shown["bob"].corroborated_by == ("alice",)
    assert {c.signer: c.verdict for c in shown["carol"].checks} == {"alice": "inconsistent", "bob": "inconsistent"}
    assert shown["carol"].corroborated_by == ()
