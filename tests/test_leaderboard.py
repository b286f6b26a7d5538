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
    assert (a["rank"], b["rank"]) == (1, 1) and a["rank_range"] == b["rank_range"] == [1, 2]  # same value
    assert "tied_with" not in a  # (a list per entry of its ties grew as n²)
    assert {(u["model"], u["status"]) for u in board["unranked"]} == {("org/a", "invalid"), (str(results["unsigned"]),
                                                                                            "unsigned")}
    assert all(u["why"] for u in board["unranked"])
    plain = run_inproc("leaderboard", *(str(p) for p in results.values()), cwd=tmp_path)
    assert "# group 2: differs in max_tokens 4 vs -" in plain.stdout
    assert "\norg/c\t" not in plain.stdout  # (rows start with the rank)
    assert "# not ranked" in plain.stdout


def signed_row(model: str, value: float, se: float | None, *, n: int = 100, metric: str = "accuracy"):
    from run_eval.runner.publish.leaderboard import Row
    from run_eval.signing.claims import Claims

    c = Claims.from_payload({"version": 1, "hash": "h", "iat": 0, "entry": {}, "model": {"id": model},
                             "dataset": {"id": "org/b", "task_id": "t"},
                             "metric": {"name": metric, "value": value, "stderr": se, "samples": n}})
    return Row(model, value, "signed", None, c)


def test_ranks_count_the_entries_significantly_better_and_do_not_chain():
    """The issue's example: A .80, B .75, C .70, stderr .02 each. A and C differ (z = 3.5); B
    differs from neither. Adjacent ties used to chain A to C: all three were rank 1."""
    from run_eval.runner.publish.leaderboard import rank

    ranked = rank([signed_row("C", 0.70, 0.02, metric="mean"), signed_row("A", 0.80, 0.02, metric="mean"),
                   signed_row("B", 0.75, 0.02, metric="mean")])
    assert [(r.row.model, r.rank, r.rank_range) for r in ranked] == [("A", 1, [1, 2]), ("B", 1, [1, 3]),
                                                                      ("C", 2, [2, 3])]
    assert ranked[0].ci95 == pytest.approx([0.8 - 1.96 * 0.02, 0.8 + 1.96 * 0.02], abs=1e-4)  # the 95% interval
    # the ranks come from the simultaneous intervals (level 1 - 0.05/3: z = 2.394), which are wider
    assert ranked[0].rank_ci == pytest.approx([0.8 - 2.394 * 0.02, 0.8 + 2.394 * 0.02], abs=1e-4)
    # ... and a value without a known uncertainty is never told apart from another
    unknown = rank([signed_row("A", 0.80, 0.02, metric="mean"), signed_row("C", 0.70, None, metric="mean")])
    assert [(r.rank, r.rank_range) for r in unknown] == [(1, [1, 2]), (1, [1, 2])]


def test_a_dense_board_is_ranked_monotone_and_its_json_grows_linearly():
    """333 close models (the bench's shape: values .300-.900 on 1,000 samples) used to be all
    rank 1; each entry listed every tie (19 MB for 1,000 tied entries)."""
    import random

    from run_eval.runner.publish.leaderboard import build

    rng = random.Random(0)
    values = [rng.randint(300, 900) / 1000 for _ in range(333)]
    rows = [signed_row(f"org/m{i:03d}", v, (v * (1 - v) / 999) ** 0.5, n=1000) for i, v in enumerate(values)]
    (group,) = build(rows, [], benchmark="org/b", task_id=None).groups
    entries = group.entries
    ranks = [e.rank for e in entries]
    assert ranks[0] == 1 and len(set(ranks)) > 50 and max(ranks) > 250
    assert ranks == sorted(ranks)  # a better value never gets a worse rank
    for a, b in zip(entries, entries[1:]):
        assert a.row.value > b.row.value or a.rank_range == b.rank_range  # equal values share
        assert a.rank_range[1] <= b.rank_range[1]
    assert all(e.rank_range[0] == e.rank <= e.rank_range[1] for e in entries)

    def size(n: int) -> int:
        tied = [signed_row(f"org/m{i:04d}", 0.5, 0.0158, n=1000) for i in range(n)]
        board = build(tied, [], benchmark="org/b", task_id=None)
        assert {(e.rank, tuple(e.rank_range)) for e in board.groups[0].entries} == {(1, (1, n))}
        return len(json.dumps(board.as_dict(), indent=2))

    small, large = size(100), size(1000)
    assert large < 11 * small and large < 1_000_000, (small, large)


