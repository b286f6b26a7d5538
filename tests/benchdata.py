"""Small local datasets, laid out as Hugging Face dataset repos, for the eval.yaml fixtures.

Each fixture in tests/fixtures/eval-yaml/valid/ gets rows in the columns its
field_spec names, under the config/split names it uses, so both our translator and
Inspect's own loader can read it offline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "eval-yaml"
VALID = sorted(p.stem for p in (FIXTURES / "valid").glob("*.yaml"))
PNG_DATA_URI = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _rows(name: str, config: str, split: str) -> list[dict]:
    if name == "gpqa":
        return [
            {
                "Question": f"Which particle carries charge {i}?",
                "Correct Answer": f"right {i}",
                "Incorrect Answer 1": f"wrong {i}a",
                "Incorrect Answer 2": f"wrong {i}b",
                "Incorrect Answer 3": f"wrong {i}c",
            }
            for i in range(6)
        ]
    if name == "gsm8k":
        return [{"question": f"Tom has {i} apples and buys 3. How many?", "answer": str(i + 3)} for i in range(6)]
    if name == "hle":
        return [
            {"question": f"Question {i}?", "image": PNG_DATA_URI if i % 2 else "", "answer": f"A{i}"}
            for i in range(4)
        ]
    if name == "mmlu_pro":
        return [
            {"question": f"Pick option {i}", "answer": "ABCDEFGHIJ"[i], "options": [f"opt {j}" for j in range(10)]}
            for i in range(6)
        ]
    if name == "multilingual_math":
        return [
            {
                "question": f"[{config}/{split}] What is {i} * 2?",
                "target": str(2 * i),
                "answer": str(2 * i),
                "language": config,
                "source_id": f"s{i}",
            }
            for i in range(5)
        ]
    if name == "musr":
        return [
            {
                "question": f"[{split}] Who did it? ({i})",
                "answer_index": i % 3,
                "options": ["Alice", "Bob", "Carol"],
                "narrative": f"A story number {i} about {split}.",
            }
            for i in range(5)
        ]
    if name == "arithmetic":
        raise ValueError("the arithmetic example ships its own data")
    raise KeyError(name)


def make_dataset(name: str, dest: Path, eval_yaml: Path | None = None) -> Path:
    """Write eval.yaml + README.md (configs) + data/*.jsonl for fixture `name` into dest."""
    eval_yaml = eval_yaml or FIXTURES / "valid" / f"{name}.yaml"
    spec = yaml.safe_load(eval_yaml.read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(eval_yaml, dest / "eval.yaml")
    configs: dict[str, dict[str, str]] = {}
    for task in spec["tasks"]:
        config, split = task.get("config", "default"), task.get("split", "test")
        rel = f"data/{config}/{split}.jsonl"
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows(name, config, split)),
            encoding="utf-8",
        )
        configs.setdefault(config, {})[split] = rel
    card = {
        "configs": [
            {"config_name": c, "data_files": [{"split": s, "path": p} for s, p in splits.items()]}
            for c, splits in configs.items()
        ]
    }
    (dest / "README.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n", encoding="utf-8")
    return dest
