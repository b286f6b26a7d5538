"""``run-eval MODEL BENCHMARK --on hf-jobs --shards N``: N jobs, one result, signed here.

Here: the inputs are pinned to commits (as for one job), and the run is prepared as a local
sharded run is (runner/run/sharded.py): the benchmark at that commit, lint, the run folder
in --log-dir. Each shard that has no finished log there becomes one job, all submitted with
the same pins and one uploaded wheel: ``run-eval run MODEL@sha BENCH@sha ... --shard K/N``,
which runs its share and uploads its Inspect logs to ``RESULTS_REPO/jobs/<job id>/logs/``.
The jobs only ever get HF_TOKEN: a shard signs nothing, so the signing key stays here. The
jobs are followed together (one line of progress per shard); each finished job's logs are
fetched into the run folder, and the logs are merged, judged and signed here, with
``executor: {kind: hf-jobs, job_id: "<id of shard 1>,<id of shard 2>,...", flavor, namespace}``.

The jobs of a run are written to ``jobs.json`` in its run folder, so that ``--resume`` (or a
``--detach``\\ed submission resumed later) follows the jobs still running, fetches those that
finished, and submits again only the shards whose job failed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.errors import LinesError
from run_eval.runner.remote.submit import JobOptions, RemoteError, pin_inputs, pin_judges
from run_eval.runner.run.options import RunOptions
from run_eval.runner.run.request import RunOutcome, RunRequest
from run_eval.runner.run.shards import Layout

JOBS_FILE = "jobs.json"


class Detached(LinesError):
    """--detach: the jobs were submitted; the run is finished later with --resume."""


def run_sharded_on_jobs(*, model: str, benchmark: str, options: RunOptions, job: JobOptions, log_dir: Path,
                        output_dir: Path, resume: bool, detach: bool, display: str | None,
                        notify: Callable[[str], None]) -> RunOutcome:
    from run_eval.runner.run.prepare import prepare
    from run_eval.runner.run.sharded import run_sharded

    pinned = pin_inputs(model, benchmark, options.task_ids)
    options = replace(options, judges=pin_judges(options.judges))
    req = RunRequest(pinned.model, pinned.benchmark, options, log_dir=log_dir, output_dir=output_dir,
                     display=display, expect_spec=dict(pinned.fingerprints), resume=resume)
    p = prepare(req, notify)
    notify(f"pinned: {pinned.model} on {pinned.benchmark}")
    return run_sharded(req, p, notify, launch=JobsLaunch(job, detach), exact=False)


class JobsLaunch:
    """The launcher of runner/run/sharded.py for HF Jobs (see the module docstring)."""

    def __init__(self, job: JobOptions, detach: bool) -> None:
        self.job, self.detach = job, detach

    def __call__(self, req: RunRequest, layout: Layout, pending: list[int], n: int,
                 notify: Callable[[str], None], ready: Callable[[int], None] | None = None) -> list[str]:
        from huggingface_hub import HfApi

        from run_eval.jobs.hfjobs import JobsError, stage, whoami_name
        from run_eval.tasks.hub import hub_error

        api = HfApi()
        try:
            ns = self.job.namespace or whoami_name(api)
        except JobsError as ex:
            raise RemoteError(str(ex)) from None
        repo = self.job.results_repo or f"{ns}/run-eval-results"
        known = read_jobs(layout)
        jobs: dict[int, str] = {}
        code = None
        for k in pending:
            previous = known.get(k)
            if previous is not None:
                try:
                    state = stage(api.inspect_job(job_id=previous, namespace=ns))
                except Exception:
                    state = "UNKNOWN"
                if state in ("SCHEDULING", "RUNNING", "COMPLETED"):
                    notify(f"shard {k + 1}/{n}: job {previous} is {state}; following it")
                    jobs[k] = previous
                    continue
            try:
                if code is None and not self.job.package:
                    from run_eval.jobs.hfjobs import upload_code

                    code = upload_code(api, ns)
                jobs[k] = self.submit(api, req, ns, repo, k, n, code)
            except JobsError as ex:
                raise RemoteError(str(ex)) from None
            except RemoteError:
                raise
            except Exception as ex:
                raise RemoteError(hub_error(ex, "HF Jobs", ns if self.job.namespace else "", "model")
                                  or f"HF Jobs: {ex}") from None
            notify(f"shard {k + 1}/{n}: submitted job {jobs[k]}")
            write_jobs(layout, {**known, **jobs})
        all_jobs = {**known, **jobs}
        req.executor = {"kind": "hf-jobs", "job_id": ",".join(all_jobs[k] for k in sorted(all_jobs)),
                        "flavor": self.job.flavor, "namespace": ns}
        if self.detach:
            raise Detached([f"submitted {len(jobs)} jobs for {n} shards; results go to {repo}/jobs/<job id>/; finish "
                            f"with the same command and --resume (it follows them, fetches and merges)"])
        return follow(api, ns, repo, jobs, n, layout, notify, ready)

    def submit(self, api: Any, req: RunRequest, ns: str, repo: str, k: int, n: int, code: Any) -> str:
        from run_eval.jobs.hfjobs import JobRequest, submit
        from run_eval.runner.remote.submit import job_token

        args = ["run", req.model, req.benchmark, *replace(req.options, shards=1).argv(), "--shard", f"{k + 1}/{n}",
                "--upload-results", repo, "--output-dir", "/tmp/run-eval-out", "--log-dir", "/tmp/run-eval-logs"]
        for task_id, fp in sorted(req.expect_spec.items()):
            args += ["--expect-spec", f"{task_id}={fp}"]
        bench = req.benchmark.partition("@")[0].rpartition("/")[2]
        info = submit(api, JobRequest(run_args=args, flavor=self.job.flavor, timeout=self.job.timeout, namespace=ns,
                                      package=self.job.package, image=self.job.image,
                                      secrets={"HF_TOKEN": job_token()}, env={"RUN_EVAL_JOB_NAMESPACE": ns},
                                      labels={"benchmark": bench[:60], "shard": f"{k + 1}-of-{n}"}), code=code)
        return str(info.id)


def follow(api: Any, ns: str, repo: str, jobs: dict[int, str], n: int, layout: Layout,
           notify: Callable[[str], None], ready: Callable[[int], None] | None = None) -> list[str]:
    """Follow the jobs together: one line per shard as its progress changes; fetch each
    finished job's logs into the run folder. Lines for the jobs that did not complete."""
    from run_eval.jobs.hfjobs import stage, wait
    from run_eval.runner.remote.results import fetch_shard_logs
    from run_eval.runner.run.sharded import PROGRESS, Board, worth_saying

    failed: list[str] = []
    lock = threading.Lock()
    board = Board(n, notify, ready=ready)

    def one(k: int, job_id: str) -> None:
        last = None
        try:
            for line in api.fetch_job_logs(job_id=job_id, namespace=ns, follow=True):
                line = line.rstrip("\n")
                if line.startswith(f"{PROGRESS} {k + 1}/{n}:") and worth_saying(line, last):
                    last = line
                    board.progress(k, line)
            final = wait(api, job_id, ns)
            if stage(final) == "COMPLETED":
                fetch_shard_logs(repo, job_id, layout.root)
                board.say(k, f"job {job_id} COMPLETED; logs fetched")
                board.ready(k)
                return
            message = getattr(getattr(final, "status", None), "message", None)
            line = f"shard {k + 1}/{n}: job {job_id} ended {stage(final)}{': ' + message if message else ''} " \
                   f"(logs: run-eval jobs logs {job_id})"
        except Exception as ex:  # one job's trouble is that shard's failure, not the others'
            line = f"shard {k + 1}/{n}: job {job_id}: {getattr(ex, 'lines', [str(ex)])[0]}"
        board.say(k, line.split(": ", 1)[1])
        with lock:
            failed.append(line)

    threads = [threading.Thread(target=one, args=(k, j), daemon=True) for k, j in sorted(jobs.items())]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # (a timed wait, so that Ctrl-C is taken at once)
    except KeyboardInterrupt:
        board.close()
        notify("stopped following; the jobs go on: finish with the same command and --resume")
        raise
    board.close()
    return sorted(failed)


def read_jobs(layout: Layout) -> dict[int, str]:
    """shard (from 0) -> its job id, from the run folder's jobs.json (empty if none)."""
    try:
        raw = json.loads((layout.root / JOBS_FILE).read_text(encoding="utf-8"))
        return {int(k) - 1: str(v) for k, v in raw.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def write_jobs(layout: Layout, jobs: dict[int, str]) -> None:
    tmp = layout.root / f".{JOBS_FILE}.tmp"
    tmp.write_text(json.dumps({str(k + 1): v for k, v in sorted(jobs.items())}, indent=1), encoding="utf-8")
    tmp.replace(layout.root / JOBS_FILE)
