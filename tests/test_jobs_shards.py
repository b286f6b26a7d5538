"""--on hf-jobs --shards N against the loopback Hub's Jobs API: one job per shard, followed
together, their logs fetched, merged and signed here (its own module, so that the test
runs beside tests/test_jobs.py's)."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import assert_clean_error
from test_hub import run
from test_jobs import execute_job, job_command_args

pytestmark = pytest.mark.hub



def test_a_sharded_run_on_hf_jobs_signs_what_one_process_signs(hub, hub_run, tmp_path):
    """--on hf-jobs --shards 2: two jobs with the same pins; shard 2's job fails, shard 1's logs are
    fetched and kept; --resume submits shard 2 again (only it), merges and signs here: the same
    value, stderr and per-sample scores as the local run of the same pins."""
    from run_eval.signing.token import check_signature

    def first_attempt(job):
        if "2/2" in job_command_args(job):
            hub.set_job_stage(job["id"], "ERROR", "preempted")
        else:
            execute_job(hub, job, tmp_path)

    args = ["hf/org/tiny", "org/bench", "--on", "hf-jobs", "--package", "run-eval", "--task", "addition",
            "--max-tokens", "4", "--namespace", "org", "--shards", "2"]
    hub.on_job_created = first_attempt
    failed = run(hub, *args, cwd=tmp_path)
    assert_clean_error(failed, "shard 2/2: job", "ended ERROR: preempted", "--resume")
    assert "shard 1/2: job" in failed.stderr and "COMPLETED; logs fetched" in failed.stderr
    assert not (tmp_path / ".eval_results" / "bench.yaml").exists() or \
        len(yaml.safe_load((tmp_path / ".eval_results" / "bench.yaml").read_text())) == 1  # (hub_run's, untouched)
    first_jobs = hub.jobs
    assert len(first_jobs) == 2
    for job in first_jobs:
        req = job["request"]
        assert set(req["secrets"]) == {"HF_TOKEN"}  # a shard signs nothing: the signing key stays here
        assert job_command_args(job)[1:3] == [f"hf/org/tiny@{hub.model_sha}", f"org/bench@{hub.bench_sha}"]

    hub.on_job_created = lambda job: execute_job(hub, job, tmp_path)
    out = tmp_path / "sharded"
    # --resume --detach: shard 2 submitted again (only it), and the command returns at once
    detached = run(hub, *args, "--resume", "--detach", "--output-dir", str(out), cwd=tmp_path)
    assert detached.returncode == 0, detached.stdout + detached.stderr
    assert "submitted 1 jobs for 2 shards" in detached.stdout and "--resume" in detached.stdout
    jobs = hub.jobs
    assert len(jobs) == 3 and "2/2" in job_command_args(jobs[-1])
    # --resume: shard 1's logs are here already, shard 2's job is followed (not submitted again)
    resumed = run(hub, *args, "--resume", "--output-dir", str(out), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "shard 1/2: already finished" in resumed.stderr
    assert f"shard 2/2: job {jobs[-1]['id']} is " in resumed.stderr and len(hub.jobs) == 3
    assert "shard 2/2: addition: 15/15 samples" in resumed.stderr  # its progress, followed here
    (entry,) = yaml.safe_load((out / ".eval_results" / "bench.yaml").read_text())
    (local,) = yaml.safe_load(hub_run.read_text())
    two, one = check_signature(entry["verifyToken"]).payload, check_signature(local["verifyToken"]).payload
    assert two["metric"] == one["metric"] and two["evidence"]["samples_sha256"] == one["evidence"]["samples_sha256"]
    assert (two["model"], two["dataset"], two["spec"]) == (one["model"], one["dataset"], one["spec"])
    assert two["executor"] == {"kind": "hf-jobs", "job_id": f"{first_jobs[0]['id']},{jobs[-1]['id']}",
                               "flavor": "a10g-small", "namespace": "org"}
    ok = run(hub, "verify", str(out), "--online", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (v,) = json.loads(ok.stdout)["entries"]
    assert "(one per shard) COMPLETED with the same commits and spec" in v["evidence"]
