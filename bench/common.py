"""Shared by the bench scripts: time a whole command, stop with its output when it fails."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], cwd: Path | None, env: dict[str, str]) -> float:
    """Wall seconds of one run of cmd (start-up included); exits with its output if it fails."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}")
    return took
