"""End-to-end samples/s on a bigger random-initialised model: run-eval vs plain generate.

    python3 bench/gpu_throughput.py --tokenizer .tiny-model --device cuda --dtype bfloat16 \
        --hidden 2048 --layers 16 --n 1024 --batch 128 --new-tokens 32      # ~0.6B params

Made for the lent GPU machine (no weights travel: the model is created there from a seed;
only the tiny model's tokenizer and chat template are used). It also runs on a CPU with a
small model (--hidden 256 --layers 4 --n 96 --batch 32 --device cpu) to check the script.

Measured, each as marginal throughput between --base and --n samples (start-up and model
loading cancel out):
  generate   plain batched transformers.generate over the same chat prompts, in order
  run-eval   `run-eval hf/MODEL BENCH` (its default hf-batch/ backend), whole process
  inspect    `run-eval ... --backend inspect` (Inspect's own hf/ provider)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import timed  # noqa: E402
from make_mc import write as write_mc  # noqa: E402


def make_model(out: Path, tokenizer_dir: Path, hidden: int, layers: int, dtype: str, seed: int) -> int:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 64 * 64,
                         num_hidden_layers=layers, num_attention_heads=max(1, hidden // 128),
                         num_key_value_heads=max(1, hidden // 128), max_position_embeddings=2048,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.eos_token_id, torch_dtype=dtype)
    model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    for extra in ("chat_template.jinja",):
        if (tokenizer_dir / extra).exists():
            shutil.copy(tokenizer_dir / extra, out / extra)
    return sum(p.numel() for p in model.parameters())


def plain_generate(model_dir: Path, prompts: list[str], batch: int, new_tokens: int, device: str) -> float:
    """Seconds for plain batched generate over prompts (left padding, greedy), after a warm-up batch."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    tok.pad_token, tok.padding_side = tok.eos_token, "left"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), device_map=device)

    def run(chunk: list[str]) -> None:
        enc = tok(chunk, return_tensors="pt", padding=True).to(model.device)
        with torch.inference_mode():
            model.generate(**enc, max_new_tokens=new_tokens, do_sample=False)

    run(prompts[:batch])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(0, len(prompts), batch):
        run(prompts[i:i + batch])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t


def chat_prompts(bench: Path, model_dir: Path, n: int) -> list[str]:
    """The text Inspect's hf/ provider sends for the multiple_choice solver's prompt."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    rows = [json.loads(line) for line in (bench / "data" / "mc.jsonl").read_text().splitlines()[:n]]
    template = ("Answer the following multiple choice question. The entire content of your response should be "
                "of the following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of A,B,C,D.\n\n"
                "{question}\n\n{choices}")
    out = []
    for r in rows:
        choices = "\n".join(f"{chr(65 + i)}) {o}" for i, o in enumerate(r["options"]))
        user = template.format(question=r["question"], choices=choices)
        out.append(tok.apply_chat_template([{"role": "user", "content": user}], add_generation_prompt=True,
                                           tokenize=False))
    return out


def run_eval_seconds(model_dir: Path, bench: Path, limit: int, batch: int, new_tokens: int, device: str,
                     backend: str, work: Path) -> float:
    cmd = ["run-eval", f"hf/{model_dir}", str(bench), "--limit", str(limit), "--max-tokens", str(new_tokens),
           "--max-connections", str(batch), "-M", f"device={device}", "--backend", backend,
           "--log-dir", str(work / f"logs-{backend}-{limit}"), "--output-dir", str(work / f"out-{backend}-{limit}")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RUN_EVAL_HOME": str(work / "home")}
    return timed(cmd, None, env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", type=Path, required=True, help="folder with the tiny model's tokenizer")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--base", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--skip-inspect", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gpu-"))
    model_dir = work / "model"
    params = make_model(model_dir, args.tokenizer.resolve(), args.hidden, args.layers, args.dtype, seed=0)
    bench = write_mc(work / "mc", args.n)
    prompts = chat_prompts(bench, model_dir, args.n)
    g_base = plain_generate(model_dir, prompts[: args.base], args.batch, args.new_tokens, args.device)
    g_all = plain_generate(model_dir, prompts, args.batch, args.new_tokens, args.device)
    rows = {"generate": (g_base, g_all)}
    backends = ["auto"] + ([] if args.skip_inspect else ["inspect"])
    for backend in backends:
        rows["run-eval" if backend == "auto" else "inspect hf/"] = tuple(
            run_eval_seconds(model_dir, bench, k, args.batch, args.new_tokens, args.device, backend, work)
            for k in (args.base, args.n))
    print(f"\nmodel: {params / 1e6:.0f}M params ({args.layers} layers, hidden {args.hidden}, {args.dtype}) on "
          f"{args.device}; {args.n} prompts, {args.new_tokens} new tokens, greedy, batch {args.batch}")
    marginal = {k: (args.n - args.base) / (b - a) if b > a else None for k, (a, b) in rows.items()}
    for k, (a, b) in rows.items():
        m, g = marginal[k], marginal["generate"]
        rate = f"{m:7.1f} samples/s" if m else "n/a (the larger run was not slower: noise; use a larger --n)"
        ratio = f"  ratio to generate {m / g:.2f}" if m and g else ""
        print(f"  {k:12s} {args.base}: {a:7.1f} s  {args.n}: {b:7.1f} s  marginal {rate}{ratio}")
    print(f"  (work folder {work})")


if __name__ == "__main__":
    main()
