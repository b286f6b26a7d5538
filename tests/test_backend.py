"""hf-batch/: run-eval's batcher over Inspect's hf/ model gives hf/'s answers, faster.

The end-to-end parity (Inspect's CLI with hf/ against run-eval on the same Hub benchmark,
every sample's output and score) is in test_hub.py; here the batcher itself: requests with
different generation settings never share a batch, a batch never exceeds its size, every
request gets its own answer, and a failing batch fails each of its samples, not the run.
"""

from __future__ import annotations

import anyio
import pytest

from run_eval.runner.models.decoding import backend_model, decoding_settings
from run_eval.runner.models.reference import resolve_model


def test_auto_backend_runs_hf_models_on_hf_batch_and_records_it(tmp_path):
    ref = resolve_model(f"hf/{tmp_path}")
    assert backend_model(ref, "auto") == f"hf-batch/{tmp_path}"
    assert backend_model(ref, "inspect") == f"hf/{tmp_path}"
    d = decoding_settings(ref, seed=1, temperature=None, max_tokens=None, max_connections=None, model_args={})
    assert (d.model, d.backend, d.mode, d.model_args["do_sample"]) == (f"hf-batch/{tmp_path}", "hf-batch", "greedy", False)
    api = resolve_model("openai/gpt-4o-mini")
    assert backend_model(api, "auto") == "openai/gpt-4o-mini"


def test_batches_keep_settings_apart_and_answer_as_one_at_a_time(tiny_model):
    from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

    import run_eval.runner.models.hf_batch as hb

    prompts = [f"What is {a} + {b}?" for a in range(3) for b in range(4)]
    short, long_ = GenerateConfig(max_tokens=2, max_connections=5), GenerateConfig(max_tokens=6, max_connections=5)
    ours = get_model(f"hf-batch/{tiny_model}", do_sample=False, memoize=False)
    sizes: list[tuple[int, tuple]] = []
    real = hb.BatchedHF._generate_batch

    def spy(self, batch):
        assert len({r.key for r in batch}) == 1, "a batch mixed generation settings"
        sizes.append((len(batch), batch[0].key))
        return real(self, batch)

    async def ask(model, prompt, config):
        out = await model.generate([ChatMessageUser(content=prompt)], config=config)
        return out.completion

    async def all_at_once(model):
        results = {}

        async def one(i, p, c):
            results[i] = await ask(model, p, c)

        async with anyio.create_task_group() as tg:
            for i, p in enumerate(prompts):
                tg.start_soon(one, i, p, short if i % 2 else long_)
        return [results[i] for i in range(len(prompts))]

    async def one_by_one(model):
        return [await ask(model, p, short if i % 2 else long_) for i, p in enumerate(prompts)]

    hb.BatchedHF._generate_batch = spy
    try:
        got = anyio.run(all_at_once, ours)
    finally:
        hb.BatchedHF._generate_batch = real
    want = anyio.run(one_by_one, ours)  # batches of one: no padding, no neighbours
    assert got == want
    assert all(n <= 5 for n, _ in sizes) and sum(n for n, _ in sizes) == len(prompts)
    assert len({k for _, k in sizes}) == 2
    assert any(n > 1 for n, _ in sizes), "nothing was batched"


def test_a_failing_batch_fails_its_samples(tiny_model):
    from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

    import run_eval.runner.models.hf_batch as hb

    model = get_model(f"hf-batch/{tiny_model}", do_sample=False, memoize=False)

    def boom(self, batch):
        raise RuntimeError("device lost")

    async def go():
        await model.api.generate([ChatMessageUser(content="hi")], [], "none", GenerateConfig(max_tokens=2))

    real = hb.BatchedHF._generate_batch
    hb.BatchedHF._generate_batch = boom
    try:
        with pytest.raises(RuntimeError, match="device lost"):
            anyio.run(go)
    finally:
        hb.BatchedHF._generate_batch = real


@pytest.mark.parametrize("backend", ["auto", "inspect"])
def test_one_model_load_per_run(tiny_model, tmp_path, monkeypatch, backend):
    """Inspect looks an unknown model up by building its provider again, which for hf/ loads
    every weight a second time (twice the load time and memory); a run loads once."""
    from transformers import modeling_utils

    from run_eval.runner.run.execute import execute
    from run_eval.runner.run.options import RunOptions
    from run_eval.runner.run.request import RunRequest

    from conftest import EXAMPLE

    loads = []
    real = modeling_utils.PreTrainedModel.from_pretrained.__func__

    def counted(cls, *args, **kwargs):
        if cls.__name__ != "AutoModelForCausalLM":  # (the auto class hands over to the model's class)
            loads.append(cls.__name__)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(modeling_utils.PreTrainedModel, "from_pretrained", classmethod(counted))
    import run_eval.runner.models.hf_batch as hb

    monkeypatch.setattr(hb, "_LOADED", {})  # as in a new process: no model loaded by an earlier test
    options = RunOptions(task_ids=("addition",), limit=2, max_tokens=2, backend=backend)
    outcome = execute(RunRequest(f"hf/{tiny_model}", str(EXAMPLE), options, log_dir=tmp_path / "logs",
                                              output_dir=tmp_path, display="none"))
    assert outcome.results[0].samples == 2
    assert loads == ["LlamaForCausalLM"]
