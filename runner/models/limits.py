"""What a model can take and give, in its own tokens: for ``lint --model`` and a run's lint.

Only models whose tokenizer is on disk here can be measured: a local ``hf/`` (or
``hf-batch/``, ``vllm/``) folder, or a Hub model pinned and fetched like a run fetches it.
The tokenizer is loaded with transformers (no weights); prompts are counted after the
model's chat template, as Inspect's ``hf/`` provider sends them.
"""

from __future__ import annotations

from typing import Any

from run_eval.runner.models.reference import HF_PROVIDERS, LOCAL_PROVIDERS, ModelError, ModelRef
from run_eval.tasks.lint import ModelLimits

# Inspect's hf/ provider generates up to this many tokens when max_tokens is unset
# (HuggingFaceAPI.max_tokens(); tests/test_lint.py checks it against Inspect)
HF_DEFAULT_MAX_TOKENS = 2048


def model_limits(model: ModelRef, model_args: dict[str, Any], max_tokens: int | None) -> ModelLimits:
    """The model's tokenizer, context and max_tokens; ModelError when they cannot be read here."""
    if model.provider not in LOCAL_PROVIDERS:
        raise ModelError(f"--model {model.spec}: lint can measure only models whose tokenizer is on this machine "
                         f"(hf/, vllm/ with a local folder or Hub id); {model.provider}/ models are not")
    path = model_args.get("model_path") or (str(model.local_path) if model.local_path else model.name)
    revision = model_args.get("revision")
    import logging

    try:
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ModelError(f"--model {model.spec}: reading its tokenizer needs the 'local' extra "
                         "(pip install 'run-eval[local]')") from None

    hf_logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        config = AutoConfig.from_pretrained(path, revision=revision)
    except Exception as ex:  # transformers raises OSError/ValueError/... for a folder that is not a model
        first = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
        raise ModelError(f"--model {model.spec}: cannot read its tokenizer and config from {path}: {first}") from None
    context = getattr(config, "max_position_embeddings", None)
    if context is None and 0 < getattr(tokenizer, "model_max_length", 0) < 10**8:
        context = tokenizer.model_max_length

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(messages: list[Any]) -> int:
        chat = [{"role": m.role, "content": m.text} for m in messages]
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        else:
            text = "\n".join(c["content"] for c in chat)
        return len(tokenizer(text)["input_ids"])

    if max_tokens is not None:
        limit, source = max_tokens, "--max-tokens"
    elif model.provider in HF_PROVIDERS:
        limit, source = HF_DEFAULT_MAX_TOKENS, "Inspect's hf/ default"
    else:
        limit, source = None, ""
    return ModelLimits(model=model.spec, count_tokens=count, prompt_tokens=prompt, context=context,
                       max_tokens=limit, max_tokens_from=source)
