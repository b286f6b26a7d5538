"""Regenerate the example benchmark's data in examples/arithmetic/data/.

The data is committed; this script documents how it was made and makes it again
byte for byte (fixed seed). It also holds the generators the tiny model's
training data is drawn from (same distribution, disjoint items).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "arithmetic" / "data"


def addition_items() -> list[dict]:
    return [
        {"question": f"What is {a} + {b}?", "answer": str(a + b)}
        for a in range(10)
        for b in range(10)
    ]


def comparison_item(rng: random.Random) -> dict:
    options = rng.sample(range(100), 4)
    return {
        "question": "Which number is the largest?",
        "options": [str(o) for o in options],
        "answer_index": options.index(max(options)),
    }


def split_addition(seed: int = 0, n_test: int = 30) -> tuple[list[dict], list[dict]]:
    """(test, train): a fixed 30 sums for the benchmark, the other 70 for training."""
    items = addition_items()
    random.Random(seed).shuffle(items)
    return items[:n_test], items[n_test:]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    test_add, _ = split_addition()
    for i, row in enumerate(test_add):
        row["id"] = f"add-{i:03d}"
    rng = random.Random(1)
    test_cmp = [comparison_item(rng) for _ in range(30)]
    for i, row in enumerate(test_cmp):
        row["id"] = f"cmp-{i:03d}"
    write_jsonl(DATA / "addition.jsonl", test_add)
    write_jsonl(DATA / "comparison.jsonl", test_cmp)


if __name__ == "__main__":
    main()
