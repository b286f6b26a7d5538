"""reproduce --on hf-jobs --shards N: the re-run as one job per shard on the loopback Hub's
Jobs API, merged here and compared per sample with the original (its own module, so that it
runs beside tests/test_jobs_shards.py's)."""

from __future__ import annotations

import json

import pytest

from test_hub import run
from test_jobs import execute_job, job_command_args

pytestmark = pytest.mark.hub


def test_reproduce_on_hf_jobs_sharded(hub, hub_run, tmp_path):
    hub.on_job_created = lambda job: execute_job(hub, job, tmp_path)
    rep = run(hub, "reproduce", str(hub_run), "--on", "hf-jobs", "--shards", "2", "--package", "run-eval",
              "--namespace", "org", "--samples", "4", "--json", cwd=tmp_path)
    assert rep.returncode == 3, rep.stdout + rep.stderr  # four matching samples: a spot check, inconclusive
    (e,) = json.loads(rep.stdout)["entries"]
    assert (e["verdict"], e["kind"], e["n"], e["delta"], e["changed_samples"]) == ("inconclusive", "paired", 4, 0.0, [])
    jobs = hub.jobs
    assert sorted(job_command_args(j)[job_command_args(j).index("--shard") + 1] for j in jobs) == ["1/2", "2/2"]
    assert all(job_command_args(j).count("--sample-id") == 4 for j in jobs)
