"""Make N signed result files for benchmarking `run-eval verify`.

    python bench/make_signed_results.py OUT_DIR [-n 1000] [--keys 1] [--trust-role executor]

Writes OUT_DIR/.eval_results/bench-00000.yaml ... (one signed entry each), built the way
`run-eval run` builds them (runner/run/record.py): an ``EvalResultEntry`` written with
``eval_result_entries_to_yaml``, claims from ``run_eval.signing.token.build_claims`` with a full
set of model/dataset/spec/metric/run/evidence/executor claims, signed with
``run_eval.signing.token.sign`` and dumped with ``run_eval.signing.results.dump_raw``. The signing keys are
throwaway keys made with ``run_eval.signing.keys.generate_key`` in OUT_DIR/keys/ (never your own
key); OUT_DIR/trust.yaml trusts them (pass it to ``run-eval verify --trust``).
"""

from __future__ import annotations

import argparse
import hashlib
import random
from pathlib import Path

from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml  # noqa: E402

from run_eval.signing.keys import SigningKey, generate_key  # noqa: E402
from run_eval.signing.results import RESULTS_DIR, dump_raw  # noqa: E402
from run_eval.signing.token import build_claims, sign  # noqa: E402
from run_eval.signing.trust import TrustStore  # noqa: E402

MODEL = {"id": "org/model-7b", "revision": "3f1c0a9d2b7e4c6a8f0e1d2c3b4a59687f6e5d4c", "spec": "hf/org/model-7b"}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def task_spec(i: int) -> dict:
    """A task entry after defaults, shaped like run_eval.tasks.spec's as_dict() of a multiple-choice task."""
    return {
        "id": "default",
        "config": "default",
        "split": "test",
        "field_spec": {"input": "question", "target": "answer", "choices": "choices", "metadata": ["subject"]},
        "shuffle_choices": True,
        "epochs": 1,
        "epoch_reducer": "mean",
        "solvers": [{"name": "multiple_choice", "args": {}}],
        "scorers": [{"name": "choice", "args": {}}],
    }


def make_entry(i: int, key: SigningKey, rng: random.Random) -> dict:
    name = f"bench-{i:05d}"
    samples = rng.choice([100, 250, 500, 1000, 1319, 14042])
    correct = rng.randint(0, samples)
    value = correct / samples
    stderr = (value * (1 - value) / max(1, samples - 1)) ** 0.5
    dataset_id = f"org/{name}"
    revision = _sha(f"dataset {i}")[:40]
    entry = EvalResultEntry(
        dataset_id=dataset_id,
        task_id="default",
        value=value,
        dataset_revision=revision,
        date=f"2026-09-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}Z",
        source_url=f"logs/2026-09-{1 + i % 28:02d}T10-00-00-00-00_{name}_{_sha(name)[:22]}.eval",
        source_name="Inspect log",
        notes="inspect-ai 0.3.285 via run-eval 0.1.0; solvers: multiple_choice; scorer: choice (accuracy); "
              "epochs: 1 (mean); seed: 42; decoding: greedy; choices shuffled with seed 42",
    )
    (as_written,) = eval_result_entries_to_yaml([entry])
    claims = build_claims(
        as_written,
        model=MODEL,
        dataset={"id": dataset_id, "revision": revision, "pin": "git", "task_id": "default",
                 "config": "default", "split": "test"},
        spec={"sha256": _sha(f"spec {i}"), "eval_yaml_sha256": _sha(f"eval.yaml {i}"), "task": task_spec(i)},
        metric={"name": "accuracy", "value": value, "stderr": stderr, "samples": samples,
                "total_samples": samples, "subset": None},
        run={"seed": 42, "shuffle_choices_seed": 42, "epochs": 1, "epoch_reducer": "mean", "limit": None,
             "decoding": "greedy", "generate_config": {"seed": 42, "max_tokens": 512},
             "model_args": {"do_sample": False, "device": "cuda"},
             "packages": {"run-eval": "0.1.0", "inspect_ai": "0.3.285", "python": "3.11.7"}},
        evidence={"log_sha256": _sha(f"log {i}"), "samples_sha256": _sha(f"samples {i}")},
        executor={"kind": "local", "job_id": None, "flavor": None},
    )
    entry.verify_token = sign(claims, key)
    (out,) = eval_result_entries_to_yaml([entry])
    return out


def make(out_dir: Path, n: int = 1000, *, keys: int = 1, trust_role: str = "executor", seed: int = 0) -> list[Path]:
    """Write n result files under out_dir/.eval_results/ and out_dir/trust.yaml; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    signers = [generate_key(out_dir / "keys" / f"key-{k}.pem", overwrite=True) for k in range(keys)]
    store = TrustStore()
    for k, key in enumerate(signers):
        store.add(key.public, name=f"bench/key-{k}", role=trust_role)
    store.save(out_dir / "trust.yaml")
    rng = random.Random(seed)
    files = []
    for i in range(n):
        path = out_dir / RESULTS_DIR / f"bench-{i:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_raw([make_entry(i, signers[i % keys], rng)]), encoding="utf-8")
        files.append(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("-n", type=int, default=1000, help="number of result files (default 1000)")
    ap.add_argument("--keys", type=int, default=1, help="number of signing keys, used in turn (default 1)")
    ap.add_argument("--trust-role", choices=["executor", "evaluator"], default="executor")
    args = ap.parse_args()
    files = make(args.out_dir, args.n, keys=args.keys, trust_role=args.trust_role)
    print(f"wrote {len(files)} result files under {args.out_dir / RESULTS_DIR}; trust store {args.out_dir / 'trust.yaml'}")


if __name__ == "__main__":
    main()
