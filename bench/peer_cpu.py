"""run-eval (one process and --shards N) vs lm-evaluation-harness vs plain `inspect eval`.

    python3 bench/peer_cpu.py --model .tiny-model --n 400 --runs 3 \
        --lm-eval /tmp/lmeval-venv/bin/lm_eval --shards 2

The workload is the one in issue #7: N four-option questions, the tiny model, 4 new tokens,
greedy, batch 32, whole process timed. The prompt text lm-eval gets is the exact chat text
Inspect's hf/ provider builds (rendered from a run-eval log with the model's chat template),
so both generate from the same token ids. ``--shards 2`` (issue #22) adds ``run-eval ...
--shards 2``: N worker processes on this machine, merged into one signed result. Runs
alternate (A B C D A B C D ...) so drift on the machine hits all tools alike; the report
gives medians, the ratios of medians, and for the Inspect-based runs where the wall time
went (start-up until the first sample started, the samples, and what came after the last
sample: for a sharded run also the coordinator's preparation before it starts the workers,
and after the samples the workers' exit apart from the coordinator's merge and signing),
from the samples' own start and end times in the Inspect logs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import timed, timed_lines  # noqa: E402
from make_mc import write as write_mc  # noqa: E402

LM_TASK = """\
task: runeval_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: "{{{{target}}}}"
generation_kwargs:
  until: []
  max_gen_toks: {max_tokens}
  do_sample: false
  temperature: 0.0
filter_list:
  - name: answer
    filter:
      - function: regex
        regex_pattern: "ANSWER: ([A-D])"
      - function: take_first
metric_list:
  - metric: exact_match
"""




def lm_eval_prompts(log_dir: Path, model: Path, out: Path) -> Path:
    """The chat text Inspect's hf/ provider sends for each sample, from a run-eval log."""
    from inspect_ai.log import list_eval_logs, read_eval_log
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model))
    log = read_eval_log(list_eval_logs(str(log_dir))[0])
    rows = []
    for s in log.samples:
        user = next(m for m in s.messages if m.role == "user")
        prompt = tok.apply_chat_template([{"role": "user", "content": user.text}],
                                         add_generation_prompt=True, tokenize=False)
        rows.append({"id": s.id, "prompt": prompt, "target": str(s.target)})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def accuracy_lm_eval(out_dir: Path) -> float | None:
    for f in sorted(out_dir.rglob("results_*.json")):
        res = json.loads(f.read_text())["results"]["runeval_mc"]
        return next(v for k, v in res.items() if k.startswith("exact_match") and "stderr" not in k)
    return None


def sample_window(logs: list[Path]) -> tuple[float, float]:
    """Epoch seconds of the first sample's start and the last sample's end over these Inspect logs."""
    from inspect_ai.log import read_eval_log

    starts, ends = [], []
    for f in logs:
        for sample in read_eval_log(str(f)).samples or []:
            starts.append(datetime.fromisoformat(sample.started_at).timestamp())
            ends.append(datetime.fromisoformat(sample.completed_at).timestamp())
    return min(starts), max(ends)


