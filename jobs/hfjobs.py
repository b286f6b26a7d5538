"""Submitting and watching a `run-eval` command line on Hugging Face Jobs.

This package knows nothing of runs: it is handed a command line (the arguments of a
`run-eval` invocation), ships the code that will run it, and submits, follows and manages
the job through huggingface_hub's Jobs API.

How the code reaches the job: by default a wheel of the current checkout is built here
(`pip wheel --no-deps`), uploaded to the private dataset repo `<namespace>/run-eval-code`
under `wheels/<sha256 of the wheel>/`, and mounted read-only into the job at
`/run-eval-code`, pinned to that upload's commit; the job pip-installs it. So the job runs
exactly the submitting machine's code. `--package SPEC` replaces this with any pip
requirement (a git URL, a released version) and uploads nothing.

Secrets travel only as job secrets: HF_TOKEN and the signing key (RUN_EVAL_SIGNING_KEY,
the PEM). The command, environment and labels hold no secret.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

DEFAULT_IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
CPU_IMAGE = "python:3.11"
CODE_MOUNT = "/run-eval-code"
LABEL = {"created-by": "run-eval"}
FINAL_STAGES = ("COMPLETED", "CANCELED", "ERROR", "DELETED")


class JobsError(Exception):
    """A problem submitting or managing a job; the message is one line for the user."""


@dataclass
class JobRequest:
    """Everything a job submission sends (secrets apart from the rest)."""

    run_args: list[str]  # arguments of `run-eval` inside the job
    flavor: str = "a10g-small"
    timeout: str | None = "2h"
    namespace: str | None = None
    package: str | None = None  # pip requirement; None = upload a wheel of this checkout
    image: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def resolved_image(self) -> str:
        if self.image:
            return self.image
        return CPU_IMAGE if self.flavor.startswith("cpu") else DEFAULT_IMAGE


def project_root() -> Path | None:
    """The checkout this run-eval is installed from (editable installs), if any."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() and (here / "runner").is_dir() else None


def build_wheel(root: Path, out: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(root)],
        capture_output=True, text=True,
    )
    wheels = sorted(out.glob("run_eval-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel produced"]
        raise JobsError(f"cannot build a wheel of {root}: {last[0]} (or pass --package SPEC)")
    return wheels[0]


def upload_code(api: Any, namespace: str) -> tuple[Any, str]:
    """Build and upload a wheel of this checkout; return (the Volume to mount, pip spec in the job)."""
    from huggingface_hub import CommitOperationAdd, Volume

    root = project_root()
    if root is None:
        raise JobsError("this run-eval is not installed from a checkout, so no wheel can be built; "
                        "pass --package SPEC (a pip requirement the job can install)")
    repo = f"{namespace}/run-eval-code"
    with tempfile.TemporaryDirectory(prefix="run-eval-wheel-") as tmp:
        wheel = build_wheel(root, Path(tmp))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        dest = f"wheels/{digest[:16]}/{wheel.name}"
        api.create_repo(repo, repo_type="dataset", private=True, exist_ok=True)
        info = api.create_commit(repo, repo_type="dataset", commit_message=f"run-eval code {wheel.name}",
                                 operations=[CommitOperationAdd(path_in_repo=dest, path_or_fileobj=str(wheel))])
    volume = Volume(type="dataset", source=repo, mount_path=CODE_MOUNT, revision=info.oid)
    return volume, f"{CODE_MOUNT}/{dest}"


def job_script(pip_spec: str, run_args: list[str]) -> str:
    """The shell line the job runs: install run-eval, then run it."""
    spec = pip_spec if "[" in pip_spec or pip_spec.startswith(("git+", "http")) else f"{pip_spec}[local]"
    return (f"python -m pip install -q {shlex.quote(spec)} && "
            f"run-eval {' '.join(shlex.quote(a) for a in run_args)}")


def submit(api: Any, req: JobRequest, code: tuple[Any, str] | None = None) -> Any:
    """Submit one job. ``code``: a wheel already uploaded by ``upload_code`` (several jobs of
    one run share it); default: upload one now (unless ``req.package``)."""
    namespace = req.namespace or whoami_name(api)
    volumes = None
    if req.package:
        spec = req.package
    else:
        volume, spec = code or upload_code(api, namespace)
        volumes = [volume]
    return api.run_job(
        image=req.resolved_image(),
        command=["bash", "-c", job_script(spec, req.run_args)],
        env={"RUN_EVAL_EXECUTOR": "hf-jobs", "RUN_EVAL_JOB_FLAVOR": req.flavor, **req.env},
        secrets=req.secrets,
        flavor=req.flavor,
        timeout=req.timeout,
        labels={**LABEL, **req.labels},
        volumes=volumes,
        namespace=namespace,
    )


def whoami_name(api: Any) -> str:
    try:
        return str(api.whoami()["name"])
    except Exception as ex:
        raise JobsError(f"cannot tell who you are on the Hub ({type(ex).__name__}); "
                        "log in (hf auth login, or set HF_TOKEN) or pass --namespace") from None


def follow_logs(api: Any, job_id: str, namespace: str | None, echo: Any) -> None:
    for line in api.fetch_job_logs(job_id=job_id, namespace=namespace, follow=True):
        echo(line.rstrip("\n"))


def wait(api: Any, job_id: str, namespace: str | None, timeout: float | None = None) -> Any:
    return api.wait_for_job(job_id, namespace=namespace, timeout=timeout, poll_interval=1.0)


def list_tool_jobs(api: Any, namespace: str | None) -> Iterable[Any]:
    return api.list_jobs(labels=LABEL, namespace=namespace)


def stage(info: Any) -> str:
    status = getattr(info, "status", None)
    s = getattr(status, "stage", None)
    return str(getattr(s, "value", s) or "UNKNOWN")
