"""`run-eval lint` and the lint step of `run`: planted method bugs are errors, clean
benchmarks (ours and every valid eval.yaml shape) raise none, bad input is one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from benchdata import VALID, make_dataset
from conftest import EXAMPLE, REPO, assert_clean_error, run_inproc

from run_eval.signing.results import read_raw
from run_eval.signing.token import check_signature
from run_eval.tasks.lint import RULES

LINT = REPO / "tests" / "fixtures" / "lint"
sys.path.insert(0, str(LINT))
from make_fixtures import write  # noqa: E402


def lint_json(*args: str, cwd: Path) -> tuple[int, list[dict]]:
    proc = run_inproc("lint", *args, "--json", cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"]


def by_rule(findings: list[dict]) -> dict[str, dict]:
    return {f["rule"]: f for f in findings}


def test_drop_like_stop_sequence_is_an_error_naming_it_and_the_targets_it_cuts(tmp_path):
    code, findings = lint_json(str(LINT / "drop_like"), cwd=tmp_path)
    assert code == 1
    (f,) = findings
    assert f["rule"] == "stop-in-target" and f["severity"] == "error" and f["task_id"] == "quarters"
    assert f["count"] == 30  # the 30 of 40 quarters that are not whole numbers; "1", "2", ... are not cut
    assert "'.'" in f["message"] and "30 of 40 targets" in f["message"]
    assert f["samples"][0] == {"id": "q01", "value": "0.25 -> 0."}
    assert len(f["samples"]) == 3


def test_a_stop_sequence_the_scorer_normalises_away_is_not_flagged(tmp_path):
    # "Paris." cut at "." is "Paris", which exact() still scores right; "{your answer}" is
    # kept as written by Inspect; {country} is in every sample's metadata
    assert lint_json(str(LINT / "clean_text"), cwd=tmp_path) == (0, [])
    assert lint_json(str(LINT / "quarters_clean"), cwd=tmp_path) == (0, [])
    assert lint_json(str(EXAMPLE), cwd=tmp_path) == (0, [])


def test_targets_the_scorer_normalisation_empties_and_targets_anything_matches(tmp_path):
    code, findings = lint_json(str(LINT / "empty_norm"), cwd=tmp_path)
    assert code == 1
    rules = {(f["rule"], f["task_id"]): f for f in findings}
    unscorable = rules[("target-unscorable", "exact")]
    assert {s["value"] for s in unscorable["samples"]} <= {"the", "a", "-", "an", "."}
    assert unscorable["count"] == 5  # the, a, -, an, "." (exact drops articles and punctuation)
    anything = rules[("target-matches-anything", "match")]
    assert {s["value"] for s in anything["samples"]} == {"-", "."}
    assert ("target-unscorable", "match") not in rules  # match keeps "the" and "a"


def test_template_field_that_no_metadata_provides_is_a_warning(tmp_path):
    # Inspect keeps an unknown {field} as written: it may be meant literally, so it never stops a run
    code, findings = lint_json(str(LINT / "missing_field"), cwd=tmp_path)
    assert code == 0
    (f,) = findings
    assert f["rule"] == "template-field-missing" and f["severity"] == "warning"
    assert f["count"] == 6 and "{subject}" in f["message"]


def test_sample_level_rules(tmp_path):
    code, findings = lint_json(str(LINT / "broken_samples"), cwd=tmp_path)
    assert code == 1
    mc = by_rule([f for f in findings if f["task_id"] == "mc"])
    assert set(mc) == {"empty-input", "duplicate-id", "too-few-choices", "choice-target-out-of-range",
                       "conflicting-targets", "duplicate-choices"}
    assert mc["choice-target-out-of-range"]["samples"] == [{"id": "f", "value": "target 'E' of 3 choices"}]
    assert mc["duplicate-id"]["samples"][0]["id"] == "c"
    literal = by_rule([f for f in findings if f["task_id"] == "literal"])
    assert literal["literal-target-is-column"]["severity"] == "warning"


@pytest.mark.parametrize("name", VALID)
def test_every_rule_is_silent_on_the_valid_eval_yaml_shapes(name, tmp_path):
    root = make_dataset(name, tmp_path / name)
    assert lint_json(str(root), cwd=tmp_path) == (0, [])


MC = "tasks: [{field_spec: {input: q, target: a, choices: c}, solvers: [{name: multiple_choice}], scorers: [{name: choice}]}]"
GEN = "tasks: [{{field_spec: {{input: q, target: a{meta}}}, solvers: [{solvers}{{name: generate{gen}}}], scorers: [{{name: {scorer}}}]}}]"


def _gen(solvers: str = "", scorer: str = "match", meta: str = "", gen: str = "") -> str:
    return GEN.format(solvers=solvers, scorer=scorer, meta=meta, gen=gen)


SUMS = [{"q": f"What is {i} + {i}?", "a": str(2 * i)} for i in range(1, 5)]
# rule -> (eval.yaml, rows, task) of a planted bug it must report; the two --model rules are
# planted in test_with_model_max_tokens_and_context
PLANTED = {
    "stop-in-target": ("drop_like", None),
    "target-unscorable": ("empty_norm", None),
    "target-matches-anything": ("empty_norm", None),
    "choice-target-out-of-range": ("broken_samples", None),
    "literal-target-is-column": ("broken_samples", None),
    "too-few-choices": ("broken_samples", None),
    "duplicate-choices": ("broken_samples", None),
    "empty-input": ("broken_samples", None),
    "conflicting-targets": ("broken_samples", None),
    "duplicate-id": ("broken_samples", None),
    "template-field-missing": ("missing_field", None),
    "empty-target": (_gen(), [*SUMS, {"q": "What is nothing?", "a": " "}]),
    "stop-in-target-unchecked": (_gen(gen=", args: {stop_seqs: ['.']}", scorer="pattern, args: {pattern: '(.*)'}"),
                                 [{"q": "Half of 5?", "a": "2.5"}, *SUMS]),
    "template-literal-brace": (_gen("{name: prompt_template, args: {template: \"{prompt} {0:>4}\"}}, "), SUMS),
    "template-invalid": (_gen("{name: prompt_template, args: {template: \"{prompt} {\"}}, "), SUMS),
    "template-no-prompt": (_gen("{name: prompt_template, args: {template: 'Answer the question.'}}, "), SUMS),
}
MODEL_RULES = {"max-tokens-below-target", "prompt-exceeds-context"}


def test_every_rule_fires_on_its_planted_bug(tmp_path):
    assert set(PLANTED) | MODEL_RULES == set(RULES)
    seen: dict[str, set[str]] = {}
    for rule, (where, rows) in PLANTED.items():
        bench = LINT / where if rows is None else write(tmp_path / rule, where, rows)
        if str(bench) not in seen:
            seen[str(bench)] = {f["rule"] for f in lint_json(str(bench), cwd=tmp_path)[1]}
        assert rule in seen[str(bench)], (rule, seen[str(bench)])


def test_valid_methods_lint_used_to_refuse_run_with_at_most_warnings(tmp_path, tiny_model):
    """Literal braces Inspect keeps as written, a prompt built from a metadata field, choice
    labels Inspect's scorer reads, and a judge's criteria as targets: valid benchmarks."""
    choices = [str(k) for k in range(28)]  # 28: numeric labels 1, 2, ... name the 27th choice on
    bench = write(tmp_path / "valid", """