def newest_logs(log_dir: Path, sharded: bool) -> list[Path]:
    """The Inspect logs the latest run wrote in log_dir: one process's newest .eval, or every
    shard log of the newest sharded run folder (``<time>-shards-<N>-<id>/<task>.shards/<k>/``)."""
    if sharded:
        run = max((d for d in log_dir.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
        return sorted(run.glob("*.shards/*/*.eval"))
    return [max(log_dir.glob("*.eval"), key=lambda f: f.stat().st_mtime)]


def merged_value(log_dir: Path) -> str:
    """The accuracy and stderr of the newest sharded run's merged log, as printed."""
    from inspect_ai.log import read_eval_log

    run = max((d for d in log_dir.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
    return scores_line(read_eval_log(str(next(run.glob("*.eval"))), header_only=True))


def scores_line(log) -> str:
    m = log.results.scores[0].metrics
    return f"accuracy {m['accuracy'].value:.4f}, stderr {m['stderr'].value:.4f}"


def phases(took: float, t0: float, lines: list[tuple[float, str]], logs: list[Path]) -> dict[str, float]:
    """Where one run's wall time went (seconds); see the module docstring."""
    first, last = sample_window(logs)
    out = {}
    started = next((t for t, line in lines if " shards running in " in line), None)
    if started is not None:  # a sharded run: the coordinator, then its workers' start-up
        out["coordinator"] = started - t0
        out["workers' start-up"] = first - started
    else:
        out["start-up"] = first - t0
    out["samples"] = last - first
    ended = [t for t, line in lines if line.startswith("run-eval: shard ") and line.endswith(": finished")]
    if started is not None and ended:  # the workers' exit, then the coordinator's merge and signing
        out["workers' exit"] = max(ended) - last
        out["merge+sign"] = t0 + took - max(ended)
    else:
        out["after"] = t0 + took - last
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="model folder (e.g. the tiny model)")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lm-eval", default="lm_eval", help="the lm_eval command (e.g. from its own venv)")
    ap.add_argument("--skip-inspect", action="store_true", help="leave out plain `inspect eval`")
    ap.add_argument("--shards", default="2",
                    help="comma-separated N > 1 for `run-eval ... --shards N` runs beside the plain run "
                         "(--shards 1); empty for none (default: 2)")
    args = ap.parse_args()
    shard_counts = [int(x) for x in args.shards.split(",") if x.strip()]
    if any(n < 2 for n in shard_counts):
        ap.error("--shards: each N must be 2 or more (the plain run is --shards 1)")

    model = args.model.resolve()
    work = Path(tempfile.mkdtemp(prefix="peer-"))
    bench = write_mc(work / "mc", args.n)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RUN_EVAL_HOME": str(work / "home"), "PYTHONUNBUFFERED": "1"}
    settings = ["--max-tokens", str(args.max_tokens), "--max-connections", str(args.batch)]

    def run_eval_cmd(shards: int) -> list[str]:
        tag = "" if shards == 1 else f"-shards-{shards}"
        return ["run-eval", f"hf/{model}", str(bench), *settings, *(["--shards", str(shards)] if shards > 1 else []),
                "--output-dir", str(work / f"out{tag}"), "--log-dir", str(work / f"logs-run-eval{tag}")]

    run_eval = run_eval_cmd(1)
    # prompts for lm-eval come from a first (warm-up) run of run-eval
    timed(run_eval, work, env)
    data = lm_eval_prompts(work / "logs-run-eval", model, work / "lm_prompts.jsonl")
    (work / "lm_task").mkdir()
    (work / "lm_task" / "runeval_mc.yaml").write_text(LM_TASK.format(data=data, max_tokens=args.max_tokens))
    lm_eval = [args.lm_eval, "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
               "--tasks", "runeval_mc", "--include_path", str(work / "lm_task"), "--batch_size", str(args.batch),
               "--device", "cpu", "--output_path", str(work / "lm_out"), "--seed", "42"]
    inspect = ["inspect", "eval", "mc/task.py",  # Inspect wants a relative path
               "--model", f"hf/{model}", "-M", "do_sample=false",
               "--max-tokens", str(args.max_tokens), "--max-connections", str(args.batch), "--seed", "42",
               "--log-dir", str(work / "logs-inspect"), "--display", "none"]
    # name -> (command, log folder, sharded?); lm-eval writes no Inspect log
    tools: dict[str, tuple[list[str], Path | None, bool]] = {"run-eval": (run_eval, work / "logs-run-eval", False)}
    for n in shard_counts:
        tools[f"run-eval --shards {n}"] = (run_eval_cmd(n), work / f"logs-run-eval-shards-{n}", True)
    tools["lm-eval"] = (lm_eval, None, False)
    if not args.skip_inspect:
        tools["inspect eval (hf/)"] = (inspect, work / "logs-inspect", False)
    times: dict[str, list[float]] = {k: [] for k in tools}
    split: dict[str, list[dict[str, float]]] = {k: [] for k in tools}
    for i in range(args.runs):
        for name, (cmd, log_dir, sharded) in tools.items():
            took, t0, lines = timed_lines(cmd, work, env)
            times[name].append(took)
            note = ""
            if log_dir is not None:
                split[name].append(phases(took, t0, lines, newest_logs(log_dir, sharded)))
                note = "  (" + ", ".join(f"{k} {v:.1f}" for k, v in split[name][-1].items()) + ")"
            print(f"run {i + 1} {name}: {took:.1f} s{note}  load average {os.getloadavg()[0]:.2f}", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.n} questions, {args.max_tokens} new tokens, greedy, batch {args.batch}, model {model.name}; "
          f"{os.cpu_count()} cores, load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for k, v in times.items():
        print(f"  {k:22s} median {med[k]:6.1f} s  ({', '.join(f'{x:.1f}' for x in v)})  "
              f"{args.n / med[k]:5.1f} samples/s")
        if split[k]:
            print(" " * 26 + "medians: " + ", ".join(f"{p} {statistics.median(d[p] for d in split[k]):.1f} s"
                                                     for p in split[k][0]))
    best = min((k for k in med if k.startswith("run-eval")), key=med.__getitem__)
    print(f"  ratio run-eval / lm-eval: {med['run-eval'] / med['lm-eval']:.2f}")
    print(f"  ratio run-eval (best: {best}) / lm-eval: {med[best] / med['lm-eval']:.2f}")
    for n in shard_counts:
        name = f"run-eval --shards {n}"
        print(f"  ratio {name} / run-eval (--shards 1): {med[name] / med['run-eval']:.2f}")
        print(f"  ratio {name} / lm-eval: {med[name] / med['lm-eval']:.2f}")
        if "inspect eval (hf/)" in med:
            print(f"  ratio {name} / inspect eval: {med[name] / med['inspect eval (hf/)']:.2f}")
    if "inspect eval (hf/)" in med:
        print(f"  ratio run-eval / inspect eval: {med['run-eval'] / med['inspect eval (hf/)']:.2f}")
    from inspect_ai.log import read_eval_log

    print(f"  run-eval: {scores_line(read_eval_log(str(newest_logs(work / 'logs-run-eval', False)[0]), header_only=True))}")
    for n in shard_counts:
        print(f"  run-eval --shards {n} (merged log): {merged_value(work / f'logs-run-eval-shards-{n}')}")
    print(f"  lm-eval exact_match {accuracy_lm_eval(work / 'lm_out')}")
    print(f"  (work folder: {work})")


if __name__ == "__main__":
    main()
