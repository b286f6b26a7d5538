"""Render each sample's prompt as the run would: the eval.yaml's prompt-building solvers,
built with their declared args, applied to the sample's task state (Inspect's public
solvers; generation is never reached). A template that cannot be rendered raises here
just as it would in the run.

Lint is a pure reader: Inspect's prompt solvers edit the user message in place
(``state.user_prompt.text = ...``), and a sample's message-list input is the very list of
``ChatMessage`` objects the run will send, so every state here is built from a deep copy
of its sample. Rendering for lint never changes what the model receives."""

from __future__ import annotations

from typing import Any

import anyio
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessage, ChatMessageUser, ModelName
from inspect_ai.scorer import Target
from inspect_ai.solver import TaskState

from run_eval.tasks.registry import SOLVERS
from run_eval.tasks.spec import SolverModel

# solvers that only build the prompt; rendering stops at the first other one
PROMPT_SOLVERS = ("prompt_template", "system_message", "user_message", "chain_of_thought", "multiple_choice")


def state_of(sample: Sample, sample_id: Any) -> TaskState:
    """A task state for ``sample`` that shares no object with it (see the module docstring)."""
    sample = sample.model_copy(deep=True)
    messages: list[ChatMessage] = (
        [ChatMessageUser(content=sample.input)] if isinstance(sample.input, str) else list(sample.input)
    )
    return TaskState(model=ModelName("lint/none"), sample_id=sample_id, epoch=1, input=sample.input,
                     messages=messages, target=Target(sample.target), choices=sample.choices,
                     metadata=dict(sample.metadata or {}))


def render_prompts(samples: list[tuple[Any, Sample]], solvers: list[SolverModel]
                   ) -> list[list[ChatMessage] | Exception]:
    """Each sample's messages after the prompt solvers, or the exception a solver raised."""
    steps = []
    for s in solvers:
        if s.name not in PROMPT_SOLVERS:
            break
        steps.append(SOLVERS[s.name](**s.args))

    async def generate(state: TaskState, *args: Any, **kwargs: Any) -> TaskState:
        return state  # multiple_choice calls generate: the prompt is already made

    async def main() -> list[list[ChatMessage] | Exception]:
        out: list[list[ChatMessage] | Exception] = []
        for sample_id, sample in samples:
            state = state_of(sample, sample_id)
            try:
                for step in steps:
                    state = await step(state, generate)
            except Exception as ex:  # what the run would meet: KeyError, ValueError, IndexError
                out.append(ex)
                continue
            out.append(list(state.messages))
        return out

    return anyio.run(main)