tasks:
  - id: braces
    field_spec: {input: q, target: a}
    solvers:
      - {name: prompt_template, args: {template: "Keep {braces} as written. Reply as JSON: {\\"answer\\": <n>}\\n{prompt}"}}
      - {name: generate}
    scorers: [{name: match}]
  - id: question
    field_spec: {input: q, target: a, metadata: [q]}
    solvers: [{name: prompt_template, args: {template: "Q: {q}\\nA:"}}, {name: generate}]
    scorers: [{name: match}]
  - id: labels
    field_spec: {input: q, target: label, choices: options}
    solvers: [{name: multiple_choice}]
    scorers: [{name: choice}]
  - id: graded
    field_spec: {input: q, target: criterion}
    solvers: [{name: generate}]
    scorers: [{name: model_graded_fact}]
""", [{"q": f"What is {i} + {i}?", "a": str(2 * i), "options": choices, "label": label,
       "criterion": f"The answer states that the sum is {2 * i}, in words or digits, and nothing else."}
      for i, label in enumerate(["b", "A,C", "2", "B, D"], start=1)])
    code, findings = lint_json(str(bench), cwd=tmp_path)
    assert code == 0 and {f["severity"] for f in findings} == {"warning"}, findings
    assert {(f["rule"], f["task_id"]) for f in findings} == {("template-field-missing", "braces"),
                                                             ("template-literal-brace", "braces")}
    # a judge's targets are criteria: no answer has to fit in max_tokens
    assert lint_json(str(bench), "--task", "graded", "--model", f"hf/{tiny_model}", "--max-tokens", "2",
                     cwd=tmp_path) == (0, [])
    proc = run_inproc("run", f"hf/{tiny_model}", str(bench), "--task", "braces", "--task", "question", "--task",
                      "labels", "--limit", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lint: warning template-field-missing [task braces]" in proc.stderr


def test_lint_ignore_accepts_one_rule_and_keeps_the_others(tmp_path, tiny_model):
    """--lint-ignore RULE runs a benchmark with a known finding, still enforces every other rule,
    and is recorded in the token, the notes and a re-run's options."""
    from run_eval.runner.compare.reproduce import recorded_options

    bad = run_inproc("run", f"hf/{tiny_model}", str(LINT / "drop_like"), "--lint-ignore", "empty-input",
                     cwd=tmp_path)
    assert bad.returncode == 1
    assert_clean_error(bad, "stop-in-target", "--lint-ignore stop-in-target")
    assert "lint: --lint-ignore empty-input: lint found no error of this rule" in bad.stderr
    unknown = run_inproc("run", f"hf/{tiny_model}", str(LINT / "drop_like"), "--lint-ignore", "stop-in-targets",
                         cwd=tmp_path)
    assert unknown.returncode == 2
    assert_clean_error(unknown, "--lint-ignore 'stop-in-targets': not a lint rule")
    proc = run_inproc("run", f"hf/{tiny_model}", str(LINT / "drop_like"), "--lint-ignore", "stop-in-target",
                      "--limit", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "(--lint-ignore stop-in-target: accepted)" in proc.stderr
    (entry,) = read_raw(tmp_path / ".eval_results" / "drop_like.yaml")
    claims = check_signature(entry["verifyToken"]).claims
    lint = claims.run.lint
    assert (lint.enforced, lint.ignored, lint.errors) == (True, ["stop-in-target"], ["stop-in-target"])
    assert "lint: errors accepted (--lint-ignore): stop-in-target" in entry["notes"]
    options = recorded_options(claims, "quarters", None)
    assert options.lint_ignore == ("stop-in-target",) and not options.no_lint
    assert options.argv()[-2:] == ["--lint-ignore", "stop-in-target"]


def test_with_model_max_tokens_and_context(tmp_path, tiny_model):
    model = f"hf/{tiny_model}"
    code, findings = lint_json(str(LINT / "quarters_clean"), "--model", model, "--max-tokens", "2", cwd=tmp_path)
    f = by_rule(findings)["max-tokens-below-target"]
    # the tiny tokenizer has one token per digit: every decimal ("0.5", "2.25") is over 2 tokens, "10" is not
    assert code == 1 and f["count"] == 30 and "max_tokens 2 (--max-tokens)" in f["message"]
    assert lint_json(str(LINT / "quarters_clean"), "--model", model, cwd=tmp_path) == (0, [])
    long = write(tmp_path / "long", "tasks: [{field_spec: {input: q, target: a}, solvers: [{name: generate}], "
                 "scorers: [{name: match}]}]", [{"q": "apples " * 300 + "?", "a": "3"}, {"q": "pears?", "a": "4"}])
    code, findings = lint_json(str(long), "--model", model, cwd=tmp_path)
    over = by_rule(findings).get("prompt-exceeds-context")
    assert code == 1 and over is not None and "context of 256 tokens" in over["message"], findings


def test_hf_default_max_tokens_is_inspects():
    from inspect_ai._util.constants import DEFAULT_MAX_TOKENS

    from run_eval.runner.models.limits import HF_DEFAULT_MAX_TOKENS

    assert HF_DEFAULT_MAX_TOKENS == DEFAULT_MAX_TOKENS


def test_table_and_plain_output(tmp_path):
    proc = run_inproc("lint", str(LINT / "drop_like"), cwd=tmp_path)
    assert proc.returncode == 1
    header, row, summary = proc.stdout.strip().splitlines()
    assert header.split("\t")[:3] == ["severity", "rule", "task"]
    assert row.startswith("error\tstop-in-target\tquarters\t30\tq01: 0.25 -> 0.")
    assert summary.startswith("1 error, 0 warnings in 1 task (40 samples) of local/drop_like@sha256:")


@pytest.mark.parametrize("args, needle", [
    (("nowhere",), "BENCHMARK 'nowhere'"),
    ((str(LINT / "drop_like"), "--task", "nope"), "--task 'nope' is not a task"),
    ((str(LINT / "drop_like"), "-M", "device=cpu"), "add --model MODEL"),
    ((str(LINT / "drop_like"), "--model", "openai/gpt-4o"), "openai/ models are not"),
    ((str(LINT / "drop_like"), "--model", "hf/./no-such-folder"), "hf/./no-such-folder"),
])
def test_bad_input_is_one_line(args, needle, tmp_path):
    proc = run_inproc("lint", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_clean_error(proc, needle)


def test_every_rule_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    from run_eval.runner.audit.checks import RULE_IDS

    for rule in [*RULES, *RULE_IDS]:
        assert f"`{rule}`" in readme, rule


def test_run_refuses_a_lint_error_before_loading_the_model(tmp_path, tiny_model):
    proc = run_inproc("run", f"hf/{tiny_model}", str(LINT / "drop_like"), cwd=tmp_path)
    assert proc.returncode == 1
    assert_clean_error(proc, "stop-in-target", "no model loaded", "--no-lint")
    assert not (tmp_path / "logs").exists() and not (tmp_path / ".eval_results").exists()


def test_no_lint_runs_and_the_token_records_it(tmp_path, tiny_model):
    proc = run_inproc("run", f"hf/{tiny_model}", str(LINT / "drop_like"), "--no-lint", "--limit", "6", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lint: error stop-in-target" in proc.stderr and "(--no-lint: running anyway)" in proc.stderr
    (entry,) = read_raw(tmp_path / ".eval_results" / "drop_like.yaml")
    claims = check_signature(entry["verifyToken"]).claims
    assert claims.run.lint.enforced is False and claims.run.lint.errors == ["stop-in-target"]
    assert "lint: not enforced (--no-lint); errors: stop-in-target" in entry["notes"]

    from run_eval.runner.compare.reproduce import recorded_options

    assert recorded_options(claims, "quarters", None).no_lint  # a re-run is run as it was
    assert "--no-lint" in recorded_options(claims, "quarters", None).argv()


def test_a_grader_template_with_unknown_fields_fails_lint(tmp_path):
    """model_graded_* fill their template with str.format: an unknown field, or literal braces,
    would fail every grading."""
    bench = write(tmp_path / "graded", """
tasks:
  - field_spec: {input: q, target: a, metadata: [topic]}
    solvers: [{name: generate}]
    scorers:
      - name: model_graded_fact
        args: {template: "{question} {topic} {criterion} {answer} {subject} {'a': 1}"}
""", [{"q": "2+2?", "a": "4", "topic": "sums"}, {"q": "3+3?", "a": "6", "topic": "sums"}])
    code, findings = lint_json(str(bench), cwd=tmp_path)
    assert code == 1
    assert sorted((f["rule"], f["count"]) for f in findings) == [("template-field-missing", 2),
                                                                 ("template-invalid", 2)]
    assert "{subject} is not a grader field" in by_rule(findings)["template-field-missing"]["message"]


def _sums(n: int, image: bool) -> list[dict]:
    from benchdata import PNG_DATA_URI

    return [{"q": f"What is {i} + {i}?", "a": str(2 * i), **({"img": PNG_DATA_URI} if image else {})}
            for i in range(1, n + 1)]


ONE_WORD = "Answer in one word.\n{prompt}"


@pytest.mark.parametrize("image", [False, True], ids=["string-input", "message-list-input"])
def test_lint_is_a_pure_reader_of_the_samples(image, tmp_path):
    """Rendering prompts for lint must not edit the samples the run sends (Inspect's prompt
    solvers edit the user message in place; a message-list input is the run's own list)."""
    from run_eval.tasks.build import build_tasks
    from run_eval.tasks.lint import lint_built
    from run_eval.tasks.source import resolve_benchmark
    from run_eval.tasks.spec import load_spec

    fs = "{input: q, target: a" + (", input_image: img}" if image else "}")
    bench = write(tmp_path / "b", f"tasks: [{{field_spec: {fs}, solvers: [{{name: prompt_template, args: "
                  f"{{template: {json.dumps(ONE_WORD)}}}}}, {{name: generate}}], scorers: [{{name: match}}]}}]",
                  _sums(3, image))
    b = resolve_benchmark(str(bench))
    spec = load_spec(b.eval_yaml)
    built = build_tasks(b, spec, spec.tasks, seed=42)
    before = [s.model_dump_json() for s in built[0].task.dataset]
    lint_built(built)
    lint_built(built)
    assert [s.model_dump_json() for s in built[0].task.dataset] == before


@pytest.mark.parametrize("image", [False, True], ids=["string-input", "message-list-input"])
def test_the_model_receives_the_template_once(image, tmp_path):
    """What the model receives is the eval.yaml's template applied once to the sample's input,
    with lint on and with --no-lint alike."""
    import testmodels  # noqa: F401  (registers flaky/)
    from inspect_ai.log import read_eval_log

    fs = "{input: q, target: a" + (", input_image: img}" if image else "}")
    bench = write(tmp_path / "b", f"tasks: [{{field_spec: {fs}, solvers: [{{name: prompt_template, args: "
                  f"{{template: {json.dumps(ONE_WORD)}}}}}, {{name: generate}}], scorers: [{{name: match}}]}}]",
                  _sums(3, image))
    sent = {}
    for flags in ((), ("--no-lint",)):
        work = tmp_path / ("off" if flags else "on")
        work.mkdir()
        proc = run_inproc("run", "flaky/model", str(bench), *flags, cwd=work)
        assert proc.returncode == 0, proc.stderr
        (log,) = (work / "logs").glob("*.eval")
        samples = read_eval_log(str(log)).samples
        for s in samples:
            (event,) = [e for e in s.events if e.event == "model"]
            user = [m for m in event.input if m.role == "user"][-1]
            question = f"What is {s.id} + {s.id}?"  # the row's own text (the log's input is the sample's)
            assert user.text == ONE_WORD.format(prompt=question), user.text
        sent[flags] = [[m.model_dump_json(exclude={"id"}) for m in e.input]
                       for s in samples for e in s.events if e.event == "model"]
    assert sent[()] == sent[("--no-lint",)]
