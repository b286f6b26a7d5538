"""A small in-process fake of the Hugging Face Hub HTTP API, for tests.

Point the real clients at it with ``HF_ENDPOINT=<FakeHub.url>`` (set before importing
huggingface_hub / datasets / transformers, which read it at import time) and they talk
plain HTTP to this server: nothing in those libraries is mocked.

What it plays (protocol as read from huggingface_hub 2.4 / datasets 5.2):
  GET  /api/{models|datasets|spaces}/{repo}[/revision/{rev}]   repo info (dataset_info, model_info, repo_info)
  GET  /api/{type}/{repo}/tree/{rev}[/{path}]                   list_repo_tree (recursive, expand), HfFileSystem.ls
  POST /api/{type}/{repo}/paths-info/{rev}                      get_paths_info, HfFileSystem.info
  GET  /api/{type}/{repo}/refs | /commits/{rev}                 list_repo_refs, list_repo_commits (each commit's
                                                                author: FakeHub.commit(author=...), else fake-user)
  POST /api/{type}/{repo}/preupload/{rev}                       always uploadMode "regular" (no LFS, no Xet)
  POST /api/{type}/{repo}/commit/{rev}[?create_pr=1]            NDJSON commit; files arrive inline, base64
  GET  /api/{type}/{repo}/discussions[/{num}]                   get_repo_discussions (by type, status, author),
                                                                get_discussion_details (commit and status-change events)
  GET  /api/datasets/{repo}/leaderboard[?base_model=false]       get_dataset_leaderboard (rows from set_leaderboard)
  GET  /api/whoami-v2, POST /api/validate-yaml, GET /api/agent-harnesses (empty registry)
  HEAD/GET /[datasets/|spaces/]{repo}/resolve/{rev}/{path}      hf_hub_download, HfFileSystem (GET honours Range)
  Jobs (run_job, run_uv_job, inspect_job, list_jobs, cancel_job, wait_for_job, fetch_job_logs, rerun_job, ...):
  GET  /api/jobs/hardware                                       list_jobs_hardware (a few CPU/GPU flavors)
  POST /api/jobs/{ns} | GET /api/jobs/{ns}?stage=..&label=k=v   create (request JSON stored verbatim) | list
  GET  /api/jobs/{ns}/{id} | POST .../cancel | POST .../duplicate | PUT .../labels
  GET  /api/jobs/{ns}/{id}/logs[?tail=N]                        SSE, see _stream_logs; /metrics answers 406

Jobs never run: a test drives them with FakeHub.set_job_stage / add_job_logs, optionally from the
FakeHub.on_job_created hook. run_uv_job with a *local* script file uploads it to a Bucket over Xet,
which this fake does not play; a URL or a command (nothing local) is sent inline as "uv run ..." and works.

Files are always served directly (no redirect to a CDN), with X-Repo-Commit, ETag (the git blob
oid) and Content-Length, and never with X-Xet-* headers, so the client uses plain HTTP both ways.
Since preupload always answers "regular", every file of any size goes inline in the commit
NDJSON; an "lfsFile" line (only possible when copying an LFS file) is refused with 400.

Errors carry X-Error-Code / X-Error-Message as the Hub does, which huggingface_hub's
hf_raise_for_status turns into RepositoryNotFoundError (RepoNotFound), RevisionNotFoundError
(RevisionNotFound), RemoteEntryNotFoundError (EntryNotFound) and GatedRepoError (GatedRepo).

Auth: ``FakeHub(token="hf_x")`` accepts only ``Authorization: Bearer hf_x``; a different token gets
401 "Invalid credentials in Authorization header" on any request (as the Hub does). Without a
token, private repos answer 401 RepoNotFound, gated repos answer 401 GatedRepo on file downloads
(info and listings stay public, as on the Hub), and writes answer 401. A repo added with
``gated="denied"`` is gated with manual approval that the token's user was not granted: its
downloads answer 403 GatedRepo even with the token, as the Hub does. ``FakeHub(token=None)``
checks nothing: every request counts as authenticated.

Every commit is a full snapshot {path: bytes}; shas are 40-hex, derived from content plus a counter.
Unknown routes are printed to stderr and answered 404, so gaps are visible.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import secrets as _secrets
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

USER = "fake-user"
_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}  # url prefix of each repo type
JOB_STAGES = ("SCHEDULING", "RUNNING", "COMPLETED", "ERROR", "CANCELED", "DELETED")  # huggingface_hub JobStage
FINAL_JOB_STAGES = ("COMPLETED", "ERROR", "CANCELED", "DELETED")
_HARDWARE = [  # (name, prettyName, cpu, ram, accelerator model or None, micro-USD per minute)
    ("cpu-basic", "CPU Basic", "2 vCPU", "16 GB", None, 167), ("cpu-upgrade", "CPU Upgrade", "8 vCPU", "32 GB", None, 500),
    ("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", "T4", 667),
    ("a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", "A10G", 1667),
    ("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", "A100", 4167),
]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob, which is what the Hub reports as a file's oid / ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]  # full snapshot
    parent: str | None
    title: str
    date: str
    author: str = USER  # what list_repo_commits names as the commit's author


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    gated: bool | str  # True: gated (a logged-in user has access); "denied": gated, access not granted
    created: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha
    prs: list[dict] = field(default_factory=list)  # {num, title, ref, sha, status, base, createdAt}


class HubError(Exception):
    """An error answer: status, X-Error-Code (may be None) and message."""

    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


class FakeHub:
    def __init__(self, token: str | None = None):
        self.token = token
        self.url = ""
        self.requests: list[tuple[str, str]] = []  # (method, unquoted path without query)
        self._repos: dict[tuple[str, str], Repo] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count()
        self._server: ThreadingHTTPServer | None = None
        self._jobs: dict[str, dict] = {}  # id -> {id, namespace, owner, createdAt, startedAt, finishedAt, status, request}
        self._job_logs: dict[str, list[dict]] = {}  # id -> SSE events {"timestamp", "data"}
        # called in a new thread (lock not held) with a copy of job(id) right after a job is created
        self.on_job_created: Callable[[dict], None] | None = None
        self.job_log_wait = 60.0  # seconds a /logs stream of a non-final job stays open without a new line
        self._faults: list[list] = []  # [method, path part, status, times left]: see fail()
        self._leaderboards: dict[str, list[dict]] = {}  # dataset id -> rows (set_leaderboard)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"hub": self})  # one handler class per server
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-hub").start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeHub":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- sharing one hub between tests
    def checkpoint(self) -> dict:
        """The whole store (repos, PRs, jobs, logs, recorded requests, faults, job hook), so that
        tests sharing one server (and one model run) can each start from the same state."""
        with self._lock:
            return copy.deepcopy({"repos": self._repos, "jobs": self._jobs, "job_logs": self._job_logs,
                                  "requests": self.requests, "faults": self._faults,
                                  "leaderboards": self._leaderboards})

    def restore(self, state: dict) -> None:
        """Back to a checkpoint: whatever a test committed, opened or ran since is gone."""
        with self._lock:
            state = copy.deepcopy(state)
            self._repos, self._jobs, self._job_logs = state["repos"], state["jobs"], state["job_logs"]
            self.requests, self._faults = state["requests"], state["faults"]
            self._leaderboards = state["leaderboards"]
            self.on_job_created = None

    # ---------------------------------------------------------------- faults
    def fail(self, method: str, path_part: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests `method` whose path contains `path_part` with `status`
        (a Hub outage as the client sees it), then behave again."""
        with self._lock:
            self._faults.append([method, path_part, status, times])

    def _take_fault(self, method: str, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault[0] == method and fault[1] in path and fault[3] > 0:
                    fault[3] -= 1
                    return fault[2]
        return None

    # ---------------------------------------------------------------- store API for tests
    def add_repo(self, repo_id: str, repo_type: str = "dataset", files: dict[str, bytes] | None = None,
                 folder: str | Path | None = None, private: bool = False, gated: bool | str = False) -> str:
        content = dict(files or {})
        if folder is not None:
            root = Path(folder)
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    content[p.relative_to(root).as_posix()] = p.read_bytes()
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                raise ValueError(f"{repo_type} repo {repo_id} already exists")
            repo = Repo(repo_type, repo_id, private, gated, _now())
            self._repos[(repo_type, repo_id)] = repo
            sha = self._new_commit(repo, None, content, "initial commit")
            repo.branches["main"] = sha
            return sha

    def commit(self, repo_id: str, repo_type: str, files: dict[str, bytes], message: str = "",
               branch: str = "main", deletions: list[str] = (), author: str = USER) -> str:
        """A commit on `branch` by `author` (as the commits endpoint names it; its date is the server's)."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            head = repo.branches.get(branch) or repo.branches["main"]  # unknown branch: start from main
            snapshot = {p: b for p, b in repo.commits[head].files.items() if p not in set(deletions)}
            snapshot.update(files)
            repo.branches[branch] = self._new_commit(repo, head, snapshot, message or "update", author)
            return repo.branches[branch]

    def set_leaderboard(self, dataset_id: str, rows: list[dict]) -> None:
        """The dataset's leaderboard as the Hub serves it: rows {modelId, value, filename,
        pullRequest?, verified?, derivative? (a model declaring a base_model)}."""
        with self._lock:
            self._leaderboards[dataset_id] = [dict(r) for r in rows]

    def open_pr(self, repo_id: str, files: dict[str, bytes], repo_type: str = "model", author: str = "someone",
                title: str = "Add evaluation results") -> int:
        """A pull request by `author` that adds files on top of main; its number."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            head = repo.branches["main"]
            snapshot = {**repo.commits[head].files, **files}
            sha = self._new_commit(repo, head, snapshot, title)
            num = max((pr["num"] for pr in repo.prs), default=0) + 1
            repo.prs.append({"num": num, "title": title, "ref": f"refs/pr/{num}", "sha": sha, "status": "open",
                             "base": "refs/heads/main", "createdAt": _now(), "author": author})
            return num

    def close_pr(self, repo_id: str, num: int, repo_type: str = "model", by: str = "owner") -> None:
        """Close a pull request without merging it (as a repo's owner may)."""
        with self._lock:
            pr = next(p for p in self._repos[(repo_type, repo_id)].prs if p["num"] == num)
            pr["status"] = "closed"
            pr.setdefault("status_changes", []).append(("closed", _now(), by))

    def files_at(self, repo_id: str, repo_type: str, revision: str = "main") -> dict[str, bytes]:
        with self._lock:
            return dict(self._resolve(self._repos[(repo_type, repo_id)], revision).files)

    def head(self, repo_id: str, repo_type: str, branch: str = "main") -> str:
        with self._lock:
            return self._repos[(repo_type, repo_id)].branches[branch]

    def pull_requests(self, repo_id: str, repo_type: str = "model") -> list[dict]:
        with self._lock:
            return [{k: pr[k] for k in ("num", "title", "ref", "sha", "status")}
                    for pr in self._repos[(repo_type, repo_id)].prs]

    # ---------------------------------------------------------------- jobs API for tests
    @property
    def jobs(self) -> list[dict]:
        """All jobs in creation order, as job(id) returns them."""
        with self._lock:
            return [self.job(i) for i in self._jobs]

    def job(self, job_id: str) -> dict:
        """{id, namespace, owner, createdAt, startedAt, finishedAt, status: {stage, message}, request, logs}:
        `request` is the POSTed JSON exactly as received (secrets in clear), `logs` the lines so far."""
        with self._lock:
            return json.loads(json.dumps({**self._jobs[job_id], "logs": [e["data"] for e in self._job_logs[job_id]]}))

    def set_job_stage(self, job_id: str, stage: str, message: str | None = None) -> None:
        if stage not in JOB_STAGES:
            raise ValueError(f"unknown job stage {stage!r}, expected one of {JOB_STAGES}")
        with self._lock:
            job = self._jobs[job_id]
            job["status"] = {"stage": stage, "message": message}
            if stage != "SCHEDULING" and not job["startedAt"]:
                job["startedAt"] = _now()
            if stage in FINAL_JOB_STAGES and not job["finishedAt"]:
                job["finishedAt"] = _now()

    def add_job_logs(self, job_id: str, lines: list[str]) -> None:
        with self._lock:
            self._job_logs[job_id].extend({"timestamp": _now(), "data": line} for line in lines)

    def _create_job(self, namespace: str, request: dict) -> dict:
        job_id = _secrets.token_hex(12)
        owner = {"id": hashlib.sha1(namespace.encode()).hexdigest()[:24], "name": namespace,
                 "type": "user" if namespace == USER else "org"}
        self._jobs[job_id] = {"id": job_id, "namespace": namespace, "owner": owner, "createdAt": _now(),
                              "startedAt": None, "finishedAt": None,
                              "status": {"stage": "SCHEDULING", "message": None}, "request": request}
        self._job_logs[job_id] = []
        if self.on_job_created is not None:
            threading.Thread(target=self._run_job_hook, args=(job_id,), daemon=True, name=f"job-{job_id}").start()
        return self._jobs[job_id]

    def _run_job_hook(self, job_id: str) -> None:
        try:
            self.on_job_created(self.job(job_id))
        except Exception as e:
            traceback.print_exc()
            self.set_job_stage(job_id, "ERROR", f"on_job_created raised {e!r}")

    def _job_info(self, job: dict) -> dict:
        """JobInfo JSON: the request (secret values masked) plus what the server adds."""
        req = job["request"]
        out = {**req, "id": job["id"], "createdAt": job["createdAt"], "owner": job["owner"],
               "status": dict(job["status"]), "initiator": {"type": "user", "id": job["owner"]["id"], "name": USER}}
        if "secrets" in req:
            out["secrets"] = {k: "<encrypted>" for k in req["secrets"] or {}}
        out.update({k: job[k] for k in ("startedAt", "finishedAt") if job[k]})
        return out

    # ---------------------------------------------------------------- internals (call with lock held)
    def _new_commit(self, repo: Repo, parent: str | None, files: dict[str, bytes], title: str,
                    author: str = USER) -> str:
        h = hashlib.sha1(f"{repo.repo_type}/{repo.repo_id}\n{parent}\n{title}\n{next(self._counter)}".encode())
        for path in sorted(files):
            h.update(f"{path}\0{git_blob_oid(files[path])}\n".encode())
        sha = h.hexdigest()
        repo.commits[sha] = Commit(sha, dict(files), parent, title, _now(), author)
        return sha

    def _resolve(self, repo: Repo, rev: str) -> Commit:
        """Branch name, refs/heads/<b>, refs/pr/<n> or full commit sha -> Commit."""
        name = rev[len("refs/heads/"):] if rev.startswith("refs/heads/") else rev
        sha = repo.branches.get(name)
        if sha is None and (m := re.fullmatch(r"refs/pr/(\d+)", rev)):
            sha = next((pr["sha"] for pr in repo.prs if pr["num"] == int(m[1])), None)
        if sha is None and rev in repo.commits:
            sha = rev
        if sha is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return repo.commits[sha]

    def _last_commit(self, repo: Repo, commit: Commit, path: str) -> dict:
        """The newest ancestor-or-self commit where `path` (file or folder) last changed."""
        def view(c: Commit):
            return {p: b for p, b in c.files.items() if p == path or p.startswith(path + "/")}
        cur = commit
        while cur.parent is not None and view(repo.commits[cur.parent]) == view(cur):
            cur = repo.commits[cur.parent]
        return {"id": cur.sha, "title": cur.title, "date": cur.date}

    def _entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict | None:
        """Tree / paths-info item for `path` in `commit`: a file, a directory, or None."""
        if path in commit.files:
            data = commit.files[path]
            item = {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}
        else:
            under = sorted((p, git_blob_oid(b)) for p, b in commit.files.items() if p.startswith(path + "/"))
            if not under:
                return None
            item = {"type": "directory", "oid": hashlib.sha1(repr(under).encode()).hexdigest(), "size": 0, "path": path}
        if expand:
            item["lastCommit"] = self._last_commit(repo, commit, path)
        return item

    def _info(self, repo: Repo, commit: Commit, blobs: bool) -> dict:
        siblings = []
        for p in sorted(commit.files):
            s = {"rfilename": p}
            if blobs:
                s.update(size=len(commit.files[p]), blobId=git_blob_oid(commit.files[p]))
            siblings.append(s)
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0], "sha": commit.sha, "private": repo.private,
            "gated": ("manual" if repo.gated == "denied" else "auto") if repo.gated else False,
            "disabled": False, "createdAt": repo.created,
            "lastModified": commit.date, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
            "usedStorage": sum(len(b) for b in commit.files.values()),
        }
        card = _front_matter(commit.files.get("README.md"))
        if card is not None:
            info["cardData"] = card
        return info


