"""Throughput of `run-eval verify`, start-up included, against raw Ed25519 verification.

    python bench/verify_throughput.py [-n 1000] [--runs 5] [--cpu LIST] [--exe PATH] [--dir DIR]
                                      [--cache-bytecode] [--against CHECKOUT]

(a) times ``run-eval verify --jobs 1 --trust DIR/trust.yaml DIR`` (one worker: the path
    before #22) and ``run-eval verify --trust DIR/trust.yaml DIR`` (the default: one worker
    per core from 128 files on) side by side, alternating, as subprocesses (stdout to a
    pipe, as in a script or CI), median of --runs, over N result files of one signed entry
    each (made by bench/make_signed_results.py); with --cpu, under ``taskset -c LIST``;
(b) times ``run-eval verify FILE`` on one of those files (start-up cost), and
    ``run-eval --help``;
(c) times the per-entry path in this process: ``verify_paths`` (one worker) over N files of
    two entries each, best of --runs (no start-up, no printing);
(d) times raw Ed25519 verification of the same N signatures in this process with
    ``cryptography`` (no JWS, no YAML: the floor set by the crypto),
(e) with --against CHECKOUT (another tree of this repository, e.g. the one before a change:
    ``git worktree add --detach /tmp/vbase HEAD``), times that tree's default command too,
    alternating with (a)'s, so that both see the same load: the same command and venv, with
    CHECKOUT's code first on the path, laid out as setup.py installs it,
With --cache-bytecode the timed commands may write and reuse compiled bytecode (in a temp
folder, PYTHONPYCACHEPREFIX) even where PYTHONDONTWRITEBYTECODE is set, as an installed
package has it; without it they run under the caller's environment as it is.
Prints files/s, entries/s, the ratio all cores : one worker, raw verify/s and the
ratio of run-eval's rate to the raw rate.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def default_exe() -> list[str]:
    beside = Path(sys.executable).parent / "run-eval"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("run-eval")
    return [found] if found else [sys.executable, "-m", "run_eval"]


def time_command(cmd: list[str], runs: int, env: dict[str, str], cwd: Path,
                 expect_rc: int = 0) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of `runs` runs, in seconds.

    CPU time is reported besides wall time because a shared machine's other load shows in
    the wall time of a command pinned to one core."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=env, cwd=cwd)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != expect_rc:
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout.decode()[-2000:]}{proc.stderr.decode()[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def raw_verify_rate(files: list[Path]) -> tuple[int, float]:
    """Ed25519 verifications per second over the files' tokens (already parsed, key objects built once per key)."""
    import yaml
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    jobs = []
    keys: dict[str, Ed25519PublicKey] = {}
    for f in files:
        for entry in yaml.safe_load(f.read_text(encoding="utf-8")):
            header, payload, sig = entry["verifyToken"].split(".")
            x = json.loads(b64d(header))["jwk"]["x"]
            if x not in keys:
                keys[x] = Ed25519PublicKey.from_public_bytes(b64d(x))
            jobs.append((keys[x], b64d(sig), f"{header}.{payload}".encode()))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for key, sig, data in jobs:
            key.verify(sig, data)
        best = min(best, time.perf_counter() - t0)
    return len(jobs), len(jobs) / best


def per_entry_path(files: list[Path], out: Path, trust: Path, runs: int) -> tuple[float, int]:
    """Best time of ``verify_paths`` (one worker, this process) over len(files) result files
    of two entries each (file i and file i+1 of ``files`` together), and the entry count."""
    import gc

    from run_eval.signing.trust import load_trust_stores
    from run_eval.signing.verify import verify_paths

    folder = out / ".eval_results"
    folder.mkdir(parents=True)
    for i, f in enumerate(files):
        (folder / f.name).write_bytes(f.read_bytes() + files[(i + 1) % len(files)].read_bytes())
    store = load_trust_stores([trust])
    verify_paths([out], trust=store, jobs=1)  # warm: imports, the key cache, the page cache
    gc.freeze()
    best, count = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        report = verify_paths([out], trust=store, jobs=1)
        best = min(best, time.perf_counter() - t0)
        count = len(report.entries)
        assert report.ok and {e.status for e in report.entries} == {"verified"}
    return best, count


