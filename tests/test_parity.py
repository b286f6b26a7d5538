"""Parity with Inspect AI's own eval.yaml loader (``inspect eval hf/...``) on the same local data.

Inspect's loader is called here, in tests only, with its Hub download answered from a
pre-filled offline cache and its dataset read from a local folder named like the repo.
Same samples, same solver/scorer chain, same per-sample scores for the same outputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from run_eval.tasks.build import build_tasks
from run_eval.tasks.source import resolve_benchmark
from run_eval.tasks.spec import load_spec

from benchdata import VALID, make_dataset
from conftest import EXAMPLE

FAKE_COMMIT = "1" * 40


def respond(input, tools, tool_choice, config) -> ModelOutput:
    """A deterministic answer that depends only on the prompt (so both loaders get the same)."""
    text = "\n".join(m.text for m in input)
    h = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    letter, number = "ABCD"[h % 4], 3 + h % 6
    out = ModelOutput.from_content("mockllm/model", f"ANSWER: {letter}\n\\boxed{{{number}}}\n{number}")
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def without_shuffle(eval_yaml: Path, dest: Path) -> Path:
    """Inspect's shuffle_choices is unseeded; compare the unshuffled samples and check ours apart."""
    data = yaml.safe_load(eval_yaml.read_text(encoding="utf-8"))
    for t in data["tasks"]:
        t.pop("shuffle_choices", None)
    dest.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return dest


def setup_repo(name: str, tmp_path: Path, monkeypatch) -> tuple[Path, str]:
    """Dataset folder at tmp/org/<name> plus an offline Hub cache holding its eval.yaml."""
    import huggingface_hub.constants as c

    repo_id = f"org/{name}"
    root = tmp_path / "org" / name
    if name == "arithmetic":
        shutil.copytree(EXAMPLE, root)
    else:
        make_dataset(name, root)
    without_shuffle(root / "eval.yaml", root / "eval.yaml")
    cache = Path(c.HF_HUB_CACHE) / f"datasets--org--{name}"
    shutil.rmtree(cache, ignore_errors=True)
    (cache / "refs").mkdir(parents=True)
    (cache / "refs" / "main").write_text(FAKE_COMMIT)
    snap = cache / "snapshots" / FAKE_COMMIT
    snap.mkdir(parents=True)
    shutil.copyfile(root / "eval.yaml", snap / "eval.yaml")
    monkeypatch.chdir(tmp_path)
    return root, repo_id


def sample_key(sample) -> str:
    inp = sample.input if isinstance(sample.input, str) else [m.model_dump(exclude={"id"}) for m in sample.input]
    return json.dumps([inp, sample.target, sample.choices], sort_keys=True, default=str)


def sample_view(sample) -> dict:
    d = sample.model_dump(exclude={"id"})
    if not isinstance(sample.input, str):
        d["input"] = [m.model_dump(exclude={"id"}) for m in sample.input]
    return d


def plan_view(log) -> list:
    return [(s.solver, s.params) for s in log.plan.steps]


@pytest.mark.parametrize("name", VALID + ["arithmetic"])
def test_same_tasks_samples_chain_and_scores(name, tmp_path, monkeypatch):
    from inspect_ai._eval.task.hf import task_create_from_hf  # test-only: the reference

    root, repo_id = setup_repo(name, tmp_path, monkeypatch)
    theirs = task_create_from_hf(f"hf/{repo_id}")
    bench = resolve_benchmark(str(root))
    spec = load_spec(bench.eval_yaml)
    ours = build_tasks(bench, spec, spec.tasks, seed=0)
    assert len(ours) == len(theirs)

    for b, t in zip(ours, theirs):
        assert b.task.epochs == t.epochs
        # same samples (ids aside: Inspect numbers them, ours may come from field_spec.id)
        assert [sample_view(s) for s in b.task.dataset] == [sample_view(s) for s in t.dataset]

    scored = "model_graded" not in (root / "eval.yaml").read_text()  # a judge model needs an API
    model = get_model("mockllm/model", custom_outputs=respond)
    logs_ours = inspect_eval([b.task for b in ours], model=model, display="none",
                             log_dir=str(tmp_path / "logs-ours"), score=scored)
    logs_theirs = inspect_eval(theirs, model=model, display="none",
                               log_dir=str(tmp_path / "logs-theirs"), score=scored)
    for lo, lt in zip(logs_ours, logs_theirs):
        assert lo.status == lt.status == "success", (lo.error, lt.error)
        assert plan_view(lo) == plan_view(lt)
        assert (lo.eval.config.epochs, lo.eval.config.epochs_reducer) == (
            lt.eval.config.epochs, lt.eval.config.epochs_reducer)
        assert [(s.name, s.options) for s in lo.eval.scorers] == [(s.name, s.options) for s in lt.eval.scorers]
        if not scored:
            continue
        per_sample_o = {(sample_key(s), s.epoch): {k: v.value for k, v in s.scores.items()} for s in lo.samples}
        per_sample_t = {(sample_key(s), s.epoch): {k: v.value for k, v in s.scores.items()} for s in lt.samples}
        assert per_sample_o == per_sample_t
        assert len(per_sample_o) == len(lo.samples)
        assert [(s.name, {k: m.value for k, m in s.metrics.items()}) for s in lo.results.scores] == [
            (s.name, {k: m.value for k, m in s.metrics.items()}) for s in lt.results.scores
        ]


@pytest.mark.parametrize("name", ["gpqa", "arithmetic"])
def test_shuffle_choices_is_seeded_and_keeps_the_answer(name, tmp_path):
    root = tmp_path / name
    if name == "arithmetic":
        shutil.copytree(EXAMPLE, root)
    else:
        make_dataset(name, root)
    bench = resolve_benchmark(str(root))
    spec = load_spec(bench.eval_yaml)
    shuffled_task = [t for t in spec.tasks if t.model.shuffle_choices][0]
    a = build_tasks(bench, spec, [shuffled_task], seed=7)[0]
    b = build_tasks(bench, spec, [shuffled_task], seed=7)[0]
    c = build_tasks(bench, spec, [shuffled_task], seed=8)[0]
    plain = without_shuffle(bench.eval_yaml, tmp_path / "plain.yaml")
    pspec = load_spec(plain)
    p = build_tasks(bench, pspec, [pspec.tasks[shuffled_task.index]], seed=7)[0]
    assert a.shuffle_seed == 7 and p.shuffle_seed is None
    assert [s.choices for s in a.task.dataset] == [s.choices for s in b.task.dataset]
    assert [s.choices for s in a.task.dataset] != [s.choices for s in c.task.dataset]
    assert [s.choices for s in a.task.dataset] != [s.choices for s in p.task.dataset]
    for s, orig in zip(a.task.dataset, p.task.dataset):
        assert sorted(s.choices) == sorted(orig.choices)
        right = orig.choices[ord(orig.target) - ord("A")]
        assert s.choices[ord(s.target) - ord("A")] == right
