"""`run-eval reproduce`: re-run a published score from its token, and say whether it holds.

The token is a lock file: verify it, rebuild the run from its claims (benchmark and model
at their commits, the eval.yaml's spec fingerprint, generation config, seed, epochs,
limit), re-run, and compare with statistics (runner/compare/stats.py), per sample when the
original Inspect log is at hand.
"""

from __future__ import annotations

import math
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.compare.stats import Comparison, derived_stderr, paired, unpaired, verdict
from run_eval.runner.errors import LinesError
from run_eval.runner.models.environment import ANSWER_CHANGING
from run_eval.runner.models.judge import answered_by, judge_identity
from run_eval.runner.models.reference import ModelError, render_model_arg, resolve_model
from run_eval.runner.run.options import RunOptions
from run_eval.signing.claims import Claims
from run_eval.signing.evidence import per_sample_values, recompute_metric
from run_eval.signing.results import RESULTS_DIR, parse_raw
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import decide
from run_eval.tasks.hub import is_repo_id
from run_eval.tasks.source import resolve_benchmark
from run_eval.tasks.spec import load_spec


class ReproduceError(LinesError):
    pass


@dataclass
class Target:
    where: str
    raw: dict[str, Any]
    claims: Claims | None = None  # set once the token is decided usable


@dataclass
class Outcome:
    task_id: str
    verdict: str
    why: str
    comparison: Comparison | None
    claim_matches_evidence: bool | None
    claimed: float | None = None  # the value the token claims
    original_log: float | None = None  # the value the original log's samples give (None: no log)
    warnings: list[str] = field(default_factory=list)
    reproduced_log: str | None = None
    judge_differs: bool = False  # the re-run was graded by another judge (or another snapshot of it)

    def as_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "task_id": self.task_id, "verdict": self.verdict, "why": self.why,
            "kind": c.kind if c else None,
            "claimed": self.claimed, "original_log": self.original_log,
            "original": c.original if c else None, "reproduced": c.reproduced if c else None,
            "se_original": c.se_original if c else None, "se_reproduced": c.se_reproduced if c else None,
            "delta": c.delta if c else None, "se": c.se if c else None, "z": c.z if c else None,
            "ci95": list(c.ci) if c else None, "p_value": c.p_value if c else None, "n": c.n if c else None,
            "method": c.method if c else None,
            "ci95_original": list(c.ci_original) if c and c.ci_original else None,
            "ci95_reproduced": list(c.ci_reproduced) if c and c.ci_reproduced else None,
            "changed_samples": c.changed_samples if c else [],
            "claim_matches_evidence": self.claim_matches_evidence,
            "warnings": self.warnings, "reproduced_log": self.reproduced_log, "judge_differs": self.judge_differs,
        }


def load_targets(target: str, *, task: str | None, benchmark: str | None) -> list[Target]:
    """Entries from a result file, or from a Hub model repo's .eval_results (main)."""
    path = Path(target)
    if path.exists():
        files = sorted(path.glob(f"{RESULTS_DIR}/*.yaml")) if path.is_dir() else [path]
        entries = []
        for f in files:
            entries += [Target(str(f), raw) for raw in parse_raw(f.read_bytes(), str(f))]
    elif is_repo_id(target):
        from huggingface_hub import HfApi

        from run_eval.runner.publish.published import remote_entries
        from run_eval.tasks.hub import hub_error

        api = HfApi()
        try:
            files = [f for f in api.list_repo_files(target) if f.startswith(f"{RESULTS_DIR}/") and f.endswith(".yaml")]
            entries = [Target(f"{target}/{f}", raw) for f in files for raw in remote_entries(api, target, f)]
        except Exception as ex:
            raise ReproduceError(hub_error(ex, f"TARGET {target!r}", target, "model") or str(ex)) from None
    else:
        raise ReproduceError(f"TARGET {target!r}: no such result file, and not a model repo id org/name")
    picked = [t for t in entries
              if (task is None or (t.raw.get("dataset") or {}).get("task_id") == task)
              and (benchmark is None or (t.raw.get("dataset") or {}).get("id") == benchmark)]
    if not picked:
        raise ReproduceError(f"TARGET {target!r}: no entry matches"
                             + (f" --task {task!r}" if task else "") + (f" --benchmark {benchmark!r}" if benchmark else ""))
    return picked


