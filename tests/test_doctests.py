"""The examples in docstrings are run: documentation that can be wrong fails here."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["run_eval.signing.claims", "run_eval.runner.run.options", "run_eval.runner.models.reference",
           "run_eval.runner.compare.stats", "run_eval.runner.publish.leaderboard", "run_eval.tasks.hub",
           "run_eval.tasks.spec", "run_eval.tasks.lint.findings", "run_eval.tasks.lint.checks", "run_eval.runner.audit.checks",
           "run_eval.runner.models.judge", "run_eval.signing.evidence", "run_eval.runner.compare.scale",
           "run_eval.runner.publish.push", "run_eval.runner.publish.record",
           "run_eval.runner.compare.reproduce", "run_eval.runner.run.shards", "run_eval.runner.run.sharded", "run_eval.runner.audit.read"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example to run"
    assert result.failed == 0
