"""HF Jobs, played by the loopback Hub: the exact job request, following, fetching, managing,
verify --online, and sweeps. A "job" is executed by running its run-eval command locally
with the job's environment and secrets, as the job's container would."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, assert_clean_error, run_cli
from test_hub import TOKEN, run

pytestmark = pytest.mark.hub


def job_command_args(job: dict) -> list[str]:
    """The `run-eval ...` arguments inside the job's `bash -c` line."""
    script = job["request"]["command"][-1]
    return shlex.split(script.split("&& run-eval ", 1)[1])


def execute_job(hub, job: dict, tmp_path: Path) -> None:
    """What the job container does: run the command with the job's env and secrets, report back."""
    req = job["request"]
    hub.set_job_stage(job["id"], "RUNNING")
    env = {**os.environ, **hub.env, **req.get("environment", {}), **req.get("secrets", {}),
           "JOB_ID": job["id"], "ACCELERATOR": req["flavor"],
           "RUN_EVAL_HOME": str(tmp_path / f"job-home-{job['id']}")}  # no key on the job's disk
    exe = shutil.which("run-eval")
    proc = subprocess.run([exe, *job_command_args(job)], env=env, capture_output=True, text=True,
                          cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=600)
    hub.add_job_logs(job["id"], proc.stdout.splitlines() + proc.stderr.splitlines()[-10:])
    time.sleep(1.5)  # let a follower read the lines before the job ends (a real job's logs precede its end)
    hub.set_job_stage(job["id"], "COMPLETED" if proc.returncode == 0 else "ERROR",
                      None if proc.returncode == 0 else f"exit {proc.returncode}")


def test_submit_sends_pinned_commits_and_secrets_only_as_secrets(hub, tmp_path):
    proc = run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--flavor", "t4-small", "--timeout", "30m",
               "--namespace", "org", "--package", "run-eval==0.1.0", "--detach", "--task", "addition",
               "--limit", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (job,) = hub.jobs
    req = job["request"]
    assert job["namespace"] == "org"
    assert f"submitted job {job['id']}" in proc.stdout and f"/jobs/org/{job['id']}" in proc.stdout
    assert req["flavor"] == "t4-small" and req["timeoutSeconds"] == 1800
    assert req["command"][:2] == ["bash", "-c"] and req["dockerImage"]
    args = job_command_args(job)
    from run_eval.tasks.source import resolve_benchmark  # noqa: F401
    from run_eval.tasks.spec import load_spec

    fp = load_spec(Path(EXAMPLE) / "eval.yaml").tasks[0].fingerprint()
    assert args[:3] == ["run", f"hf/org/tiny@{hub.model_sha}", f"org/bench@{hub.bench_sha}"]
    assert ["--task", "addition"] == args[3:5] and "--limit" in args and "--push-pr" not in args
    assert args[args.index("--upload-results") + 1] == "org/run-eval-results"
    assert f"addition={fp}" in args
    assert req["command"][-1].startswith("python -m pip install -q 'run-eval==0.1.0[local]' && run-eval run ")
    assert set(req["secrets"]) == {"HF_TOKEN", "RUN_EVAL_SIGNING_KEY"}
    assert req["secrets"]["HF_TOKEN"] == TOKEN and "PRIVATE KEY" in req["secrets"]["RUN_EVAL_SIGNING_KEY"]
    clear = json.dumps({k: v for k, v in req.items() if k != "secrets"})
    assert TOKEN not in clear and "PRIVATE KEY" not in clear
    from joserfc.jwk import OKPKey

    pem = req["secrets"]["RUN_EVAL_SIGNING_KEY"]
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    d = OKPKey.import_key(pem.encode()).as_dict(private=True)["d"]
    assert body not in clear and d not in clear  # nor the key's material in another encoding
    assert req["environment"]["RUN_EVAL_EXECUTOR"] == "hf-jobs"
    assert req["labels"]["created-by"] == "run-eval"
    assert TOKEN not in proc.stdout + proc.stderr


