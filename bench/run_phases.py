"""Where one plain run's wall time goes, and what the interpreter's exit costs with and without
the objects frozen (what `run-eval` does as it ends: runner/cli/main.py).

    python3 bench/make_mc.py /tmp/mc --n 400
    python3 bench/run_phases.py --model ~/.cache/run-eval-tests/tiny-model --bench /tmp/mc [--runs 3]

Each run is a new process that imports torch, transformers and Inspect, then prepares
(benchmark, lint), runs Inspect's eval and signs, as `run-eval run` does (in-process, through
runner/run/execute.py), printing each phase's time; it then ends either normally or after
``gc.freeze()``. The two kinds of run alternate; the script prints each phase's median and
the exit's (process wall time less the time to its last line).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """\
import gc, os, sys, time
t0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
import torch; mark("import torch")
import transformers; mark("import transformers")
from inspect_ai import eval as _eval; mark("import inspect_ai")
from pathlib import Path
from run_eval.runner.run.execute import finish, prepare, run_logs, start
from run_eval.runner.run.options import RunOptions
from run_eval.runner.run.request import RunRequest
mark("import run_eval")
model, bench, work, freeze = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1"
req = RunRequest(f"hf/{model}", bench, RunOptions(max_tokens=4, max_connections=32), log_dir=work / "logs",
                 output_dir=work / "out", display="none")
p = prepare(req); mark("prepare (benchmark, lint)")
s = start(req, p); mark("start")
logs = run_logs(req, s, lambda m: None); mark("Inspect's eval (model load, samples, log)")
finish(req, s, logs); mark("finish (summaries, sign, write)")
prev = t0
for name, t in marks:
    print(f"{name}\\t{t - prev:.3f}")
    prev = t
tracked = len(gc.get_objects())
if freeze:
    gc.freeze()
print(f"objects\\t{tracked}", flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--bench", type=Path, required=True, help="a benchmark folder (bench/make_mc.py)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="phases-"))
    child = work / "child.py"
    child.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RUN_EVAL_HOME": str(work / "home")}
    phases: dict[str, list[float]] = {}
    exits: dict[str, list[float]] = {"normal": [], "frozen": []}
    for i in range(args.runs):
        for kind in ("normal", "frozen"):
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, str(child), str(args.model.resolve()), str(args.bench.resolve()),
                                     str(work / f"{kind}-{i}"), "1" if kind == "frozen" else "0"],
                                    stdout=subprocess.PIPE, text=True, env=env)
            assert proc.stdout is not None
            last = t0
            for line in proc.stdout:
                name, value = line.rstrip("\n").split("\t")
                last = time.perf_counter()
                if name != "objects":
                    phases.setdefault(name, []).append(float(value))
            if proc.wait() != 0:
                sys.exit(f"run {i} ({kind}) failed")
            exits[kind].append(time.perf_counter() - last)
            print(f"run {i + 1} {kind}: {time.perf_counter() - t0:.2f} s, exit {exits[kind][-1]:.2f} s, "
                  f"{line.strip().split()[-1]} objects; load average {os.getloadavg()[0]:.2f}")
    print(f"\nphases (median of {2 * args.runs} runs):")
    for name, values in phases.items():
        print(f"  {statistics.median(values):6.2f} s  {name}")
    for kind, values in exits.items():
        print(f"  exit, {kind}: median {statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
