"""eval.yaml validation: every key, every default, every error, and acceptance parity with Inspect."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

from run_eval.tasks.errors import SpecError
from run_eval.tasks.spec import load_spec, parse_spec

from benchdata import FIXTURES, VALID

MINIMAL = {
    "field_spec": {"input": "q", "target": "a"},
    "solvers": [{"name": "generate"}],
    "scorers": [{"name": "exact"}],
}


def problems(data, name="eval.yaml") -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(data, path=Path(name), sha256="0" * 64)
    return info.value.lines


def parse(data):
    return parse_spec(data, path=Path("eval.yaml"), sha256="0" * 64)


@pytest.mark.parametrize("name", VALID)
def test_valid_fixtures_load(name):
    spec = load_spec(FIXTURES / "valid" / f"{name}.yaml")
    assert spec.tasks
    assert spec.name


def test_invalid_fixtures_each_problem_one_line():
    inv = FIXTURES / "invalid"
    assert problems(yaml.safe_load((inv / "bad_reducer.yaml").read_text()), "bad_reducer.yaml") == [
        "bad_reducer.yaml: tasks[0].epochs: 0 is too small (expected an integer >= 1)",
        "bad_reducer.yaml: tasks[0].epoch_reducer: 'best_of_3' is not an epoch reducer "
        "(expected one of: mean, median, mode, max, pass_at_N, at_least_N)",
        "bad_reducer.yaml: tasks[0].solvers: must list at least one entry",
    ]
    lines = problems(yaml.safe_load((inv / "custom_names.yaml").read_text()), "custom_names.yaml")
    assert lines[0].startswith(
        "custom_names.yaml: tasks[0].solvers[0].name: 'speech_spoof_solver' is not a solver "
        "(expected one of: prompt_template, system_message"
    )
    assert lines[1].startswith("custom_names.yaml: tasks[0].scorers[0].name: 'eer_scorer' is not a scorer")
    assert lines[2].startswith("custom_names.yaml: tasks[0].metrics: unknown key (expected one of: id, config")
    lines = problems(yaml.safe_load((inv / "legacy_keys.yaml").read_text()), "legacy_keys.yaml")
    assert [line.split(":")[1].strip() for line in lines] == ["tasks[0].name", "tasks[0].subset", "tasks[0].splits"]
    assert problems(yaml.safe_load((inv / "missing_ids.yaml").read_text()), "missing_ids.yaml") == [
        "missing_ids.yaml: tasks[0].id: required when there is more than one task",
        "missing_ids.yaml: tasks[1].id: required when there is more than one task",
    ]


def test_defaults_applied_and_fingerprint_stable():
    spec = parse({"tasks": [MINIMAL]})
    (task,) = spec.tasks
    d = task.as_dict()
    assert d["config"] == "default" and d["split"] == "test" and d["epochs"] == 1
    assert d["id"] is None and d["shuffle_choices"] is None and d["epoch_reducer"] is None
    assert d["field_spec"]["choices"] is None and d["field_spec"]["metadata"] is None
    assert d["solvers"] == [{"name": "generate", "args": {}}]
    assert task.task_id == "default"
    # defaults written out explicitly give the same fingerprint: it is taken after defaults
    explicit = copy.deepcopy(MINIMAL) | {"config": "default", "split": "test", "epochs": 1}
    assert parse({"tasks": [explicit]}).tasks[0].fingerprint() == task.fingerprint()
    assert len(task.fingerprint()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"split": "validation"},
        {"config": "other"},
        {"epochs": 2},
        {"epoch_reducer": "max"},
        {"shuffle_choices": True},
        {"field_spec": {"input": "q", "target": "literal:A"}},
        {"scorers": [{"name": "exact"}, {"name": "f1"}]},
        {"solvers": [{"name": "generate", "args": {"tool_calls": "none"}}]},
    ],
)
def test_fingerprint_changes_with_method(change):
    base = parse({"tasks": [MINIMAL]}).tasks[0].fingerprint()
    assert parse({"tasks": [MINIMAL | change]}).tasks[0].fingerprint() != base


def test_top_level_keys():
    spec = parse({"name": "N", "description": "D", "evaluation_framework": "inspect-ai", "other": 1, "tasks": [MINIMAL]})
    assert (spec.name, spec.description) == ("N", "D")
    assert problems({"evaluation_framework": "swe-bench", "tasks": [{"id": "verified"}]}) == [
        "eval.yaml: evaluation_framework: this benchmark is run by swe-bench, not by Inspect AI: run-eval can "
        "read, check and rank its published results (run-eval leaderboard, run-eval results) but cannot run it"
    ]
    assert problems({"evaluation_framework": 3, "tasks": [MINIMAL]}) == [
        "eval.yaml: evaluation_framework: expected a framework name such as 'inspect-ai'"]
    assert problems({"name": ["x"], "tasks": [MINIMAL]}) == ["eval.yaml: name: expected a string"]


@pytest.mark.parametrize(
    "data, expected",
    [
        ([], "eval.yaml: expected a mapping with a 'tasks' list at the top level"),
        ("text", "eval.yaml: expected a mapping with a 'tasks' list at the top level"),
        ({"name": "x"}, "eval.yaml: tasks: required (a list of task entries)"),
        ({"tasks": {"a": 1}}, "eval.yaml: tasks: expected a list of task entries"),
        ({"tasks": []}, "eval.yaml: tasks: must list at least one task"),
        ({"tasks": ["x"]}, "eval.yaml: tasks[0]: expected a mapping"),
    ],
)
def test_structure_errors(data, expected):
    assert problems(data) == [expected]


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"field_spec": None}, "tasks[0].field_spec:"),
        ({"solvers": None}, "tasks[0].solvers:"),
        ({"scorers": []}, "tasks[0].scorers: must list at least one entry"),
        ({"scorers": [{"name": "choise"}]}, "tasks[0].scorers[0].name: 'choise' is not a scorer (expected one of: includes"),
        ({"solvers": [{"args": {}}]}, "tasks[0].solvers[0].name: required"),
        ({"epochs": "many"}, "tasks[0].epochs: expected a valid integer"),
        ({"shuffle_choices": "perhaps"}, "tasks[0].shuffle_choices: expected a valid boolean"),
        ({"split": 3}, "tasks[0].split: expected a valid string"),
        ({"field_spec": {"input": "q", "metadata": "x"}}, "tasks[0].field_spec.metadata: expected a valid list"),
        ({"field_spec": {"input": "q", "choices": 3}}, "tasks[0].field_spec.choices"),
        ({"solvers": [{"name": "generate", "args": {"nope": 1}}]},
         "tasks[0].solvers[0].args: got an unexpected keyword argument 'nope' for solver 'generate'"),
        ({"scorers": [{"name": "exact", "args": {"x": 1}}]},
         "tasks[0].scorers[0].args: got an unexpected keyword argument 'x' for scorer 'exact' (expected: no arguments)"),
        ({"scorers": [{"name": "pattern"}]},
         "tasks[0].scorers[0].args: missing a required argument: 'pattern' for scorer 'pattern'"),
        ({"solvers": [{"name": "generate", "args": "x"}]}, "tasks[0].solvers[0].args: expected a valid dictionary"),
        ({"epoch_reducer": "pass_at_"}, "tasks[0].epoch_reducer: 'pass_at_' is not an epoch reducer"),
    ],
)
def test_task_errors_name_key_path(change, expected):
    lines = problems({"tasks": [MINIMAL | change]})
    assert any(line.startswith(f"eval.yaml: {expected}") for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_duplicate_ids_rejected():
    a = MINIMAL | {"id": "x"}
    assert problems({"tasks": [a, a]}) == ["eval.yaml: tasks[1].id: 'x' is already the id of tasks[0]"]


def test_select_tasks():
    spec = parse({"tasks": [MINIMAL | {"id": "a"}, MINIMAL | {"id": "b"}]})
    assert [t.task_id for t in spec.select([])] == ["a", "b"]
    assert [t.task_id for t in spec.select(["b", "b"])] == ["b"]
    with pytest.raises(SpecError) as info:
        spec.select(["c"])
    assert info.value.lines == ["eval.yaml: --task 'c' is not a task of this benchmark (expected one of: a, b)"]


def test_file_level_errors(tmp_path):
    bad = tmp_path / "eval.yaml"
    bad.write_bytes(b"tasks: [\n")
    with pytest.raises(SpecError) as info:
        load_spec(bad)
    assert "not valid YAML at line" in info.value.lines[0]
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(SpecError) as info:
        load_spec(bad)
    assert info.value.lines[0].endswith("not valid UTF-8 (byte 0); fix the file or ask its author")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "missing.yaml")
    assert "cannot read" in info.value.lines[0]


def test_id_column_only_when_named():
    assert parse({"tasks": [MINIMAL]}).tasks[0].id_column is None
    fs = {"input": "q", "target": "a", "id": "qid"}
    assert parse({"tasks": [MINIMAL | {"field_spec": fs}]}).tasks[0].id_column == "qid"


# --- acceptance parity with Inspect's own loader's schema --------------------------------

VARIANTS = [
    MINIMAL,
    MINIMAL | {"epochs": "3"},
    MINIMAL | {"epochs": 0},
    MINIMAL | {"epochs": 1.5},
    MINIMAL | {"shuffle_choices": "yes"},
    MINIMAL | {"shuffle_choices": "perhaps"},
    MINIMAL | {"epoch_reducer": "pass_at_2"},
    MINIMAL | {"epoch_reducer": "at_least_1"},
    MINIMAL | {"epoch_reducer": "best"},
    MINIMAL | {"metrics": ["x"]},
    MINIMAL | {"field_spec": {}},
    MINIMAL | {"field_spec": {"input": "q", "unknown": 1}},
    MINIMAL | {"field_spec": {"choices": ["a", "b"], "metadata": ["m"], "input_image": "img"}},
    MINIMAL | {"field_spec": {"choices": 5}},
    MINIMAL | {"field_spec": {"description": "d", "checkpoint": None, "sandbox": "s"}},
    MINIMAL | {"solvers": [{"name": "generate", "extra": 1}]},
    MINIMAL | {"solvers": [{"name": "custom"}]},
    MINIMAL | {"scorers": [{"name": "math", "args": {"timeout": 3}}]},
    MINIMAL | {"solvers": []},
    MINIMAL | {"id": 5},
    MINIMAL | {"config": None},
]


@pytest.mark.parametrize("i", range(len(VARIANTS)))
def test_schema_accepts_exactly_what_inspect_accepts(i):
    from inspect_ai._eval.task.hf import HFTask  # test-only: Inspect's own schema
    from pydantic import ValidationError

    variant = VARIANTS[i]
    try:
        HFTask.model_validate(copy.deepcopy(variant))
        inspect_ok = True
    except ValidationError:
        inspect_ok = False
    try:
        parse({"tasks": [copy.deepcopy(variant)]})
        ours_ok = True
    except SpecError:
        ours_ok = False
    assert ours_ok == inspect_ok, variant


def test_every_template_inspect_reads_with_resource_is_checked():
    """RESOURCE_ARGS names every arg that Inspect's factories pass to resource(): read from
    Inspect's own source, so an Inspect upgrade that reads one more is caught here."""
    import inspect as pyinspect
    import re

    from run_eval.tasks.registry import RESOURCE_ARGS, SCORERS, SOLVERS

    for name, fn in {**SOLVERS, **SCORERS}.items():
        source = pyinspect.getsource(pyinspect.unwrap(fn))
        read = set(re.findall(r"resource\(\s*(\w+)", source))
        params = set(pyinspect.signature(fn).parameters)
        assert read & params <= set(RESOURCE_ARGS.get(name, ())), (name, read)
    assert set(RESOURCE_ARGS) <= {*SOLVERS, *SCORERS}


