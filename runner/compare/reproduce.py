"""`run-eval reproduce`: re-run a published score from its token, and say whether it holds.

The token is a lock file: verify it, rebuild the run from its claims (benchmark and model
at their commits, the eval.yaml's spec fingerprint, generation config, seed, epochs,
limit), re-run, and compare with statistics (runner/compare/stats.py), per sample when the
original Inspect log is at hand.

An entry without a token (most of the Hub's record: values copied from model cards) has no
lock to rebuild from, but its number can still be checked: `check_claim` runs the
benchmark's *declared* method on the model repo's commit (the same code path as `run-eval
run`) and asks whether the claim, on the measured scale, lies in the measured 95% interval
(stats.claim_verdict). The claim's method is unknown, so such a check is never
`reproduced`; `--publish` sends the new signed entry, whose notes say what it checked, as a PR.
"""

from __future__ import annotations

import math
import random
import re
import tempfile
from dataclasses import dataclass, field, replace
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
from run_eval.signing.results import RESULTS_DIR, dump_raw, parse_raw
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
    repo_id: str | None = None  # the Hub model repo it was read from (None: a local file)
    path: str | None = None  # its file, in that repo


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
    return pick_targets(read_targets(target), target, task=task, benchmark=benchmark)


def read_targets(target: str) -> list[Target]:
    """Every entry of a result file (or folder), or of a Hub model repo's .eval_results (main)."""
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
            entries = [Target(f"{target}/{f}", raw, repo_id=target, path=f)
                       for f in files for raw in remote_entries(api, target, f)]
        except Exception as ex:
            raise ReproduceError(hub_error(ex, f"TARGET {target!r}", target, "model") or str(ex)) from None
    else:
        raise ReproduceError(f"TARGET {target!r}: no such result file, and not a model repo id org/name")
    return entries


def pick_targets(entries: list[Target], target: str, *, task: str | None, benchmark: str | None) -> list[Target]:
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


def local_runner(forwarded_display: str | None = "none", shards: int = 1) -> Callable[..., Any]:
    """Re-run one task in-process through the same code path as `run-eval run` (over
    ``shards`` worker processes: the same result, runner/run/shards.py)."""
    from inspect_ai.log import read_eval_log

    from run_eval.runner.run.execute import execute
    from run_eval.runner.run.request import RunRequest

    def run(model_arg: str, bench_arg: str, task_id: str, c: Claims, sample_ids: list | None,
            workdir: Path, judges: tuple[str, ...] = ()) -> Any:
        req = RunRequest(
            model_arg, bench_arg, replace(recorded_options(c, task_id, sample_ids, judges), shards=shards),
            log_dir=workdir / "logs", output_dir=workdir, model_id=c.model.id,
            dataset_id=c.dataset.id if c.dataset.pin != "hub" else None,
            display=forwarded_display,
        )
        outcome = execute(req)
        return read_eval_log(outcome.results[0].log)

    return run