def check_token(t: Target, trust: TrustStore, require: tuple[str, ...] = ("spec", "run")) -> Claims:
    """The one trust decision (with the user's trust stores): an unsigned or invalid token,
    or one signed by a revoked key, is refused; the claim sections in ``require`` (those a
    re-run needs) must be there."""
    v = decide(t.raw, trust)
    task = t.raw.get("dataset", {}).get("task_id") if isinstance(t.raw.get("dataset"), dict) else None
    if v.status == "unsigned":
        raise ReproduceError(f"{t.where}: entry {task!r} has no verifyToken: there is no lock to reproduce from")
    if v.claims is None:
        raise ReproduceError(f"{t.where}: the token is invalid ({v.reason}); refusing to reproduce it")
    missing = [name for name in require if v.claims.section(name) is None]
    if missing:
        raise ReproduceError(f"{t.where}: entry {task!r}: the token has no {' or '.join(missing)} claim, so the run "
                             "it describes cannot be rebuilt (it was not made by run-eval, or by an older one)")
    t.claims = v.claims
    return v.claims


def spec_difference(claimed: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(claimed) | set(current), key=str):
        a, b = claimed.get(k), current.get(k)
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += spec_difference(a, b, key)
        elif a != b:
            out.append(f"{key}: signed {a!r}, now {b!r}")
    return out


def rebuild_inputs(c: Claims, model_path: str | None, bench_path: str | None) -> tuple[str, str]:
    """MODEL and BENCHMARK arguments that name exactly the claimed commits (or checked copies)."""
    ds, model = c.dataset, c.model
    if ds.pin == "hub":
        bench_arg = f"{ds.id}@{ds.revision}"
    elif bench_path is None:
        raise ReproduceError(f"the benchmark {ds.id!r} was a local folder ({str(ds.revision)[:19]}…); "
                             "pass --benchmark-path to your copy of it")
    else:
        bench_arg = bench_path
    spec_str = model.spec or f"hf/{model.id}"
    provider = spec_str.split("/", 1)[0]
    if model_path is not None:
        ref = resolve_model(f"{provider}/{model_path}")
        if ref.revision != model.revision:
            raise ReproduceError(f"--model-path {model_path!r}: its content ({ref.revision}) is not the signed "
                                 f"model revision ({model.revision})")
        return ref.spec, bench_arg
    if model.revision and model.revision.startswith("sha256:"):
        raise ReproduceError(f"the model {model.id!r} was a local folder; pass --model-path to your copy of it")
    return (f"{spec_str}@{model.revision}" if model.revision else spec_str), bench_arg


def check_benchmark(c: Claims, bench_arg: str) -> None:
    """The eval.yaml must mean the same method (shown field by field), then the data must match."""
    assert c.spec is not None  # (check_token)
    bench = resolve_benchmark(bench_arg)
    spec = load_spec(bench.eval_yaml)
    task_id = c.dataset.task_id
    tasks = {t.task_id: t for t in spec.tasks}
    if task_id not in tasks:
        raise ReproduceError(f"{bench_arg}: its eval.yaml has no task {task_id!r} (tasks: {', '.join(tasks)})")
    task = tasks[task_id]
    if task.fingerprint() != c.spec.sha256:
        diff = spec_difference(c.spec.task or {}, task.as_dict())
        raise ReproduceError([f"{bench_arg}: task {task_id!r} is not the signed method (spec "
                              f"{c.spec.sha256[:12]} signed, {task.fingerprint()[:12]} now):", *diff])
    if bench.revision != c.dataset.revision:
        raise ReproduceError(f"{bench_arg}: its data ({bench.revision}) is not the signed revision "
                             f"({c.dataset.revision})")