SECRET = "hf_SECRET_token_never_in_a_prompt_0123"


@pytest.fixture()
def url_server():
    """A loopback HTTP server that serves the secret to anyone who asks, and counts requests."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(SECRET.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.mark.parametrize("form, where", [
    ("absolute", "solvers[0].args.template"), ("absolute", "solvers[1].args.template"),
    ("absolute", "scorers[0].args.template"), ("home", "solvers[1].args.template"),
    ("relative", "solvers[0].args.template"), ("file-scheme", "scorers[0].args.template"),
    ("url", "solvers[1].args.template"), ("url", "scorers[0].args.template")])
def test_a_template_that_names_a_file_or_url_is_never_read(form, where, tmp_path, url_server):
    """A stranger's eval.yaml whose template names your HF token file (or a URL) is refused in
    one line by run and lint, before anything is read or fetched; the secret appears nowhere."""
    import json

    from conftest import REPO, assert_clean_error, run_inproc, secret_leaks

    sys.path.insert(0, str(REPO / "tests" / "fixtures" / "lint"))
    from make_fixtures import write

    url, hits = url_server
    home = tmp_path / "home"
    token = home / ".cache" / "huggingface" / "token"
    token.parent.mkdir(parents=True)
    token.write_text(SECRET)
    work = tmp_path / "work"
    work.mkdir()
    (work / "token.txt").write_text(SECRET)
    template = {"absolute": str(token), "home": "~/.cache/huggingface/token", "relative": "token.txt",
                "file-scheme": f"file:{token}", "url": f"{url}/prompt.txt"}[form]
    solvers = [{"name": "system_message", "args": {"template": "Be brief."}},
               {"name": "prompt_template", "args": {"template": "{prompt}"}}, {"name": "generate"}]
    scorers = [{"name": "model_graded_fact", "args": {}}]
    kind, index = where.split("[")[0], int(where.split("[")[1][0])
    (solvers if kind == "solvers" else scorers)[index]["args"]["template"] = template
    bench = write(tmp_path / "bench", json.dumps({"tasks": [{"field_spec": {"input": "q", "target": "a"},
                                                             "solvers": solvers, "scorers": scorers}]}),
                  [{"q": "What is 1 + 1?", "a": "2"}])
    env = {"HOME": str(home)}
    for args in (("lint", str(bench)), ("run", "hf/./no-model-needed", str(bench))):
        proc = run_inproc(*args, cwd=work, env=env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert_clean_error(proc, f"tasks[0].{where}", "refusing to read it")
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        written = [p for p in work.iterdir() if p.name != "token.txt"]
        assert secret_leaks({"token": SECRET}, written, {"stdout": proc.stdout, "stderr": proc.stderr}) == []
    assert hits == []
    assert not (work / "logs").exists() and not (work / ".eval_results").exists()


@pytest.mark.parametrize("command", ["run", "lint"])
def test_a_benchmark_run_by_another_framework_is_one_line(command, tmp_path):
    """SWE-bench, Harbor, MTEB...: run-eval says who runs it and what it can do instead."""
    from conftest import assert_clean_error, run_inproc

    bench = tmp_path / "swe"
    bench.mkdir()
    (bench / "eval.yaml").write_text("evaluation_framework: swe-bench\ntasks:\n  - id: verified\n")
    args = ("run", "hf/./no-model-needed", str(bench)) if command == "run" else ("lint", str(bench))
    proc = run_inproc(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_clean_error(proc, "run by swe-bench, not by Inspect AI", "run-eval leaderboard")
    assert len(proc.stderr.strip().splitlines()) == 1
