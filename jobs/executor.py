"""Where this process runs, as a token's ``executor`` claim: this machine, or an HF Job.

Inside a job, ``jobs.hfjobs.submit`` sets ``RUN_EVAL_EXECUTOR=hf-jobs`` and the namespace;
the Jobs service itself sets ``JOB_ID`` and ``ACCELERATOR``.
"""

from __future__ import annotations

import os
from typing import Any


def executor_claims() -> dict[str, Any]:
    """``{kind: local, ...}`` here; ``{kind: hf-jobs, job_id, flavor, namespace}`` in a job."""
    if os.environ.get("RUN_EVAL_EXECUTOR") == "hf-jobs":
        return {
            "kind": "hf-jobs",
            "job_id": os.environ.get("JOB_ID"),
            "flavor": os.environ.get("ACCELERATOR") or os.environ.get("RUN_EVAL_JOB_FLAVOR"),
            "namespace": os.environ.get("RUN_EVAL_JOB_NAMESPACE"),
        }
    return {"kind": "local", "job_id": None, "flavor": None}


def job_folder() -> str:
    """The folder of this job's uploads in the results repo: ``jobs/<job id>``."""
    return f"jobs/{os.environ.get('JOB_ID') or 'local'}"
