"""Runs that do not go to plan: stopped (SIGTERM) and resumed, several writers into one
.eval_results/ folder, samples that fail, a Hub that fails during push; and no secret in
anything a run leaves behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from inspect_ai.log import read_eval_log

from conftest import EXAMPLE, REPO, assert_clean_error, run_cli, run_inproc, secret_leaks, wait_for_calls
from hubserver import FakeHub

TEST_MODELS = REPO / "tests" / "testmodels.py"
FAKE_HF_TOKEN = "hf_runEvalFakeSecretToken9f3c1aZZ"
HUB_TOKEN = "hf_loopback_push_token_42"


def run_with_test_models(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    """`run-eval ARGS` in a process that also has the test models of tests/testmodels.py."""
    return subprocess.run([sys.executable, str(TEST_MODELS), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def results(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def claims(entry: dict) -> dict:
    from run_eval.signing.token import check_signature

    return check_signature(entry["verifyToken"]).payload


# ------------------------------------------------------------------ several writers at once

def _write_some(path: str, writer: int, n: int, barrier) -> None:
    from huggingface_hub import EvalResultEntry

    from run_eval.signing.results import write_entries

    barrier.wait()
    for j in range(n):
        write_entries(Path(path), [EvalResultEntry(dataset_id="org/bench", task_id=f"w{writer}-{j}", value=j / n)])


def test_concurrent_writers_lose_no_entry(tmp_path):
    from run_eval.signing.results import read_raw
    from run_eval.signing.verify import find_result_files

    path = tmp_path / ".eval_results" / "bench.yaml"
    writers, each = 8, 5
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(writers)
    procs = [ctx.Process(target=_write_some, args=(str(path), w, each, barrier)) for w in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * writers
    ids = sorted(e["dataset"]["task_id"] for e in read_raw(path))
    assert ids == sorted(f"w{w}-{j}" for w in range(writers) for j in range(each))
    # what is left beside the result: its lock file, which no reader takes for a result
    assert sorted(p.name for p in path.parent.iterdir()) == [".bench.yaml.lock", "bench.yaml"]
    assert find_result_files([tmp_path]) == ([path], [])


def test_two_runs_of_one_benchmark_at_once_keep_both_entries(tmp_path, tiny_model):
    procs = [subprocess.Popen(["run-eval", f"hf/{tiny_model}", str(EXAMPLE), "--task", task, "--limit", "3",
                               "--max-tokens", "4", "--log-dir", f"logs-{task}"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
             for task in ("addition", "comparison")]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    entries = results(tmp_path / ".eval_results" / "arithmetic.yaml")
    assert sorted(e["dataset"]["task_id"] for e in entries) == ["addition", "comparison"]
    ok = run_cli("verify", str(tmp_path), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr


# ------------------------------------------------------------------ SIGTERM, then --resume

@pytest.fixture(scope="module")
def stopped_and_resumed(tiny_model, tmp_path_factory):
    """A run of the tiny model stopped by SIGTERM partway, then finished with --resume, beside
    a fresh run with the same options; every process has HF_TOKEN and the signing key set."""
    from joserfc.jwk import OKPKey

    key = OKPKey.generate_key("Ed25519")
    work = tmp_path_factory.mktemp("resume")
    pem = key.as_pem(private=True).decode()
    env = {"HF_TOKEN": FAKE_HF_TOKEN, "RUN_EVAL_SIGNING_KEY": pem, "RUN_EVAL_HOME": str(work / "home")}
    args = [f"hf/{tiny_model}", str(EXAMPLE), "--task", "addition", "--max-connections", "1",
            "--log-dir", "logs", "--output-dir", "out"]
    (work / "fresh").mkdir()
    (work / "run").mkdir()
    fresh = subprocess.Popen(["run-eval", *args], cwd=work / "fresh", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    calls = work / "calls-stopped.txt"
    # the stopped run generates 8 samples, then every further generation waits
    # (tests/testmodels.py): the signal, sent on the 8th, lands mid-run however busy the machine
    stopped = subprocess.Popen([sys.executable, str(TEST_MODELS), *args], cwd=work / "run", stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                               env={**os.environ, **env, "RUN_EVAL_TEST_HOLD_AFTER": "8",
                                    "RUN_EVAL_TEST_CALLS": str(calls)})
    try:
        wait_for_calls(stopped, calls, 8)
        stopped.send_signal(signal.SIGTERM)
        s_out, s_err = stopped.communicate(timeout=300)
    finally:
        if stopped.poll() is None:  # a held run that the signal did not stop
            stopped.kill()
            stopped.communicate()
    after_stop = sorted(p.relative_to(work / "run").as_posix() for p in (work / "run").rglob("*"))
    cancelled = [read_eval_log(str(p)) for p in sorted((work / "run" / "logs").glob("*.eval"))]
    resumed_calls = work / "calls-resumed.txt"
    resumed = run_with_test_models(*args, "--resume", cwd=work / "run",
                                   env={**env, "RUN_EVAL_TEST_CALLS": str(resumed_calls)})
    f_out, f_err = fresh.communicate(timeout=600)
    assert fresh.returncode == 0, f_out + f_err
    return {
        "work": work, "env": env, "key": key, "pem": pem,
        "stopped": (stopped.returncode, s_out, s_err), "after_stop": after_stop, "cancelled": cancelled,
        "resumed": resumed, "resumed_calls": resumed_calls, "fresh": (fresh.returncode, f_out, f_err),
    }


def test_sigterm_stops_cleanly_and_resume_finishes_the_same_result(stopped_and_resumed):
    r = stopped_and_resumed
    work = r["work"]
    code, out, err = r["stopped"]
    assert code == 143, out + err
    assert "Traceback" not in out + err
    assert err.strip().splitlines()[-1].startswith(
        "run-eval: error: terminated (SIGTERM) before every task finished; no result file was written")
    assert "--resume" in err
    assert not any(p.startswith("out") for p in r["after_stop"]), r["after_stop"]  # no result, no temp file
    (log,) = r["cancelled"]
    assert log.status == "cancelled"
    done = {s.id: s.uuid for s in log.samples if s.error is None}
    assert 0 < len(done) < 30  # Inspect kept the samples finished before the signal

    resumed = r["resumed"]
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"--resume: task 'addition': continuing {log.location} (cancelled, {len(done)} of 30 samples done)" \
        in resumed.stderr
    # only the samples the stopped run had not finished were generated again ...
    assert len(r["resumed_calls"].read_text().splitlines()) == 30 - len(done)
    (entry,) = results(work / "run" / "out" / ".eval_results" / "arithmetic.yaml")
    final = read_eval_log(entry["source"]["url"])
    assert final.status == "success" and len(final.samples) == 30
    # ... and the finished ones were carried over from the stopped run's log
    assert {s.id: s.uuid for s in final.samples if s.id in done} == done
    (fresh,) = results(work / "fresh" / "out" / ".eval_results" / "arithmetic.yaml")
    assert entry["value"] == fresh["value"]
    a, b = claims(entry), claims(fresh)
    assert set(a) == set(b) and a["metric"] == b["metric"] and a["run"] == b["run"]
    assert a["evidence"]["samples_sha256"] == b["evidence"]["samples_sha256"]  # the same per-sample scores
    assert entry["notes"] == fresh["notes"]
    assert sorted(p.name for p in (work / "run" / "out" / ".eval_results").iterdir()) == \
        [".arithmetic.yaml.lock", "arithmetic.yaml"]
    ok = run_cli("verify", str(work / "run" / "out"), "--log", entry["source"]["url"], cwd=work)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "log digests match" in ok.stdout


def test_resume_with_nothing_to_resume_runs_from_the_start(tmp_path):
    import testmodels  # noqa: F401  (registers the flaky/ provider in this process)

    proc = run_inproc("flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "2", "--resume",
                                cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--resume: no log in logs matches task 'addition' of this run; running it from the start" in proc.stderr
    again = run_inproc("flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "2", "--resume",
                                 cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "--resume: task 'addition' already finished; reusing" in again.stderr
    assert len(list((tmp_path / "logs").glob("*.eval"))) == 1  # nothing new was run
    (entry,) = results(tmp_path / ".eval_results" / "arithmetic.yaml")
    assert claims(entry)["metric"]["samples"] == 2


def test_no_secret_in_anything_a_run_leaves(stopped_and_resumed):
    """HF_TOKEN and the signing key (PEM, its base64 body, the JWK's private 'd') appear in no
    output, Inspect log (every member), result file, or file under the log, output and home folders."""
    r = stopped_and_resumed
    d = r["key"].as_dict(private=True)["d"]
    body = "".join(line for line in r["pem"].splitlines() if "-----" not in line)
    secrets = {"HF_TOKEN": FAKE_HF_TOKEN, "private key PEM": r["pem"], "private key PEM body": body,
               "private key d": d}
    texts = {"stopped run output": r["stopped"][1] + r["stopped"][2],
             "resumed run output": r["resumed"].stdout + r["resumed"].stderr,
             "fresh run output": r["fresh"][1] + r["fresh"][2]}
    verify = run_cli("verify", str(r["work"] / "run" / "out"), "--json", cwd=r["work"], env=r["env"])
    texts["verify output"] = verify.stdout + verify.stderr
    logs = list(r["work"].rglob("*.eval"))
    assert len(logs) == 3  # stopped, resumed, fresh
    assert secret_leaks(secrets, [r["work"]], texts) == []
    assert len(body) > 40 and len(d) > 20  # (the needles are real)


# ------------------------------------------------------------------ samples that fail

@pytest.fixture(scope="module")
def flaky_runs(tmp_path_factory):
    """The flaky provider (fails on the 6 addition prompts with a 3): once over the allowed
    count, once within it. Named org/tiny so that the result can be pushed there."""
    work = tmp_path_factory.mktemp("flaky")
    args = ["flaky/model", str(EXAMPLE), "--task", "addition", "-M", "fail_on=3", "--model-id", "org/tiny"]
    import testmodels  # noqa: F401  (registers the flaky/ provider in this process)

    too_many = run_inproc(*args, "--allow-errors", "5", cwd=work)
    allowed = run_inproc(*args, "--allow-errors", "0.25", cwd=work)
    return {"work": work, "too_many": too_many, "allowed": allowed,
            "file": work / ".eval_results" / "arithmetic.yaml"}


def test_more_failed_samples_than_allowed_fail_the_run(flaky_runs, tmp_path):
    proc = flaky_runs["too_many"]
    assert_clean_error(proc, "task 'addition': 6 of 30 samples failed (--allow-errors 5 allows 5), first: ",
                       "no result file was written")
    assert proc.returncode == 1
    bad = run_inproc("flaky/model", str(EXAMPLE), "--allow-errors", "2.5", cwd=tmp_path)
    assert_clean_error(bad, "--allow-errors 2.5: expected a whole number of samples, or a fraction below 1")
    assert bad.returncode == 2


def test_allowed_failed_samples_make_a_subset_result(flaky_runs):
    proc = flaky_runs["allowed"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "24/30 (6 failed)" in proc.stdout
    (entry,) = results(flaky_runs["file"])
    assert entry["value"] == 1.0  # the 24 answered samples; the failed ones are left out
    assert "6 of 30 samples failed (left out of the score)" in entry["notes"]
    metric = claims(entry)["metric"]
    assert (metric["samples"], metric["total_samples"]) == (24, 30)
    assert metric["subset"] == {"limit": None, "errored": 6}
    log = read_eval_log(entry["source"]["url"])
    assert sum(1 for s in log.samples if s.error is not None) == 6
    ok = run_inproc("verify", str(flaky_runs["work"]), "--log", entry["source"]["url"], cwd=flaky_runs["work"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "mean of 24 reduced sample scores" in ok.stdout
    from run_eval.runner.publish.push import PushError, check_files
    from run_eval.signing.trust import TrustStore

    with pytest.raises(PushError) as refused:
        check_files("org/tiny", [flaky_runs["file"]], trust=TrustStore(), allow_subset=False, allow_unsigned=False)
    assert "a subset result ({'errored': 6, 'limit': None}); pass --allow-subset" in str(refused.value)


# ------------------------------------------------------------------ the Hub fails during push

@pytest.fixture()
def model_hub(tmp_path):
    """The loopback Hub with just the model repo org/tiny (no model weights needed to push)."""
    h = FakeHub(token=HUB_TOKEN)
    h.start()
    h.add_repo("org/tiny", "model", files={"README.md": b"# tiny\n"})
    h.env = {"HF_ENDPOINT": h.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": HUB_TOKEN}
    yield h
    h.stop()


@pytest.mark.hub
def test_failed_push_leaves_local_files_and_can_be_rerun(model_hub, flaky_runs, tmp_path):
    hub = model_hub
    local = tmp_path / ".eval_results" / "arithmetic.yaml"
    local.parent.mkdir()
    local.write_bytes(flaky_runs["file"].read_bytes())
    before = local.read_bytes()
    hub.fail("POST", "/api/models/org/tiny/commit/", 500)  # create_commit is not retried (a retry could duplicate a PR)
    proc = run_cli("push", "org/tiny", "--allow-subset", cwd=tmp_path, env=hub.env)
    assert_clean_error(proc, "MODEL_REPO 'org/tiny': the Hub answered 500",
                       "the local result files are unchanged; run the same push again to retry")
    assert proc.returncode == 1
    assert local.read_bytes() == before
    assert sorted(p.name for p in local.parent.iterdir()) == ["arithmetic.yaml"]
    assert hub.pull_requests("org/tiny") == []
    # a 503 on preupload is retried by huggingface_hub itself (with backoff), and the push goes through
    hub.fail("POST", "/api/models/org/tiny/preupload/", 503)
    again = run_cli("push", "org/tiny", "--allow-subset", cwd=tmp_path, env=hub.env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sum(1 for m, p in hub.requests if m == "POST" and "/preupload/" in p) == 3  # 1st push; 503 + retry
    (pr,) = hub.pull_requests("org/tiny")
    pushed = yaml.safe_load(hub.files_at("org/tiny", "model", pr["ref"])[".eval_results/arithmetic.yaml"])
    # as the local file, less source.url: the log is a file on this machine, no link for others
    assert pushed == [{k: v for k, v in e.items() if k != "source"} for e in yaml.safe_load(before)]
    assert local.read_bytes() == before
    assert HUB_TOKEN not in proc.stdout + proc.stderr + again.stdout + again.stderr
