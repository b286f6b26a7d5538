"""Everything about a run that can fail on bad input, done before a model is loaded:
the benchmark resolved and pinned, its eval.yaml validated, the model pinned, the
existing result file readable, the tasks built, the signing key at hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from run_eval.runner.models.judge import TaskJudges, role_names, task_judges
from run_eval.runner.models.reference import ModelError, ModelRef, pin_hub_model, resolve_model
from run_eval.runner.run.request import RunFailed, RunRequest
from run_eval.signing.errors import KeyError_
from run_eval.signing.keys import SigningKey, load_or_create
from run_eval.signing.results import read_entries, result_path
from run_eval.signing.trust import load_trust_stores, trust_path
from run_eval.tasks.build import BuiltTask, build_tasks
from run_eval.tasks.lint import Finding, errors_of, lint_built
from run_eval.tasks.source import Benchmark, resolve_benchmark
from run_eval.tasks.spec import EvalSpec, load_spec


@dataclass(frozen=True)
class Prepared:
    benchmark: Benchmark
    spec: EvalSpec
    built: list[BuiltTask]
    model: ModelRef
    key: SigningKey | None  # None in a shard of a sharded run (--shard K/N): it signs nothing
    model_args: dict[str, Any]  # with the pinned snapshot / revision of a Hub model
    findings: list[Finding]  # what lint found (run.lint in the token)
    judges: dict[str, TaskJudges]  # task id -> its judges (model-graded tasks only)
    graders: dict[str, str]  # task id -> the model role its judges are bound to


class LintFailed(RunFailed):
    """Lint found errors in the benchmark's method; the run was not started."""


def prepare(req: RunRequest, notify: Callable[[str], None] = lambda _m: None) -> Prepared:
    """Everything that can fail on bad input, done before a model is loaded."""
    benchmark = resolve_benchmark(req.benchmark, dataset_id=req.dataset_id)
    spec = load_spec(benchmark.eval_yaml)
    selected = spec.select(list(req.options.task_ids))
    for t in selected:
        want = req.expect_spec.get(t.task_id)
        if want is not None and want != t.fingerprint():
            raise RunFailed([f"task {t.task_id!r}: the eval.yaml's method (spec {t.fingerprint()[:12]}) is not "
                             f"the one this run was submitted with ({want[:12]})"])
    model, model_args = pin_hub_model(resolve_model(req.model, model_id=req.model_id), req.model_args)
    read_entries(result_path(req.output_dir, benchmark.name))  # fail now, not after the run
    judges = task_judges(selected, req.options.judges, seed=req.options.seed, backend=req.options.backend)
    if req.options.judges and not judges:
        raise ModelError(f"--judge: no selected task of {benchmark.dataset_id} has a model-graded scorer "
                         "(model_graded_fact, model_graded_qa): there is nothing to judge")
    graders = role_names(judges)
    built = build_tasks(benchmark, spec, selected, seed=req.options.seed, epochs=req.options.epochs,
                        graders=graders)
    findings = lint(req, built, model, model_args, notify)
    if req.shard is not None:  # one shard of a sharded run: Inspect logs only, the coordinator signs
        return Prepared(benchmark, spec, built, model, None, model_args, findings, judges, graders)
    key, created = load_or_create()
    revoked = load_trust_stores().find(key.public.kid)
    if revoked is not None and revoked.revoked:
        # every token it signs would be refused by the same trust store: do not spend the run
        raise KeyError_(f"your signing key {key.public.kid[:12]}… is revoked in {trust_path()}; its results would "
                        "be invalid: make a new key with run-eval keys generate --force (and share its public key)")
    if created:
        notify(
            f"created signing key {key.public.kid} at {key.path} (mode 0600); "
            "share its public key with: run-eval keys export"
        )
    return Prepared(benchmark, spec, built, model, key, model_args, findings, judges, graders)


def lint(req: RunRequest, built: list[BuiltTask], model: ModelRef, model_args: dict[str, Any],
         notify: Callable[[str], None]) -> list[Finding]:
    """Lint the tasks as built (with the model's tokenizer when it is on this machine); errors
    stop the run unless --no-lint or --lint-ignore accepts them; warnings are said once."""
    from run_eval.runner.models.limits import model_limits
    from run_eval.runner.models.reference import LOCAL_PROVIDERS, ModelError

    limits = None
    if model.provider in LOCAL_PROVIDERS:
        try:
            limits = model_limits(model, model_args, req.options.max_tokens)
        except ModelError:
            limits = None  # not a transformers folder: the model-side rules are skipped
    findings = lint_built(built, limits)
    ignored = set(req.options.lint_ignore)
    for rule in sorted(ignored - {f.rule for f in errors_of(findings)}):
        notify(f"lint: --lint-ignore {rule}: lint found no error of this rule")
    blocking = [f for f in errors_of(findings) if f.rule not in ignored]
    if blocking and not req.options.no_lint:
        raise LintFailed([f"lint: {f.line()}" for f in blocking] + [
            "the run was not started (no model loaded): fix the benchmark, or run it as it is with --lint-ignore "
            f"{blocking[0].rule} (or --no-lint; either is recorded in the token); details: run-eval lint BENCHMARK"])
    for f in findings:
        if f.severity == "warning":
            notify(f"lint: {f.line()}")
        elif req.options.no_lint:
            notify(f"lint: {f.line()} (--no-lint: running anyway)")
        else:
            notify(f"lint: {f.line()} (--lint-ignore {f.rule}: accepted)")
    return findings
