"""`--on hf-jobs`: the same run, on Hugging Face Jobs.

On the submitting machine: refuse local-only inputs, pin the benchmark's dataset commit
and the model's commit, and hand `jobs/` a `run-eval run` command line naming exactly
those commits (and the expected spec fingerprints). In the job, that command runs the
very code path of a local run, signs with the key given as a job secret, records
`executor: {kind: hf-jobs, job_id, flavor, namespace}` (jobs/executor.py), and uploads its
result file and Inspect logs to the results repo (runner/remote/results.py). Back here,
the CLI follows the logs and fetches the signed result into `.eval_results/`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.errors import LinesError
from run_eval.runner.models.reference import is_hub_model, resolve_model
from run_eval.runner.run.options import RunOptions
from run_eval.signing.keys import load_or_create
from run_eval.tasks.errors import BenchmarkError
from run_eval.tasks.hub import hub_benchmark_files, hub_error, is_repo_ref, resolve_commit, split_rev
from run_eval.tasks.spec import load_spec

RESULTS_REPO_NAME = "run-eval-results"


class RemoteError(LinesError):
    pass


class RemoteInputError(RemoteError):
    """An input that cannot go to a job (a local path, an unknown repo): bad input, nothing sent."""


@dataclass(frozen=True)
class JobOptions:
    """Where and how a job runs (the HF Jobs options of run, sweep and reproduce)."""

    flavor: str = "a10g-small"
    timeout: str | None = "2h"
    namespace: str | None = None
    package: str | None = None  # pip requirement for run-eval in the job; None: a wheel of this checkout
    image: str | None = None
    results_repo: str | None = None

    def argv(self) -> list[str]:
        """These options as `run-eval run --on hf-jobs` arguments (for a sweep's cells)."""
        out = ["--on", "hf-jobs", "--flavor", self.flavor]
        for flag, value in (("--timeout", self.timeout), ("--namespace", self.namespace),
                            ("--package", self.package), ("--image", self.image),
                            ("--results-repo", self.results_repo)):
            if value:
                out += [flag, value]
        return out


@dataclass(frozen=True)
class Pinned:
    model: str  # provider/org/name@sha
    model_sha: str
    benchmark: str  # org/name@sha
    dataset_sha: str
    bench_name: str
    fingerprints: dict[str, str]  # task id -> spec sha256


def pin_inputs(model: str, benchmark: str, task_ids: tuple[str, ...]) -> Pinned:
    """Resolve both inputs to commits here, refusing anything that exists only on this machine."""
    if Path(benchmark).expanduser().exists() or not is_repo_ref(benchmark):
        raise RemoteInputError(f"BENCHMARK {benchmark!r}: a local path cannot be evaluated on HF Jobs; "
                               "push the dataset to the Hub and pass its id org/name")
    ref = resolve_model(model)
    if not is_hub_model(ref):
        raise RemoteInputError(f"MODEL {model!r}: only Hub models (hf/org/name, vllm/org/name) run on HF Jobs; "
                               "a local folder must be pushed to the Hub first")
    try:
        model_sha = resolve_commit(ref.name, ref.requested_revision, "model")
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"MODEL {model!r}", ref.name, "model") or str(ex)) from None
    repo_id, rev = split_rev(benchmark)
    try:
        dataset_sha, root = hub_benchmark_files(repo_id, rev, f"BENCHMARK {benchmark!r}")
    except BenchmarkError as ex:
        raise RemoteError(ex.lines) from None
    spec = load_spec(root / "eval.yaml")
    selected = spec.select(list(task_ids))
    return Pinned(
        model=f"{ref.provider}/{ref.name}@{model_sha}",
        model_sha=model_sha,
        benchmark=f"{repo_id}@{dataset_sha}",
        dataset_sha=dataset_sha,
        bench_name=repo_id.split("/")[1],
        fingerprints={t.task_id: t.fingerprint() for t in selected},
    )


