"""Instructions per verified entry, counted by valgrind: a measure the VM's load does not move.

    python3 bench/make_signed_results.py /tmp/vi -n 200
    python3 bench/verify_instructions.py --dir /tmp/vi [--against CHECKOUT ...]

For this tree (and each ``--against`` checkout, whose code is put first on the path) it
counts the instructions of ``verify_paths(DIR, jobs=1)`` run once and run three times in one
process (after one untimed call, objects frozen so the collector's passes do not count), and
prints (three − one) / 2 / entries: the per-entry cost with start-up and the first call's
imports taken out. Then, with ``--command``, the instructions of the whole
``run-eval verify --jobs 1`` command on one file and on the folder (start-up included).
Needs valgrind (Debian: ``apt install valgrind``); takes a minute or two per tree.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """\
import gc, inspect, sys
from pathlib import Path
from run_eval.signing.trust import load_trust_stores
from run_eval.signing.verify import verify_paths
folder = Path(sys.argv[1])
store = load_trust_stores([folder / "trust.yaml"])
jobs = {"jobs": 1} if "jobs" in inspect.signature(verify_paths).parameters else {}
verify_paths([folder], trust=store, **jobs)
gc.freeze()
for _ in range(int(sys.argv[2])):
    verify_paths([folder], trust=store, **jobs)
"""


def instructions(cmd: list[str], env: dict[str, str]) -> int:
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          *cmd], env=env, capture_output=True, text=True, check=True)
    m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if not m:
        sys.exit(f"valgrind printed no instruction count for {' '.join(cmd)}")
    return int(m.group(1).replace(",", ""))


def package_path(checkout: Path) -> str:
    """A folder where ``import run_eval`` finds ``checkout``'s code (a run_eval link to it)."""
    link_dir = Path(tempfile.mkdtemp(prefix="vi-pkg-"))
    (link_dir / "run_eval").mkdir()
    for name in ("__init__.py", "__main__.py"):  # the package's own files
        (link_dir / "run_eval" / name).symlink_to(checkout / "run_eval" / name)
    for sub in checkout.iterdir():  # its subpackages (runner/, signing/, ...: run_eval.runner, ...)
        if sub.is_dir() and (sub / "__init__.py").is_file() and sub.name not in ("run_eval", "tests", "bench"):
            (link_dir / "run_eval" / sub.name).symlink_to(sub)
    return str(link_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="signed result files and trust.yaml "
                                                             "(bench/make_signed_results.py)")
    ap.add_argument("--against", type=Path, action="append", default=[], help="another checkout to count too")
    ap.add_argument("--command", action="store_true", help="also count the whole `run-eval verify --jobs 1` command")
    args = ap.parse_args()
    folder = args.dir.resolve()
    files = sorted((folder / ".eval_results").glob("*.yaml"))
    entries = sum(f.read_text(encoding="utf-8").count("verifyToken:") for f in files)
    probe = Path(tempfile.mkdtemp(prefix="vi-")) / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    home = tempfile.mkdtemp(prefix="vi-home-")
    print(f"{len(files)} files, {entries} entries in {folder}")
    for tree in [REPO, *[a.resolve() for a in args.against]]:
        env = {**os.environ, "RUN_EVAL_HOME": home, "PYTHONPATH": package_path(tree)}
        once = instructions([sys.executable, str(probe), str(folder), "1"], env)
        thrice = instructions([sys.executable, str(probe), str(folder), "3"], env)
        print(f"{tree}: {(thrice - once) / 2 / entries / 1e6:.3f} M instructions per entry (verify_paths, one worker)")
        if args.command:
            cli = [sys.executable, "-m", "run_eval", "verify", "--jobs", "1", "--trust", str(folder / "trust.yaml")]
            print(f"  run-eval verify --jobs 1 FILE: {instructions([*cli, str(files[0])], env) / 1e6:,.0f} M")
            print(f"  run-eval verify --jobs 1 DIR:  {instructions([*cli, str(folder)], env) / 1e6:,.0f} M")


if __name__ == "__main__":
    main()
