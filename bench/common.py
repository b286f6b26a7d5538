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


def timed_lines(cmd: list[str], cwd: Path | None, env: dict[str, str]) -> tuple[float, float, list[tuple[float, str]]]:
    """Like timed, and also when (``time.time()``) the run started and when each output line came.

    The line times let a script split a run into phases from what the command prints (set
    PYTHONUNBUFFERED=1 in env so that lines come when printed, not when a buffer fills).
    """
    start_wall, t = time.time(), time.perf_counter()
    lines: list[tuple[float, str]] = []
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.time(), line.rstrip("\n")))
    proc.wait()
    took = time.perf_counter() - t
    if proc.returncode != 0:
        text = "\n".join(line for _, line in lines)
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{text[-3000:]}")
    return took, start_wall, lines
