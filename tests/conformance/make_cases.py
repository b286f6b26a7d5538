"""Write the conformance corpus: one folder per case, each with a ``case.yaml`` that says what
to run and what must come out, and the files it runs on (result files, trust stores, Inspect
logs, per-sample scores, job commands, benchmark folders).

Run from the repository root with run-eval installed: ``python tests/conformance/make_cases.py``.
Signing keys are the TEST-ONLY keys of ``tests/fixtures/tokens/keys``; Inspect logs are made
by a real run of the instant ``flaky/`` test provider (tests/testmodels.py), so they are not
byte-for-byte reproducible: the corpus is committed as made, like sigstore-conformance's
assets. ``tests/test_conformance.py`` runs every case.

Case kinds (``kind`` in case.yaml):

- ``cli``: ``command`` (with ``{dir}`` for the case's folder) run as ``run-eval``; ``exit``,
  and for ``verify --json`` the entries' ``statuses``; ``reason``/``stdout``/``stderr``
  substrings; ``not_stderr`` substrings that must be absent.
- ``compare``: the decision on ``results.yaml``'s claim given ``original.yaml`` (per-sample
  scores of the original log, or null for none) and ``rerun.yaml`` (the re-run's), with
  ``tolerance``: ``verdict``, ``why`` substring, and values in its JSON (``json``).
- ``job-command``: whether ``command.json`` (an HF Job's command) ran exactly the token's
  commits and spec (``ok``, ``note`` substring).
- ``pin``: ``bench/`` made a git checkout with ``gitignore`` as its .gitignore: ``pin`` kind.
- ``sweep``: whether a sweep cell (``model/`` on ``bench/`` with ``options``) counts the result
  in ``out/`` as done (``done``), with ``trust.yaml``.
- ``model-args``: the model args a re-run of ``results.yaml`` passes, read back (``args``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KEYS = REPO / "tests" / "fixtures" / "tokens" / "keys"
EXAMPLE = REPO / "examples" / "arithmetic"
IAT = 1767225600  # 2026-01-01T00:00:00Z: inside every test key's validity window but the expired one's
LATE_IAT = 1793491200  # 2026-11-01: after test-revoked's revocation and test-expired's end

sys.path.insert(0, str(REPO / "tests"))

from run_eval.signing.keys import SigningKey, load_key  # noqa: E402
from run_eval.signing.results import dump_raw  # noqa: E402
from run_eval.signing.token import entry_hash, sign, signed_view  # noqa: E402

MODEL = {"id": "org/model", "revision": "a" * 40, "spec": "hf/org/model"}
DATASET = {"id": "org/bench", "revision": "b" * 40, "pin": "hub", "task_id": "t1", "config": "default",
           "split": "test"}
SPEC = {"sha256": "c" * 64, "eval_yaml_sha256": "d" * 64, "task": {"id": "t1"}}
RUN = {"seed": 42, "shuffle_choices_seed": None, "epochs": 1, "epoch_reducer": "mean", "limit": None,
       "decoding": "greedy", "backend": "hf-batch", "generate_config": {"seed": 42, "max_tokens": 8},
       "model_args": {"do_sample": False},
       "packages": {"run-eval": "0.1.0", "inspect_ai": "0.3.285", "python": "3.11.7", "torch": "2.13.0",
                    "transformers": "5.24.0"},
       "environment": {"device": "cpu", "accelerator": None, "accelerator_count": 0, "dtype": "float32",
                       "cuda": None}}
EVIDENCE = {"log_sha256": "e" * 64, "samples_sha256": "f" * 64}
EXECUTOR = {"kind": "local", "job_id": None, "flavor": None}


def keys() -> dict[str, SigningKey]:
    return {n: load_key(KEYS / f"{n}.pem") for n in ("executor", "evaluator", "foreign", "revoked", "expired")}


def entry(value: float = 0.5, task: str = "t1") -> dict[str, Any]:
    return {"dataset": {"id": DATASET["id"], "task_id": task, "revision": DATASET["revision"]}, "value": value,
            "date": "2026-01-01T00:00:00Z", "source": {"url": "log.eval", "name": "Inspect log"},
            "notes": "conformance"}


def claims(e: dict[str, Any], *, iat: int = IAT, drop: tuple[str, ...] = (), **sections: Any) -> dict[str, Any]:
    c = {"version": 1, "hash": entry_hash(e), "iat": iat, "entry": signed_view(e),
         "model": MODEL, "dataset": {**DATASET, "task_id": e["dataset"]["task_id"]}, "spec": SPEC,
         "metric": {"name": "accuracy", "value": e["value"], "stderr": 0.1, "samples": 25, "total_samples": 25,
                    "subset": None},
         "run": RUN, "evidence": EVIDENCE, "executor": EXECUTOR}
    for name, value in sections.items():
        c[name] = value
    for name in drop:
        c.pop(name, None)
    return c


def signed(e: dict[str, Any], key: SigningKey, **kw: Any) -> dict[str, Any]:
    return {**e, "verifyToken": sign(claims(e, **kw), key)}


CASES: dict[str, dict[str, Any]] = {}


def case(name: str, spec: dict[str, Any], files: dict[str, Any] | None = None) -> None:
    CASES[name] = {"spec": spec, "files": files or {}}


def verify_cases(k: dict[str, SigningKey]) -> None:
    trust = ["--trust", "{dir}/trust.yaml"]

    def v(name: str, entries: list, statuses: list, exit_code: int, reason: str = "", extra: tuple = (),
          description: str = "", defect: str = "") -> None:
        case(name, {"kind": "cli", "description": description, "defect": defect,
                    "command": ["verify", "{dir}/results.yaml", *trust, "--json", *extra], "exit": exit_code,
                    "statuses": statuses, "reason": reason}, {"results.yaml": entries, "trust.yaml": "TRUST"})

    e = entry()
    v("verify_self_signed", [signed(e, k["foreign"])], ["self-signed"], 0,
      description="a valid signature by a key nobody trusts: integrity only")
    v("verify_signed_by_evaluator", [signed(e, k["evaluator"])], ["signed"], 0)
    v("verify_verified_by_executor", [signed(e, k["executor"])], ["verified"], 0)
    v("verify_unsigned", [e], ["unsigned"], 0)
    v("verify_value_edited", [{**signed(e, k["evaluator"]), "value": 0.9}], ["invalid"], 1, "hash mismatch: value")
    v("verify_revoked_key", [signed(e, k["revoked"], iat=LATE_IAT)], ["invalid"], 1, "is revoked")
    v("verify_revoked_key_before_revocation", [signed(e, k["revoked"])], ["invalid"], 1, "is revoked",
      description="a thief can back-date iat: every token of a revoked key is refused")
    v("verify_expired_key", [signed(e, k["expired"], iat=LATE_IAT)], ["invalid"], 1, "expired at")
    v("verify_other_model", [signed(e, k["evaluator"])], ["invalid"], 1,
      "the token is for model 'org/model', not 'org/other'", extra=("--model", "org/other"))
    v("verify_no_spec_no_run_is_still_valid", [signed(e, k["evaluator"], drop=("spec", "run"))], ["signed"], 0,
      description="sections a verifier does not need may be absent", defect="KeyError: 'spec'")
    v("verify_claim_without_metric_value", [signed(e, k["evaluator"], metric={"name": "accuracy"})], ["invalid"], 1,
      "claim metric.value: required", defect="a claim without metric.value passed as 'value recomputed'")
    v("verify_claim_value_is_a_string", [signed(e, k["evaluator"], metric={"name": "accuracy", "value": "0.5"})],
      ["invalid"], 1, "claim metric.value: expected a number (got '0.5')")
    v("verify_claim_run_seed_not_int", [signed(e, k["evaluator"], run={**RUN, "seed": "42"})], ["invalid"], 1,
      "claim run.seed: expected an integer")
    v("verify_executor_kind_unknown", [signed(e, k["evaluator"], executor={"kind": "cloud"})], ["invalid"], 1,
      "claim executor.kind")
    v("verify_dataset_revision_claim_differs",
      [signed(e, k["evaluator"], dataset={**DATASET, "revision": "0" * 40})], ["invalid"], 1,
      "dataset.revision is 'bbbbbbbb")
    v("verify_mixed_file", [signed(e, k["executor"]), e, {**signed(entry(0.3, "t2"), k["evaluator"]), "notes": "x"}],
      ["verified", "unsigned", "invalid"], 1, "hash mismatch: notes")


def cli_cases(k: dict[str, SigningKey]) -> None:
    e = entry()
    # verify a parent folder of model folders
    case("verify_parent_of_model_folders", {
        "kind": "cli", "defect": "verify DIR read only DIR/.eval_results/",
        "command": ["verify", "{dir}/models", "--trust", "{dir}/trust.yaml", "--json"], "exit": 0,
        "statuses": ["signed", "verified"]},
        {"models/org--a/.eval_results/bench.yaml": [signed(e, k["evaluator"])],
         "models/org--b/.eval_results/bench.yaml": [signed(e, k["executor"])],
         "models/org--b/.cache/.eval_results/ignored.yaml": "not: [a result file",
         "trust.yaml": "TRUST"})
    case("verify_folder_without_results", {
        "kind": "cli", "command": ["verify", "{dir}/empty"], "exit": 1,
        "stdout": ["no .eval_results/*.yaml in or below this folder"]}, {"empty/README.md": "nothing here\n"})
    # reproduce and diff refuse what the trust decision refuses, and say what is missing
    revoked = [signed(e, k["revoked"])]
    case("reproduce_revoked_key_is_refused", {
        "kind": "cli", "defect": "reproduce checked tokens against an empty trust store",
        "command": ["reproduce", "{dir}/results.yaml", "--trust", "{dir}/trust.yaml"], "exit": 2,
        "stderr": ["the token is invalid", "is revoked", "refusing to reproduce it"]},
        {"results.yaml": revoked, "trust.yaml": "TRUST"})
    case("reproduce_without_spec_or_run_is_one_line", {
        "kind": "cli", "defect": "run-eval: error: KeyError: 'spec'",
        "command": ["reproduce", "{dir}/results.yaml"], "exit": 2,
        "stderr": ["the token has no spec or run claim"], "not_stderr": ["KeyError", "Traceback"]},
        {"results.yaml": [signed(e, k["foreign"], drop=("spec", "run"))]})
    case("diff_revoked_key_is_refused", {
        "kind": "cli", "command": ["diff", "{dir}/a.yaml", "{dir}/b.yaml", "--trust", "{dir}/trust.yaml"], "exit": 2,
        "stderr": ["is revoked"]},
        {"a.yaml": revoked, "b.yaml": [signed(e, k["evaluator"])], "trust.yaml": "TRUST"})
    case("diff_without_spec_or_run", {
        "kind": "cli", "defect": "diff printed ReproduceError ... (set RUN_EVAL_DEBUG=1 for the traceback)",
        "command": ["diff", "{dir}/a.yaml", "{dir}/b.yaml", "--json"], "exit": 0,
        "stdout": ['"comparable": false', '"spec fingerprint"'], "not_stderr": ["RUN_EVAL_DEBUG"]},
        {"a.yaml": [signed(e, k["foreign"], drop=("spec", "run"))], "b.yaml": [signed(e, k["evaluator"])]})
    torch_b = {**RUN, "packages": {**RUN["packages"], "torch": "2.5.1"}}
    case("diff_names_torch_version", {
        "kind": "cli", "command": ["diff", "{dir}/a.yaml", "{dir}/b.yaml", "--json"], "exit": 0,
        "stdout": ['"field": "torch"', '"a": "2.13.0"', '"b": "2.5.1"', '"other": [\n    "torch"']},
        {"a.yaml": [signed(e, k["evaluator"])], "b.yaml": [signed(e, k["evaluator"], run=torch_b)]})
    gpu = {**RUN, "environment": {"device": "cuda", "accelerator": "NVIDIA H200", "accelerator_count": 1,
                                  "dtype": "bfloat16", "cuda": "12.8"}}
    case("diff_names_device_and_dtype", {
        "kind": "cli", "command": ["diff", "{dir}/a.yaml", "{dir}/b.yaml"], "exit": 0,
        "stdout": ["device", "NVIDIA H200", "bfloat16", "they also differ in", "accelerator"]},
        {"a.yaml": [signed(e, k["evaluator"])], "b.yaml": [signed(e, k["evaluator"], run=gpu)]})
    case("diff_max_tokens_breaks_comparison", {
        "kind": "cli", "command": ["diff", "{dir}/a.yaml", "{dir}/b.yaml"], "exit": 0,
        "stdout": ["not comparable: they differ in max_tokens"]},
        {"a.yaml": [signed(e, k["evaluator"])],
         "b.yaml": [signed(e, k["evaluator"], run={**RUN, "generate_config": {"seed": 42, "max_tokens": 512}})]})
    # model args that look like secrets, and those that only contain the word
    for name, arg, refused in (("secret_filter_refuses_api_key", "api_key=abc", True),
                               ("secret_filter_refuses_hf_token", "hf_token=abc", True),
                               ("secret_filter_accepts_tokenizer", "tokenizer=gpt2", False),
                               ("secret_filter_accepts_tokenizer_call_args", "tokenizer_call_args={truncation: true}",
                                False)):
        spec: dict[str, Any] = {"kind": "cli", "command": ["mockllm/model", "{dir}/no-such-benchmark", "-M", arg],
                                "exit": 2}
        if refused:
            spec["stderr"] = ["secrets are not accepted as model args"]
            spec["not_stderr"] = ["abc"]
        else:
            spec["defect"] = "the secret filter refused legitimate hf/ args"
            spec["stderr"] = ["no such file or folder"]
            spec["not_stderr"] = ["secrets are not accepted"]
        case(name, spec)
    for key in ("strategy", "int", "str_field"):
        case(f"spec_unknown_key_{key}", {
            "kind": "cli", "defect": "an unknown key was reported without its name",
            "command": ["mockllm/model", "{dir}/eval.yaml"], "exit": 2,
            "stderr": [f"tasks[0].{key}: unknown key"]},
            {"eval.yaml": {"tasks": [{"field_spec": {"input": "q", "target": "a"}, "solvers": [{"name": "generate"}],
                                      "scorers": [{"name": "match"}], key: 1}]}})


def compare_cases(k: dict[str, SigningKey]) -> None:
    def cmp(name: str, *, value: float, stderr: float | None, n: int, original: dict | None,
            rerun: dict, verdict: str, why: str, metric: str = "accuracy", tolerance: float = 0.05,
            json_expect: dict | None = None, description: str = "", defect: str = "") -> None:
        e = entry(value)
        m = {"name": metric, "value": value, "stderr": stderr, "samples": n, "total_samples": n, "subset": None}
        case(name, {"kind": "compare", "description": description, "defect": defect, "tolerance": tolerance,
                    "verdict": verdict, "why": why, "json": json_expect or {}},
             {"results.yaml": [signed(e, k["evaluator"], metric=m)], "original.yaml": original, "rerun.yaml": rerun})

    def scores(ones: int, n: int, start: int = 0) -> dict[str, float]:
        return {f"s{i:04d}": 1.0 if start <= i < start + ones else 0.0 for i in range(n)}

    same = scores(30, 60)
    # 100 identical samples: Tango's interval is ±z²/(n+z²) = ±0.037 (with 60 it is ±0.060: inconclusive)
    cmp("compare_paired_identical", value=0.5, stderr=0.05025, n=100, original=scores(50, 100),
        rerun=scores(50, 100), verdict="reproduced", why="lies within ±0.05",
        json_expect={"claimed": 0.5, "original_log": 0.5, "reproduced": 0.5})
    cmp("compare_paired_identical_few_is_not_certain", value=0.5, stderr=0.065, n=60, original=same, rerun=same,
        verdict="inconclusive", why="samples would be needed to tell", json_expect={"ci95": [-0.0601719, 0.0601719]},
        defect="60 identical samples were 'reproduced' with CI [0, 0]; they allow |Δ| up to 0.06")
    cmp("compare_claim_disagrees_with_its_log", value=0.8, stderr=0.05, n=60, original=same, rerun=same,
        verdict="not-reproduced", why="it claims 0.8, its log's samples give 0.5",
        json_expect={"claimed": 0.8, "original_log": 0.5, "reproduced": 0.5}, defect="the log's value was shown as "
        "'original' and the claimed value not at all")
    # the example: a claim 0.03 above the truth on 400 samples, no log at hand
    truth = scores(200, 400)
    cmp("compare_half_width_is_not_the_rule", value=0.53, stderr=0.02497, n=400, original=None, rerun=truth,
        verdict="inconclusive", why="reaches beyond ±0.05", json_expect={"claimed": 0.53, "reproduced": 0.5},
        defect="only the half-width was compared: Δ -0.03, CI [-0.073, +0.013] was 'reproduced'")
    cmp("compare_unpaired_differs", value=0.9, stderr=0.03, n=400, original=None, rerun=truth,
        verdict="not-reproduced", why="excludes 0")
    cmp("compare_unpaired_within_tolerance", value=0.5, stderr=0.0158, n=1000, original=None,
        rerun=scores(500, 1000), verdict="reproduced", why="lies within ±0.05")
    cmp("compare_missing_stderr_is_derived", value=0.5, stderr=None, n=1000, original=None, rerun=scores(500, 1000),
        verdict="reproduced", why="lies within ±0.05", json_expect={"se_original": 0.0158193},
        defect="a missing stderr was taken as 0")
    cmp("compare_missing_stderr_small_n_is_not_zero", value=0.5, stderr=None, n=40, original=None,
        rerun=scores(20, 40), verdict="inconclusive", why="the claim's own interval is too wide")
    cmp("compare_missing_stderr_underivable", value=0.5, stderr=None, n=100, original=None,
        rerun={f"s{i}": 0.5 for i in range(100)}, metric="f1", verdict="inconclusive",
        why="does not allow deriving one")
    cmp("compare_paired_small_significant_shift_is_not_reproduced", value=0.5, stderr=0.02, n=600,
        original=scores(300, 600), rerun=scores(312, 600), verdict="not-reproduced", why="excludes 0",
        description="a significant difference smaller than the tolerance is still a difference")
    cmp("compare_paired_few_samples_inconclusive", value=0.5, stderr=0.16, n=10, original=scores(5, 10),
        rerun=scores(5, 10, start=1), verdict="inconclusive", why="samples would be needed to tell")


def job_command_cases(k: dict[str, SigningKey]) -> None:
    e = entry()
    token = [signed(e, k["executor"], executor={"kind": "hf-jobs", "job_id": "j1", "flavor": "t4-small",
                                                  "namespace": "org"})]

    def job(name: str, model: str, bench: str, spec: str, ok: bool, note: str, defect: str = "") -> None:
        script = (f"python -m pip install -q run-eval && run-eval run {model} {bench} --seed 42 "
                  f"--expect-spec {spec} --upload-results org/run-eval-results")
        case(name, {"kind": "job-command", "defect": defect, "ok": ok, "note": note},
             {"results.yaml": token, "command.json": ["bash", "-c", script]})

    m, b, s = f"hf/org/model@{'a' * 40}", f"org/bench@{'b' * 40}", f"t1={'c' * 64}"
    job("job_command_exact", m, b, s, True, "COMPLETED with the same commits and spec")
    job("job_command_other_owner_same_suffix", f"hf/g/model@{'a' * 40}", b, s, False,
        "model 'hf/g/model@aaaa", defect="`g/tiny@<sha>` matched a job that ran `org/tiny@<sha>` (substring)")
    job("job_command_other_benchmark_commit", m, f"org/bench@{'0' * 40}", s, False, "benchmark 'org/bench@0000")
    job("job_command_other_spec", m, b, f"t1={'9' * 64}", False, "spec fingerprints")
    job("job_command_spec_of_another_task", m, b, f"t2={'c' * 64}", False, "spec fingerprints")


def pin_cases() -> None:
    case("pin_git_ignored_data_is_content", {"kind": "pin", "gitignore": "data/\n", "pin": "content",
                                             "defect": "a clean checkout with ignored data files was pinned to a "
                                             "commit that does not contain them"}, {"bench": "EXAMPLE"})
    case("pin_clean_checkout_is_git", {"kind": "pin", "gitignore": "*.tmp\n", "pin": "git"}, {"bench": "EXAMPLE"})


def sweep_cases(k: dict[str, SigningKey]) -> None:
    """Result files claiming a cell's lock, and ones that differ in one setting."""
    from run_eval.runner.models.reference import resolve_model
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import load_spec

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        (model_dir / "config.json").write_text('{"model_type": "llama"}\n')
        bench_dir = Path(tmp) / "bench"
        shutil.copytree(EXAMPLE, bench_dir)
        ref = resolve_model(f"hf/{model_dir}")
        bench = resolve_benchmark(str(bench_dir))
        task = load_spec(bench.eval_yaml).select(["addition"])[0]

    def result(**run_changes: Any) -> list:
        e = {"dataset": {"id": bench.dataset_id, "task_id": "addition", "revision": bench.revision}, "value": 0.4,
             "date": "2026-01-01T00:00:00Z", "notes": "x"}
        run = {**RUN, "limit": 2, "epochs": task.model.epochs, "generate_config": {"seed": 42, "max_tokens": 2},
               "model_args": {"do_sample": False}, "backend": "hf-batch", **run_changes}
        return [signed(e, k["evaluator"],
                       model={"id": "local/model", "revision": ref.revision, "spec": "hf/model"},
                       dataset={**DATASET, "id": bench.dataset_id, "revision": bench.revision, "pin": "content",
                                "task_id": "addition", "config": "addition"},
                       spec={"sha256": task.fingerprint(), "eval_yaml_sha256": "d" * 64, "task": task.as_dict()},
                       run=run)]

    options = {"task_ids": ["addition"], "limit": 2, "max_tokens": 2}

    def sweep(name: str, entries: list, done: bool, opts: dict | None = None, defect: str = "") -> None:
        case(name, {"kind": "sweep", "done": done, "options": opts or options, "defect": defect},
             {"model/config.json": '{"model_type": "llama"}\n', "bench": "EXAMPLE",
              "out/model/.eval_results/bench.yaml": entries, "trust.yaml": "TRUST"})

    sweep("sweep_same_lock_is_done", result(), True)
    sweep("sweep_other_epochs_is_not_done", result(epochs=3), False,
          defect="a cell was skipped when --epochs was unset, whatever epochs the result used")
    sweep("sweep_other_backend_is_not_done", result(backend="hf"), False, defect="backend was not compared")
    sweep("sweep_other_model_args_is_not_done", result(model_args={"do_sample": False, "device": "cpu"}), False,
          defect="-M args were not compared")
    sweep("sweep_asked_epochs_match", result(epochs=2), True, {**options, "epochs": 2})
    revoked = result()
    revoked[0]["verifyToken"] = signed({k2: v for k2, v in revoked[0].items() if k2 != "verifyToken"},
                                       k["revoked"])["verifyToken"]
    sweep("sweep_revoked_key_is_not_done", revoked, False, defect="sweep's skip check used an empty trust store")