def test_a_proportion_interval_stays_within_0_and_1():
    """1 right of 12: value ± 1.96·stderr went below 0 (the issue saw [-0.03, 0.20]); Wilson's
    interval is inside [0, 1], and for all right it still has a width."""
    from run_eval.runner.publish.leaderboard import build

    rows = [signed_row("one", 1 / 12, None, n=12), signed_row("all", 1.0, 0.0, n=12),
            signed_row("signed", 1 / 12, (1 / 12 * 11 / 12 / 11) ** 0.5, n=12)]
    board = build(rows, [], benchmark="org/b", task_id=None).as_dict()
    cis = {e["model"]: e["ci95"] for e in board["groups"][0]["entries"]}
    assert cis["one"] == pytest.approx([0.0149, 0.3539], abs=1e-4)  # Wilson (1927)
    assert cis["all"] == pytest.approx([0.7575, 1.0], abs=1e-4)
    # a signed stderr (Inspect's, with n - 1) is the effective n of 11: a little wider, still in range
    assert 0.0 < cis["signed"][0] < 0.0149 and 0.3539 < cis["signed"][1] < 1.0
    assert all(0.0 <= x <= 1.0 for ci in cis.values() for x in ci)


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


@pytest.mark.hub
def test_hub_leaderboard_reads_each_file_once_and_lists_unreadable_repos_apart(hub, results, tmp_path):
    """The Hub shows one row per entry, each naming the whole file: a file with two entries
    for the task was listed four times. A deleted or gated model repo aborted the whole board
    with an error naming the benchmark; it is listed apart with the Hub's reason."""
    (a,), (c,) = yaml.safe_load(results["a"].read_text()), yaml.safe_load(results["c"].read_text())
    hub.add_repo("org/a", "model", files={"README.md": b"x", ".eval_results/arithmetic.yaml":
                                          yaml.safe_dump([a, c], sort_keys=False).encode()})
    hub.add_repo("org/b", "model", files={"README.md": b"x",
                                          ".eval_results/arithmetic.yaml": results["b"].read_bytes()})
    hub.add_repo("org/locked", "model", gated="denied",
                 files={"README.md": b"x", ".eval_results/arithmetic.yaml": results["b"].read_bytes()})
    hub.set_leaderboard("org/bench", [
        {"modelId": "org/a", "value": a["value"], "filename": "arithmetic.yaml"},
        {"modelId": "org/a", "value": c["value"], "filename": "arithmetic.yaml"},
        {"modelId": "org/b", "value": 0.5, "filename": "arithmetic.yaml"},
        {"modelId": "org/gone", "value": 0.9, "filename": "arithmetic.yaml"},  # deleted since
        {"modelId": "org/locked", "value": 0.4, "filename": "arithmetic.yaml"},
    ])
    page = tmp_path / "board.html"
    proc = hub_cli(hub, "leaderboard", "org/bench", "--include-closed", "--json", "--html", str(page), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    listed = [e["model"] for g in board["groups"] for e in g["entries"]] + [u["model"] for u in board["unranked"]]
    assert sorted(listed) == ["org/a", "org/a", "org/b", "org/gone", "org/locked"]  # each entry once
    # the second entry of org/a's file is c's: its token names another model
    (wrong,) = [u for u in board["unranked"] if u["model"] == "org/a"]
    assert wrong["status"] == "invalid" and "not 'org/a'" in wrong["why"]
    why = {u["model"]: (u["status"], u["why"]) for u in board["unranked"] if u["model"] != "org/a"}
    assert why["org/gone"][0] == why["org/locked"][0] == "unreadable"
    assert "model org/gone: no such model repo on the Hub" in why["org/gone"][1]
    assert "model org/locked: the repo is gated" in why["org/locked"][1]
    assert all("\n" not in w for _, w in why.values())
    assert "unreadable" in page.read_text()
    plain = hub_cli(hub, "leaderboard", "org/bench", cwd=tmp_path)
    assert plain.returncode == 0 and "# not ranked" in plain.stdout and "Traceback" not in plain.stderr