def test_local_inputs_are_refused_before_anything_is_sent(hub, tmp_path, tiny_model):
    for args, needle in [
        (["hf/org/tiny", str(EXAMPLE)], "a local path cannot be evaluated on HF Jobs"),
        ([f"hf/{tiny_model}", "org/bench"], "only Hub models"),
        (["hf/org/tiny", "org/bench", "-M", "api_key=x"], "secrets are not accepted"),
    ]:
        proc = run(hub, *args, "--on", "hf-jobs", "--package", "x", cwd=tmp_path)
        assert_clean_error(proc, needle)
        assert proc.returncode == 2 and "Error:" not in proc.stderr  # bad input: one line, exit 2
    assert hub.jobs == []
    assert not [r for r in hub.requests if r[1].startswith("/api/jobs")]


def test_default_ships_a_wheel_of_this_checkout(hub, tmp_path):
    proc = run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--flavor", "cpu-basic", "--detach",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (job,) = hub.jobs
    req = job["request"]
    (vol,) = req["volumes"]
    assert vol["type"] == "dataset" and vol["source"] == "fake-user/run-eval-code" and vol["mountPath"] == "/run-eval-code"
    files = hub.files_at("fake-user/run-eval-code", "dataset", vol["revision"])
    (wheel,) = [p for p in files if p.endswith(".whl")]
    assert f"/run-eval-code/{wheel}" in req["command"][-1]
    assert req["dockerImage"] == "python:3.11"


def test_follow_then_fetch_the_signed_result_and_verify_online(hub, tmp_path):
    hub.on_job_created = lambda job: execute_job(hub, job, tmp_path)
    proc = run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--package", "run-eval", "--task", "addition",
               "--max-tokens", "4", "--namespace", "org", "--push-pr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (job,) = hub.jobs
    assert job["status"]["stage"] == "COMPLETED"
    (pr,) = hub.pull_requests("org/tiny")  # --push-pr: the job opened it
    assert ".eval_results/bench.yaml" in hub.files_at("org/tiny", "model", pr["ref"])
    assert "uploaded result and logs" in proc.stdout  # the job's own output, followed live here
    (entry,) = yaml.safe_load((tmp_path / ".eval_results" / "bench.yaml").read_text())
    from run_eval.signing.token import check_signature

    claims = check_signature(entry["verifyToken"]).payload
    assert claims["executor"] == {"kind": "hf-jobs", "job_id": job["id"], "flavor": "a10g-small", "namespace": "org"}
    assert claims["model"]["revision"] == hub.model_sha and entry["dataset"]["revision"] == hub.bench_sha
    assert entry["source"]["url"].startswith(f"{hub.url}/datasets/org/run-eval-results/resolve/")
    # signed with the submitter's key, which only ever travelled as a secret
    show = run_cli("keys", "show", cwd=tmp_path)
    assert claims and check_signature(entry["verifyToken"]).key.kid in show.stdout
    ok = run(hub, "verify", str(tmp_path), "--online", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (v,) = json.loads(ok.stdout)["entries"]
    assert v["evidence"].startswith(f"online: job {job['id']} COMPLETED")
    hub.set_job_stage(job["id"], "ERROR", "changed")  # (a fake can rewrite history; the check notices)
    bad = run(hub, "verify", str(tmp_path), "--online", "--json", cwd=tmp_path)
    assert bad.returncode == 1 and "is ERROR, not COMPLETED" in bad.stdout


def test_failed_job_fetches_nothing(hub, tmp_path):

    def fail(job):
        hub.set_job_stage(job["id"], "RUNNING")
        hub.add_job_logs(job["id"], ["boom"])
        hub.set_job_stage(job["id"], "ERROR", "out of memory")

    hub.on_job_created = fail
    proc = run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--package", "run-eval", cwd=tmp_path)
    assert_clean_error(proc, "ended ERROR: out of memory", "no result was fetched")
    assert not (tmp_path / ".eval_results").exists()


def test_jobs_commands(hub, tmp_path):
    for _ in range(2):
        assert run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--package", "run-eval", "--detach",
                   cwd=tmp_path).returncode == 0
    a, b = hub.jobs
    hub.set_job_stage(a["id"], "RUNNING")
    hub.add_job_logs(a["id"], ["step one", "step two"])
    status = run(hub, "jobs", "status", a["id"], cwd=tmp_path)
    assert status.returncode == 0 and "RUNNING" in status.stdout
    hub.set_job_stage(a["id"], "COMPLETED")
    logs = run(hub, "jobs", "logs", a["id"], cwd=tmp_path)
    assert logs.stdout.splitlines()[-2:] == ["step one", "step two"]
    listed = run(hub, "jobs", "list", cwd=tmp_path)
    assert a["id"] in listed.stdout and b["id"] in listed.stdout
    assert run(hub, "jobs", "cancel", b["id"], cwd=tmp_path).returncode == 0
    assert hub.job(b["id"])["status"]["stage"] == "CANCELED"
    waited = run(hub, "jobs", "wait", b["id"], cwd=tmp_path)
    assert waited.returncode == 1 and "CANCELED" in waited.stdout
    assert_clean_error(run(hub, "jobs", "status", "0" * 24, cwd=tmp_path))