def model_args_cases(k: dict[str, SigningKey]) -> None:
    args = {"do_sample": False, "pad": None, "style": "yes", "n": "01", "device": "cpu", "kw": {"truncation": True}}
    case("model_args_round_trip", {"kind": "model-args", "args": args,
                                   "defect": "recorded model args went through k=v strings: None became 'None', "
                                   "'yes' became True"},
         {"results.yaml": [signed(entry(), k["evaluator"], run={**RUN, "model_args": args})]})


def write(root: Path) -> None:
    trust = (REPO / "tests" / "fixtures" / "tokens" / "trust.yaml").read_text()
    for name, c in CASES.items():
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / "case.yaml").write_text(yaml.safe_dump({k: v for k, v in c["spec"].items() if v not in ("", None)},
                                                         sort_keys=False, width=100))
        for rel, content in c["files"].items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if content == "TRUST":
                path.write_text(trust)
            elif content == "EXAMPLE":
                shutil.copytree(EXAMPLE, path)
            elif isinstance(content, str):
                path.write_text(content)
            elif rel.endswith(".json"):
                path.write_text(json.dumps(content) + "\n")
            elif isinstance(content, list) and content and isinstance(content[0], dict) and "dataset" in content[0]:
                path.write_text(dump_raw(content))
            else:
                path.write_text(yaml.safe_dump(content, sort_keys=False))


