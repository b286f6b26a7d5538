"""sweep: the matrix of runs here or on HF Jobs (the loopback Hub's), retried, skipped when
done, its judges resolved once (its own module, so that it runs beside tests/test_jobs.py's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import EXAMPLE, run_cli
from test_hub import run
from test_jobs import execute_job

pytestmark = pytest.mark.hub


def test_local_sweep_schedules_retries_and_skips(tmp_path, tiny_model):
    other = tmp_path / "arith2"
    shutil.copytree(EXAMPLE, other)
    args = ["sweep", "--models", f"hf/{tiny_model},hf/./missing-model", "--benchmarks", f"{EXAMPLE},{other}",
            "--task", "addition", "--limit", "2", "--max-tokens", "2", "--max-parallel", "2", "--retries", "1",
            "--output-dir", str(tmp_path / "sw")]
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 1  # the missing model's cells failed...
    assert first.stderr.count("failed after 2 attempt(s)") == 2  # ...each retried once
    out = tmp_path / "sw" / tiny_model.name.lstrip(".")
    assert (out / ".eval_results" / "arithmetic.yaml").is_file() and (out / ".eval_results" / "arith2.yaml").is_file()
    assert "scores" in first.stdout
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / ".eval_results").glob("*.yaml")}
    logs_before = sorted((out / "logs").glob("*.eval"))
    again = run_cli(*[a if a != "1" or args[i - 1] != "--retries" else "0" for i, a in enumerate(args)], cwd=tmp_path)
    assert again.stdout.count("skipped") == 2  # the done cells are not run again...
    assert again.stderr.count("failed after 1 attempt(s)") == 2  # ...the failed ones are (no retry this time)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / ".eval_results").glob("*.yaml")}
    assert after == before  # the skipped cells' results were not rewritten
    assert sorted((out / "logs").glob("*.eval")) == logs_before  # nor re-evaluated


LOCKS = """
import json, sys
from pathlib import Path
from run_eval.runner.remote.sweep import Cell, SweepOptions, cell_done, expected_lock
from run_eval.runner.run.options import RunOptions
from run_eval.signing.trust import TrustStore

out, judge, *benchmarks = sys.argv[1:]
opts = SweepOptions(options=RunOptions(judges=(judge,)), output_dir=Path(out), trust=TrustStore())
cells = [Cell("hf/org/tiny", b) for b in benchmarks]
for cell in cells:  # what `sweep` does first: is the cell done?
    assert not cell_done(cell, opts)
print(json.dumps([expected_lock(cell, opts).judges for cell in cells]))
"""


def test_a_sweep_resolves_a_hub_judge_once(hub, tmp_path):
    """Every cell's lock names the judge each graded task would use: a Hub judge's branch is
    asked for its commit once in the sweep, not once per graded task of every cell."""
    import sys

    from conftest import REPO

    judge_sha = hub.add_repo("org/tiny-judge", "model", files={"README.md": b"a judge"})
    one = REPO / "tests" / "fixtures" / "judge" / "hle_like"
    two = tmp_path / "hle_two"  # the same benchmark with two graded tasks
    shutil.copytree(one, two)
    spec = yaml.safe_load((two / "eval.yaml").read_text())
    spec["tasks"].append({**spec["tasks"][0], "id": "hle_b"})
    (two / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    # the Hugging Face clients read HF_ENDPOINT when first imported: a process of its own
    proc = subprocess.run([sys.executable, "-c", LOCKS, str(tmp_path / "sw"), "hf/org/tiny-judge", str(one),
                           str(two)], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, **hub.env},
                          stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    locks = json.loads(proc.stdout)
    (judge,) = locks[0]["hle"]
    assert judge.startswith(f"hf/org/tiny-judge@{judge_sha}")  # pinned to the judge's commit
    assert locks == [{"hle": [judge]}, {"hle": [judge], "hle_b": [judge]}]
    # 3 graded tasks in 2 cells, each lock computed twice (the done check, then here): the
    # judge's branch resolved once, and nothing about the judge asked twice
    asked = [path for method, path in hub.requests if path.startswith("/api/models/org/tiny-judge/")]
    assert asked.count("/api/models/org/tiny-judge/revision/main") == 1, asked
    assert len(asked) == len(set(asked)), asked


def test_hf_jobs_sweep_retries_a_failed_job(hub, tmp_path):
    seen = []

    def hook(job):
        seen.append(job["id"])
        if len(seen) == 1:  # the first job dies; the sweep must submit the cell again
            hub.set_job_stage(job["id"], "ERROR", "node lost")
        else:
            execute_job(hub, job, tmp_path)

    hub.on_job_created = hook
    proc = run(hub, "sweep", "--models", "hf/org/tiny", "--benchmarks", "org/bench", "--on", "hf-jobs",
               "--package", "run-eval", "--task", "addition", "--limit", "2", "--max-tokens", "2",
               "--retries", "1", "--output-dir", str(tmp_path / "sw"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(hub.jobs) == 2 and [j["status"]["stage"] for j in hub.jobs] == ["ERROR", "COMPLETED"]
    (entry,) = yaml.safe_load((tmp_path / "sw" / "org--tiny" / ".eval_results" / "bench.yaml").read_text())
    from run_eval.signing.token import check_signature

    assert check_signature(entry["verifyToken"]).payload["executor"]["job_id"] == hub.jobs[1]["id"]
