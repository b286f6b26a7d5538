"""How `run-eval leaderboard BENCHMARK` grows with the number of models on the Hub's board.

A loopback Hub (tests/hubserver.py) holds N model repos, each with a signed result for
org/bench (three methods: max_tokens 256, 512 or 1024, so three groups), and the dataset's
leaderboard naming all N. The command reads every file (a bounded pool of parallel
downloads through a fresh HF cache), decides each token, groups and ranks. Each N is timed
`--runs` times, start-up included; the median is reported with its per-model cost.

    python bench/leaderboard_scale.py --models 100,300,1000 --runs 3 --workers 1,8
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hubserver import FakeHub  # noqa: E402

from run_eval.signing.keys import generate_key  # noqa: E402
from run_eval.signing.results import dump_raw  # noqa: E402
from run_eval.signing.token import build_claims, sign  # noqa: E402

TOKEN = "hf_bench_token"


def result_file(i: int, key, rng: random.Random) -> bytes:
    model = f"org/model-{i:05d}"
    n = 1000
    value = rng.randint(300, 900) / n
    entry = {"dataset": {"id": "org/bench", "task_id": "default", "revision": "b" * 40}, "value": value,
             "date": "2026-11-01T00:00:00Z", "notes": "bench"}
    max_tokens = (256, 512, 1024)[i % 3]
    claims = build_claims(
        entry, model={"id": model, "revision": hashlib.sha256(model.encode()).hexdigest()[:40], "spec": f"hf/{model}"},
        dataset={"id": "org/bench", "revision": "b" * 40, "pin": "hub", "task_id": "default", "config": "default",
                 "split": "test"},
        spec={"sha256": "c" * 64, "eval_yaml_sha256": "d" * 64, "task": {"id": "default"}},
        metric={"name": "accuracy", "value": value, "stderr": (value * (1 - value) / (n - 1)) ** 0.5,
                "samples": n, "total_samples": n, "subset": None},
        run={"seed": 42, "epochs": 1, "epoch_reducer": "mean", "limit": None, "decoding": "greedy",
             "backend": "hf-batch", "generate_config": {"seed": 42, "max_tokens": max_tokens},
             "model_args": {"do_sample": False}, "packages": {"run-eval": "0.1.0"}},
        evidence={"log_sha256": "e" * 64, "samples_sha256": "f" * 64},
        executor={"kind": "local", "job_id": None, "flavor": None})
    return dump_raw([{**entry, "verifyToken": sign(claims, key)}]).encode()


def time_board(hub: FakeHub, work: Path, runs: int, workers: int, max_commits: int | None = None) -> list[float]:
    exe = shutil.which("run-eval") or "run-eval"
    times = []
    for r in range(runs):
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN,
               "HF_HOME": str(work / f"hf-{r}"), "RUN_EVAL_HOME": str(work / "home")}
        start = time.perf_counter()
        extra = [] if max_commits is None else ["--max-commits", str(max_commits)]
        proc = subprocess.run([exe, "leaderboard", "org/bench", "--json", "--workers", str(workers), *extra], env=env,
                              capture_output=True, text=True, cwd=work, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="100,300,1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", default="8", help="comma-separated: each N is timed with each (side by side)")
    ap.add_argument("--max-commits", default="default",
                    help="comma-separated --max-commits values (history read per model; 0: none; default: the "
                    "command's own), each timed side by side")
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="run-eval-bench-lb-") as tmp:
        work = Path(tmp)
        key = generate_key(work / "key.pem")
        print(f"{'models':>7} {'workers':>7} {'history':>8} {'median s':>9} {'s/model':>8}  runs")
        for n in (int(x) for x in args.models.split(",")):
            hub = FakeHub(token=TOKEN)
            hub.start()
            hub.add_repo("org/bench", "dataset", files={"README.md": b"x"})
            for i in range(n):
                hub.add_repo(f"org/model-{i:05d}", "model",
                             files={"README.md": b"x", ".eval_results/bench.yaml": result_file(i, key, rng)})
            hub.set_leaderboard("org/bench", [{"modelId": f"org/model-{i:05d}", "value": 0.5,
                                               "filename": "bench.yaml"} for i in range(n)])
            for workers in (int(w) for w in args.workers.split(",")):
                for mc in args.max_commits.split(","):
                    times = time_board(hub, work, args.runs, workers, None if mc == "default" else int(mc))
                    med = statistics.median(times)
                    print(f"{n:>7} {workers:>7} {mc:>8} {med:>9.2f} {med / n:>8.4f}  "
                          f"{', '.join(f'{t:.2f}' for t in times)}")
            hub.stop()


if __name__ == "__main__":
    main()
