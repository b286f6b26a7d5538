"""Test-only models, and `run-eval` with them: ``python tests/testmodels.py ARGS...`` is
``run-eval ARGS...`` in a process that also has

- ``flaky/NAME``: an instant Inspect provider that answers the example's sums correctly;
  with ``-M fail_on=TEXT`` it fails on every prompt containing TEXT (a provider error on
  some samples);
- one line appended to the file ``RUN_EVAL_TEST_CALLS`` per finished ``generate`` of any
  model: a test can count what was generated;
- with ``RUN_EVAL_TEST_HOLD_AFTER=N``, every ``generate`` after the first N waits until
  the run is stopped (at most HOLD_LIMIT seconds, a guard against a hung test): a test waits for the N-th line of the calls file (an event, not a
  time) and signals a run that cannot have finished meanwhile, however busy the machine.
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


HOLD_LIMIT = 90.0  # seconds a held generate waits at most (never reached when the signal cancels the run)


def count_and_hold(calls: Path | None, hold_after: int | None) -> None:
    original = Model.generate
    started = 0

    async def generate(self: Model, *args: Any, **kwargs: Any) -> ModelOutput:
        nonlocal started
        started += 1
        if hold_after is not None and started > hold_after:
            # until the run is cancelled (the signal under test), which wakes the sleep at once; the
            # bound only keeps a test from hanging if a run ever waited for its in-flight calls
            await anyio.sleep(HOLD_LIMIT)
        out = await original(self, *args, **kwargs)
        if calls is not None:
            with open(calls, "a", encoding="utf-8") as f:
                f.write("generate\n")
        return out

    Model.generate = generate  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("RUN_EVAL_TEST_CALLS") or os.environ.get("RUN_EVAL_TEST_HOLD_AFTER"):
        calls = os.environ.get("RUN_EVAL_TEST_CALLS")
        hold = os.environ.get("RUN_EVAL_TEST_HOLD_AFTER")
        count_and_hold(Path(calls) if calls else None, int(hold) if hold else None)
    from run_eval.runner.cli.main import main

    main(sys.argv[1:])
