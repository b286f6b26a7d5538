"""Model providers run-eval registers with Inspect (entry point ``inspect_ai`` in pyproject.toml).

``hf-batch/NAME`` is Inspect's ``hf/NAME`` with a faster batcher: same model loading,
tokenizer settings and chat template (it builds Inspect's own ``hf/`` model and reuses it),
but requests are gathered into a batch as soon as they arrive and each sample is woken the
moment its batch is done. Inspect's ``hf/`` provider polls every second and waits two
seconds of quiet before a batch starts. This module is imported by Inspect when it looks
up a provider, so it stays light: torch and transformers load only when the model does.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ModelInfo, modelapi, set_model_info


@modelapi(name="hf-batch")
def hf_batch() -> type:
    from run_eval.runner.models.hf_batch import BatchedHF

    return BatchedHF


def describe_local_model(model: str, context_length: int | None = None, **info: Any) -> None:
    """Tell Inspect what it would otherwise learn by building ``model`` a second time.

    When a sample's generation is logged, Inspect looks the model up in its model database
    (``get_model_info``) and, for a name it does not know (every local model), builds the
    provider once more to ask it: for ``hf/`` (and ``hf-batch/``, which wraps it) that loads
    every weight again, doubling load time and memory. A model described here (Inspect's
    public ``set_model_info``) is found in the lookup's first step, so it is loaded once.
    """
    set_model_info(model, ModelInfo(model=model.partition("/")[2] or model, context_length=context_length, **info))
