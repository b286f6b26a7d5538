"""``echo/NAME``: a deterministic, instant Inspect model for measuring harness overhead.

It answers every request with ``ANSWER: A`` (or ``-M answer=...``) and reports usage,
so no tokenizer is needed (Inspect's ``mockllm/`` counts tokens with a downloaded one).
Installed only for benchmarks: ``pip install -e bench/echo_provider``.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo


class Echo(ModelAPI):
    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(), **model_args: Any) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        self.answer = str(model_args.get("answer", "ANSWER: A"))

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
                       config: GenerateConfig) -> ModelOutput:
        out = ModelOutput.from_content(model=self.model_name, content=self.answer)
        out.usage = ModelUsage(input_tokens=sum(len(m.text) for m in input) // 4, output_tokens=3, total_tokens=0)
        out.usage.total_tokens = out.usage.input_tokens + out.usage.output_tokens
        return out


@modelapi(name="echo")
def echo() -> type[ModelAPI]:
    return Echo
