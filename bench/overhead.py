"""Harness overhead: `run-eval` vs plain `inspect eval`, same task, same instant model.

    pip install -e bench/echo_provider      # the echo/ model (instant, deterministic)
    python3 bench/overhead.py --n 1000 10000 --runs 3

For each N: a multiple-choice benchmark of N questions (bench/make_mc.py), then
alternating whole-process runs of
  A  inspect eval mc/task.py --model echo/fixed         (Inspect's defaults)
  B  run-eval echo/fixed mc                             (run-eval's defaults: parse, pin,
                                                          evaluate, sign, write the result)
Reports the median wall time of each, the ratio B/A, and time per sample, so that linear
growth shows as equal per-sample times at 1k and 10k. Add --taskset 0 to pin both to one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import timed  # noqa: E402
from make_mc import write as write_mc  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--taskset", metavar="CPUS", help="run both under taskset -c CPUS")
    args = ap.parse_args()
    try:
        import echo_provider  # noqa: F401
    except ImportError:
        sys.exit("the echo/ model is missing: pip install -e bench/echo_provider")

    work = Path(tempfile.mkdtemp(prefix="overhead-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RUN_EVAL_HOME": str(work / "home")}
    pin = ["taskset", "-c", args.taskset] if args.taskset else []
    rows = []
    for n in args.n:
        write_mc(work / f"mc{n}", n)
        cmds = {
            "inspect eval": [*pin, "inspect", "eval", f"mc{n}/task.py", "--model", "echo/fixed", "--seed", "42",
                             "--log-dir", f"logs-inspect-{n}", "--display", "plain"],
            "run-eval": [*pin, "run-eval", "echo/fixed", f"mc{n}", "--log-dir", f"logs-run-eval-{n}",
                         "--output-dir", f"out-{n}"],
        }
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for i in range(args.runs):
            for name, cmd in cmds.items():
                times[name].append(timed(cmd, work, env))
                print(f"n={n} run {i + 1} {name}: {times[name][-1]:.2f} s", flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((n, med, times))
    print(f"\n{'samples':>8} {'inspect eval':>14} {'run-eval':>10} {'ratio':>6} {'ms/sample A':>12} {'ms/sample B':>12}")
    for n, med, _ in rows:
        a, b = med["inspect eval"], med["run-eval"]
        print(f"{n:>8} {a:>12.2f} s {b:>8.2f} s {b / a:>6.2f} {1000 * a / n:>12.2f} {1000 * b / n:>12.2f}")
    print(f"(medians of {args.runs} alternating runs; work folder {work})")


if __name__ == "__main__":
    main()
