"""run-eval vs lm-evaluation-harness vs plain `inspect eval`: same model, prompts, settings.

    python3 bench/peer_cpu.py --model .tiny-model --n 400 --runs 3 \
        --lm-eval /tmp/lmeval-venv/bin/lm_eval

The workload is the one in issue #7: N four-option questions, the tiny model, 4 new tokens,
greedy, batch 32, whole process timed. The prompt text lm-eval gets is the exact chat text
Inspect's hf/ provider builds (rendered from a run-eval log with the model's chat template),
so both generate from the same token ids. Runs alternate (A B C A B C ...) so drift on the
machine hits all tools alike; the report gives medians and the ratios of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import timed  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="model folder (e.g. the tiny model)")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lm-eval", default="lm_eval", help="the lm_eval command (e.g. from its own venv)")
    ap.add_argument("--skip-inspect", action="store_true", help="leave out plain `inspect eval`")
    args = ap.parse_args()

    model = args.model.resolve()
    work = Path(tempfile.mkdtemp(prefix="peer-"))
    bench = write_mc(work / "mc", args.n)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RUN_EVAL_HOME": str(work / "home")}
    settings = ["--max-tokens", str(args.max_tokens), "--max-connections", str(args.batch)]
    run_eval = ["run-eval", f"hf/{model}", str(bench), *settings,
                "--output-dir", str(work / "out"), "--log-dir", str(work / "logs-run-eval")]
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
    tools = {"run-eval": run_eval, "lm-eval": lm_eval}
    if not args.skip_inspect:
        tools["inspect eval (hf/)"] = inspect
    times: dict[str, list[float]] = {k: [] for k in tools}
    for i in range(args.runs):
        for name, cmd in tools.items():
            times[name].append(timed(cmd, work, env))
            print(f"run {i + 1} {name}: {times[name][-1]:.1f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.n} questions, {args.max_tokens} new tokens, greedy, batch {args.batch}, model {model.name}")
    for k, v in times.items():
        print(f"  {k:20s} median {med[k]:6.1f} s  ({', '.join(f'{x:.1f}' for x in v)})  "
              f"{args.n / med[k]:5.1f} samples/s")
    print(f"  ratio run-eval / lm-eval: {med['run-eval'] / med['lm-eval']:.2f}")
    if "inspect eval (hf/)" in med:
        print(f"  ratio run-eval / inspect eval: {med['run-eval'] / med['inspect eval (hf/)']:.2f}")
    print(f"  lm-eval exact_match {accuracy_lm_eval(work / 'lm_out')}")
    print(f"  (work folder: {work})")


if __name__ == "__main__":
    main()