def jobs_runner(job: Any, echo: Callable[[str], None], trust: TrustStore, shards: int = 1) -> Callable[..., Any]:
    """Re-run one task as an HF Job (the same `run-eval run` inside), then read its uploaded log;
    with ``shards`` > 1, as that many jobs, merged here (runner/remote/sharded.py)."""
    from run_eval.runner.remote.submit import RemoteError, submit_run

    def run(model_arg: str, bench_arg: str, task_id: str, c: Claims, sample_ids: list | None,
            workdir: Path, judges: tuple[str, ...] = ()) -> Any:
        options = replace(recorded_options(c, task_id, sample_ids, judges), shards=shards)
        try:
            if shards > 1:
                from inspect_ai.log import read_eval_log

                from run_eval.runner.remote.sharded import run_sharded_on_jobs

                outcome = run_sharded_on_jobs(model=model_arg, benchmark=bench_arg, options=options, job=job,
                                              log_dir=workdir / "logs", output_dir=workdir, resume=False,
                                              detach=False, display="none", notify=echo)
                return read_eval_log(outcome.results[0].log)
            _, files = submit_run(model=model_arg, benchmark=bench_arg, options=options, job=job, push_pr=False,
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


# ------------------------------------------------------------------ a published value without a token

@dataclass
class ClaimOutcome:
    """The check of an unsigned entry's value against the benchmark's declared method."""

    task_id: str
    verdict: str  # consistent, inconsistent or inconclusive (stats.claim_verdict): never reproduced
    why: str
    claim: dict[str, Any]  # value (on the measured scale), published_value (as written), source_name, ...
    measured: dict[str, Any]  # value, ci95, n, metric, stderr, and the commits it was measured at
    note: str  # the sentence the new entry's notes begin with
    warnings: list[str] = field(default_factory=list)
    reproduced_log: str | None = None
    result_file: str | None = None
    published: str | None = None  # the pull request --publish opened
    comparison: None = None  # (no comparison of two runs: the reproduce page shows the verdict and why)
    judge_differs: bool = False

    def as_dict(self) -> dict[str, Any]:
        m = self.measured
        return {"task_id": self.task_id, "verdict": self.verdict, "why": self.why, "signed": False,
                "claim": self.claim, "measured": m, "reproduced": m.get("value"), "ci95_reproduced": m.get("ci95"),
                "n": m.get("n"), "note": self.note, "warnings": self.warnings,
                "reproduced_log": self.reproduced_log, "result_file": self.result_file,
                "published": self.published}


CLAIM_PHRASE = {"consistent": "consistent with it", "inconsistent": "inconsistent with it",
                "inconclusive": "too uncertain to tell (inconclusive)"}


def claim_sentence(published: Any, file: str, source_name: str | None, claim_scale: str, value: float,
                   interval: tuple[float, float] | None, n: int, verdict_: str) -> str:
    """The one sentence, for a reader of the model page, that says what was checked and found.

    >>> claim_sentence(80.2, ".eval_results/swe.yaml", "Model card", "percent", 0.61, (0.55, 0.67), 200,
    ...                "inconsistent")
    "Checked the published 80.2 (.eval_results/swe.yaml, source 'Model card') with this benchmark's declared method, by run-eval: 0.61 (61%), 95% interval [0.55, 0.67] on 200 samples, inconsistent with it."
    """
    from run_eval.runner.compare.scale import convert

    where = f"{file}, source {source_name!r}" if source_name else f"{file}, no source named"
    pct = f" ({convert(round(value, 4), 'fraction', 'percent'):g}%)" if claim_scale == "percent" else ""
    ci = f", 95% interval [{interval[0]:.3g}, {interval[1]:.3g}]" if interval is not None else ", no interval"
    return (f"Checked the published {published} ({where}) with this benchmark's declared method, by run-eval: "
            f"{value:.3g}{pct}{ci} on {n} sample{'s' if n != 1 else ''}, {CLAIM_PHRASE[verdict_]}.")


def judge_claim(claim: float, metric: str, value: float, stderr: float | None, n: int,
                tolerance: float) -> tuple[tuple[float, float] | None, str, str]:
    """(the measured 95% interval, verdict, why) for a claim already on the measured scale."""
    from run_eval.runner.compare.stats import claim_verdict, score_interval

    interval = score_interval(metric, value, stderr, n)
    v, why = claim_verdict(claim, interval, n, tolerance=tolerance)
    return interval, v, why


def claim_value(t: Target, record: list[Target]) -> tuple[Any, float, str, str]:
    """(the value as written, the value on the measured (Inspect's, fraction) scale, the claim's
    scale, the record's scale): the scale from the value itself, else from the repo's other
    values for the same benchmark (runner/compare/scale.py)."""
    from run_eval.runner.compare.scale import convert, entry_scale, number, record_scale

    published = t.raw.get("value")
    if number(published) is None:
        raise ReproduceError(f"{t.where}: entry {_task(t)!r} has no numeric value ({published!r}): nothing to check")
    ds_id = (t.raw.get("dataset") or {}).get("id")
    values = [v for o in record
              if (o.raw.get("dataset") or {}).get("id") == ds_id and (v := number(o.raw.get("value"))) is not None]
    rec = record_scale(values)
    scale = entry_scale(float(published), rec)
    return published, convert(float(published), scale, "fraction"), scale, rec


def _task(t: Target) -> Any:
    return (t.raw.get("dataset") or {}).get("task_id")


def no_model_line(t: Target) -> str:
    ds_id = (t.raw.get("dataset") or {}).get("id")
    return (f"{t.where}: entry {_task(t)!r} has no verifyToken, and a result file names no model: to check its "
            f"value, reproduce it from the model's Hub repo (run-eval reproduce ORG/NAME --benchmark {ds_id})")


@dataclass
class ClaimPlan:
    """An unsigned entry, checked for everything that can be refused before its run."""

    target: Target
    published: Any  # the value as written
    claim: float  # on the measured scale
    scale: str  # the claim's scale
    record_scale: str  # the scale of the repo's values for this benchmark
    model_arg: str
    bench_arg: str
    bench: Any  # the Benchmark, pinned
    warnings: list[str]


def quiet_hub() -> None:
    """No download progress bars or cache notices from huggingface_hub while a check resolves
    its benchmark: the check runs with Inspect's display off (as local_runner does), so that a
    refusal is the one line it should be."""
    from huggingface_hub.utils import disable_progress_bars, logging

    disable_progress_bars()
    logging.set_verbosity_error()


def plan_claim(t: Target, record: list[Target], *, model_path: str | None, bench_path: str | None) -> ClaimPlan:
    """What checking the unsigned entry ``t`` will run: the benchmark at the entry's
    dataset.revision (else at the commit read now, said in a warning), its eval.yaml
    declaring the entry's task and run by Inspect, and the model repo ``t`` was read from
    (pinned to its commit by the run, as `run-eval run` pins it). ReproduceError or
    TasksError, one line, for what cannot be checked."""
    ds = t.raw.get("dataset") or {}
    ds_id, task_id, revision = ds.get("id"), ds.get("task_id"), ds.get("revision")
    if t.repo_id is None:
        raise ReproduceError(no_model_line(t))
    published, claim, claim_scale, record_sc = claim_value(t, record)
    warnings = []
    if bench_path is not None:
        bench_arg = bench_path
    elif isinstance(ds_id, str) and is_repo_id(ds_id):
        bench_arg = f"{ds_id}@{revision}" if revision else ds_id
    else:
        raise ReproduceError(f"{t.where}: entry {task_id!r}: its dataset.id {ds_id!r} is not a Hub dataset id; "
                             "pass --benchmark-path to a copy of the benchmark")
    bench = resolve_benchmark(bench_arg)
    spec = load_spec(bench.eval_yaml)  # a benchmark run by another framework stops here, in one line
    declared = [x.task_id for x in spec.tasks]
    if task_id not in declared:
        raise ReproduceError(f"{t.where}: entry {task_id!r}: the benchmark's eval.yaml ({bench_arg}) declares no such "
                             f"task (tasks: {', '.join(declared)}), so it has no declared method to check it with")
    if bench_path is not None:
        warnings.append(f"the benchmark is your copy at {bench_path} ({str(bench.revision)[:19]}…), not the Hub "
                        f"dataset {ds_id}")
    elif not revision:
        warnings.append(f"the entry names no dataset.revision: the benchmark's eval.yaml and data were read at its "
                        f"commit now ({bench.revision}); the claim may have been made on another")
        bench_arg = f"{ds_id}@{bench.revision}"  # the commit just read, whatever happens on main meanwhile
    if model_path is not None:
        model_arg = f"hf/{model_path}"
        warnings.append(f"the model is your copy at {model_path}, not {t.repo_id} as the Hub has it now")
    else:
        model_arg = f"hf/{t.repo_id}"
    return ClaimPlan(t, published, claim, claim_scale, record_sc, model_arg, bench_arg, bench, warnings)


def check_claim(plan: ClaimPlan, *, tolerance: float, workdir: Path, judges: tuple[str, ...] = ()) -> ClaimOutcome:
    """Run the benchmark's declared method on the model and judge the unsigned entry's value
    against the measured interval (module docstring). The new entry's notes begin with what
    was checked and found, signed with it."""
    from run_eval.runner.compare.scale import evidence
    from run_eval.runner.run.execute import execute
    from run_eval.runner.run.request import RunRequest

    t, bench, claim, published = plan.target, plan.bench, plan.claim, plan.published
    ds = t.raw.get("dataset") or {}
    task_id = ds.get("task_id")
    file, source = t.path or t.where, t.raw.get("source") or {}
    source_name = source.get("name") if isinstance(source, dict) else None

    def note(r: Any) -> str:
        interval, v, _ = judge_claim(claim, r.metric, r.value, r.stderr, r.samples, tolerance)
        return claim_sentence(published, file, source_name, plan.scale, r.value, interval, r.samples, v)

    req = RunRequest(plan.model_arg, plan.bench_arg, RunOptions(task_ids=(task_id,), judges=judges),
                     log_dir=workdir / "logs", output_dir=workdir, model_id=t.repo_id,
                     dataset_id=ds.get("id") if bench.pin_kind != "hub" else None, display="none", note=note)
    run = execute(req)
    r = run.results[0]
    interval, v, why = judge_claim(claim, r.metric, r.value, r.stderr, r.samples, tolerance)
    scale_said = "" if plan.scale == "fraction" else (
        f"the claim {published} is read as a percentage ("
        + ("its value says so" if evidence(float(published)) == "percent" else "the record's values are")
        + f"), {claim:g} on the measured scale; ")
    why = (f"the claim's method is unknown: {scale_said}{why}; measured with the benchmark's declared method "
           f"({r.metric}, {r.samples} samples, {bench.dataset_id}@{str(bench.revision)[:12]}, "
           f"{t.repo_id}@{str(run.model.revision)[:12]})")
    return ClaimOutcome(
        task_id=task_id, verdict=v, why=why,
        claim={"value": claim, "published_value": published, "scale": plan.scale, "record_scale": plan.record_scale,
               "source_name": source_name, "source_url": source.get("url") if isinstance(source, dict) else None,
               "file": file, "model": t.repo_id, "signed": False},
        measured={"value": r.value, "ci95": list(interval) if interval else None, "n": r.samples, "metric": r.metric,
                  "stderr": r.stderr, "dataset_revision": bench.revision, "model_revision": run.model.revision},
        note=note(r), warnings=list(plan.warnings), reproduced_log=r.log, result_file=str(run.result_file))


def publish_check(o: ClaimOutcome, repo_id: str, *, trust: TrustStore, log_repo: str | None) -> list[str]:
    """Open a community PR on ``repo_id`` adding the check's signed entry beside the entry it
    checked (which stays); set ``o.published`` to its URL. Returns warning lines (a log that
    stays on this machine)."""
    from run_eval.runner.publish.push import PushError, check_files, push

    assert o.result_file is not None
    result = Path(o.result_file)
    # only the check's own entry goes (the result file may hold others, e.g. in a reused --output-dir)
    mine = [e for e in parse_raw(result.read_bytes(), str(result))
            if (e.get("dataset") or {}).get("task_id") == o.task_id and str(e.get("notes", "")).startswith(o.note)]
    alone = Path(tempfile.mkdtemp(prefix="run-eval-publish-")) / RESULTS_DIR / result.name
    alone.parent.mkdir(parents=True)
    alone.write_text(dump_raw(mine[-1:]), encoding="utf-8")
    try:
        plan = check_files(repo_id, [alone], trust=trust, allow_subset=False, allow_unsigned=False)
        c = o.claim
        title = f"Check of the published {c['published_value']} for {(o.task_id)} ({o.verdict}, run-eval)"
        body = "\n".join([o.note, "",
                          "The new entry is signed by run-eval (its verifyToken binds the value, the model and "
                          "data commits, the method and these notes). Check it offline with: run-eval verify "
                          ".eval_results/", f"Check it again: run-eval reproduce {repo_id} --task {o.task_id}"])
        info = push(plan, create_pr=True, log_repo=log_repo, append=True, title=title, body=body)
    except PushError as ex:
        raise ReproduceError([*ex.lines, f"the check's result is kept in {o.result_file}"]) from None
    o.published = getattr(info, "pr_url", None)
    if plan.unpublished:
        return [f"the PR's entry has no source.url: its Inspect log ({plan.unpublished[0]}) is a file on this "
                "machine; pass --log-repo ORG/NAME to publish it"]
    return []


def reproduce(target: str, *, task: str | None = None, benchmark: str | None = None,
              model_path: str | None = None, bench_path: str | None = None, log_arg: str | None = None,
              samples: int | None = None, tolerance: float = 0.05, output_dir: Path | None = None,
              run: Callable[..., Any] | None = None, trust: TrustStore | None = None,
              judges: tuple[str, ...] = (), publish: bool = False, log_repo: str | None = None,
              remote: bool = False, shards: int = 1) -> list[Any]:
    """Each picked entry reproduced (a signed one: Outcome) or its value checked (an unsigned
    one of a Hub model repo: ClaimOutcome). Everything that can be refused is, before any run."""
    trust = trust if trust is not None else TrustStore()
    everything = read_targets(target)
    targets = pick_targets(everything, target, task=task, benchmark=benchmark)
    plans: dict[int, ClaimPlan] = {}
    for t in targets:
        if decide(t.raw, trust).status != "unsigned":
            check_token(t, trust)
            continue
        for flag, given in (("--samples", samples), ("--log", log_arg), ("--on hf-jobs", remote)):
            if given:
                raise ReproduceError(f"{t.where}: entry {_task(t)!r} has no verifyToken: {flag} is for signed "
                                     "entries (a value without a token is checked by a local run of the "
                                     "benchmark's declared method)")
        if not plans:
            quiet_hub()
        plans[id(t)] = plan_claim(t, everything, model_path=model_path, bench_path=bench_path)
    if publish and not plans:
        raise ReproduceError("--publish: no picked entry is unsigned; --publish opens a PR with the check of a "
                             "published value that has no verifyToken")
    run = run or local_runner(shards=shards)
    out: list[Any] = []
    for t in targets:
        workdir = output_dir or Path(tempfile.mkdtemp(prefix="run-eval-reproduce-"))
        if id(t) in plans:
            o = check_claim(plans[id(t)], tolerance=tolerance, workdir=workdir, judges=judges)
            if publish:
                o.warnings += publish_check(o, str(t.repo_id), trust=trust, log_repo=log_repo)
            out.append(o)
            continue
        out.append(reproduce_entry(t, model_path=model_path, bench_path=bench_path, log_arg=log_arg,
                                   samples=samples, tolerance=tolerance, workdir=workdir, run=run,
                                   judges=judges))
    return out
