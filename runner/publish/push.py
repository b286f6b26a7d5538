"""`run-eval push`: signed results into a model repo, via huggingface_hub.

Push checks everything locally first and contacts the Hub for writing only when every
entry may go: valid token, bound to MODEL_REPO, not a subset (unless allowed), signed
(unless allowed). One commit holds every file, opened as a pull request unless
``--no-pr``; entries already in the repo's file for other tasks are kept untouched.

Only links others can open are published: an entry's ``source.url`` is a path on the
evaluator's machine until ``--log-repo`` uploads the log and points it there; a path is a
dead link for everyone else and shows the evaluator's user name, so the entry goes without
``source`` (outside the token's hash: the token stays valid) and the command says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from run_eval.runner.errors import LinesError
from run_eval.runner.publish.published import remote_entries
from run_eval.signing.results import RESULTS_DIR, ResultFileError, dump_raw, merge_raw, parse_raw
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import Verdict, decide
from run_eval.tasks.hub import hub_error, is_repo_id


class PushError(LinesError):
    pass


@dataclass
class LocalFile:
    path: Path
    entries: list[dict[str, Any]]

    @property
    def repo_path(self) -> str:
        return f"{RESULTS_DIR}/{self.path.name}"


@dataclass
class PushPlan:
    repo_id: str
    files: list[LocalFile]
    verdicts: list[Verdict] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)  # local logs left out of source.url


def public_url(url: Any) -> bool:
    """Whether others can open ``url``: an http(s) URL with a host. A path (or a file: URL)
    names the evaluator's own disk.

    >>> public_url("https://huggingface.co/datasets/org/logs/resolve/abc/x.eval")
    True
    >>> public_url("/home/alice/logs/x.eval"), public_url("file:///home/alice/x.eval"), public_url(None)
    (False, False, False)
    """
    if not isinstance(url, str):
        return False
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def drop_local_sources(plan: PushPlan) -> list[str]:
    """Remove ``source`` from every entry whose ``source.url`` others cannot open (the
    entries in memory only: the local files are not touched); return those URLs. The whole
    ``source`` goes: huggingface_hub's format has no source name without a url."""
    dropped = []
    for f in plan.files:
        for raw in f.entries:
            source = raw.get("source")
            if source is not None and not public_url(source.get("url") if isinstance(source, dict) else None):
                dropped.append(str(source.get("url") if isinstance(source, dict) else source))
                del raw["source"]
    return dropped


def check_files(repo_id: str, paths: list[Path], *, trust: TrustStore, allow_subset: bool,
                allow_unsigned: bool) -> PushPlan:
    """Read and check every entry; raise PushError naming every refused entry."""
    if not is_repo_id(repo_id):
        raise PushError(f"MODEL_REPO {repo_id!r}: expected a Hub model id like 'org/name'")
    if not paths:
        paths = sorted(Path(RESULTS_DIR).glob("*.yaml"))
        if not paths:
            raise PushError(f"no {RESULTS_DIR}/*.yaml in the current folder; name the result files to push")
    plan = PushPlan(repo_id=repo_id, files=[])
    problems: list[str] = []
    for path in paths:
        try:
            entries = parse_raw(path.read_bytes(), str(path))
        except (OSError, UnicodeDecodeError) as ex:
            problems.append(f"{path}: cannot read ({type(ex).__name__})")
            continue
        except ResultFileError as ex:
            problems.append(str(ex))
            continue
        if not entries:
            problems.append(f"{path}: has no entries")
        for i, raw in enumerate(entries):
            where = f"{path}: entry {i} ({(raw.get('dataset') or {}).get('task_id')})"
            v = decide(raw, trust, model_id=repo_id)
            plan.verdicts.append(v)
            if v.status == "invalid":
                problems.append(f"{where}: invalid token: {v.reason}")
            elif v.status == "unsigned":
                if not allow_unsigned:
                    problems.append(f"{where}: unsigned (sign it by running run-eval, or pass --allow-unsigned)")
            elif v.claims is not None and v.claims.metric.subset and not allow_subset:
                problems.append(f"{where}: a subset result ({v.claims.metric.subset}); pass --allow-subset to push it")
        plan.files.append(LocalFile(path=path, entries=entries))
    names = [f.path.name for f in plan.files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"two files would both go to {RESULTS_DIR}/{dupes[0]}")
    if problems:
        raise PushError(problems + ["nothing was sent to the Hub"])
    return plan


