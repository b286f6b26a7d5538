"""Ask the declared scorer itself how it scores an answer, offline.

A scorer is an async function of a task state and a target; lint builds the state that a
model's answer would leave (Inspect's public ``TaskState`` and ``ModelOutput``) and calls
the scorer that the eval.yaml declares, built with its declared args. So every judgement
("would the target itself be scored right?", "would the target cut at a stop sequence?")
uses the scorer's own normalisation as Inspect implements it, never a copy of it.

Only scorers that need no model can be probed; :data:`ANSWER_FORMATS` says how the model
is expected to write an answer for each (``answer`` and ``math`` extract it from a line).
"""

from __future__ import annotations

from typing import Any, Callable

import anyio
from inspect_ai.model import ChatMessageUser, ModelName, ModelOutput
from inspect_ai.scorer import Target, value_to_float
from inspect_ai.solver import TaskState

from run_eval.tasks.registry import SCORERS

# how a model answers TARGET for each scorer lint can run offline
ANSWER_FORMATS: dict[str, Callable[[str], str]] = {
    "includes": lambda t: t,
    "match": lambda t: t,
    "exact": lambda t: t,
    "f1": lambda t: t,
    "answer": lambda t: f"ANSWER: {t}",
    "math": lambda t: f"\\boxed{{{t}}}",
}
CONCURRENCY = 32
_to_float = value_to_float()


def probeable(scorer_name: str) -> bool:
    return scorer_name in ANSWER_FORMATS


def expected_answer(scorer_name: str, target: str) -> str:
    """The shortest answer a model could give that the scorer should count right."""
    return ANSWER_FORMATS[scorer_name](target)


def choice_target_problems(samples: list[tuple[list[str], Any]]) -> list[str | None]:
    """For each (choices, target): why Inspect's ``choice`` scorer cannot read the target (its
    own error: a label beyond the choices, or no label), or None when it reads it. The scorer
    reads the target before it looks at the answer, so one call with no choice selected says
    it for every answer a model could give."""
    scorer = SCORERS["choice"]()
    out: list[str | None] = [None] * len(samples)

    async def main() -> None:
        for i, (choices, target) in enumerate(samples):
            state = TaskState(model=ModelName("lint/none"), sample_id=i, epoch=1, input="",
                              messages=[ChatMessageUser(content="")], target=Target(target), choices=choices,
                              output=ModelOutput.from_content("lint", "ANSWER: none"))
            try:
                await scorer(state, Target(target))
            except (ValueError, IndexError) as ex:
                out[i] = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__

    anyio.run(main)
    return out


def score_answers(scorer_name: str, args: dict[str, Any], items: list[tuple[str, Any]]) -> list[float]:
    """The declared scorer's value (as a float, 1.0 = right) for each (answer, target) pair;
    NaN where the scorer raises (it cannot score that target)."""
    scorer = SCORERS[scorer_name](**args)
    keys = [(a, t if isinstance(t, str) else tuple(t)) for a, t in items]
    unique = list(dict.fromkeys(keys))  # each distinct (answer, target) is scored once
    out = [float("nan")] * len(unique)

    async def one(i: int, answer: str, target: Any) -> None:
        state = TaskState(model=ModelName("lint/none"), sample_id=i, epoch=1, input="",
                          messages=[ChatMessageUser(content="")], target=Target(target),
                          output=ModelOutput.from_content("lint", answer))
        try:
            score = await scorer(state, Target(target))
        except Exception:
            return
        out[i] = _to_float(score.value) if score is not None else float("nan")

    async def worker(first: int) -> None:
        # a few workers, each taking every CONCURRENCY-th pair: scorers that wait (math's
        # worker processes) overlap, and no task is made per pair
        for i in range(first, len(unique), CONCURRENCY):
            answer, target = unique[i]
            await one(i, answer, target if isinstance(target, str) else list(target))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for w in range(min(CONCURRENCY, len(unique))):
                tg.start_soon(worker, w)

    anyio.run(main)
    scored = dict(zip(unique, out))
    return [scored[k] for k in keys]
