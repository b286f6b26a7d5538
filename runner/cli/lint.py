"""`run-eval lint BENCHMARK`: check a benchmark's method against its data, without a model."""

from __future__ import annotations

import json
import sys

import click

from run_eval.runner.cli.output import print_rows
from run_eval.runner.errors import EXIT_FAILED, EXIT_USAGE, fail


@click.command("lint")
@click.argument("benchmark")
@click.option("--task", "task_ids", multiple=True, metavar="ID", help="Lint only this task (repeatable).")
@click.option("--model", metavar="MODEL", help="Also check answers and prompts against this model's tokenizer: "
              "max_tokens against the longest target, prompts against its context (hf/ and local models).")
@click.option("-M", "model_args", multiple=True, metavar="KEY=VALUE", help="Model argument for --model.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="The max_tokens the run will use (with --model; "
              "default: the eval.yaml's, else the provider's).")
@click.option("--seed", type=int, default=None, help="Seed for shuffle_choices, as the run's --seed.")
@click.option("--json", "as_json", is_flag=True, help='{"findings": [{"rule", "severity", "task_id", "count", '
              '"samples", "message"}]}')
def lint_command(benchmark: str, task_ids: tuple[str, ...], model: str | None, model_args: tuple[str, ...],
                 max_tokens: int | None, seed: int | None, as_json: bool) -> None:
    """Check BENCHMARK's method against its data without running a model.

    Reads the benchmark exactly as `run` does (same loader, same pinning, same samples) and
    reports stop sequences that cut targets, targets the scorer can never match, broken
    choices and templates, and (with --model) answers longer than max_tokens and prompts
    longer than the context. Exit 0: clean or warnings only; 1: errors; 2: bad input.
    """
    from run_eval.runner.models.limits import model_limits
    from run_eval.runner.models.reference import ModelError, parse_model_args, pin_hub_model, resolve_model
    from run_eval.runner.run.options import DEFAULT_SEED
    from run_eval.tasks.build import build_tasks
    from run_eval.tasks.errors import TasksError
    from run_eval.tasks.lint import errors_of, lint_built
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import load_spec

    try:
        bench = resolve_benchmark(benchmark)
        spec = load_spec(bench.eval_yaml)
        selected = spec.select(list(task_ids))
        limits = None
        if model is not None:
            ref, args = pin_hub_model(resolve_model(model), parse_model_args(model_args))
            limits = model_limits(ref, args, max_tokens)
        elif model_args or max_tokens is not None:
            raise ModelError("-M and --max-tokens describe the model given with --model; add --model MODEL")
        built = build_tasks(bench, spec, selected, seed=DEFAULT_SEED if seed is None else seed)
    except (TasksError, ModelError) as ex:
        fail(getattr(ex, "lines", None) or [str(ex)], EXIT_USAGE)
    findings = lint_built(built, limits)
    n_samples = sum(b.samples for b in built)
    if as_json:
        click.echo(json.dumps({"findings": [f.as_json() for f in findings]}, indent=2))
    else:
        rows = [(f.severity, f.rule, f.task_id, str(f.count),
                 "; ".join(f"{s.id}: {s.value}" for s in f.samples), f.message) for f in findings]
        errors = len(errors_of(findings))
        summary = (f"{_n(errors, 'error')}, {_n(len(findings) - errors, 'warning')}" if findings else
                   "no findings") + f" in {_n(len(built), 'task')} ({_n(n_samples, 'sample')}) of {bench.describe()}"
        print_rows(("severity", "rule", "task", "samples", "e.g.", "what to do"), rows,
                   title=f"lint {bench.dataset_id}", footer=[summary])
    sys.exit(EXIT_FAILED if errors_of(findings) else 0)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
