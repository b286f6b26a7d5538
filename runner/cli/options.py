"""The options several commands share, declared once: how to evaluate (``run``, ``sweep``)
and where a job runs (``run``, ``sweep``, ``reproduce`` with ``--on hf-jobs``). Each
decorator adds the options and hands the command one value object in their place."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import click

from run_eval.runner.run.options import DEFAULT_SEED, RunOptions

RUN_OPTIONS = ("task_ids", "limit", "epochs", "seed", "max_tokens", "temperature", "max_connections",
               "model_args", "backend", "allow_errors", "no_lint", "lint_ignore", "judges", "shards")
JOB_OPTIONS = ("flavor", "job_timeout", "namespace", "package", "image", "results_repo")


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that say how to evaluate; the command gets ``options: RunOptions``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        allow = kwargs.pop("allow_errors")
        if allow is not None and allow >= 1 and allow != int(allow):
            raise click.UsageError(f"--allow-errors {allow:g}: expected a whole number of samples, or a "
                                   "fraction below 1", ctx=click.get_current_context(silent=True))
        values = {k: kwargs.pop(k) for k in RUN_OPTIONS if k != "allow_errors"}
        values["task_ids"] = tuple(values["task_ids"])
        values["model_args"] = tuple(values["model_args"])
        values["judges"] = tuple(values["judges"])
        values["lint_ignore"] = _lint_rules(values["lint_ignore"])
        return fn(*args, options=RunOptions(**values, allow_errors=allow), **kwargs)

    for decorator in reversed([
        click.option("--task", "task_ids", multiple=True, metavar="ID",
                     help="Run only this task of the eval.yaml (repeatable; default: all tasks)."),
        click.option("--limit", type=click.IntRange(min=1), help="Evaluate at most N samples per task."),
        click.option("--epochs", type=click.IntRange(min=1), help="Override the eval.yaml's epochs."),
        click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
                     help="Seed for generation and for shuffle_choices (recorded)."),
        click.option("--max-tokens", type=click.IntRange(min=1), help="Maximum tokens to generate."),
        click.option("--temperature", type=click.FloatRange(min=0.0),
                     help="Sampling temperature; local models decode greedily unless this is > 0."),
        click.option("--max-connections", type=click.IntRange(min=1),
                     help="Concurrent requests (batch size for hf/)."),
        click.option("-M", "model_args", multiple=True, metavar="KEY=VALUE",
                     help="Model argument passed to Inspect (repeatable), e.g. -M device=cpu."),
        click.option("--backend", type=click.Choice(["auto", "inspect"]), default="auto", show_default=True,
                     help="auto: hf/ models run on run-eval's hf-batch/ provider (Inspect's hf/ model, a faster "
                     "batcher, same answers); inspect: run MODEL with Inspect's own provider. Recorded."),
        click.option("--allow-errors", type=click.FloatRange(min=0, min_open=True), metavar="N",
                     help="Let up to N samples per task fail (a count, or a fraction of the task's samples if "
                     "< 1): they are left out of the score, which is then marked a subset. Default: any failed "
                     "sample fails the run."),
        click.option("--judge", "judges", multiple=True, metavar="MODEL",
                     help="The judge of every model-graded scorer (model_graded_fact, model_graded_qa) of the "
                     "selected tasks, instead of the eval.yaml's: any Inspect model string, pinned like MODEL "
                     "(repeatable: several judges grade by majority vote). Recorded; a different judge is a "
                     "different method."),
        click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
                     help="Split each task's samples over N Inspect evals (here: N worker processes, each on its "
                     "share of the cores; --on hf-jobs: N jobs) and merge them into one result, the one a single "
                     "process gives. Not recorded: it does not change the result."),
        click.option("--no-lint", is_flag=True,
                     help="Run even if `run-eval lint` finds errors in the benchmark's method (they are recorded "
                     "in the token). Default: lint errors stop the run before the model loads."),
        click.option("--lint-ignore", "lint_ignore", multiple=True, metavar="RULE",
                     help="Accept the errors of this lint rule (repeatable; e.g. stop-in-target) and keep every "
                     "other check: recorded in the token, like --no-lint."),
    ]):
        wrapper = decorator(wrapper)
    return wrapper


def _lint_rules(given: tuple[str, ...]) -> tuple[str, ...]:
    """--lint-ignore values: known rule ids, each once (the rules are imported only when a
    command runs, so that --help stays quick)."""
    from run_eval.tasks.lint.findings import RULES

    unknown = [r for r in given if r not in RULES]
    if unknown:
        raise click.UsageError(f"--lint-ignore {unknown[0]!r}: not a lint rule (rules: {', '.join(RULES)})",
                               ctx=click.get_current_context(silent=True))
    return tuple(dict.fromkeys(given))


def job_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--on`` and the HF Jobs options; the command gets ``where`` and ``job: JobOptions``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from run_eval.runner.remote.submit import JobOptions

        values = {k: kwargs.pop(k) for k in JOB_OPTIONS}
        values["timeout"] = values.pop("job_timeout")
        return fn(*args, job=JobOptions(**values), **kwargs)

    for decorator in reversed([
        click.option("--on", "where", type=click.Choice(["local", "hf-jobs"]), default="local", show_default=True,
                     help="Run here, or as a Hugging Face Job."),
        click.option("--flavor", default="a10g-small", show_default=True, help="HF Jobs hardware flavor."),
        click.option("--timeout", "job_timeout", default="2h", show_default=True,
                     help="HF Jobs timeout (e.g. 30m, 2h)."),
        click.option("--namespace", metavar="ORG", help="HF Jobs namespace (default: your user)."),
        click.option("--package", metavar="SPEC", help="HF Jobs: pip requirement for run-eval in the job "
                     "(default: a wheel of this checkout, uploaded)."),
        click.option("--image", metavar="IMAGE",
                     help="HF Jobs: Docker image (default: a PyTorch CUDA image; python for cpu flavors)."),
        click.option("--results-repo", metavar="ORG/NAME", help="HF Jobs: dataset repo the job uploads its "
                     "result and logs to (default: NAMESPACE/run-eval-results)."),
    ]):
        wrapper = decorator(wrapper)
    return wrapper


def trust_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--trust FILE`` (repeatable); the command gets ``trust``: the user's trust store
    merged with those files (signing/trust.py, load_trust_stores). A bad store is bad input."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from run_eval.signing.errors import SigningError
        from run_eval.signing.trust import load_trust_stores

        try:
            trust = load_trust_stores(kwargs.pop("trust_files"))
        except SigningError as ex:
            raise click.UsageError(str(ex)) from None
        return fn(*args, trust=trust, **kwargs)

    return click.option("--trust", "trust_files", multiple=True,
                        type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="A trust store file to use besides RUN_EVAL_HOME/trust.yaml (repeatable; a revocation "
                        "in any of them wins).")(wrapper)