def evidence_cases(k: dict[str, SigningKey], root: Path) -> None:
    """Two models' real logs for one task (the flaky/ test provider, instant), each result
    signed; --log with both must check each entry against its own log."""
    import contextlib
    import io

    from run_eval.runner.cli.main import main

    import testmodels  # noqa: F401  (registers flaky/)

    with tempfile.TemporaryDirectory() as tmp:
        env = {"RUN_EVAL_SIGNING_KEY": (KEYS / "evaluator.pem").read_text(), "RUN_EVAL_HOME": str(Path(tmp) / "h")}
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            for model in ("a", "b"):
                out = Path(tmp) / model
                with contextlib.redirect_stdout(io.StringIO()):
                    try:
                        main(["flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "3", "--model-id",
                              f"org/{model}", "--output-dir", str(out), "--log-dir", str(out / "logs")])
                    except SystemExit as ex:
                        assert not ex.code, ex.code
        finally:
            os.environ.clear()
            os.environ.update(saved)
        files: dict[str, Any] = {"trust.yaml": "TRUST"}
        logs = {}
        for model in ("a", "b"):
            (raw,) = yaml.safe_load((Path(tmp) / model / ".eval_results" / "arithmetic.yaml").read_text())
            log = Path(raw["source"]["url"])
            logs[model] = log.read_bytes()
            raw["source"]["url"] = f"{model}.eval"
            files[f"models/org--{model}/.eval_results/arithmetic.yaml"] = [raw]
        case("verify_two_models_one_task_with_both_logs", {
            "kind": "cli", "defect": "verify --log indexed logs by (dataset, task): two models' logs overwrote "
            "each other",
            "command": ["verify", "{dir}/models", "--trust", "{dir}/trust.yaml", "--log", "{dir}/a.eval", "--log",
                        "{dir}/b.eval", "--json"], "exit": 0, "statuses": ["signed", "signed"],
            "stdout": ["value recomputed"]}, files)
        case("verify_log_of_another_model_is_not_evidence", {
            "kind": "cli", "command": ["verify", "{dir}/models/org--a", "--trust", "{dir}/trust.yaml", "--log",
                                       "{dir}/b.eval", "--json"], "exit": 1, "statuses": ["signed"],
            "stdout": ["not checked (no --log for this entry)", "no entry's token names this log"]},
            {k2: v for k2, v in files.items() if "org--b" not in k2})
        # a token without metric.value, on an entry without value, whose evidence is a real log
        from run_eval.signing.token import check_signature

        (raw_a,) = files["models/org--a/.eval_results/arithmetic.yaml"]
        payload = dict(check_signature(raw_a["verifyToken"]).payload)
        no_value = {k2: v for k2, v in raw_a.items() if k2 not in ("verifyToken", "value")}
        payload["metric"] = {k2: v for k2, v in payload["metric"].items() if k2 != "value"}
        resigned = {k2: v for k2, v in payload.items() if k2 not in ("version", "hash", "iat", "entry")}
        unchecked = {"version": 1, "hash": entry_hash(no_value), "iat": IAT, "entry": signed_view(no_value),
                     **resigned}
        case("verify_log_claim_without_value", {
            "kind": "cli", "defect": "the evidence check compared abs(x - nan) > 1e-9: a claim without metric.value "
            "passed as 'value recomputed'",
            "command": ["verify", "{dir}/models/org--a", "--trust", "{dir}/trust.yaml", "--log", "{dir}/a.eval",
                        "--json"], "exit": 1, "statuses": ["invalid"], "reason": "claim metric.value: required",
            "not_stdout": ["value recomputed"]},
            {"models/org--a/.eval_results/arithmetic.yaml": [{**no_value, "verifyToken": sign(unchecked, k["evaluator"])}],
             "trust.yaml": "TRUST"})
        tampered = bytearray(logs["a"])
        case("verify_tampered_log_is_invalid", {
            "kind": "cli", "command": ["verify", "{dir}/models/org--a", "--trust", "{dir}/trust.yaml", "--log",
                                       "{dir}/a.eval", "--json"], "exit": 1, "statuses": ["invalid"],
            "reason": "its sha256 is not the token's evidence.log_sha256"},
            {k2: v for k2, v in files.items() if "org--b" not in k2})
        write(root)
        for name, data in (("verify_two_models_one_task_with_both_logs", logs),
                           ("verify_log_claim_without_value", {"a": logs["a"]}),
                           ("verify_log_of_another_model_is_not_evidence", {"b": logs["b"]}),
                           ("verify_tampered_log_is_invalid", {"a": bytes(tampered) + b"\0"})):
            for model, blob in data.items():
                (root / name / f"{model}.eval").write_bytes(blob)


def main() -> None:
    k = keys()
    verify_cases(k)
    cli_cases(k)
    compare_cases(k)
    job_command_cases(k)
    pin_cases()
    sweep_cases(k)
    model_args_cases(k)
    evidence_cases(k, HERE / "cases")  # (writes every case)
    print(f"{len(CASES)} cases in {HERE / 'cases'}")


if __name__ == "__main__":
    main()