def original_log(t: Target, log_arg: str | None) -> Any | None:
    from inspect_ai.log import read_eval_log

    src = log_arg or (t.raw.get("source") or {}).get("url")
    if not src:
        return None
    m = re.match(r"^https?://[^/]+/(datasets/|spaces/)?([\w.-]+/[\w.-]+)/resolve/([^/]+)/(.+)$", src)
    try:
        if m:
            from huggingface_hub import hf_hub_download

            repo_type = {"datasets/": "dataset", "spaces/": "space"}.get(m.group(1) or "", "model")
            src = hf_hub_download(m.group(2), m.group(4), repo_type=repo_type, revision=m.group(3))
        if not Path(src).is_file():
            return None
        from run_eval.signing.evidence import log_sha256

        want = t.claims.evidence.log_sha256 if t.claims is not None and t.claims.evidence is not None else None
        got = log_sha256(src)
        if got != want:
            raise ReproduceError(f"{src}: this log is not the one the token's evidence names (its sha256 is "
                                 f"{got[:12]}…, the token's evidence.log_sha256 is {str(want)[:12]}…)")
        return read_eval_log(str(src))
    except ReproduceError:
        raise
    except Exception:
        return None


def reproduce_entry(t: Target, *, model_path: str | None, bench_path: str | None, log_arg: str | None,
                    samples: int | None, tolerance: float, workdir: Path,
                    run: Callable[..., Any], judges: tuple[str, ...] = ()) -> Outcome:
    c = t.claims
    assert c is not None and c.run is not None  # (check_token)
    task_id = c.dataset.task_id
    model_arg, bench_arg = rebuild_inputs(c, model_path, bench_path)
    check_benchmark(c, bench_arg)
    orig = original_log(t, log_arg)
    orig_values = per_sample_values(orig) if orig is not None else {}
    sample_ids = None
    if samples is not None:
        if not orig_values:
            raise ReproduceError("--samples needs the original log (--log, or a reachable source.url)")
        pool = sorted(orig_values, key=str)
        sample_ids = random.Random(c.run.seed or 0).sample(pool, min(samples, len(pool)))
    use = judges or recorded_judges(c)
    try:
        log = run(model_arg, bench_arg, task_id, c, sample_ids, workdir, judges=use)
    except ModelError as ex:
        if judges or not str(ex).startswith("judge "):
            raise
        raise ReproduceError(f"the recorded {ex}{JUDGE_HINT}") from None
    outcome = compare_logs(c, orig, log, tolerance=tolerance)
    record = (log.eval.metadata or {}).get("run_eval") or {}
    outcome.warnings[:0] = environment_differences(c, record)
    before = judge_identity(c.run.judge)
    after = judge_identity(answered_by(record.get("judge"), log))
    if before != after:  # a re-run graded by another judge does not reproduce the claim, whatever its value
        outcome.judge_differs = True
        outcome.why = (f"the judge differs (the token's: {', '.join(before) or 'none'}; the re-run's: "
                       f"{', '.join(after) or 'none'}), so the method differs; graded so, the re-run is "
                       f"{outcome.verdict}: {outcome.why}")
        outcome.verdict = METHOD_DIFFERS
    return outcome


JUDGE_HINT = "; pass --judge MODEL to re-run with another judge (the verdict then says the judge differs)"
METHOD_DIFFERS = "method-differs"  # the verdict on a re-run graded by another judge than the token's


def recorded_judges(c: Claims) -> tuple[str, ...]:
    """The judges the token records, as MODEL strings that load exactly them (a Hub judge at
    its commit; a local folder when the one here has the recorded digest). ReproduceError,
    one line, when one cannot be had here."""
    judge = c.run.judge if c.run is not None else None
    if judge is None or any(u.get("evaluated_model") for u in judge.used):
        return ()  # no model-graded scorer, or the evaluated model graded itself
    out = []
    for u in judge.used:
        spec, rev = str(u.get("model")), u.get("revision")
        if rev and str(rev).startswith("sha256:"):  # a local folder, pinned by its content
            try:
                here = resolve_model(spec).revision
            except ModelError as ex:
                raise ReproduceError(f"the recorded judge {spec} cannot be had here ({ex}){JUDGE_HINT}") from None
            if here != rev:
                raise ReproduceError(f"the recorded judge {spec} here is not the one that graded (its digest is "
                                     f"{str(here)[:19]}…, the token's {str(rev)[:19]}…){JUDGE_HINT}")
            out.append(spec)
        else:
            out.append(f"{spec}@{rev}" if rev else spec)
    return tuple(out)


