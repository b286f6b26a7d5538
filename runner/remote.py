"""`--on hf-jobs`: the same run, on Hugging Face Jobs.

On the submitting machine: refuse local-only inputs, pin the benchmark's dataset commit
and the model's commit, and hand `jobs/` a `run-eval` command line naming exactly those
commits (and the expected spec fingerprints). In the job, that command runs the very
code path of a local run, signs with the key given as a job secret, records
`executor: {kind: hf-jobs, job_id, flavor, namespace}`, and uploads its result file and
Inspect logs to the results repo (and, if asked, opens a PR on the model repo). Back
here, the CLI follows the logs and fetches the signed result into `.eval_results/`.
"""

from __future__ import annotations

from runner.errors import LinesError
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from runner.model import is_hub_model, resolve_model
from signing.keys import load_or_create
from signing.results import RESULTS_DIR, atomic_write_text, dump_raw, merge_into, parse_raw, read_raw
from tasks.errors import BenchmarkError
from tasks.hub import hub_error, hub_benchmark_files, resolve_commit, split_rev
from tasks.source import HUB_ID
from tasks.spec import load_spec

RESULTS_REPO_NAME = "run-eval-results"


class RemoteError(LinesError):
    pass


class RemoteInputError(RemoteError):
    """An input that cannot go to a job (a local path, an unknown repo): bad input, nothing sent."""


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
    if Path(benchmark).expanduser().exists() or not HUB_ID.match(benchmark):
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


def job_run_args(pinned: Pinned, forwarded: list[str], results_repo: str, push_pr: bool) -> list[str]:
    args = ["run", pinned.model, pinned.benchmark, *forwarded, "--upload-results", results_repo,
            "--output-dir", "/tmp/run-eval-out", "--log-dir", "/tmp/run-eval-logs"]
    for task_id, fp in sorted(pinned.fingerprints.items()):
        args += ["--expect-spec", f"{task_id}={fp}"]
    if push_pr:
        args.append("--push-pr")
    return args


def job_secrets() -> dict[str, str]:
    """HF_TOKEN and the signing key: sent as job secrets only."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise RemoteError("no Hugging Face token: log in (hf auth login) or set HF_TOKEN; the job needs it")
    key, _ = load_or_create()
    return {"HF_TOKEN": token, "RUN_EVAL_SIGNING_KEY": key.private_pem()}


def executor_claims() -> dict[str, Any]:
    """Where this process runs: a local machine, or an HF Job (from the job's environment)."""
    if os.environ.get("RUN_EVAL_EXECUTOR") == "hf-jobs":
        return {
            "kind": "hf-jobs",
            "job_id": os.environ.get("JOB_ID"),
            "flavor": os.environ.get("ACCELERATOR") or os.environ.get("RUN_EVAL_JOB_FLAVOR"),
            "namespace": os.environ.get("RUN_EVAL_JOB_NAMESPACE"),
        }
    return {"kind": "local", "job_id": None, "flavor": None}


def job_folder() -> str:
    return f"jobs/{os.environ.get('JOB_ID') or 'local'}"


def upload_results(result_file: Path, repo: str) -> str:
    """In the job: logs then the result file (source.url rewritten to the uploaded log) to `repo`."""
    from huggingface_hub import CommitOperationAdd, HfApi, constants

    api = HfApi()
    entries = read_raw(result_file)
    folder = job_folder()
    try:
        api.create_repo(repo, repo_type="dataset", private=True, exist_ok=True)
        ops, dests = [], []
        for e in entries:
            log = Path((e.get("source") or {}).get("url", ""))
            if log.is_file():
                dest = f"{folder}/logs/{log.name}"
                ops.append(CommitOperationAdd(path_in_repo=dest, path_or_fileobj=str(log)))
                dests.append((e, dest))
        if ops:
            info = api.create_commit(repo, repo_type="dataset", operations=ops,
                                     commit_message=f"run-eval logs for {folder}")
            for e, dest in dests:
                e["source"] = {**e["source"], "url": f"{constants.ENDPOINT}/datasets/{repo}/resolve/{info.oid}/{dest}"}
        text = dump_raw(entries)
        atomic_write_text(result_file, text)
        api.create_commit(repo, repo_type="dataset", commit_message=f"run-eval results for {folder}",
                          operations=[CommitOperationAdd(path_in_repo=f"{folder}/{RESULTS_DIR}/{result_file.name}",
                                                         path_or_fileobj=text.encode())])
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"--upload-results {repo!r}", repo) or f"--upload-results {repo!r}: {ex}") from None
    return folder


def fetch_results(repo: str, job_id: str, output_dir: Path) -> list[Path]:
    """Back home: merge the job's signed result files into OUTPUT_DIR/.eval_results/."""
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    prefix = f"jobs/{job_id}/{RESULTS_DIR}/"
    try:
        files = [f for f in api.list_repo_files(repo, repo_type="dataset") if f.startswith(prefix)]
        written = []
        for f in files:
            text = Path(hf_hub_download(repo, f, repo_type="dataset")).read_bytes()
            dest = output_dir / RESULTS_DIR / Path(f).name
            merge_into(dest, parse_raw(text, f"{repo}/{f}"))
            written.append(dest)
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"results repo {repo!r}", repo) or str(ex)) from None
    if not written:
        raise RemoteError(f"job {job_id} finished but left no result file in {repo}/{prefix}")
    return written


def submit_run(*, model: str, benchmark: str, task_ids: tuple[str, ...], forwarded: list[str], flavor: str,
               timeout: str | None, namespace: str | None, package: str | None, image: str | None,
               results_repo: str | None, push_pr: bool, detach: bool, output_dir: Path,
               echo: Callable[[str], None]) -> tuple[Any, list[Path]]:
    from huggingface_hub import HfApi

    from jobs.hfjobs import JobRequest, JobsError, follow_logs, stage, submit, wait, whoami_name

    pinned = pin_inputs(model, benchmark, task_ids)
    secrets = job_secrets()
    api = HfApi()
    try:
        ns = namespace or whoami_name(api)
        repo = results_repo or f"{ns}/{RESULTS_REPO_NAME}"
        req = JobRequest(run_args=job_run_args(pinned, forwarded, repo, push_pr), flavor=flavor, timeout=timeout,
                         namespace=ns, package=package, image=image, secrets=secrets,
                         env={"RUN_EVAL_JOB_NAMESPACE": ns},
                         labels={"benchmark": pinned.bench_name[:60]})
        info = submit(api, req)
    except JobsError as ex:
        raise RemoteError(str(ex)) from None
    except Exception as ex:
        raise RemoteError(hub_error(ex, "HF Jobs", ns if namespace else "", "model") or f"HF Jobs: {ex}") from None
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
