"""How `run-eval lint` grows with a benchmark's size, and what lint adds to a run.

Builds the DROP-like benchmark (tests/fixtures/lint/drop_like's method: match(numeric=True),
a "." stop sequence) with N rows, and times `run-eval lint` on it (start-up, data loading
and building the tasks included), then `run-eval lint` vs `run-eval lint --model` (the
tokenizer rules). Each is run `--runs` times; the median is reported.

    python bench/lint_scale.py --rows 1000,10000 --runs 3 [--model hf/PATH]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fixtures" / "lint"))

from make_fixtures import write  # noqa: E402

EVAL_YAML = (HERE.parent / "tests" / "fixtures" / "lint" / "drop_like" / "eval.yaml").read_text()


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(proc.stderr)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", help="also time lint --model MODEL (an hf/ local folder)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("| rows | lint (s) | per 1,000 rows (s) |" + (" lint --model (s) |" if a.model else ""))
        print("| ---: | ---: | ---: |" + (" ---: |" if a.model else ""))
        for n in map(int, a.rows.split(",")):
            rows = [{"id": f"q{i}", "question": f"What is {i} divided by 4?", "answer": f"{i / 4:g}"}
                    for i in range(1, n + 1)]
            bench = write(Path(tmp) / f"drop{n}", EVAL_YAML, rows)
            t = timed(["run-eval", "lint", str(bench)], a.runs)
            line = f"| {n:,} | {t:.2f} | {t / n * 1000:.2f} |"
            if a.model:
                line += f" {timed(['run-eval', 'lint', str(bench), '--model', a.model], a.runs):.2f} |"
            print(line)


if __name__ == "__main__":
    main()