def compare_logs(c: Claims, orig: Any | None, log: Any, *, tolerance: float) -> Outcome:
    """The verdict on a claim, given its original log (or None) and the re-run's log."""
    log_value = None
    if orig is not None:
        log_value = recompute_metric(orig, c.metric.name).value
    outcome = compare_values(c, per_sample_values(orig) if orig is not None else None, log_value,
                             per_sample_values(log), tolerance=tolerance)
    outcome.reproduced_log = str(log.location)
    return outcome


def compare_values(c: Claims, original: dict[str, float] | None, original_value: float | None,
                   reproduced: dict[str, float], *, tolerance: float) -> Outcome:
    """The verdict on a claim from per-sample scores: the original log's (or None when there is
    no log) and the value its samples give, and the re-run's. Paired per sample when the
    original's samples are at hand, else unpaired from the claimed value and stderr (derived
    from the value and n where the metric allows; never taken as 0)."""
    task_id, m = c.dataset.task_id, c.metric
    matches = None if original_value is None else math.isclose(original_value, m.value, rel_tol=0.0,
                                                               abs_tol=1e-9)
    if not reproduced:
        raise ReproduceError(f"task {task_id!r}: the re-run scored no sample")
    if original:
        comp = paired(original, reproduced, metric=m.name)
    else:
        claimed_se = m.stderr if m.stderr is not None else derived_stderr(m.name, m.value, m.samples)
        comp = unpaired(m.value, claimed_se, m.samples, list(reproduced.values()), metric=m.name)
        if comp is None:
            return Outcome(task_id, "inconclusive",
                           f"the claim has no stderr, and its metric ({m.name}) does not allow deriving one from its "
                           "value and n; without the original log (--log) the difference cannot be judged",
                           None, matches, m.value, original_value)
    v, why = verdict(comp, tolerance=tolerance, claim_matches_evidence=matches)
    if matches is False:
        why = f"{why}: it claims {m.value!r}, its log's samples give {original_value!r}"
    return Outcome(task_id, v, why, comp, matches, m.value, original_value)


def environment_differences(c: Claims, record: dict[str, Any]) -> list[str]:
    """One line for each package version or environment field in which the re-run differs from
    the original: each can change greedy answers."""
    assert c.run is not None
    out = []
    mine = record.get("packages") or {}
    for name in ("inspect_ai", *ANSWER_CHANGING):
        a, b = c.run.packages.get(name), mine.get(name)
        if a != b and (a or b):
            out.append(f"{name} {b or 'not installed'} here, {a or 'not installed'} in the original: "
                       "this can change answers")
    theirs = c.run.environment.model_dump() if c.run.environment is not None else {}
    here = record.get("environment") or {}
    for name in ("device", "accelerator", "accelerator_count", "dtype", "cuda"):
        a, b = theirs.get(name), here.get(name)
        if a != b:
            out.append(f"{name} {b!r} here, {a!r} in the original: this can change answers")
    return out


def recorded_backend(c: Claims) -> str:
    """The --backend that runs the model the way the token says it ran: a token without a
    backend, or one naming the model's own provider, was run by that Inspect provider."""
    spec = c.model.spec or ""
    backend = c.run.backend if c.run is not None else None
    return "inspect" if backend in (None, spec.partition("/")[0]) else "auto"


