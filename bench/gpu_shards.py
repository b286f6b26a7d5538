"""`run-eval --shards N` against one vLLM server: the model loads once, the harness spreads.

    python3 bench/gpu_shards.py --model Qwen/Qwen2.5-0.5B-Instruct --n 2000 --shards 1,2,4,8 --runs 3
    python3 bench/gpu_shards.py --model Qwen/Qwen2.5-0.5B-Instruct --dry-run      # print the commands only
    python3 bench/gpu_shards.py --model ~/.cache/run-eval-tests/tiny-model --server-args "--max-model-len 256"

For a GPU machine (issue #22). One ``vllm serve MODEL`` (vLLM's OpenAI-compatible server)
is started and waited for (``GET /v1/models`` answers); then ``run-eval
openai-api/vllm/MODEL BENCH`` runs against it with ``--shards N`` for each N (N = 1 is
the plain run, one Inspect process), whole process timed, rounds alternating (1 2 4 8 1 2
4 8 ...) so drift hits every N alike, after one warm-up run that is not counted.

Why: with the model behind a server, an Inspect process only sends requests and does the
harness's per-sample work (solver, scorer, transcript, log writing: ~10-19 ms a sample
on one Python thread, BENCHMARKS.md sections 1 and 7). A fast GPU answers faster than one
process can do that work, so one process leaves the GPU waiting; N processes split the
samples and do that work on N cores, while the model stays loaded once, in the server,
which batches every process's requests together (continuous batching).

The total concurrency is held constant: each of the N processes gets ``--connections / N``
(``--max-connections``), so a gain comes from spreading the harness, not from sending the
server more requests at once. Inspect's ``openai-api/<service>/<model>`` provider reads
``<SERVICE>_BASE_URL`` and ``<SERVICE>_API_KEY`` (here VLLM_BASE_URL, VLLM_API_KEY); they
are set for the run-eval processes only. ``--base-url`` uses a server that is already
running instead of starting one. The benchmark is bench/make_mc.py's N four-option
questions unless ``--benchmark`` names another.

Reported: median seconds, samples/s, ratio to N = 1, and each N's merged value (greedy on
vLLM: equal values are expected but not guaranteed, since vLLM's batching is not bitwise
deterministic; a difference is printed, not hidden).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import timed  # noqa: E402
from make_mc import write as write_mc  # noqa: E402


def server_command(args: argparse.Namespace) -> list[str]:
    return ["vllm", "serve", args.model, "--port", str(args.port), "--served-model-name", args.served_name,
            "--api-key", args.api_key, "--seed", "0", *shlex.split(args.server_args)]


def run_command(args: argparse.Namespace, bench: str, work: Path, n: int) -> list[str]:
    model_id = ["--model-id", args.model] if args.model.count("/") == 1 and not Path(args.model).exists() else []
    return [*shlex.split(args.run_eval), f"openai-api/{args.service}/{args.served_name}", bench,
            "--max-tokens", str(args.max_tokens), "--max-connections", str(max(1, args.connections // n)),
            *(["--shards", str(n)] if n > 1 else []), *model_id,
            "--output-dir", str(work / f"out-{n}"), "--log-dir", str(work / f"logs-{n}")]


def client_env(args: argparse.Namespace, base_url: str, work: Path) -> dict[str, str]:
    prefix = args.service.upper().replace("-", "_")
    return {**os.environ, f"{prefix}_BASE_URL": base_url, f"{prefix}_API_KEY": args.api_key,
            "RUN_EVAL_HOME": str(work / "home"), "TOKENIZERS_PARALLELISM": "false"}


def wait_for_server(base_url: str, api_key: str, proc: subprocess.Popen | None, timeout: float) -> None:
    """Until GET {base_url}/models answers 200; exits if the server process ends or time runs out."""
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"})
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"the vLLM server ended (exit status {proc.returncode}) before it answered; see its log")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(2)
    sys.exit(f"no answer from {base_url}/models within {timeout:.0f} s")


def merged_value(log_dir: Path, sharded: bool) -> str:
    """The first metrics of the run's (merged) log, as printed."""
    from inspect_ai.log import read_eval_log

    if sharded:
        run = max((d for d in log_dir.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
        log = next(run.glob("*.eval"))
    else:
        log = max(log_dir.glob("*.eval"), key=lambda f: f.stat().st_mtime)
    metrics = read_eval_log(str(log), header_only=True).results.scores[0].metrics
    return ", ".join(f"{k} {m.value:.4f}" for k, m in metrics.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("--model", required=True, help="what vllm serves: a Hub id or a folder")
    ap.add_argument("--served-name", help="the name the server gives the model (default: --model, or a folder's name)")
    ap.add_argument("--benchmark", help="a benchmark folder or Hub dataset id (default: bench/make_mc.py's questions)")
    ap.add_argument("--n", type=int, default=2000, help="questions in the default benchmark (default 2000)")
    ap.add_argument("--shards", default="1,2,4,8", help="comma-separated N (1: the plain run; default 1,2,4,8)")
    ap.add_argument("--runs", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--connections", type=int, default=256,
                    help="total concurrent requests, split evenly over the N processes (default 256)")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--service", default="vllm", help="the <service> of openai-api/<service>/<model> (default vllm)")
    ap.add_argument("--api-key", default="run-eval-bench", help="the key the server requires (default run-eval-bench)")
    ap.add_argument("--server-args", default="", help="more arguments for `vllm serve`, as one string")
    ap.add_argument("--server-timeout", type=float, default=1200, help="seconds to wait for the server (default 1200)")
    ap.add_argument("--base-url", help="use this running server (e.g. http://127.0.0.1:8000/v1) instead of starting one")
    ap.add_argument("--run-eval", default="run-eval", help="the run-eval command (default: run-eval on PATH)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands and environment, run nothing")
    args = ap.parse_args()
    # a folder is served under its name (a path would put slashes in openai-api/vllm/<name>)
    args.served_name = args.served_name or (Path(args.model).name if Path(args.model).is_dir() else args.model)
    counts = [int(x) for x in args.shards.split(",") if x.strip()]
    if not counts or any(n < 1 for n in counts):
        ap.error("--shards: comma-separated whole numbers >= 1")

    work = Path(tempfile.mkdtemp(prefix="gpu-shards-"))
    bench = args.benchmark or str(work / "mc")
    base_url = args.base_url or f"http://127.0.0.1:{args.port}/v1"
    env = client_env(args, base_url, work)
    commands = {n: run_command(args, bench, work, n) for n in counts}
    if args.dry_run:
        if not args.base_url:
            print("server:  " + shlex.join(server_command(args)))
        if not args.benchmark:
            print(f"bench:   python3 {HERE / 'make_mc.py'} {bench} --n {args.n}")
        prefix = args.service.upper().replace("-", "_")
        print(f"env:     {prefix}_BASE_URL={base_url} {prefix}_API_KEY={args.api_key} RUN_EVAL_HOME={work / 'home'}")
        for n, cmd in commands.items():
            print(f"N={n}:     " + shlex.join(cmd))
        shutil.rmtree(work)
        return

    import importlib.util

    if importlib.util.find_spec("openai") is None:  # Inspect's openai-api provider needs it (vLLM brings it)
        sys.exit("the openai package is not installed here (pip install openai; vllm depends on it)")
    if not args.benchmark:
        write_mc(work / "mc", args.n)
    server = None
    if not args.base_url:
        if shutil.which("vllm") is None:
            sys.exit("vllm is not installed here (pip install vllm), or pass --base-url of a running server")
        log = open(work / "vllm.log", "w")
        print(f"starting: {shlex.join(server_command(args))} (log {work / 'vllm.log'})", flush=True)
        t = time.perf_counter()
        server = subprocess.Popen(server_command(args), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_server(base_url, args.api_key, server, args.server_timeout)
        if server is not None:
            print(f"server ready after {time.perf_counter() - t:.0f} s (model loaded once)", flush=True)
        took = timed(commands[counts[0]], work, env)  # warm-up: not counted
        print(f"warm-up (N={counts[0]}): {took:.1f} s", flush=True)
        times: dict[int, list[float]] = {n: [] for n in counts}
        for i in range(args.runs):
            for n in counts:
                times[n].append(timed(commands[n], work, env))
                print(f"run {i + 1} N={n}: {times[n][-1]:.1f} s", flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    total = args.n if not args.benchmark else None
    med = {n: statistics.median(v) for n, v in times.items()}
    base = med[counts[0]]
    print(f"\n{args.served_name} on vLLM, {args.max_tokens} new tokens, {args.connections} connections in all, "
          f"{os.cpu_count()} cores; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for n in counts:
        rate = f"{total / med[n]:7.1f} samples/s" if total else ""
        print(f"  --shards {n}: median {med[n]:7.1f} s ({', '.join(f'{x:.1f}' for x in times[n])}) {rate}  "
              f"ratio to --shards {counts[0]}: {med[n] / base:.2f}  [{merged_value(work / f'logs-{n}', n > 1)}]")
    print(json.dumps({"medians_s": med, "runs_s": times}))
    print(f"  (work folder: {work})")


if __name__ == "__main__":
    main()