def installed_as(checkout: Path, out: Path) -> Path:
    """A folder to put first on PYTHONPATH so that ``run_eval`` is ``checkout``'s code, laid out
    as setup.py installs it (``checkout/signing`` as ``run_eval.signing``, ...)."""
    if not (checkout / "run_eval" / "__init__.py").is_file():
        sys.exit(f"--against {checkout}: not a checkout of run-eval (no run_eval/__init__.py)")
    package = out / "run_eval"
    package.mkdir(parents=True)
    for name in ("__init__.py", "__main__.py"):
        shutil.copy(checkout / "run_eval" / name, package / name)
    for part in ("runner", "tasks", "signing", "jobs", "safeyaml"):  # setup.py's PARTS
        (package / part).symlink_to(checkout / part, target_is_directory=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="result files (one entry each; default 1000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (median; default 5)")
    ap.add_argument("--cpu", default="", help="taskset CPU list, e.g. 0 (default: no taskset, every core)")
    ap.add_argument("--exe", help="the run-eval command (default: run-eval beside this python)")
    ap.add_argument("--dir", type=Path, help="use (or create) the result files here instead of a temp folder")
    ap.add_argument("--cache-bytecode", action="store_true",
                    help="let the timed commands cache compiled bytecode (in a temp folder), as an install does")
    ap.add_argument("--against", type=Path, metavar="CHECKOUT",
                    help="also time the default command of another checkout of this repository, alternating")
    args = ap.parse_args()

    exe = args.exe.split() if args.exe else default_exe()
    pin = ["taskset", "-c", args.cpu] if args.cpu and shutil.which("taskset") else []
    tmp = tempfile.TemporaryDirectory(prefix="verify-bench-")
    work = args.dir.resolve() if args.dir else Path(tmp.name) / "results"
    home = Path(tmp.name) / "home"  # an empty RUN_EVAL_HOME: only --trust counts
    home.mkdir(parents=True)
    env = {**os.environ, "RUN_EVAL_HOME": str(home)}
    if args.cache_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp.name) / "pycache")
    bytecode = "cached" if "PYTHONDONTWRITEBYTECODE" not in env else "compiled at each start (PYTHONDONTWRITEBYTECODE)"

    from make_signed_results import make

    files = sorted((work / ".eval_results").glob("*.yaml")) if (work / ".eval_results").is_dir() else []
    if len(files) != args.n:
        if files:
            sys.exit(f"{work} holds {len(files)} result files, not {args.n}")
        files = make(work, args.n)
    trust = work / "trust.yaml"

    folder_cmd = [*pin, *exe, "verify", "--trust", str(trust), str(work)]
    serial_cmd = [*pin, *exe, "verify", "--jobs", "1", "--trust", str(trust), str(work)]
    file_cmd = [*pin, *exe, "verify", "--trust", str(trust), str(files[0])]
    help_cmd = [*pin, *exe, "--help"]
    cwd = home  # a neutral folder: `python -m run_eval` must not pick up a checkout from the cwd
    other_env = {**env, "PYTHONPATH": str(installed_as(args.against.resolve(), Path(tmp.name) / "against"))} \
        if args.against else None
    time_command(folder_cmd, 1, env, cwd)  # warm the page cache
    if other_env:
        time_command(folder_cmd, 1, other_env, cwd)
    # alternate them, so that a change of the machine's other load touches each alike
    timed: dict[str, list[tuple[float, float]]] = {"serial": [], "parallel": [], "against": []}
    for _ in range(args.runs):
        timed["serial"].append(time_command(serial_cmd, 1, env, cwd))
        timed["parallel"].append(time_command(folder_cmd, 1, env, cwd))
        if other_env:
            timed["against"].append(time_command(folder_cmd, 1, other_env, cwd))
    serial, serial_cpu = (statistics.median(t[k] for t in timed["serial"]) for k in (0, 1))
    folder, folder_cpu = (statistics.median(t[k] for t in timed["parallel"]) for k in (0, 1))
    single, single_cpu = time_command(file_cmd, args.runs, env, cwd)
    helps, helps_cpu = time_command(help_cmd, args.runs, env, cwd)
    two_entry, two_entries = per_entry_path(files, Path(tmp.name) / "two", trust, args.runs)
    entries, raw_rate = raw_verify_rate(files)
    load = os.getloadavg()[0]
    n = len(files)

    print(f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), load average {load:.2f}; "
          f"python {sys.version.split()[0]}; pinned: {' '.join(pin) or 'no'}; bytecode {bytecode}")
    print(f"verify folder ({n} files, {entries} entries), median of {args.runs}, alternating:")
    print(f"  one worker  ({' '.join(serial_cmd[len(pin):len(pin) + len(exe) + 3])} ...): {serial:.3f} s wall, "
          f"{serial_cpu:.3f} s CPU; {n / serial:,.0f} files/s, {entries / serial:,.0f} entries/s")
    print(f"  all cores   ({' '.join(folder_cmd[len(pin):len(pin) + len(exe) + 1])} ...): {folder:.3f} s wall, "
          f"{folder_cpu:.3f} s CPU; {n / folder:,.0f} files/s, {entries / folder:,.0f} entries/s")
    print(f"  ratio files/s all cores : one worker = {serial / folder:.2f}")
    if other_env:
        other, other_cpu = (statistics.median(t[k] for t in timed["against"]) for k in (0, 1))
        print(f"  {args.against} (all cores, same command): {other:.3f} s wall, {other_cpu:.3f} s CPU; "
              f"{n / other:,.0f} files/s; ratio files/s this tree : that tree = {other / folder:.2f}")
    print(f"verify one file:  median {single:.3f} s wall, {single_cpu:.3f} s CPU   ({' '.join(file_cmd)})")
    print(f"run-eval --help:  median {helps:.3f} s wall, {helps_cpu:.3f} s CPU   ({' '.join(help_cmd)})")
    print(f"per-entry path (verify_paths in-process, one worker, best of {args.runs}): {two_entry:.3f} s per "
          f"{n:,} two-entry files ({two_entries} entries; {two_entry / two_entries * 1e6:.0f} us per entry)")
    print(f"raw Ed25519 verify (cryptography, in-process, best of 5): {raw_rate:,.0f} verify/s")
    print(f"ratio run-eval verify entries/s (wall, all cores) : raw verify/s (one core) = "
          f"{entries / folder / raw_rate:.3f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