def test_fetching_a_jobs_result_uses_your_trust_stores(hub, tmp_path):
    """A finished job's result is decided with your trust stores before it is merged: a
    result signed by a key you revoked is not taken in (nothing is written), a good one is."""
    corpus = Path(__file__).parent / "fixtures" / "tokens"
    assert run(hub, "hf/org/tiny", "org/bench", "--on", "hf-jobs", "--package", "run-eval", "--detach",
               cwd=tmp_path).returncode == 0
    (job,) = hub.jobs
    hub.set_job_stage(job["id"], "COMPLETED")
    folder = f"jobs/{job['id']}/.eval_results"
    hub.add_repo("org/results", "dataset", files={f"{folder}/bench.yaml": (corpus / "cases" / "revoked_key.yaml")
                                                  .read_bytes()})
    home = tmp_path / "home"
    home.mkdir()
    (home / "trust.yaml").write_bytes((corpus / "trust.yaml").read_bytes())
    refused = run(hub, "jobs", "wait", job["id"], "--results-repo", "org/results", cwd=tmp_path,
                  RUN_EVAL_HOME=str(home))
    assert_clean_error(refused, "is revoked", "was not fetched")
    assert not (tmp_path / ".eval_results").exists()
    hub.commit("org/results", "dataset", {f"{folder}/bench.yaml": (corpus / "cases" / "good_evaluator.yaml")
                                          .read_bytes()})
    fetched = run(hub, "jobs", "wait", job["id"], "--results-repo", "org/results", cwd=tmp_path,
                  RUN_EVAL_HOME=str(home))
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert (tmp_path / ".eval_results" / "bench.yaml").read_bytes() != b""


def test_reproduce_on_hf_jobs(hub, hub_run, tmp_path):
    from test_hub import results

    # the published score (with its log, so that the comparison is paired), reproduced from the
    # model repo (TARGET org/model) on HF Jobs
    assert run(hub, "push", "org/tiny", "--no-pr", "--log-repo", "org/eval-logs", cwd=tmp_path).returncode == 0
    hub.on_job_created = lambda job: execute_job(hub, job, tmp_path)
    proc = run(hub, "reproduce", "org/tiny", "--task", "addition", "--on", "hf-jobs",
               "--package", "run-eval", "--namespace", "org", "--samples", "4", "--json", cwd=tmp_path)
    # four matching samples are a spot check, not a proof (runner/compare/stats.py): inconclusive, exit 3
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (e,) = json.loads(proc.stdout)["entries"]
    assert (e["verdict"], e["kind"], e["n"]) == ("inconclusive", "paired", 4)
    (job,) = hub.jobs
    args = job_command_args(job)
    assert args.count("--sample-id") == 4 and f"org/bench@{hub.bench_sha}" in args
    assert results(tmp_path / ".eval_results" / "bench.yaml")  # the original file is untouched
