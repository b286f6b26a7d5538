"""Write a multiple-choice benchmark of N questions (pick the largest of four numbers).

    python3 bench/make_mc.py OUT_DIR --n 400

OUT_DIR gets an eval.yaml (task ``mc``: multiple_choice solver, choice scorer, no
shuffling), data/mc.jsonl, and task.py: the same task written with Inspect's public API,
for ``inspect eval OUT_DIR/task.py``. Items come from the example benchmark's generator
(examples/make_arithmetic.py), so the tiny model answers them in the expected format.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
from make_arithmetic import comparison_item  # noqa: E402

EVAL_YAML = """\
name: MC bench
evaluation_framework: inspect-ai
tasks:
  - id: mc
    config: default
    split: test
    field_spec:
      input: question
      target: answer_index
      choices: options
      id: id
    solvers:
      - name: multiple_choice
    scorers:
      - name: choice
"""

README = """\
---
configs:
  - config_name: default
    data_files:
      - split: test
        path: data/mc.jsonl
---
"""

TASK_PY = '''\
"""The eval.yaml's task, written with Inspect's public API (for plain `inspect eval`)."""
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import FieldSpec, json_dataset
from inspect_ai.scorer import choice
from inspect_ai.solver import multiple_choice


@task
def mc():
    data = json_dataset(
        str(Path(__file__).parent / "data" / "mc.jsonl"),
        FieldSpec(input="question", target="answer_index", choices="options", id="id"),
    )
    return Task(dataset=data, solver=[multiple_choice()], scorer=choice())
'''


def write(out: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        item = comparison_item(rng)
        item["answer_index"] = "ABCD"[item["answer_index"]]
        item["id"] = f"mc-{i:05d}"
        rows.append(item)
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "data" / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (out / "eval.yaml").write_text(EVAL_YAML, encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    (out / "task.py").write_text(TASK_PY, encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()
    print(write(args.out, args.n))


if __name__ == "__main__":
    main()
