"""End to end through the installed `run-eval` command: the tiny model on the example benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from huggingface_hub import parse_eval_result_entries
from inspect_ai.log import read_eval_log

from run_eval.tasks.pins import tree_digest
from run_eval.tasks.source import resolve_benchmark
from run_eval.tasks.spec import load_spec

from benchdata import FIXTURES
from conftest import assert_clean_error, run_inproc, wait_for_calls


def read_results(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full_run(tiny_model: Path, tmp_path_factory) -> dict:
    """One full run of both tasks, shared by the assertions below (it is the slow part)."""
    work = tmp_path_factory.mktemp("full")
    import shutil

    from conftest import EXAMPLE

    bench = work / "arithmetic"
    shutil.copytree(EXAMPLE, bench)
    proc = run_inproc(f"hf/{tiny_model}", str(bench), "--output-dir", "out", "--log-dir", "logs",
                   "--model-id", "me/tiny", "--max-tokens", "8", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"work": work, "bench": bench, "proc": proc, "file": work / "out" / ".eval_results" / "arithmetic.yaml"}


def test_run_writes_community_evals_file(full_run, tiny_model):
    data = read_results(full_run["file"])
    entries = parse_eval_result_entries(data)
    assert [e.task_id for e in entries] == ["addition", "comparison"]
    pin = resolve_benchmark(str(full_run["bench"])).revision
    for raw, e in zip(data, entries):
        assert set(raw) == {"dataset", "value", "verifyToken", "date", "source", "notes"}
        assert e.dataset_id == "local/arithmetic" and e.dataset_revision == pin
        assert 0.0 <= e.value <= 1.0
        assert e.date.endswith("Z") and "T" in e.date
        assert e.source_name == "Inspect log" and Path(e.source_url).is_file()
        assert "inspect-ai 0.3.285 via run-eval" in e.notes
        assert "seed: 42" in e.notes and "decoding: greedy" in e.notes
        assert "limit" not in e.notes and "tasks run" not in e.notes
    assert "choices shuffled with seed 42" in entries[1].notes
    assert "solvers: prompt_template, generate; scorer: match (accuracy)" in entries[0].notes
    assert "date: '" in full_run["file"].read_text()


def test_value_and_evidence_come_from_the_inspect_log(full_run, tiny_model):
    entries = parse_eval_result_entries(read_results(full_run["file"]))
    spec = load_spec(full_run["bench"] / "eval.yaml")
    for e, task in zip(entries, spec.tasks):
        log = read_eval_log(e.source_url)
        assert log.status == "success" and len(log.samples) == 30
        scores = [s.scores[next(iter(s.scores))].value for s in log.samples]
        accuracy = sum(1 for v in scores if v == "C") / len(scores)
        assert e.value == pytest.approx(accuracy)
        record = log.eval.metadata["run_eval"]
        assert record["model"] == {"spec": f"hf/{tiny_model}", "id": "me/tiny", "revision": tree_digest(tiny_model)}
        assert record["dataset"]["revision"] == e.dataset_revision
        assert record["spec"]["sha256"] == task.fingerprint()
        assert record["spec"]["eval_yaml_sha256"] == spec.sha256
        assert record["generate_config"] == {"seed": 42, "max_tokens": 8}
        assert record["model_args"] == {"do_sample": False}
        assert log.eval.model_args.get("do_sample") is False


def test_model_answers_in_format_and_beats_nothing(full_run):
    entries = parse_eval_result_entries(read_results(full_run["file"]))
    log = read_eval_log(entries[1].source_url)
    formatted = [s for s in log.samples if s.output.completion.strip().startswith("ANSWER:")]
    assert len(formatted) >= 27, [s.output.completion for s in log.samples]


def test_table_printed(full_run):
    out = full_run["proc"].stdout
    for needle in ("addition", "comparison", "accuracy", "±", "30/30", "result file:", "arithmetic.yaml"):
        assert needle in out, out


def test_same_command_same_numbers_and_outputs(full_run, tiny_model):
    work = full_run["work"]
    proc = run_inproc(f"hf/{tiny_model}", str(full_run["bench"]), "--output-dir", "again", "--log-dir", "logs2",
                   "--model-id", "me/tiny", "--max-tokens", "8", cwd=work)
    assert proc.returncode == 0, proc.stderr
    first = parse_eval_result_entries(read_results(full_run["file"]))
    second = parse_eval_result_entries(read_results(work / "again" / ".eval_results" / "arithmetic.yaml"))
    assert [e.value for e in first] == [e.value for e in second]
    assert [e.dataset_revision for e in first] == [e.dataset_revision for e in second]
    for a, b in zip(first, second):
        la, lb = read_eval_log(a.source_url), read_eval_log(b.source_url)
        assert [s.output.completion for s in la.samples] == [s.output.completion for s in lb.samples]


def test_subset_and_limit_keep_other_entries(full_run, tiny_model):
    work = full_run["work"]
    out = work / "subset"
    (out / ".eval_results").mkdir(parents=True)
    before = read_results(full_run["file"])
    (out / ".eval_results" / "arithmetic.yaml").write_text(yaml.safe_dump(before, sort_keys=False))
    proc = run_inproc(f"hf/{tiny_model}", str(full_run["bench"]), "--task", "addition", "--limit", "5",
                   "--output-dir", str(out), "--log-dir", "logs3", cwd=work)
    assert proc.returncode == 0, proc.stderr
    after = read_results(out / ".eval_results" / "arithmetic.yaml")
    assert [e["dataset"]["task_id"] for e in after] == ["addition", "comparison"]
    assert after[1] == before[1]
    assert "limit: 5 of 30 samples" in after[0]["notes"]
    assert "tasks run: addition of addition, comparison" in after[0]["notes"]
    assert read_eval_log(after[0]["source"]["url"]).results.completed_samples == 5


@pytest.mark.parametrize(
    "args, needles",
    [
        (["mockllm/model", str(FIXTURES / "invalid" / "custom_names.yaml")],
         ["tasks[0].solvers[0].name: 'speech_spoof_solver' is not a solver", "tasks[0].metrics: unknown key"]),
        (["mockllm/model", "no-such-benchmark"], ["BENCHMARK 'no-such-benchmark': no such file or folder"]),
        (["nomodel", "BENCH"], ["MODEL 'nomodel': expected an Inspect model string"]),
        (["hf/./no-such-model", "BENCH"], ["no such model folder"]),
        (["mockllm/model", "BENCH", "--task", "nope"], ["--task 'nope' is not a task of this benchmark"]),
        (["mockllm/model", "BENCH", "-M", "hf_token=abc"], ["secrets are not accepted as model args"]),
        (["mockllm/model", "BENCH", "--limit", "0"], ["--limit"]),
        (["mockllm/model", "BENCH", "--seed", "x"], ["--seed"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args, needles, tmp_path, example_copy):
    args = [str(example_copy) if a == "BENCH" else a for a in args]
    proc = run_inproc(*args, cwd=tmp_path)
    assert_clean_error(proc, *needles)
    assert proc.returncode == 2
    assert not (tmp_path / ".eval_results").exists()
    assert "abc" not in proc.stdout + proc.stderr  # a secret given by mistake is never echoed


def test_broken_model_folder_fails_cleanly(tmp_path, example_copy):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama", "vocab_size": "many"}')
    proc = run_inproc(f"hf/{broken}", str(example_copy), "--limit", "2", cwd=tmp_path)
    assert_clean_error(proc)
    assert proc.returncode == 1
    assert not (tmp_path / ".eval_results").exists()


def test_sample_errors_fail_the_run_without_result(tmp_path, example_copy):
    # mockllm counts tokens with a tokenizer it would download: with no network every sample errors
    proc = run_inproc("mockllm/model", str(example_copy), "--limit", "2", cwd=tmp_path)
    assert_clean_error(proc, "samples failed", "no result file was written")
    assert proc.returncode == 1
    assert not (tmp_path / ".eval_results").exists()
    assert list((tmp_path / "logs").glob("*.eval"))  # the evidence of the failure is kept


def test_unreadable_existing_result_file_stops_before_the_run(tmp_path, example_copy, tiny_model):
    out = tmp_path / ".eval_results"
    out.mkdir()
    (out / "arithmetic.yaml").write_text("{broken: [")
    proc = run_inproc(f"hf/{tiny_model}", str(example_copy), cwd=tmp_path)
    assert_clean_error(proc, "existing result file cannot be read")
    assert (out / "arithmetic.yaml").read_text() == "{broken: ["
    assert not (tmp_path / "logs").exists()  # failed before Inspect started


def test_interrupt_leaves_no_result(tmp_path, example_copy, tiny_model):
    """Ctrl-C at a terminal (SIGINT to the process group) partway through the run: the
    signal is sent once 3 samples were generated, while every further generation waits
    (tests/testmodels.py), so it lands mid-run however busy the machine is."""
    import sys

    from conftest import REPO

    calls = tmp_path / "calls.txt"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "testmodels.py"), f"hf/{tiny_model}", str(example_copy),
         "--max-connections", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "RUN_EVAL_TEST_HOLD_AFTER": "3", "RUN_EVAL_TEST_CALLS": str(calls)},
    )
    try:
        wait_for_calls(proc, calls, 3)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # a held run that the signal did not stop
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, out + err
    assert "interrupted before every task finished; no result file was written" in err
    assert "Traceback" not in out + err
    assert not (tmp_path / ".eval_results").exists()


def test_tiny_model_trained_on_the_prompts_inspect_sends(full_run):
    from run_eval.runner.models.tiny import ADDITION_TEMPLATE, LETTERS, SINGLE_ANSWER_TEMPLATE

    entries = parse_eval_result_entries(read_results(full_run["file"]))
    add_log, cmp_log = (read_eval_log(e.source_url) for e in entries)
    for s in add_log.samples:
        assert s.messages[0].text == ADDITION_TEMPLATE.format(prompt=s.input)
    for s in cmp_log.samples:
        choices = "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(s.choices))
        assert s.messages[0].text == SINGLE_ANSWER_TEMPLATE.format(
            question=s.input, choices=choices, letters=",".join(LETTERS))


def test_epochs_override_counts_samples_not_generations(tiny_model, tmp_path, example_copy):
    proc = run_inproc(f"hf/{tiny_model}", str(example_copy), "--task", "addition", "--limit", "3",
                   "--epochs", "2", "--max-tokens", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (entry,) = read_results(tmp_path / ".eval_results" / "arithmetic.yaml")
    assert "epochs: 2 (mean)" in entry["notes"]
    assert "3/30" in proc.stdout
    log = read_eval_log(entry["source"]["url"])
    assert log.eval.config.epochs == 2 and len(log.samples) == 6
    assert log.eval.metadata["run_eval"]["epochs"] == 2


def test_one_line_error_messages():
    from run_eval.runner.errors import one_line

    assert one_line("ERROR: needs a package.\n\n[bold]pip install x[/bold]\n") == "ERROR: needs a package. pip install x"
    assert one_line("") == "unknown error"
    assert len(one_line("x" * 1000)) == 300


# --- signed results (verifyToken) -------------------------------------------------------


def test_every_entry_is_signed_and_verifies(full_run, tiny_model):
    work, file = full_run["work"], full_run["file"]
    proc = run_inproc("verify", str(work / "out"), "--json", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    entries = json.loads(proc.stdout)["entries"]
    assert [e["status"] for e in entries] == ["self-signed", "self-signed"]  # our key is not trusted yet
    assert all(e["model"] == "me/tiny" for e in entries)
    assert run_inproc("verify", str(file), "--model", "other/model", cwd=work).returncode == 1
    # the tokens bind what the run recorded
    from run_eval.signing.token import check_signature

    data = read_results(file)
    log = read_eval_log(data[0]["source"]["url"])
    claims = check_signature(data[0]["verifyToken"]).payload
    record = log.eval.metadata["run_eval"]
    assert claims["model"]["id"] == "me/tiny" and claims["model"]["revision"] == tree_digest(tiny_model)
    assert claims["dataset"]["revision"] == data[0]["dataset"]["revision"]
    assert claims["dataset"]["config"] == "addition" and claims["dataset"]["split"] == "test"
    assert claims["spec"]["sha256"] == record["spec"]["sha256"]
    assert claims["metric"]["value"] == data[0]["value"] and claims["metric"]["samples"] == 30
    assert claims["run"]["generate_config"] == {"seed": 42, "max_tokens": 8}
    assert claims["executor"] == {"kind": "local", "job_id": None, "flavor": None}


def test_verify_with_logs_and_trust(full_run, tmp_path):
    work, file = full_run["work"], full_run["file"]
    data = read_results(file)
    logs = [d["source"]["url"] for d in data]
    pub = tmp_path / "pub.pem"
    assert run_inproc("keys", "export", "-o", str(pub), cwd=work).returncode == 0
    home = {"RUN_EVAL_HOME": str(tmp_path / "verifier-home")}
    assert run_inproc("keys", "trust", str(pub), "--role", "evaluator", "--name", "tester", cwd=work, env=home).returncode == 0
    proc = run_inproc("verify", str(file), "--log", logs[0], "--log", logs[1], "--json", cwd=work, env=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    got = json.loads(proc.stdout)["entries"]
    assert [e["status"] for e in got] == ["signed", "signed"]
    assert all(e["evidence"].startswith("log digests match; value recomputed") for e in got)
    # the evidence must be the very log: another log for the same task is refused
    other = tmp_path / "tampered.eval"
    other.write_bytes(Path(logs[0]).read_bytes() + b"\0")
    bad = run_inproc("verify", str(file), "--log", str(other), cwd=work, env=home)
    assert bad.returncode == 1


def test_private_key_never_reaches_outputs(full_run):
    import os

    from conftest import secret_leaks

    key_file = Path(os.environ["RUN_EVAL_HOME"]) / "signing-key.pem"
    body = "".join(key_file.read_text().splitlines()[1:-1])
    assert len(body) > 40
    proc = full_run["proc"]
    # the output, the result file, and every member of the (zipped, compressed) Inspect logs
    logs = [Path(d["source"]["url"]) for d in read_results(full_run["file"])]
    assert secret_leaks({"key": body}, [full_run["file"], *logs], {"output": proc.stdout + proc.stderr}) == []


def test_first_run_creates_a_key_and_says_so_once(tmp_path, example_copy):
    home = {"RUN_EVAL_HOME": str(tmp_path / "fresh-home")}
    # the key is made before the model runs; mockllm's samples then fail offline, which is fine here
    args = ("mockllm/model", str(example_copy), "--task", "addition", "--limit", "1")
    first = run_inproc(*args, cwd=tmp_path, env=home)
    second = run_inproc(*args, cwd=tmp_path, env=home)
    assert "samples failed" in first.stderr and "samples failed" in second.stderr
    assert first.stderr.count("created signing key") == 1
    assert "created signing key" not in second.stderr
    key = tmp_path / "fresh-home" / "signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_run_refuses_a_signing_key_its_own_trust_store_revoked(tmp_path, example_copy):
    """Every token the key signs would be refused: the run stops before any model loads."""
    home = {"RUN_EVAL_HOME": str(tmp_path / "home")}
    assert run_inproc("keys", "generate", cwd=tmp_path, env=home).returncode == 0
    kid = run_inproc("keys", "show", cwd=tmp_path, env=home).stdout.split()[1]
    assert run_inproc("keys", "revoke", "--", kid, cwd=tmp_path, env=home).returncode == 0
    proc = run_inproc("mockllm/model", str(example_copy), "--task", "addition", "--limit", "1", cwd=tmp_path, env=home)
    assert_clean_error(proc, f"your signing key {kid[:12]}… is revoked in", "run-eval keys generate --force")
    assert proc.returncode == 2
    assert not (tmp_path / "logs").exists() and not (tmp_path / ".eval_results").exists()


def test_a_table_shows_strangers_text_as_written(monkeypatch):
    """Cells come from strangers' files (notes, source names): at a terminal they are shown as
    written, never read as rich markup (a "[/bold]" would fail the table, a "[link=...]" would
    make a hyperlink)."""
    import io
    import sys

    from run_eval.runner.cli.output import print_rows

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("COLUMNS", "200")
    hostile = ["[/bold] closes nothing", "[link=https://evil.example]click[/link]", "[red]not red[/red]"]
    print_rows(("model", "notes", "status"), [("org/m", h, "unsigned") for h in hostile], title="[b]t[/b]",
               status_column=2, footer=["[/] footer"], errors=["[link=x]e[/link]"])
    text = out.getvalue()
    for h in [*hostile, "[b]t[/b]", "[/] footer", "[link=x]e[/link]"]:
        assert h in text, (h, text)
    assert "\x1b]8;" not in text  # no terminal hyperlink


def test_the_command_leaves_its_objects_to_the_os_at_exit_and_in_process_calls_do_not(tmp_path):
    """`run-eval` as a process freezes the garbage collector's objects as it ends (the
    interpreter's last collections would walk every object a run made: seconds after a large
    run); called in-process (tests, reproduce's re-runs) it must not, or memory would never
    be collected again."""
    import gc
    import sys

    probe = ("import atexit, gc, sys; from run_eval.runner.cli.main import main; "
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0)); "
             "sys.argv = ['run-eval', '--version']; main()")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("frozen True")
    before = gc.get_freeze_count()
    assert run_inproc("--version", cwd=tmp_path).returncode == 0
    assert gc.get_freeze_count() == before
