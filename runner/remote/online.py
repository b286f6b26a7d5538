"""``verify --online``: the HF Job a token names, checked on the Hub.

A token made in a job claims ``executor: {kind: hf-jobs, job_id, namespace}``. Offline,
that is only a claim; online, the job is looked up (``HfApi.inspect_job``): it must
exist in the claimed namespace, have ended COMPLETED, and the `run-eval run` command it
ran must name, argument for argument, the token's model commit, benchmark commit and spec
fingerprint. This is the only verify check that uses the network, so it lives here and
not in ``signing/``.
"""

from __future__ import annotations

import shlex

from run_eval.jobs.hfjobs import stage
from run_eval.signing.claims import Claims
from run_eval.signing.verify import Check


def job_run_args(command: list[str]) -> list[str] | None:
    """The arguments after ``run-eval`` in a job's command (``bash -c "... && run-eval run ..."``,
    as jobs/hfjobs.py writes it), or None when it runs no run-eval."""
    for part in reversed(command):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        at = [i for i, w in enumerate(words) if w == "run-eval" and i + 1 < len(words) and words[i + 1] == "run"]
        if at:  # (not `pip install run-eval`: the command itself)
            return words[at[-1] + 1:]
    return None


def check_job_online(c: Claims) -> Check:
    """For an hf-jobs entry: the job exists in the claimed namespace, COMPLETED, and its
    command names exactly the token's model commit, benchmark commit and spec fingerprint.
    A sharded run's token names each shard's job, comma-separated: each is checked."""
    from huggingface_hub import HfApi

    if c.executor is None or c.executor.kind != "hf-jobs":
        return Check(None, "online: not an hf-jobs result")
    ids, namespace = [j for j in (c.executor.job_id or "").split(",") if j], c.executor.namespace
    if not ids:
        return Check(False, "online: the token claims hf-jobs but names no job")
    for job_id in ids:
        try:
            job = HfApi().inspect_job(job_id=job_id, namespace=namespace)
        except Exception as err:
            return Check(False, f"online: job {job_id} not found in namespace {namespace!r} ({type(err).__name__})")
        if stage(job) != "COMPLETED":
            return Check(False, f"online: job {job_id} is {stage(job)}, not COMPLETED")
        check = command_matches(c, job_id, [*(job.command or []), *(job.arguments or [])])
        if not check.ok:
            return check
    if len(ids) == 1:
        return check
    return Check(True, f"online: jobs {', '.join(ids)} (one per shard) COMPLETED with the same commits and spec")


def command_matches(c: Claims, job_id: str, command: list[str]) -> Check:
    """Whether a job's command ran exactly the token's model commit, benchmark commit and spec
    fingerprint (argument for argument: `org/tiny@<sha>` is not `g/tiny@<sha>`)."""
    args = job_run_args(command)
    if not args or args[0] != "run" or len(args) < 3:
        return Check(False, f"online: job {job_id} did not run `run-eval run MODEL BENCHMARK`")
    model_arg, bench_arg = args[1], args[2]
    specs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--expect-spec"]
    want_model = f"{c.model.id}@{c.model.revision}"
    want_bench = f"{c.dataset.id}@{c.dataset.revision}"
    want_spec = f"{c.dataset.task_id}={c.spec.sha256 if c.spec else None}"
    problems = []
    if model_arg.partition("/")[2] != want_model:
        problems.append(f"model {model_arg!r}, the token's is {want_model!r}")
    if bench_arg != want_bench:
        problems.append(f"benchmark {bench_arg!r}, the token's is {want_bench!r}")
    if want_spec not in specs:
        problems.append(f"spec fingerprints {specs!r}, the token's is {want_spec!r}")
    if problems:
        return Check(False, f"online: job {job_id} ran " + "; ".join(problems))
    return Check(True, f"online: job {job_id} COMPLETED with the same commits and spec")
