"""The Hub, played by a loopback server (tests/hubserver.py) and driven by the real clients.

Every command runs as a `run-eval` (or `inspect`) subprocess whose HF_ENDPOINT points at
the server: huggingface_hub, datasets and transformers read it at import time, and
nothing of theirs is mocked. The module shares one server and one run (conftest.py:
`hub_server`, `shared_hub_run`); each test gets the server back as it was before it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, HUB_TOKEN, assert_clean_error, finish, hub_cli, run_inproc, secret_leaks, start_cli

pytestmark = pytest.mark.hub
TOKEN = HUB_TOKEN


def run(hub, *args, cwd, **env):
    return hub_cli(hub, *args, cwd=cwd, **env)


def writes(hub) -> list:
    return [r for r in hub.requests if r[0] == "POST" and ("/commit/" in r[1] or "/preupload/" in r[1])]


def results(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())


def test_hub_benchmark_and_model_are_pinned_to_commits(hub, hub_run):
    (entry,) = results(hub_run)
    assert entry["dataset"] == {"id": "org/bench", "task_id": "addition", "revision": hub.bench_sha}
    from run_eval.signing.token import check_signature

    claims = check_signature(entry["verifyToken"]).payload
    assert claims["model"]["id"] == "org/tiny" and claims["model"]["revision"] == hub.model_sha
    assert claims["dataset"]["pin"] == "hub"
    assert claims["run"]["model_args"]["model_path"] == f"hf-snapshot:org/tiny@{hub.model_sha}"
    assert TOKEN not in hub_run.read_text()


def test_a_later_commit_does_not_move_a_pinned_run(hub, tmp_path):
    old = hub.bench_sha
    new = hub.commit("org/bench", "dataset", {"data/addition.jsonl": b'{"question": "What is 1 + 1?", "answer": "2", "id": "x"}\n'})
    out_old, out_new = tmp_path / "old", tmp_path / "new"
    # the two runs at once (they share only the HF cache, which huggingface_hub locks)
    pinned = start_cli("hf/org/tiny", f"org/bench@{old}", "--task", "addition", "--limit", "2",
                       "--max-tokens", "2", "--output-dir", str(out_old), "--log-dir", "logs-old", cwd=tmp_path,
                       env=hub.env)
    latest = start_cli("hf/org/tiny", "org/bench", "--task", "addition", "--max-tokens", "2",
                       "--output-dir", str(out_new), "--log-dir", "logs-new", cwd=tmp_path, env=hub.env)
    proc = finish(pinned)
    assert proc.returncode == 0, proc.stderr
    assert results(out_old / ".eval_results" / "bench.yaml")[0]["dataset"]["revision"] == old
    proc = finish(latest)
    assert proc.returncode == 0, proc.stderr
    assert "1/1" in proc.stdout  # the new commit has one row
    assert results(out_new / ".eval_results" / "bench.yaml")[0]["dataset"]["revision"] == new


@pytest.mark.parametrize(
    "bench, env, needle",
    [
        ("org/bench@nope", {}, "no such revision on the Hub"),
        ("org/missing", {}, "no such dataset repo on the Hub, or it is private"),
        ("org/private", {"HF_TOKEN": ""}, "no such dataset repo on the Hub, or it is private"),
        ("org/gated", {"HF_TOKEN": ""}, "the repo is gated; accept its conditions at"),
        ("org/noyaml", {}, "the dataset has no eval.yaml at its root"),
    ],
)
def test_hub_benchmark_errors_are_one_line(hub, tmp_path, bench, env, needle):
    hub.add_repo("org/private", "dataset", folder=EXAMPLE, private=True)
    hub.add_repo("org/gated", "dataset", folder=EXAMPLE, gated=True)
    hub.add_repo("org/noyaml", "dataset", files={"README.md": b"# nothing\n"})
    proc = run(hub, "mockllm/model", bench, cwd=tmp_path, **env)
    assert_clean_error(proc, needle)
    assert not (tmp_path / ".eval_results").exists()


def test_private_benchmark_works_with_a_token_and_token_never_printed(hub, tmp_path):
    hub.add_repo("org/private", "dataset", folder=EXAMPLE, private=True)
    proc = run(hub, "hf/org/tiny", "org/private", "--task", "addition", "--limit", "1", "--max-tokens", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the token was used (a private repo) and is in no output, no member of the (zipped) Inspect
    # logs, no result file, nothing under the working folder
    assert list((tmp_path / "logs").glob("*.eval"))
    assert secret_leaks({"HF_TOKEN": TOKEN}, [tmp_path], {"output": proc.stdout + proc.stderr}) == []


def test_offline_uses_the_cache(hub, hub_run, tmp_path):
    proc = run(hub, "hf/org/tiny", f"org/bench@{hub.bench_sha}", "--task", "addition", "--limit", "1",
               "--max-tokens", "2", "--output-dir", str(tmp_path / "offline"), cwd=tmp_path,
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (entry,) = results(tmp_path / "offline" / ".eval_results" / "bench.yaml")
    assert entry["dataset"]["revision"] == hub.bench_sha
    proc = run(hub, "hf/org/tiny", "org/never-cached", cwd=tmp_path, HF_HUB_OFFLINE="1")
    assert_clean_error(proc, "not in the local Hugging Face cache")


def test_parity_with_inspects_own_loader_on_the_tiny_model(hub, tmp_path, tiny_model):
    """The point of the project: same benchmark from the Hub, Inspect's loader vs run-eval."""
    from inspect_ai.log import read_eval_log

    inspect_cli = shutil.which("inspect")
    assert inspect_cli, "the inspect CLI ships with inspect-ai"
    # Inspect's CLI and run-eval at once (independent processes, one core each)
    theirs = start_cli("eval", f"hf/org/bench@{hub.bench_sha}", "--model", f"hf/{tiny_model}",
                       "-M", "do_sample=false", "--seed", "42", "--max-tokens", "8", "--log-dir",
                       str(tmp_path / "theirs"), "--display", "none", cwd=tmp_path, env=hub.env, cmd=[inspect_cli])
    ours = start_cli("hf/org/tiny", f"org/bench@{hub.bench_sha}", "--max-tokens", "8",
                     "--log-dir", str(tmp_path / "ours"), cwd=tmp_path, env=hub.env)
    theirs, ours = finish(theirs), finish(ours)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert ours.returncode == 0, ours.stderr

    def by_task(folder: Path) -> dict:
        out = {}
        for f in folder.glob("*.eval"):
            log = read_eval_log(str(f))
            key = "addition" if "addition" in log.eval.task else "comparison"
            out[key] = {
                json.dumps([s.input, s.target, s.choices], default=str): (
                    s.output.completion, {k: v.value for k, v in s.scores.items()})
                for s in log.samples
            }
        return out

    t, o = by_task(tmp_path / "theirs"), by_task(tmp_path / "ours")
    # ours ran on run-eval's default backend for hf/ models, theirs on Inspect's hf/ provider
    assert {read_eval_log(str(f), header_only=True).eval.model.split("/")[0]
            for f in (tmp_path / "ours").glob("*.eval")} == {"hf-batch"}
    assert set(t) == set(o) == {"addition", "comparison"}
    for task in t:
        assert len(t[task]) == len(o[task]) == 30
        assert t[task] == o[task], task  # same samples, same outputs, same per-sample scores


