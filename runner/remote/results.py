"""A job's result, both ways: uploaded from inside the job, fetched back by the submitter.

In the job, the Inspect logs go first, then the signed result file with each
``source.url`` pointing at its uploaded log (``source`` is outside the token's hash), to
``RESULTS_REPO/jobs/<job id>/``. On the submitting machine, that result is merged into
``OUTPUT_DIR/.eval_results/`` under the result file's lock.
"""

from __future__ import annotations

from pathlib import Path

from run_eval.jobs.executor import job_folder
from run_eval.runner.remote.submit import RemoteError
from run_eval.signing.results import RESULTS_DIR, atomic_write_text, dump_raw, merge_into, parse_raw, read_raw
from run_eval.signing.trust import TrustStore, load_trust_stores
from run_eval.signing.verify import decide
from run_eval.tasks.hub import hub_error


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


def upload_shard_logs(root: Path, logs: list[Path], repo: str) -> str:
    """In a job running one shard of a sharded run: its Inspect logs (``<task>.shards/<k>/*.eval``
    under the run folder ``root``, runner/run/shards.py) to ``repo`` under
    ``jobs/<job id>/logs/``, in the same layout; the submitter fetches and merges them."""
    from huggingface_hub import CommitOperationAdd, HfApi

    folder = job_folder()
    base = root.resolve()
    ops = [CommitOperationAdd(path_in_repo=f"{folder}/logs/{p.resolve().relative_to(base).as_posix()}",
                              path_or_fileobj=str(p)) for p in logs]
    try:
        api = HfApi()
        api.create_repo(repo, repo_type="dataset", private=True, exist_ok=True)
        if ops:
            api.create_commit(repo, repo_type="dataset", operations=ops,
                              commit_message=f"run-eval shard logs for {folder}")
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"--upload-results {repo!r}", repo) or f"--upload-results {repo!r}: {ex}") from None
    return folder


def fetch_shard_logs(repo: str, job_id: str, root: Path) -> list[Path]:
    """Back home: a shard job's uploaded logs into the run folder ``root``, where they were in
    the job (``<task>.shards/<k>/``). A path that would leave ``root`` is refused."""
    from huggingface_hub import HfApi, hf_hub_download

    prefix = f"jobs/{job_id}/logs/"
    try:
        names = [f for f in HfApi().list_repo_files(repo, repo_type="dataset") if f.startswith(prefix)]
        fetched = []
        for name in names:
            rel = Path(name[len(prefix):])
            if rel.is_absolute() or ".." in rel.parts or len(rel.parts) != 3 or not rel.parts[0].endswith(".shards") \
                    or rel.suffix != ".eval":
                raise RemoteError(f"results repo {repo!r}: {name}: not a shard log path (<task>.shards/<k>/<log>.eval)")
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = Path(hf_hub_download(repo, name, repo_type="dataset"))
            tmp = dest.with_name(f".{dest.name}.tmp")
            tmp.write_bytes(src.read_bytes())
            tmp.replace(dest)
            fetched.append(dest)
    except RemoteError:
        raise
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"results repo {repo!r}", repo) or str(ex)) from None
    return fetched


def fetch_results(repo: str, job_id: str, output_dir: Path, trust: TrustStore | None = None) -> list[Path]:
    """Back home: merge the job's signed result files into OUTPUT_DIR/.eval_results/, each entry
    first decided with the user's trust stores (``trust``; default: RUN_EVAL_HOME's): an entry
    that is not validly signed, or whose key the user revoked, is not taken in."""
    from huggingface_hub import HfApi, hf_hub_download

    trust = trust if trust is not None else load_trust_stores()
    api = HfApi()
    prefix = f"jobs/{job_id}/{RESULTS_DIR}/"
    try:
        files = [f for f in api.list_repo_files(repo, repo_type="dataset") if f.startswith(prefix)]
        fetched = [(f, parse_raw(Path(hf_hub_download(repo, f, repo_type="dataset")).read_bytes(), f"{repo}/{f}"))
                   for f in files]
    except Exception as ex:
        raise RemoteError(hub_error(ex, f"results repo {repo!r}", repo) or str(ex)) from None
    refused = [f"{repo}/{f}: entry {i}: {v.status}{': ' + v.reason if v.reason else ''}"
               for f, entries in fetched for i, v in enumerate(decide(e, trust) for e in entries) if not v.usable]
    if refused:
        raise RemoteError([*refused, f"job {job_id}'s result was not fetched: its entries must be validly signed"])
    written = []
    for f, entries in fetched:
        dest = output_dir / RESULTS_DIR / Path(f).name
        merge_into(dest, entries)
        written.append(dest)
    if not written:
        raise RemoteError(f"job {job_id} finished but left no result file in {repo}/{prefix}")
    return written
