"""Test-only models, and `run-eval` with them: ``python tests/testmodels.py ARGS...`` is
``run-eval ARGS...`` in a process that also has

- ``flaky/NAME``: an instant Inspect provider that answers the example's sums correctly;
  with ``-M fail_on=TEXT`` it fails on every prompt containing TEXT (a provider error on
  some samples);
- every model's ``generate`` slowed by ``RUN_EVAL_TEST_DELAY`` seconds (after the answer
  is computed, so answers do not change), with one line appended per call to the file
  ``RUN_EVAL_TEST_CALLS``: a test can stop a run partway and count what was generated.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelAPI, ModelOutput, modelapi
from inspect_ai.tool import ToolChoice, ToolInfo


class Flaky(ModelAPI):
    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(), **model_args: Any) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        self.fail_on = str(model_args["fail_on"]) if model_args.get("fail_on") is not None else None

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
                       config: GenerateConfig) -> ModelOutput:
        prompt = input[-1].text
        if self.fail_on is not None and self.fail_on in prompt:
            raise RuntimeError(f"flaky provider: no answer to a prompt with {self.fail_on!r} in it")
        a, b = (int(x) for x in re.findall(r"(\d+) \+ (\d+)", prompt)[0])
        return ModelOutput.from_content(model=self.model_name, content=str(a + b))


@modelapi(name="flaky")
def flaky() -> type[ModelAPI]:
    return Flaky


def slow_down(delay: float, calls: Path | None) -> None:
    original = Model.generate

    async def generate(self: Model, *args: Any, **kwargs: Any) -> ModelOutput:
        out = await original(self, *args, **kwargs)
        if calls is not None:
            with open(calls, "a", encoding="utf-8") as f:
                f.write("generate\n")
        await anyio.sleep(delay)
        return out

    Model.generate = generate  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("RUN_EVAL_TEST_DELAY") or os.environ.get("RUN_EVAL_TEST_CALLS"):
        calls = os.environ.get("RUN_EVAL_TEST_CALLS")
        slow_down(float(os.environ.get("RUN_EVAL_TEST_DELAY") or 0), Path(calls) if calls else None)
    from run_eval.runner.cli.main import main

    main(sys.argv[1:])