# --- push ---------------------------------------------------------------------------


def without_source(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "source"}


def test_push_opens_a_pr_and_keeps_other_entries(hub, hub_run, tmp_path):
    existing = [{"dataset": {"id": "other/bench", "task_id": "x"}, "value": 0.1, "notes": "kept as is"}]
    hub.commit("org/tiny", "model", {".eval_results/bench.yaml": yaml.safe_dump(existing).encode()})
    main_before = hub.files_at("org/tiny", "model", "main")
    proc = run(hub, "push", "org/tiny", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "opened pull request" in proc.stdout and TOKEN not in proc.stdout + proc.stderr
    (pr,) = hub.pull_requests("org/tiny")
    pushed = yaml.safe_load(hub.files_at("org/tiny", "model", pr["ref"])[".eval_results/bench.yaml"])
    assert pushed[0] == existing[0]
    assert pushed[1] == without_source(results(hub_run)[0])  # the log is a local file: no source.url
    assert hub.files_at("org/tiny", "model", "main") == main_before
    # what landed verifies, bound to the model repo
    (tmp_path / "pulled" / ".eval_results").mkdir(parents=True)
    (tmp_path / "pulled" / ".eval_results" / "bench.yaml").write_text(yaml.safe_dump(pushed))
    check = run_inproc("verify", str(tmp_path / "pulled"), "--model", "org/tiny", "--json", cwd=tmp_path)
    statuses = [e["status"] for e in json.loads(check.stdout)["entries"]]
    assert statuses == ["unsigned", "self-signed"]
    listed = run(hub, "results", "org/tiny", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["entries"]
    assert {(r["where"], r["task_id"], r["status"]) for r in rows} == {
        ("main", "x", "unsigned"), (f"PR #{pr['num']}", "x", "unsigned"), (f"PR #{pr['num']}", "addition", "self-signed")}


def test_push_no_pr_commits_to_main(hub, hub_run, tmp_path):
    proc = run(hub, "push", "org/tiny", str(hub_run), "--no-pr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert hub.pull_requests("org/tiny") == []
    assert yaml.safe_load(hub.files_at("org/tiny", "model", "main")[".eval_results/bench.yaml"]) == \
        [without_source(e) for e in results(hub_run)]


def test_push_refuses_before_writing(hub, hub_run, tmp_path):
    good = results(hub_run)[0]
    cases = {
        "tampered": ([{**good, "value": 0.99}], [], "invalid token: hash mismatch: value"),
        "unsigned": ([{k: v for k, v in good.items() if k != "verifyToken"}], [], "unsigned"),
        "other": ([good], ["org/other-model"], "the token is for model 'org/tiny', not 'org/other-model'"),
    }
    hub.add_repo("org/other-model", "model", files={"README.md": b"x"})
    for name, (entries, repo, needle) in cases.items():
        f = tmp_path / name / ".eval_results" / "bench.yaml"
        f.parent.mkdir(parents=True)
        f.write_text(yaml.safe_dump(entries, sort_keys=False))
        proc = run(hub, "push", *(repo or ["org/tiny"]), str(f), cwd=tmp_path)
        assert_clean_error(proc, needle, "nothing was sent to the Hub")
    assert writes(hub) == []
    # a subset result needs --allow-subset; an unsigned one --allow-unsigned
    sub = tmp_path / "sub"
    sub.mkdir()
    proc = run(hub, "hf/org/tiny", "org/bench", "--task", "addition", "--limit", "2", "--max-tokens", "2", cwd=sub)
    assert proc.returncode == 0, proc.stderr
    assert_clean_error(run(hub, "push", "org/tiny", cwd=sub), "a subset result", "--allow-subset")
    assert writes(hub) == []
    assert run(hub, "push", "org/tiny", "--allow-subset", cwd=sub).returncode == 0
    assert writes(hub)


def test_push_auth_errors_are_one_line(hub, hub_run, tmp_path):
    proc = run(hub, "push", "org/tiny", cwd=tmp_path, HF_TOKEN="hf_wrong_token_value")
    assert_clean_error(proc, "MODEL_REPO 'org/tiny'")
    assert "hf_wrong_token_value" not in proc.stdout + proc.stderr
    proc = run(hub, "push", "org/nope", str(hub_run), cwd=tmp_path)
    assert_clean_error(proc)
    assert writes(hub) == []


def test_push_publishes_no_local_path(hub, hub_run, tmp_path):
    """Without --log-repo an entry's log is a path on this machine (a dead link for anyone
    else, naming the user): it is pushed without source, in one line on stderr, and still
    verifies. Nothing in the pushed bytes or in the token's claims names a local path."""
    import getpass

    from run_eval.signing.token import check_signature
    from run_eval.signing.trust import TrustStore
    from run_eval.signing.verify import decide

    (entry,) = results(hub_run)
    log = Path(entry["source"]["url"])
    assert log.is_absolute() and log.is_file()
    alice = tmp_path / ".eval_results" / "alice.yaml"  # as run on another machine
    alice.write_text(yaml.safe_dump([{**entry, "source": {"url": "/home/alice/evals/logs/run.eval",
                                                          "name": "Inspect log"}}], sort_keys=False))
    proc = run(hub, "push", "org/tiny", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (pr,) = hub.pull_requests("org/tiny")
    files = hub.files_at("org/tiny", "model", pr["ref"])
    pushed = [files[f".eval_results/{name}.yaml"] for name in ("bench", "alice")]
    entries = [e for blob in pushed for e in yaml.safe_load(blob)]
    # the bytes as pushed, and the token's claims decoded (its payload is base64 in the file)
    text = b"".join(pushed).decode() + "".join(json.dumps(check_signature(e["verifyToken"]).payload)
                                               for e in entries)
    for needle in (str(log), str(log.parent.parent), str(tmp_path), f"pytest-of-{getpass.getuser()}",
                   "/home/alice", "alice/"):
        assert needle not in text, needle
    assert len(entries) == 2
    for e in entries:
        assert "source" not in e and decide(e, TrustStore(), model_id="org/tiny").status == "self-signed"
    (line,) = proc.stderr.strip().splitlines()
    assert "2 entries pushed without source.url" in line and "--log-repo" in line
    assert results(hub_run)[0]["source"]["url"] == str(log)  # the local file keeps its own link


def test_push_with_log_repo_keeps_the_token_valid(hub, hub_run, tmp_path):
    proc = run(hub, "push", "org/tiny", "--log-repo", "org/eval-logs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (pr,) = hub.pull_requests("org/tiny")
    (entry,) = yaml.safe_load(hub.files_at("org/tiny", "model", pr["ref"])[".eval_results/bench.yaml"])
    url = entry["source"]["url"]
    assert url.startswith(f"{hub.url}/datasets/org/eval-logs/resolve/") and url.endswith(".eval")
    logs = hub.files_at("org/eval-logs", "dataset")
    (name,) = [p for p in logs if p.endswith(".eval")]
    assert logs[name] == Path(results(hub_run)[0]["source"]["url"]).read_bytes()
    from run_eval.signing.trust import TrustStore
    from run_eval.signing.verify import decide

    assert decide(entry, TrustStore(), model_id="org/tiny").status == "self-signed"


def test_a_hub_judge_is_pinned_to_its_commit(hub, tmp_path, tiny_judge):
    from conftest import REPO

    from run_eval.signing.token import check_signature

    sha = hub.add_repo("org/tiny-judge", "model", folder=tiny_judge)
    proc = hub_cli(hub, "hf/org/tiny", str(REPO / "tests" / "fixtures" / "judge" / "hle_like"), "--judge",
                   "hf/org/tiny-judge", "--limit", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (entry,) = results(tmp_path / ".eval_results" / "hle_like.yaml")
    (used,) = check_signature(entry["verifyToken"]).claims.run.judge.used
    assert used["model"] == "hf/org/tiny-judge" and used["id"] == "org/tiny-judge" and used["revision"] == sha
    assert used["model_args"]["model_path"] == f"hf-snapshot:org/tiny-judge@{sha}"


def test_push_notes_when_the_hubs_board_lists_percentages(hub, hub_run, tmp_path):
    """The Hub sorts values as written: a fraction pushed to a benchmark whose board holds
    percentages will sort below all of them there; push says so in one line."""
    (entry,) = results(hub_run)
    assert 0.0 < entry["value"] < 1.0  # a fraction, as Inspect computes accuracy
    hub.set_leaderboard("org/bench", [{"modelId": "org/other", "value": 75.8, "filename": "bench.yaml"}])
    proc = run(hub, "push", "org/tiny", "--log-repo", "org/eval-logs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "leaderboard of org/bench lists values in percent" in line and "run-eval leaderboard org/bench" in line
    hub.set_leaderboard("org/bench", [{"modelId": "org/other", "value": 0.758, "filename": "bench.yaml"}])
    again = run(hub, "push", "org/tiny", "--log-repo", "org/eval-logs", cwd=tmp_path)
    assert again.returncode == 0 and "lists values in percent" not in again.stderr, again.stderr