def pin_judges(judges: tuple[str, ...]) -> tuple[str, ...]:
    """Each --judge as the job will load it: a Hub model at its commit; an API model as named;
    a local folder is refused (it is not on the job's machine)."""
    out = []
    for j in judges:
        ref = resolve_model(j)
        if ref.local_path is not None:
            raise RemoteInputError(f"--judge {j!r}: a local folder cannot be used on HF Jobs; push it to the Hub "
                                   "and pass hf/org/name")
        if is_hub_model(ref):
            try:
                sha = resolve_commit(ref.name, ref.requested_revision, "model")
            except Exception as ex:
                raise RemoteError(hub_error(ex, f"--judge {j!r}", ref.name, "model") or str(ex)) from None
            out.append(f"{ref.provider}/{ref.name}@{sha}")
        else:
            out.append(j)
    return tuple(out)


def job_run_args(pinned: Pinned, options: RunOptions, results_repo: str, push_pr: bool) -> list[str]:
    """The `run-eval` arguments the job runs: the pinned inputs, the run options, where to upload."""
    args = ["run", pinned.model, pinned.benchmark, *options.argv(), "--upload-results", results_repo,
            "--output-dir", "/tmp/run-eval-out", "--log-dir", "/tmp/run-eval-logs"]
    for task_id, fp in sorted(pinned.fingerprints.items()):
        args += ["--expect-spec", f"{task_id}={fp}"]
    if push_pr:
        args.append("--push-pr")
    return args


def job_token() -> str:
    """The HF token a job gets (as a secret only)."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise RemoteError("no Hugging Face token: log in (hf auth login) or set HF_TOKEN; the job needs it")
    return token


def job_secrets() -> dict[str, str]:
    """HF_TOKEN and the signing key: sent as job secrets only."""
    token = job_token()
    key, _ = load_or_create()
    return {"HF_TOKEN": token, "RUN_EVAL_SIGNING_KEY": key.private_pem()}


def submit_run(*, model: str, benchmark: str, options: RunOptions, job: JobOptions, push_pr: bool,
               detach: bool, output_dir: Path, echo: Callable[[str], None]) -> tuple[Any, list[Path]]:
    """Submit the run as a job; unless detached, follow it and fetch its signed result."""
    from huggingface_hub import HfApi

    from run_eval.jobs.hfjobs import JobRequest, JobsError, follow_logs, stage, submit, wait, whoami_name
    from run_eval.runner.remote.results import fetch_results

    pinned = pin_inputs(model, benchmark, options.task_ids)
    options = replace(options, judges=pin_judges(options.judges))
    secrets = job_secrets()
    api = HfApi()
    ns = job.namespace or ""
    try:
        ns = job.namespace or whoami_name(api)
        repo = job.results_repo or f"{ns}/{RESULTS_REPO_NAME}"
        req = JobRequest(run_args=job_run_args(pinned, options, repo, push_pr), flavor=job.flavor,
                         timeout=job.timeout, namespace=ns, package=job.package, image=job.image, secrets=secrets,
                         env={"RUN_EVAL_JOB_NAMESPACE": ns},
                         labels={"benchmark": pinned.bench_name[:60]})
        info = submit(api, req)
    except JobsError as ex:
        raise RemoteError(str(ex)) from None
    except Exception as ex:
        raise RemoteError(hub_error(ex, "HF Jobs", ns if job.namespace else "", "model") or f"HF Jobs: {ex}") from None
    echo(f"submitted job {info.id}: {getattr(info, 'url', '')}")
    echo(f"pinned: {pinned.model} on {pinned.benchmark}; results go to {repo}/jobs/{info.id}/")
    if detach:
        return info, []
    try:
        follow_logs(api, info.id, ns, echo)
        final = wait(api, info.id, ns)
    except KeyboardInterrupt:
        echo(f"stopped following; the job goes on: run-eval jobs wait {info.id}")
        raise
    if stage(final) != "COMPLETED":
        message = getattr(getattr(final, "status", None), "message", None)
        raise RemoteError(f"job {info.id} ended {stage(final)}{': ' + message if message else ''}; "
                          f"no result was fetched (logs: run-eval jobs logs {info.id})")
    return final, fetch_results(repo, info.id, output_dir)