def recorded_options(c: Claims, task_id: str, sample_ids: list | None, judges: tuple[str, ...] = ()) -> RunOptions:
    """The run options a token's claims record: the same seed, generation settings, epochs,
    limit, model args (each written so that it reads back as the same value) and backend. A
    pinned Hub snapshot's path is not a model arg to pass again (the model is named at its
    commit instead). A result that left failed samples out (``metric.subset.errored``: an
    error, or a judge's answer its scorer could not read) is re-run allowing as many."""
    run = c.run
    assert run is not None
    errored = (c.metric.subset or {}).get("errored")
    gen = run.generate_config
    args = {k: v for k, v in run.model_args.items() if not (k == "model_path" and str(v).startswith("hf-snapshot:"))}
    return RunOptions(
        task_ids=(task_id,), limit=run.limit, epochs=run.epochs, seed=run.seed if run.seed is not None else 42,
        max_tokens=gen.get("max_tokens"), temperature=gen.get("temperature"),
        max_connections=gen.get("max_connections"),
        model_args=tuple(render_model_arg(k, v) for k, v in args.items()),
        backend=recorded_backend(c), sample_ids=tuple(str(i) for i in sample_ids or ()),
        no_lint=run.lint is not None and not run.lint.enforced,
        lint_ignore=tuple(run.lint.ignored) if run.lint is not None else (), judges=judges,
        allow_errors=float(errored) if errored else None,
    )


def local_runner(forwarded_display: str | None = "none") -> Callable[..., Any]:
    """Re-run one task in-process through the same code path as `run-eval run`."""
    from inspect_ai.log import read_eval_log

    from run_eval.runner.run.execute import execute
    from run_eval.runner.run.request import RunRequest

    def run(model_arg: str, bench_arg: str, task_id: str, c: Claims, sample_ids: list | None,
            workdir: Path, judges: tuple[str, ...] = ()) -> Any:
        req = RunRequest(
            model_arg, bench_arg, recorded_options(c, task_id, sample_ids, judges),
            log_dir=workdir / "logs", output_dir=workdir, model_id=c.model.id,
            dataset_id=c.dataset.id if c.dataset.pin != "hub" else None,
            display=forwarded_display,
        )
        outcome = execute(req)
        return read_eval_log(outcome.results[0].log)

    return run


def jobs_runner(job: Any, echo: Callable[[str], None], trust: TrustStore) -> Callable[..., Any]:
    """Re-run one task as an HF Job (the same `run-eval run` inside), then read its uploaded log."""
    from run_eval.runner.remote.submit import RemoteError, submit_run

    def run(model_arg: str, bench_arg: str, task_id: str, c: Claims, sample_ids: list | None,
            workdir: Path, judges: tuple[str, ...] = ()) -> Any:
        try:
            _, files = submit_run(model=model_arg, benchmark=bench_arg,
                                  options=recorded_options(c, task_id, sample_ids, judges), job=job, push_pr=False,
                                  detach=False, output_dir=workdir, echo=echo)
        except RemoteError as ex:
            raise ReproduceError(ex.lines) from None
        entries = [e for f in files for e in parse_raw(f.read_bytes(), str(f))
                   if (e.get("dataset") or {}).get("task_id") == task_id]
        t = Target("job", entries[-1])
        check_token(t, trust)
        log = original_log(t, None)
        if log is None:
            raise ReproduceError("the job's result names no log that can be fetched")
        return log

    return run


def reproduce(target: str, *, task: str | None = None, benchmark: str | None = None,
              model_path: str | None = None, bench_path: str | None = None, log_arg: str | None = None,
              samples: int | None = None, tolerance: float = 0.05, output_dir: Path | None = None,
              run: Callable[..., Any] | None = None, trust: TrustStore | None = None,
              judges: tuple[str, ...] = ()) -> list[Outcome]:
    targets = load_targets(target, task=task, benchmark=benchmark)
    for t in targets:
        check_token(t, trust if trust is not None else TrustStore())
    run = run or local_runner()
    out = []
    for t in targets:
        workdir = output_dir or Path(tempfile.mkdtemp(prefix="run-eval-reproduce-"))
        out.append(reproduce_entry(t, model_path=model_path, bench_path=bench_path, log_arg=log_arg,
                                   samples=samples, tolerance=tolerance, workdir=workdir, run=run,
                                   judges=judges))
    return out
