"""The solver and scorer names an eval.yaml may use, mapped to Inspect's public factories.

The name lists are exactly those Inspect AI's eval.yaml loader allows (HFSolver and
HFScorer in ``inspect_ai/_eval/task/hf.py``); the factories are the public functions
of ``inspect_ai.solver`` and ``inspect_ai.scorer`` that Inspect's registry resolves
those names to.
"""

from __future__ import annotations

from typing import Any, Callable

from inspect_ai import scorer as _scorer
from inspect_ai import solver as _solver

SOLVERS: dict[str, Callable[..., Any]] = {
    "prompt_template": _solver.prompt_template,
    "system_message": _solver.system_message,
    "user_message": _solver.user_message,
    "chain_of_thought": _solver.chain_of_thought,
    "use_tools": _solver.use_tools,
    "generate": _solver.generate,
    "self_critique": _solver.self_critique,
    "multiple_choice": _solver.multiple_choice,
}

SCORERS: dict[str, Callable[..., Any]] = {
    "includes": _scorer.includes,
    "match": _scorer.match,
    "pattern": _scorer.pattern,
    "answer": _scorer.answer,
    "exact": _scorer.exact,
    "f1": _scorer.f1,
    "model_graded_qa": _scorer.model_graded_qa,
    "model_graded_fact": _scorer.model_graded_fact,
    "choice": _scorer.choice,
    "math": _scorer.math,
}

# scorers that ask a model (the judge) to grade; their judge is a model role at run time
GRADED_SCORERS = ("model_graded_fact", "model_graded_qa")

# the args these factories pass to Inspect's ``resource()``, which reads a local file or
# fetches a URL when the string names one (tests/test_spec.py reads Inspect's source to keep
# this list whole): from an eval.yaml they are text, never a path or a URL (spec.py)
RESOURCE_ARGS: dict[str, tuple[str, ...]] = {
    "prompt_template": ("template",),
    "system_message": ("template",),
    "user_message": ("template",),
    "chain_of_thought": ("template",),
    "multiple_choice": ("template",),
    "self_critique": ("critique_template", "completion_template"),
    "model_graded_qa": ("template",),
    "model_graded_fact": ("template",),  # passed on to model_graded_qa
}

SOLVER_NAMES = tuple(SOLVERS)
SCORER_NAMES = tuple(SCORERS)
