"""`run-eval tiny-model`: a model folder records its recipe and is kept while it holds."""

from __future__ import annotations

import json

from conftest import EXAMPLE, run_inproc


def test_same_recipe_keeps_the_model_and_another_rebuilds_it(tmp_path):
    out = tmp_path / "tm"
    first = run_inproc("tiny-model", str(out), "--steps", "2", "--benchmark", str(EXAMPLE), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    recipe = json.loads((out / "run-eval-recipe.json").read_text())
    assert (recipe["steps"], recipe["seed"]) == (2, 0) and recipe["benchmark_data"].startswith("sha256:")
    weights = (out / "model.safetensors").stat().st_mtime_ns

    again = run_inproc("tiny-model", str(out), "--steps", "2", "--benchmark", str(EXAMPLE), cwd=tmp_path)
    assert again.returncode == 0 and "was built from this recipe already" in again.stderr
    assert (out / "model.safetensors").stat().st_mtime_ns == weights

    reseeded = run_inproc("tiny-model", str(out), "--steps", "2", "--seed", "1", "--benchmark", str(EXAMPLE),
                          cwd=tmp_path)
    assert reseeded.returncode == 0 and "was built from this recipe already" not in reseeded.stderr
    assert json.loads((out / "run-eval-recipe.json").read_text())["seed"] == 1
    forced = run_inproc("tiny-model", str(out), "--steps", "2", "--seed", "1", "--benchmark", str(EXAMPLE), "--force",
                        cwd=tmp_path)
    assert forced.returncode == 0 and "was built from this recipe already" not in forced.stderr
