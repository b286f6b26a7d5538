"""`run-eval ... --on hf-jobs --shards N` vs `--on hf-jobs` (one job), on the loopback Jobs API.

    python3 bench/shards_jobs.py --model ~/.cache/run-eval-tests/tiny-model --n 400 --runs 3 --shards 2

The Hub and its Jobs API are tests/hubserver.py's FakeHub, started in this process: it holds
the tiny model as ``org/tiny`` and bench/make_mc.py's N four-option questions as ``org/mc``.
A job is executed as tests/test_jobs.py's ``execute_job`` does it, i.e. as the job's
container would: its ``run-eval run ...`` command (after the ``pip install`` the real
container does, which is skipped) runs here as a process with the job's environment and
secrets, its output streamed line by line into the job's logs, and its stage set when it
ends. Everything else is the product's real path: submission (``--package run-eval``, so
no wheel is built: the wheel is built and uploaded once per run, for 1 job or N alike),
following every job's logs, fetching the results (one job) or each shard's Inspect logs
(N jobs) from the results repo, merging and signing here.

Both commands are whole processes, timed from start to exit, alternating (one job, N jobs,
one job, ...) after one untimed warm-up run that fills the shared HF cache (every job and
the client share one HF_HOME, as every run of a real job would not: a real job downloads
the model and benchmark each time, in parallel for N jobs).

What this measures on a 2-core machine: the N jobs are N processes on the same two cores
(not N machines, as on HF Jobs), and not pinned to cores; so it shows the orchestration's
cost (submit, follow, fetch, merge) and whatever the two cores give, not what N rented
machines would give. On HF Jobs each shard also pays a container start and a pip install.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import timed, timed_lines  # noqa: E402
from make_mc import write as write_mc  # noqa: E402

TOKEN = "hf_loopback_bench_token_123456"


def job_command_args(job: dict) -> list[str]:
    """The `run-eval ...` arguments inside the job's `bash -c` line (as tests/test_jobs.py reads them)."""
    return shlex.split(job["request"]["command"][-1].split("&& run-eval ", 1)[1])


def execute_job(hub, job: dict, base_env: dict[str, str], work: Path) -> None:
    """What the job container does: run the command with the job's env and secrets, stream its
    output into the job's logs, report the end (tests/test_jobs.py's execute_job, streaming)."""
    req = job["request"]
    hub.set_job_stage(job["id"], "RUNNING")
    env = {**base_env, **req.get("environment", {}), **req.get("secrets", {}),
           "JOB_ID": job["id"], "ACCELERATOR": req["flavor"],
           "RUN_EVAL_HOME": str(work / f"job-home-{job['id']}")}  # no key on the job's disk
    proc = subprocess.Popen([shutil.which("run-eval"), *job_command_args(job)], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        hub.add_job_logs(job["id"], [line.rstrip("\n")])
    proc.wait()
    hub.set_job_stage(job["id"], "COMPLETED" if proc.returncode == 0 else "ERROR",
                      None if proc.returncode == 0 else f"exit {proc.returncode}")


def last_entry(out: Path) -> str:
    """The newest entry of the run's result file: the metric its token signs (value, stderr)."""
    from run_eval.signing.token import check_signature

    (path,) = list((out / ".eval_results").glob("*.yaml"))
    entry = yaml.safe_load(path.read_text())[-1]
    return f"signed metric {check_signature(entry['verifyToken']).payload['metric']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="model folder (e.g. the tiny model)")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", default="2", help="comma-separated N > 1 for `--shards N` beside one job (default 2)")
    ap.add_argument("--max-tokens", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    counts = [int(x) for x in args.shards.split(",") if x.strip()]
    if any(n < 2 for n in counts):
        ap.error("--shards: each N must be 2 or more (one job is always timed)")

    from hubserver import FakeHub

    work = Path(tempfile.mkdtemp(prefix="shards-jobs-"))
    hub = FakeHub(token=TOKEN)
    hub.start()
    hub.add_repo("org/mc", "dataset", folder=write_mc(work / "mc", args.n))
    hub.add_repo("org/tiny", "model", folder=args.model.resolve())
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
           "TRANSFORMERS_OFFLINE": "0", "HF_HOME": str(work / "hf-home"), "HF_TOKEN": TOKEN,
           "RUN_EVAL_HOME": str(work / "home"), "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    hub.on_job_created = lambda job: execute_job(hub, job, env, work)

    def command(n: int) -> list[str]:
        return ["run-eval", "hf/org/tiny", "org/mc", "--on", "hf-jobs", "--package", "run-eval", "--namespace", "org",
                "--flavor", "cpu-basic", "--max-tokens", str(args.max_tokens), "--max-connections", str(args.batch),
                *(["--shards", str(n)] if n > 1 else []),
                "--output-dir", str(work / f"out-{n}"), "--log-dir", str(work / f"logs-{n}")]

    variants = {"--on hf-jobs (1 job)": 1, **{f"--on hf-jobs --shards {n}": n for n in counts}}
    try:
        took = timed(command(1), work, env)  # warm-up: fills the HF cache
        print(f"warm-up (1 job): {took:.1f} s", flush=True)
        times: dict[str, list[float]] = {k: [] for k in variants}
        for i in range(args.runs):
            for name, n in variants.items():
                before = len(hub.jobs)
                took, t0, lines = timed_lines(command(n), work, env)
                times[name].append(took)
                submitted = [t for t, line in lines if "submitted job" in line]
                note = f"last job submitted after {max(submitted) - t0:.1f} s, " if submitted else ""
                print(f"run {i + 1} {name}: {took:.1f} s  ({note}{len(hub.jobs) - before} jobs; "
                      f"load average {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        hub.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.n} questions on the loopback Jobs API, {args.max_tokens} new tokens, greedy, batch {args.batch}; "
          f"{os.cpu_count()} cores, load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, n in variants.items():
        print(f"  {name:26s} median {med[name]:6.1f} s  ({', '.join(f'{x:.1f}' for x in times[name])})  "
              f"{args.n / med[name]:5.1f} samples/s  [{last_entry(work / f'out-{n}')}]")
    one = med["--on hf-jobs (1 job)"]
    for name, n in variants.items():
        if n > 1:
            print(f"  ratio {name} / one job: {med[name] / one:.2f}")
    print(f"  (work folder: {work})")


if __name__ == "__main__":
    main()
