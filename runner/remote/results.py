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
