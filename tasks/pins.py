"""Revision pins: the exact bytes a run evaluated (benchmark data, local model folders)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_files(root: Path) -> list[Path]:
    """Regular files under root, sorted, skipping hidden files and folders (.git, caches)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.is_file():
                out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def tree_digest(root: Path) -> str:
    """``sha256:<hex>`` over (relative path, file sha256) of every file under root.

    Stable across runs and machines; changes when any byte, name or file changes.
    """
    h = hashlib.sha256()
    for p in tree_files(root):
        rel = p.relative_to(root).as_posix()
        h.update(f"{rel}\0{file_sha256(p)}\n".encode())
    return "sha256:" + h.hexdigest()


def git_commit_if_clean(root: Path) -> str | None:
    """The HEAD commit when root is the top of a git work tree with nothing changed or
    untracked, and every file a run may read from it (those :func:`tree_files` lists) is in
    that commit: a data file git ignores is not, so such a folder is pinned by content."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60
        )

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
            return None
        status = git("status", "--porcelain", "--untracked-files=all")
        if status.returncode != 0 or status.stdout.strip():
            return None
        tracked = git("ls-files", "-z")
        if tracked.returncode != 0:
            return None
        in_commit = set(tracked.stdout.split("\0"))
        if any(p.relative_to(root).as_posix() not in in_commit for p in tree_files(root)):
            return None  # an ignored file (data, most likely) that the commit does not hold
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return commit if head.returncode == 0 and len(commit) in (40, 64) else None


def display_path(path: Path) -> str:
    """A path as a user would type it: relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
