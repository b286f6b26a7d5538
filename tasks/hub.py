"""Benchmarks on the Hugging Face Hub, pinned to a commit, through huggingface_hub only.

``org/name[@rev]``: ``rev`` (default ``main``) is resolved to its commit sha first
(``HfApi.dataset_info``), then eval.yaml and the data files are fetched at that sha into
the HF cache (``snapshot_download``), so the eval.yaml, the data and the recorded
``dataset.revision`` are one commit. The HF cache, ``HF_HUB_OFFLINE`` and ``HF_TOKEN`` /
``hf auth login`` are respected because the library does the work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from run_eval import safeyaml
from run_eval.tasks.errors import BenchmarkError

SHA = re.compile(r"^[0-9a-f]{40}$")
SPEC_FILES = ["eval.yaml", "README.md"]


def hub_error(ex: BaseException, what: str, repo_id: str, repo_type: str = "dataset") -> str | None:
    """One line for a huggingface_hub error about `what` ("BENCHMARK 'org/x'"); None if not a Hub error."""
    from huggingface_hub import constants
    from huggingface_hub import errors as e

    kind = "datasets/" if repo_type == "dataset" else ""
    page = f"{constants.ENDPOINT}/{kind}{repo_id}"
    if isinstance(ex, e.GatedRepoError):
        return (f"{what}: the repo is gated; accept its conditions at {page} "
                "and log in (hf auth login, or set HF_TOKEN)")
    if isinstance(ex, e.RevisionNotFoundError):
        return f"{what}: no such revision on the Hub (check the branch, tag or commit after '@')"
    if isinstance(ex, e.RemoteEntryNotFoundError):
        return f"{what}: the file is not in the repo at that revision ({_short(ex)})"
    if isinstance(ex, e.RepositoryNotFoundError):
        return (f"{what}: no such {repo_type} repo on the Hub, or it is private and you are not "
                "logged in (hf auth login, or set HF_TOKEN)")
    if isinstance(ex, e.LocalTokenNotFoundError):
        return f"{what}: you are not logged in to the Hub; log in (hf auth login) or set HF_TOKEN"
    if isinstance(ex, e.OfflineModeIsEnabled) or isinstance(ex, e.LocalEntryNotFoundError):
        return (f"{what}: not in the local Hugging Face cache and the Hub cannot be used "
                "(HF_HUB_OFFLINE is set, or the network is down); run once online to cache it")
    if isinstance(ex, e.HfHubHTTPError):
        status = getattr(getattr(ex, "response", None), "status_code", None)
        if status in (401, 403):
            return f"{what}: the Hub refused access ({status}); log in with an account that can read it (hf auth login, or set HF_TOKEN)"
        return f"{what}: the Hub answered {status}: {_short(ex)}"
    name = type(ex).__name__
    if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "NetworkError",
                "ConnectionError", "TimeoutException"):
        return f"{what}: cannot reach the Hub at {constants.ENDPOINT} ({name}); check the network or HF_ENDPOINT"
    return None


def _short(ex: BaseException) -> str:
    text = " ".join(str(ex).split())
    return text if len(text) <= 200 else text[:199] + "…"


def split_rev(arg: str) -> tuple[str, str | None]:
    repo, sep, rev = arg.partition("@")
    return repo, (rev or None) if sep else None


def is_repo_id(value: str) -> bool:
    """Whether ``value`` is a Hub repo id with its owner, ``org/name``, by huggingface_hub's
    own rule (``validate_repo_id``; it also takes a bare legacy ``name``, which we do not).

    >>> is_repo_id("org/name"), is_repo_id("name"), is_repo_id("./folder"), is_repo_id("a/b/c")
    (True, False, False, False)
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if not isinstance(value, str) or value.count("/") != 1:
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def is_repo_ref(value: str) -> bool:
    """``org/name`` or ``org/name@revision`` (a branch, tag or commit).

    >>> is_repo_ref("org/name@main"), is_repo_ref("org/name@"), is_repo_ref("org/name")
    (True, False, True)
    """
    repo, sep, rev = value.partition("@")
    return is_repo_id(repo) and (not sep or (bool(rev) and not any(c.isspace() for c in rev)))


