"""``verify --online``: the HF Job a token names, checked on the Hub.

A token made in a job claims ``executor: {kind: hf-jobs, job_id, namespace}``. Offline,
that is only a claim; online, the job is looked up (``HfApi.inspect_job``): it must
exist in the claimed namespace, have ended COMPLETED, and its command must name the
token's benchmark commit, model commit and spec fingerprint. This is the only verify
check that uses the network, so it lives here and not in ``signing/``.
"""

from __future__ import annotations

from typing import Any

from run_eval.jobs.hfjobs import stage
from run_eval.signing.verify import Verdict


def check_job_online(v: Verdict, claims: dict[str, Any]) -> None:
    """For an hf-jobs entry: the job exists in the claimed namespace, COMPLETED, and its
    command names the same benchmark commit, model commit and spec fingerprint as the token.
    ``claims``: the entry's checked token claims. Sets ``v.evidence``, or ``v`` invalid."""
    from huggingface_hub import HfApi

    ex = claims.get("executor") or {}
    if ex.get("kind") != "hf-jobs":
        v.evidence = "online: not an hf-jobs result"
        return
    job_id, namespace = ex.get("job_id"), ex.get("namespace")
    if not job_id:
        v.status, v.reason = "invalid", "online: the token claims hf-jobs but names no job"
        return
    try:
        job = HfApi().inspect_job(job_id=job_id, namespace=namespace)
    except Exception as err:
        v.status, v.reason = "invalid", f"online: job {job_id} not found in namespace {namespace!r} ({type(err).__name__})"
        return
    if stage(job) != "COMPLETED":
        v.status, v.reason = "invalid", f"online: job {job_id} is {stage(job)}, not COMPLETED"
        return
    command = " ".join([*(job.command or []), *(job.arguments or [])])
    ds, model, spec = claims.get("dataset") or {}, claims.get("model") or {}, claims.get("spec") or {}
    needed = {
        "benchmark commit": f"{ds.get('id')}@{ds.get('revision')}",
        "model commit": f"{model.get('id')}@{model.get('revision')}",
        "spec fingerprint": f"{ds.get('task_id')}={spec.get('sha256')}",
    }
    missing = [name for name, text in needed.items() if text not in command]
    if missing:
        v.status, v.reason = "invalid", f"online: job {job_id}'s command does not name the token's {', '.join(missing)}"
        return
    v.evidence = f"online: job {job_id} COMPLETED with the same commits and spec"
