"""Model providers run-eval registers with Inspect (entry point ``inspect_ai`` in pyproject.toml).

``hf-batch/NAME`` is Inspect's ``hf/NAME`` with a faster batcher: same model loading,
tokenizer settings and chat template (it builds Inspect's own ``hf/`` model and reuses it),
but requests are gathered into a batch as soon as they arrive and each sample is woken the
moment its batch is done. Inspect's ``hf/`` provider polls every second and waits two
seconds of quiet before a batch starts. This module is imported by Inspect when it looks
up a provider, so it stays light: torch and transformers load only when the model does.
"""

from __future__ import annotations

from inspect_ai.model import modelapi


@modelapi(name="hf-batch")
def hf_batch() -> type:
    from run_eval.runner.models.hf_batch import BatchedHF

    return BatchedHF