def resolve_commit(repo_id: str, revision: str | None, repo_type: str) -> str:
    """The commit sha of `revision` (default main): asked of the Hub, or offline read from the
    HF cache. huggingface_hub resolves it (a snapshot with no files) and, online, records a
    branch or tag in the cache as it does for any download, so that a later offline run
    (HF_HUB_OFFLINE=1) resolves the same name to the commit it was last seen at."""
    from huggingface_hub import constants, snapshot_download

    rev = revision or "main"
    if constants.HF_HUB_OFFLINE and SHA.match(rev):
        return rev
    return Path(snapshot_download(repo_id, repo_type=repo_type, revision=rev, allow_patterns=[])).name


def fetch(repo_id: str, sha: str, patterns: list[str] | None, repo_type: str = "dataset") -> Path:
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, repo_type=repo_type, revision=sha, allow_patterns=patterns))


def hub_benchmark_files(repo_id: str, revision: str | None, what: str) -> tuple[str, Path]:
    """(commit sha, snapshot folder holding eval.yaml and README.md at that commit)."""
    try:
        sha = resolve_commit(repo_id, revision, "dataset")
        root = fetch(repo_id, sha, SPEC_FILES)
    except Exception as ex:
        msg = hub_error(ex, what, repo_id)
        if msg is None:
            raise
        raise BenchmarkError(msg) from None
    if not (root / "eval.yaml").is_file():
        raise BenchmarkError(f"{what}: the dataset has no eval.yaml at its root (commit {sha})")
    return sha, root


def data_patterns(root: Path, configs: set[str]) -> list[str] | None:
    """The data files the given configs declare in the dataset card; None = unknown, fetch all."""
    card = read_card(root / "README.md")
    if card is None:
        return None
    raw_configs = card.get("configs")
    if not isinstance(raw_configs, list):
        return None
    declared = {c.get("config_name"): c for c in raw_configs if isinstance(c, dict)}
    patterns: list[str] = []
    for name in configs:
        config = declared.get(name)
        if config is None or "data_files" not in config:
            return None
        files = config["data_files"]
        for item in files if isinstance(files, list) else [files]:
            paths = item.get("path") if isinstance(item, dict) else item
            paths = [paths] if isinstance(paths, str) else paths
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                return None  # not a shape we know: fetch everything rather than guess
            patterns += paths
        data_dir = config.get("data_dir")
        if data_dir:
            if not isinstance(data_dir, str):
                return None
            patterns.append(f"{data_dir.rstrip('/')}/**")
    return sorted(set(patterns)) + SPEC_FILES


def read_card(readme: Path) -> dict[str, Any] | None:
    """The dataset card's YAML front matter (between the first two ``---`` lines), read
    with safeyaml's limits; None when there is none or it is not a readable mapping (the
    caller then knows nothing from the card, which is never an error by itself)."""
    if not readme.is_file():
        return None
    try:
        with open(readme, "rb") as f:
            head = f.read(safeyaml.MAX_BYTES)
    except OSError:
        return None
    text = head.decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    parts = text.split("---", 2)
    if len(parts) < 3:
        return None  # no closing --- within the size limit
    try:
        card = safeyaml.loads(parts[1])
    except safeyaml.YamlInputError:
        return None
    return card if isinstance(card, dict) else None


def fetch_data(repo_id: str, sha: str, root: Path, configs: set[str], what: str) -> Path:
    try:
        return fetch(repo_id, sha, data_patterns(root, configs))
    except Exception as ex:
        msg = hub_error(ex, what, repo_id)
        if msg is None:
            raise
        raise BenchmarkError(msg) from None