def upload_logs(plan: PushPlan, log_repo: str, api: Any) -> str:
    """Put each entry's Inspect log into the dataset repo `log_repo`; point source.url at it."""
    from huggingface_hub import CommitOperationAdd, constants

    if not is_repo_id(log_repo):
        raise PushError(f"--log-repo {log_repo!r}: expected a Hub dataset id like 'org/name'")
    ops, targets = [], []
    for f in plan.files:
        for raw in f.entries:
            src = (raw.get("source") or {}).get("url")
            if not src or "://" in src:
                continue
            log = Path(src)
            if not log.is_file():
                raise PushError(f"{f.path}: the log {src} named in source.url is not here; "
                                "push from the machine that ran it, or without --log-repo")
            dest = f"logs/{plan.repo_id}/{log.name}"
            if dest not in {o.path_in_repo for o in ops}:
                ops.append(CommitOperationAdd(path_in_repo=dest, path_or_fileobj=str(log)))
            targets.append((raw, dest))
    if not ops:
        return ""
    try:
        api.create_repo(log_repo, repo_type="dataset", exist_ok=True)
        info = api.create_commit(log_repo, repo_type="dataset", operations=ops,
                                 commit_message=f"Inspect logs for {plan.repo_id} (run-eval)")
    except Exception as ex:
        raise PushError(hub_error(ex, f"--log-repo {log_repo!r}", log_repo) or f"--log-repo {log_repo!r}: {ex}") from None
    sha = info.oid
    for raw, dest in targets:
        raw["source"] = {**(raw.get("source") or {}),
                         "url": f"{constants.ENDPOINT}/datasets/{log_repo}/resolve/{sha}/{dest}"}
    return sha


def push(plan: PushPlan, *, create_pr: bool, log_repo: str | None = None, append: bool = False,
         title: str | None = None, body: str | None = None) -> Any:
    """One commit (a PR unless ``create_pr`` is false) with every file of ``plan``. Each file's
    entries replace the repo's entries for the same benchmark and task, unless ``append``:
    then they are added after them, and every entry already there stays (``reproduce
    --publish`` adds its check beside the entry it checked, never in its place). ``title`` and
    ``body`` replace the commit's default message."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi()
    what = f"MODEL_REPO {plan.repo_id!r}"
    try:
        api.model_info(plan.repo_id)  # fails early and clearly on a wrong or unreadable repo
        if log_repo:
            upload_logs(plan, log_repo, api)
        plan.unpublished = drop_local_sources(plan)
        ops = []
        for f in plan.files:
            there = remote_entries(api, plan.repo_id, f.repo_path)
            merged = there + f.entries if append else merge_raw(there, f.entries)
            ops.append(CommitOperationAdd(path_in_repo=f.repo_path, path_or_fileobj=dump_raw(merged).encode()))
        tasks = sorted({f"{(e.get('dataset') or {}).get('id')}/{(e.get('dataset') or {}).get('task_id')}"
                        for f in plan.files for e in f.entries})
        title = title or f"Add evaluation results: {', '.join(tasks[:3])}{' and more' if len(tasks) > 3 else ''}"
        body = body or "\n".join([
            "Results produced and signed by run-eval (each entry carries a verifyToken).",
            "Check them offline with: run-eval verify .eval_results/",
            "",
            *[f"- {f.repo_path}: {len(f.entries)} entr{'y' if len(f.entries) == 1 else 'ies'}" for f in plan.files],
        ])
        return api.create_commit(plan.repo_id, operations=ops, commit_message=title,
                                 commit_description=body, create_pr=create_pr)
    except PushError:
        raise
    except ResultFileError as ex:
        raise PushError(f"{what}: the repo's existing file is not valid: {ex}") from None
    except Exception as ex:
        msg = hub_error(ex, what, plan.repo_id, repo_type="model")
        if msg is None:
            raise
        # push only reads the local files: after a failure they are as they were
        raise PushError([msg, "the local result files are unchanged; run the same push again to retry"]) from None
