"""`run-eval leaderboard` and `results --closed`: only comparable entries ranked together, ties
where the intervals say so, unsigned and invalid entries apart, closed PRs visible."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, HUB_TOKEN, hub_cli, run_inproc

KEYS = Path(__file__).parent / "fixtures" / "tokens" / "keys"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    """Signed result files of the instant flaky/ model for four 'models' on org/bench: three with
    one method, one with another max_tokens; plus an unsigned and a tampered copy."""
    import testmodels  # noqa: F401  (registers flaky/)

    work = tmp_path_factory.mktemp("leaderboard")
    env = {"RUN_EVAL_SIGNING_KEY": (KEYS / "evaluator.pem").read_text(), "RUN_EVAL_HOME": str(work / "home")}
    out = {}
    for model, extra in (("a", []), ("b", []), ("c", ["--max-tokens", "4"]), ("d", ["-M", "fail_on=3",
                                                                                 "--allow-errors", "0.5"])):
        proc = run_inproc("flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "10", "--model-id",
                          f"org/{model}", "--dataset-id", "org/bench", "--output-dir", str(work / model), *extra,
                          cwd=work, env=env)
        assert proc.returncode == 0, proc.stderr
        out[model] = work / model / ".eval_results" / "arithmetic.yaml"
    (entry,) = yaml.safe_load(out["a"].read_text())
    for name, changed in (("unsigned", {k: v for k, v in entry.items() if k != "verifyToken"}),
                          ("tampered", {**entry, "value": 0.01})):
        path = work / name / ".eval_results" / "arithmetic.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(yaml.safe_dump([changed], sort_keys=False))
        out[name] = path
    return out


def test_local_files_group_rank_and_list_apart(results, tmp_path):
    proc = run_inproc("leaderboard", *(str(p) for p in results.values()), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    sizes = [len(g["entries"]) for g in board["groups"]]
    assert sizes == [2, 1, 1]  # a and b share a method; c and d differ from it
    largest = board["groups"][0]
    assert {e["model"] for e in largest["entries"]} == {"org/a", "org/b"}
    assert largest["differs_from_largest"] == {}
    others = {g["entries"][0]["model"]: g["differs_from_largest"] for g in board["groups"][1:]}
    assert others["org/c"] == {"max_tokens": [4, None]}
    assert set(others["org/d"]) == {"samples", "subset"}  # the failed samples were left out
    a, b = largest["entries"]
    assert (a["rank"], b["rank"]) == (1, 1) and a["tied_with"] == [b["model"]]  # same value: tied
    assert {(u["model"], u["status"]) for u in board["unranked"]} == {("org/a", "invalid"), (str(results["unsigned"]),
                                                                                            "unsigned")}
    assert all(u["why"] for u in board["unranked"])
    plain = run_inproc("leaderboard", *(str(p) for p in results.values()), cwd=tmp_path)
    assert "# group 2: differs in max_tokens 4 vs -" in plain.stdout
    assert "\norg/c\t" not in plain.stdout  # (rows start with the rank)
    assert "# not ranked" in plain.stdout


def test_ties_follow_the_intervals_with_holm():
    from run_eval.runner.publish.leaderboard import Row, holm, rank
    from run_eval.signing.claims import Claims

    def row(model: str, value: float, se: float) -> Row:
        c = Claims.from_payload({"version": 1, "hash": "h", "iat": 0, "entry": {}, "model": {"id": model},
                                 "dataset": {"id": "org/b", "task_id": "t"},
                                 "metric": {"name": "accuracy", "value": value, "stderr": se, "samples": 100}})
        return Row(model, value, "signed", None, c)

    ranked = rank([row("m2", 0.60, 0.01), row("m1", 0.90, 0.01), row("m3", 0.59, 0.01), row("m4", 0.30, 0.01)])
    assert [(r.row.model, r.rank, r.tied_with) for r in ranked] == [
        ("m1", 1, []), ("m2", 2, ["m3"]), ("m3", 2, ["m2"]), ("m4", 4, [])]
    assert ranked[0].ci95 == pytest.approx([0.9 - 1.96 * 0.01, 0.9 + 1.96 * 0.01], abs=1e-4)
    # Holm: the smallest p is held to alpha/m, the next to alpha/(m-1), ...
    assert holm([0.03, 0.04]) == [False, False] and holm([0.02, 0.03]) == [True, True]
    assert holm([0.01, 0.06]) == [True, False]


@pytest.mark.hub
def test_hub_leaderboard_open_and_closed_prs(hub, results, tmp_path):
    """The Hub's leaderboard for org/bench names four models (one from an open PR); a fifth's
    result sits in a PR its owner closed. Each file is read at the commit the row points to."""
    for m in ("a", "b", "c"):
        hub.add_repo(f"org/{m}", "model", files={"README.md": b"x",
                                                 ".eval_results/arithmetic.yaml": results[m].read_bytes()})
    hub.add_repo("org/d", "model", files={"README.md": b"x"})
    pr = hub.open_pr("org/d", {".eval_results/arithmetic.yaml": results["d"].read_bytes()}, author="evaluator")
    # a community evaluator's PR to org/a with another score, closed by org/a's owner
    unflattering = yaml.safe_load(results["unsigned"].read_text())
    closed = hub.open_pr("org/a", {".eval_results/arithmetic.yaml": results["unsigned"].read_bytes()},
                         author="critic")
    hub.close_pr("org/a", closed, by="org-a-owner")
    hub.add_repo("org/derived", "model", files={"README.md": b"x",
                                                ".eval_results/arithmetic.yaml": results["b"].read_bytes()})
    hub.set_leaderboard("org/bench", [
        {"modelId": "org/a", "value": 1.0, "filename": "arithmetic.yaml"},
        {"modelId": "org/c", "value": 1.0, "filename": "arithmetic.yaml"},
        {"modelId": "org/b", "value": 1.0, "filename": "arithmetic.yaml"},
        {"modelId": "org/d", "value": 1.0, "filename": ".eval_results/arithmetic.yaml", "pullRequest": pr},
        {"modelId": "org/derived", "value": 1.0, "filename": "arithmetic.yaml", "derivative": True},
    ])
    proc = hub_cli(hub, "leaderboard", "org/bench", "--include-closed", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    models = {e["model"]: e for g in board["groups"] for e in g["entries"]}
    assert set(models) == {"org/a", "org/b", "org/c", "org/d"}  # org/derived only with --all-models
    assert models["org/d"]["pull_request"] == pr and models["org/a"]["pull_request"] is None
    assert models["org/b"]["source"].startswith(f"org/b@{hub.head('org/b', 'model')}/.eval_results/")
    # the Hub ranks org/a next to org/c although their methods differ
    assert any(set(p["models"]) == {"org/a", "org/c"} and "max_tokens" in p["why"] for p in board["hub_mixed_pairs"])
    (c,) = board["closed"]
    assert (c["model"], c["num"], c["author"], c["status"]) == ("org/a", closed, "critic", "unsigned")
    assert c["closed_at"] and c["on_main"] == models["org/a"]["value"]
    everyone = json.loads(hub_cli(hub, "leaderboard", "org/bench", "--all-models", "--json", cwd=tmp_path).stdout)
    (derived,) = [u for u in everyone["unranked"] if u["model"] == "org/derived"]
    assert derived["status"] == "invalid" and "the token is for model 'org/b', not 'org/derived'" in derived["why"]
    listed = hub_cli(hub, "results", "org/a", "--closed", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)["closed"]
    assert (row["pull_request"], row["author"], row["status"], row["value"]) == (closed, "critic", "unsigned",
                                                                                  unflattering[0]["value"])
    page = tmp_path / "board.html"
    html = hub_cli(hub, "leaderboard", "org/bench", "--include-closed", "--html", str(page), cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    text = page.read_text()
    assert "<svg" in text and "closed PR" in text and "community PR" in text
    assert not any(asset in text for asset in ("src=", "href=", "<link", "@import", "url("))  # self-contained
    assert "&amp;#" not in text  # (nothing escaped twice)
    assert HUB_TOKEN not in proc.stdout + proc.stderr + text


def test_bad_benchmark_argument_is_one_line(tmp_path):
    proc = run_inproc("leaderboard", "no-such-thing", cwd=tmp_path)
    assert proc.returncode == 2 and "no such file or folder, and not one Hub dataset id" in proc.stderr
    both = run_inproc("leaderboard", str(EXAMPLE), "--include-closed", cwd=tmp_path)
    assert both.returncode == 2 and "read the Hub" in both.stderr
    shutil.rmtree(tmp_path, ignore_errors=True)