def _front_matter(readme: bytes | None) -> dict | None:
    """YAML metadata block of a README.md, as the Hub returns it in cardData."""
    if readme is None:
        return None
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme.decode("utf-8", "replace"), re.S)
    if not m:
        return None
    try:
        import yaml
        data = yaml.safe_load(m[1])
    except Exception:
        return None
    return data if isinstance(data, dict) else None


_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    hub: FakeHub

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ---------------------------------------------------------------- plumbing
    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.body = self._read_body()
        self.hub.requests.append((method, unquote(parts.path)))
        segs = parts.path.strip("/").split("/")  # still URL-encoded: a %2F stays inside its segment
        self._after: Callable[[], None] | None = None  # a long answer (SSE), run once the lock is released
        injected = self.hub._take_fault(method, unquote(parts.path))
        if injected is not None:
            return self._json({"error": f"injected failure {injected}"}, injected)
        try:
            with self.hub._lock:
                self._route(method, segs)
            if self._after is not None:
                self._after()
        except HubError as e:
            headers = {"X-Error-Message": e.message}
            if e.code:
                headers["X-Error-Code"] = e.code
            if e.commit:
                headers["X-Repo-Commit"] = e.commit
            self._json({"error": e.message}, e.status, headers)
        except Exception:
            traceback.print_exc()
            self._json({"error": "fake hub internal error"}, 500)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                out += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return out
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict | None = None, length: int | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _unknown(self, method: str) -> None:
        print(f"\n*** FakeHub: unhandled request {method} {self.path} ***\n", file=sys.stderr, flush=True)
        self._json({"error": f"FakeHub does not implement {method} {self.path}"}, 404)

    # ---------------------------------------------------------------- auth and repo lookup
    def _authed(self) -> bool:
        """True if the request carries the valid token; raises on a wrong one (like the Hub)."""
        if self.hub.token is None:
            return True
        header = self.headers.get("Authorization")
        if header is None:
            return False
        if header != f"Bearer {self.hub.token}":
            raise HubError(401, None, "Invalid credentials in Authorization header")
        return True

    def _repo(self, repo_type: str, repo_id: str, *, write: bool = False, download: bool = False) -> Repo:
        authed = self._authed()
        repo = self.hub._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authed):
            # the Hub answers 401 to anonymous callers and 404 to logged-in ones, both RepoNotFound
            raise HubError(404 if authed else 401, "RepoNotFound", "Repository not found")
        if write and not authed:
            raise HubError(401, None, "You must be authenticated to write to this repository")
        if download and repo.gated == "denied" and authed:
            raise HubError(403, "GatedRepo", f"Access to {repo_type} {repo_id} is restricted and you are not in the "
                                             "authorized list. Visit the repo page to ask for access.")
        if download and repo.gated and not authed:
            raise HubError(401, "GatedRepo", f"Access to {repo_type} {repo_id} is restricted. You must have access "
                                             "to it and be authenticated to access it. Please log in.")
        return repo

    @staticmethod
    def _split_repo(segs: list[str], marker_at: int) -> tuple[str, list[str]]:
        """Repo id is segs[:marker_at] (normally org/name), the rest follows."""
        return "/".join(unquote(s) for s in segs[:marker_at]), segs[marker_at:]

    # ---------------------------------------------------------------- routing
    def _route(self, method: str, segs: list[str]) -> None:
        if segs[:1] == ["api"]:
            if segs[1:] == ["whoami-v2"] and method == "GET":
                return self._whoami()
            if segs[1:] == ["validate-yaml"] and method == "POST":
                return self._json({"errors": [], "warnings": []})
            if segs[1:] == ["agent-harnesses"] and method == "GET":  # client telemetry registry: keep it empty
                return self._json({"standardEnvVars": [], "harnesses": {}})
            if segs[1:] == ["repos", "create"] and method == "POST":
                return self._create_repo()
            if segs[1:2] == ["jobs"] and len(segs) >= 3:
                return self._jobs_api(method, unquote(segs[2]), segs[3:])
            if len(segs) >= 3 and segs[1] in _TYPES:
                repo_type = _TYPES[segs[1]]
                # org/name, or a single-segment legacy id if that is what the store holds
                n = 2 if (repo_type, unquote(segs[2])) not in self.hub._repos else 1
                repo_id, rest = self._split_repo(segs[2:], n)
                return self._api(method, repo_type, repo_id, rest)
        else:
            repo_type = {"datasets": "dataset", "spaces": "space"}.get(segs[0], "model")
            s = segs[1:] if repo_type != "model" else segs
            for n in (2, 1):
                if len(s) > n + 1 and s[n] == "resolve" and method in ("GET", "HEAD"):
                    repo_id, rest = self._split_repo(s, n)
                    rev, path = rest[1], rest[2:]
                    if unquote(rev) == "refs" and len(path) > 2:  # unencoded refs/pr/N or refs/convert/x
                        rev, path = "/".join(rest[1:4]), rest[4:]
                    return self._resolve_file(method, repo_type, repo_id, unquote(rev), unquote("/".join(path)))
        return self._unknown(method)

    def _api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        hub = self.hub
        op = rest[0] if rest else ""
        rev = unquote("/".join(rest[1:2])) or "main"
        if method == "GET" and op in ("", "revision"):
            repo = self._repo(repo_type, repo_id)
            rev = unquote("/".join(rest[1:])) if op else "main"
            return self._json(hub._info(repo, hub._resolve(repo, rev), blobs=bool(self.query.get("blobs"))))
        if method == "GET" and op == "tree" and len(rest) >= 2:
            repo = self._repo(repo_type, repo_id)
            return self._tree(repo, hub._resolve(repo, rev), unquote("/".join(rest[2:])).strip("/"))
        if method == "POST" and op == "paths-info" and len(rest) == 2:
            repo = self._repo(repo_type, repo_id)
            commit = hub._resolve(repo, rev)
            if "json" in (self.headers.get("Content-Type") or ""):
                data = json.loads(self.body or b"{}")
                paths, expand = data.get("paths", []), bool(data.get("expand"))
            else:
                form = parse_qs(self.body.decode())
                paths, expand = form.get("paths", []), form.get("expand", ["False"])[-1].lower() in ("true", "1")
            items = [hub._entry(repo, commit, p.strip("/"), expand) for p in paths]
            return self._json([i for i in items if i is not None])
        if method == "GET" and op == "refs":
            repo = self._repo(repo_type, repo_id)
            ref = lambda name, full, sha: {"name": name, "ref": full, "targetCommit": sha}  # noqa: E731
            out = {"branches": [ref(b, f"refs/heads/{b}", s) for b, s in repo.branches.items()],
                   "converts": [], "tags": []}
            if self.query.get("include_prs"):
                out["pullRequests"] = [ref(pr["ref"], pr["ref"], pr["sha"]) for pr in repo.prs]
            return self._json(out)
        if method == "GET" and op == "commits" and len(rest) == 2:
            repo = self._repo(repo_type, repo_id)
            out, cur = [], hub._resolve(repo, rev)
            while cur is not None:
                out.append({"id": cur.sha, "title": cur.title, "message": "", "authors": [{"user": cur.author}],
                            "date": cur.date})
                cur = repo.commits[cur.parent] if cur.parent else None
            return self._json(out)
        if method == "POST" and op == "preupload" and len(rest) == 2:
            repo = self._repo(repo_type, repo_id, write=True)
            files = hub._resolve(repo, rev).files
            out = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                    "oid": git_blob_oid(files[f["path"]]) if f["path"] in files else None}
                   for f in json.loads(self.body)["files"]]
            return self._json({"files": out})
        if method == "POST" and op == "commit" and len(rest) == 2:
            return self._commit(self._repo(repo_type, repo_id, write=True), rev)
        if method == "GET" and op == "leaderboard" and repo_type == "dataset":
            self._repo(repo_type, repo_id)
            return self._leaderboard(repo_id)
        if method == "GET" and op == "discussions":
            repo = self._repo(repo_type, repo_id)
            if len(rest) == 1:
                return self._discussions(repo)
            pr = next((p for p in repo.prs if str(p["num"]) == rest[1]), None)
            if pr is None:
                raise HubError(404, None, "Discussion not found")
            return self._json({**self._discussion_json(repo, pr), "changes": {"base": pr["base"]},
                               "filesWithConflicts": [], "diff": "",
                               "events": [{"id": pr["sha"][:24], "type": "commit", "createdAt": pr["createdAt"],
                                           "author": {"name": pr.get("author", USER)},
                                           "data": {"subject": pr["title"], "oid": pr["sha"]}}]
                               + [{"id": f"status{i:020d}", "type": "status-change", "createdAt": at,
                                   "author": {"name": who}, "data": {"status": status}}
                                  for i, (status, at, who) in enumerate(pr.get("status_changes", []))]})
        return self._unknown(method)

    # ---------------------------------------------------------------- handlers
    def _create_repo(self) -> None:
        """HfApi.create_repo: 409 when it exists (exist_ok=True accepts that), else an empty repo."""
        if not self._authed():
            return self._json({"error": "Unauthorized"}, 401)
        body = json.loads(self.body or b"{}")
        repo_type = body.get("type") or "model"
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        url = f"{self.hub.url}/{_PREFIX.get(repo_type, '')}{repo_id}"
        if (repo_type, repo_id) in self.hub._repos:
            return self._json({"error": "You already created this repo", "url": url}, 409)
        self.hub.add_repo(repo_id, repo_type, files={}, private=bool(body.get("private")))
        return self._json({"url": url, "name": repo_id})

    def _whoami(self) -> None:
        header = self.headers.get("Authorization")
        if header is None or (self.hub.token is not None and header != f"Bearer {self.hub.token}"):
            raise HubError(401, None, "Invalid credentials in Authorization header")
        self._json({"type": "user", "id": "0" * 24, "name": USER, "fullname": "Fake User",
                    "email": "fake@example.com", "emailVerified": True, "isPro": False, "orgs": [],
                    "auth": {"type": "access_token",
                             "accessToken": {"displayName": "test", "role": "write", "createdAt": _now()}}})

    def _resolve_file(self, method: str, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._repo(repo_type, repo_id, download=True)
        commit = self.hub._resolve(repo, rev)
        if path not in commit.files:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on \"{rev}\"", commit=commit.sha)
        data = commit.files[path]
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{git_blob_oid(data)}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        rng = self.headers.get("Range") if method == "GET" else None
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if m and (m[1] or m[2]):
            size = len(data)
            start, end = (int(m[1]), int(m[2]) if m[2] else size - 1) if m[1] else (max(size - int(m[2]), 0), size - 1)
            end = min(end, size - 1)
            if start >= size or start > end:
                return self._send(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
            return self._send(206, data[start:end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{size}"})
        self._send(200, data, headers)

    def _tree(self, repo: Repo, commit: Commit, base: str) -> None:
        expand = self.query.get("expand", "").lower() in ("true", "1")
        recursive = self.query.get("recursive", "").lower() in ("true", "1")
        prefix = base + "/" if base else ""
        if base and (base in commit.files or not any(p.startswith(prefix) for p in commit.files)):
            raise HubError(404, "EntryNotFound", f"{base} is not a directory on \"{commit.sha}\"", commit=commit.sha)
        children: set[str] = set()
        for p in commit.files:
            if p.startswith(prefix):
                parts = p[len(prefix):].split("/")
                depth = len(parts) if recursive else 1
                children.update(prefix + "/".join(parts[:i]) for i in range(1, depth + 1))
        self._json([self.hub._entry(repo, commit, c, expand) for c in sorted(children)])

    def _commit(self, repo: Repo, rev: str) -> None:
        hub = self.hub
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        header = next((li["value"] for li in lines if li["key"] == "header"), {})
        create_pr = self.query.get("create_pr") in ("1", "true", "True")
        base = hub._resolve(repo, rev)  # 404 RevisionNotFound for an unknown branch
        branch = rev[len("refs/heads/"):] if rev.startswith("refs/heads/") else rev
        pr_target = re.fullmatch(r"refs/pr/(\d+)", rev)
        if not pr_target and branch not in repo.branches:
            raise HubError(400, None, f"Can only commit to a branch or a pull request ref, not {rev}")
        parent_commit = header.get("parentCommit")
        if parent_commit and parent_commit != base.sha:
            if not create_pr:
                raise HubError(412, None, "A commit has happened since. Please refresh and try again.")
            base = hub._resolve(repo, parent_commit)
        files = dict(base.files)
        for li in lines:
            key, value = li["key"], li["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if value["path"] not in files:
                    raise HubError(404, "EntryNotFound", "A file with this name doesn't exist")
                del files[value["path"]]
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                files = {p: b for p, b in files.items() if not p.startswith(folder)}
            elif key == "lfsFile":
                raise HubError(400, None, "FakeHub stores no LFS objects; upload files inline (regular mode)")
        title = header.get("summary") or "update"
        sha = hub._new_commit(repo, base.sha, files, title)
        prefix = f"{hub.url}/{_PREFIX[repo.repo_type]}{repo.repo_id}"
        out = {"success": True, "commitOid": sha, "commitUrl": f"{prefix}/commit/{sha}", "pullRequestUrl": None}
        if create_pr:
            num = max((pr["num"] for pr in repo.prs), default=0) + 1
            repo.prs.append({"num": num, "title": title, "ref": f"refs/pr/{num}", "sha": sha, "status": "open",
                             "base": f"refs/heads/{branch}", "createdAt": _now()})
            out["pullRequestUrl"] = f"{prefix}/discussions/{num}"
        elif pr_target:
            next(pr for pr in repo.prs if pr["num"] == int(pr_target[1]))["sha"] = sha
        else:
            repo.branches[branch] = sha
        self._json(out)

    def _leaderboard(self, dataset_id: str) -> None:
        """GET /api/datasets/{id}/leaderboard[?base_model=false]: the rows set_leaderboard stored,
        ranked by value; by default only models that declare no base_model (as the Hub)."""
        rows = self.hub._leaderboards.get(dataset_id)
        if rows is None:
            raise HubError(404, None, f"Dataset {dataset_id} has no leaderboard")
        everything = self.query.get("base_model", "").lower() == "false"
        rows = [r for r in rows if everything or not r.get("derivative")]
        ranked = sorted(rows, key=lambda r: -r["value"])
        self._json([{"rank": i + 1, "modelId": r["modelId"], "value": r["value"], "filename": r["filename"],
                     "verified": r.get("verified", False), "source": r.get("source"),
                     "author": {"type": "user", "name": r["modelId"].split("/")[0], "fullname": "",
                                "avatarUrl": "", "isPro": False},
                     **({"pullRequest": r["pullRequest"]} if r.get("pullRequest") else {}),
                     "notes": r.get("notes")} for i, r in enumerate(ranked)])

    def _discussion_json(self, repo: Repo, pr: dict) -> dict:
        return {"num": pr["num"], "title": pr["title"], "status": pr["status"], "isPullRequest": True,
                "createdAt": pr["createdAt"], "author": {"name": pr.get("author", USER)}, "pinned": False,
                "numComments": 1,
                "topReactions": [], "repo": {"name": repo.repo_id, "type": repo.repo_type}}

    def _discussions(self, repo: Repo) -> None:
        q = self.query
        prs = [pr for pr in repo.prs
               if q.get("type", "all") in ("all", "pull_request")
               and q.get("status", "all") in ("all", pr["status"])
               and q.get("author") in (None, USER)]
        prs.sort(key=lambda pr: -pr["num"])  # newest first, like the Hub
        self._json({"discussions": [self._discussion_json(repo, pr) for pr in prs], "count": len(prs), "start": 0,
                    "numClosedDiscussions": sum(pr["status"] != "open" for pr in repo.prs)})

    # ---------------------------------------------------------------- jobs
    def _jobs_api(self, method: str, namespace: str, rest: list[str]) -> None:
        hub = self.hub
        if not self._authed():
            raise HubError(401, None, "You must be authenticated to use Jobs")
        if namespace == "hardware" and not rest and method == "GET":
            return self._json([{"name": n, "prettyName": pn, "cpu": cpu, "ram": ram, "ephemeralStorage": "50 GB",
                                "accelerator": acc and {"type": "gpu", "model": acc, "quantity": "1",
                                                        "vram": "24 GB", "manufacturer": "Nvidia"},
                                "unitCostMicroUSD": c, "unitCostUSD": c / 1e6, "unitLabel": "minute"}
                               for n, pn, cpu, ram, acc, c in _HARDWARE])
        if not rest and method == "POST":
            return self._json(hub._job_info(hub._create_job(namespace, json.loads(self.body or b"{}"))))
        if not rest and method == "GET":
            q = parse_qs(urlsplit(self.path).query)
            stages, labels = set(q.get("stage", [])), [tuple(lb.split("=", 1)) for lb in q.get("label", [])]
            return self._json([hub._job_info(j) for j in hub._jobs.values() if j["namespace"] == namespace
                               and (not stages or j["status"]["stage"] in stages)
                               and all((j["request"].get("labels") or {}).get(k) == v for k, v in labels)])
        job = hub._jobs.get(unquote(rest[0]))
        if job is None or job["namespace"] != namespace:
            raise HubError(404, None, f"Job {unquote(rest[0])} not found in {namespace}")
        op = rest[1] if len(rest) > 1 else ""
        if method == "GET" and op == "":
            return self._json(hub._job_info(job))
        if method == "POST" and op == "cancel":
            if job["status"]["stage"] not in FINAL_JOB_STAGES:
                hub.set_job_stage(job["id"], "CANCELED")
            return self._json(hub._job_info(job))
        if method == "POST" and op == "duplicate":  # rerun_job
            return self._json(hub._job_info(hub._create_job(namespace, json.loads(json.dumps(job["request"])))))
        if method == "PUT" and op == "labels":  # update_job_labels replaces all labels
            job["request"]["labels"] = json.loads(self.body or b"{}").get("labels") or {}
            return self._json(hub._job_info(job))
        if method == "GET" and op == "metrics":  # fetch_job_metrics tolerates 406 (what the Hub says once finished)
            return self._json({"error": "FakeHub has no job metrics"}, 406)
        if method == "GET" and op == "logs":
            tail = int(self.query["tail"]) if self.query.get("tail") else None
            self._after = lambda: self._stream_logs(job["id"], tail)
            return None
        return self._unknown(method)

    def _stream_logs(self, job_id: str, tail: int | None) -> None:
        """Job logs as server-sent events, one `data: {"timestamp": ..., "data": line}` per line (the format
        HfApi._stream_sse_events parses), chunked. Replays the stored lines (the last `tail` ones if asked),
        then, unless the job is in a final stage, keeps the stream open and sends new lines as they come,
        ending when the job reaches a final stage or after `job_log_wait` seconds without a new line.
        The client decides follow / no-follow alone: with follow=False it stops after 5 s of silence
        (or at a line newer than the Date header), with follow=True it re-polls the job's stage and
        reconnects (skipping already seen lines) until the stage is final. Runs without the lock."""
        hub = self.hub
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with hub._lock:
            sent = max(len(hub._job_logs[job_id]) - tail, 0) if tail is not None else 0
        deadline = time.monotonic() + hub.job_log_wait
        try:
            while True:
                with hub._lock:
                    new = hub._job_logs[job_id][sent:]
                    final = hub._jobs[job_id]["status"]["stage"] in FINAL_JOB_STAGES
                for event in new:
                    data = f"data: {json.dumps(event)}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(new)
                if new:
                    deadline = time.monotonic() + hub.job_log_wait
                if final or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away (e.g. follow=False gave up after its read timeout)
            self.close_connection = True
