"""The negative corpus: each committed case verifies to its expected status and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from run_eval.signing.trust import load_trust
from run_eval.signing.verify import verify_paths

from conftest import assert_clean_error, run_cli

CORPUS = Path(__file__).parent / "fixtures" / "tokens"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text())


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_status_and_reason(case):
    want = EXPECTED[case]
    report = verify_paths([CORPUS / "cases" / f"{case}.yaml"], trust=load_trust(CORPUS / "trust.yaml"),
                          model_id=want["model"])
    assert report.entries and not report.problems
    for v in report.entries:
        assert v.status == want["status"], (v.status, v.reason)
        assert want["reason"] in (v.reason or ""), v.reason


def test_corpus_is_what_the_generator_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for rel, text in mod.render().items():
        assert (CORPUS / rel).read_text(encoding="utf-8") == text, rel


def test_statuses_depend_on_trust_not_on_the_token(tmp_path):
    # with no trust store, every validly signed entry is only self-signed
    empty = load_trust(tmp_path / "none.yaml")
    report = verify_paths([CORPUS / "cases" / "good_executor.yaml"], trust=empty)
    assert [v.status for v in report.entries] == ["self-signed", "self-signed"]


def test_cli_json_and_exit_codes(tmp_path):
    args = ["verify", "--trust", str(CORPUS / "trust.yaml"), "--json"]
    ok = run_cli(*args, str(CORPUS / "cases" / "good_executor.yaml"), "--model", "org/model", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert [e["status"] for e in data["entries"]] == ["verified", "verified"]
    assert {"file", "task_id", "status", "reason", "kid"} <= set(data["entries"][0])
    bad = run_cli(*args, str(CORPUS / "cases"), cwd=tmp_path)  # a folder without .eval_results/
    assert bad.returncode == 1 and "no .eval_results/*.yaml" in bad.stdout
    many = run_cli(*args, *sorted(str(p) for p in (CORPUS / "cases").glob("*.yaml")), cwd=tmp_path)
    assert many.returncode == 1
    statuses = {e["status"] for e in json.loads(many.stdout)["entries"]}
    assert statuses == {"verified", "signed", "self-signed", "unsigned", "invalid"}
    assert "Traceback" not in many.stdout + many.stderr


@pytest.mark.parametrize("content", ["{not yaml", "a: mapping", "- 1\n- 2", ""])
def test_unreadable_files_are_one_line_each(tmp_path, content):
    f = tmp_path / "r.yaml"
    f.write_text(content)
    proc = run_cli("verify", str(f), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out
    if content in ("- 1\n- 2",):
        assert "entry is not a mapping" in out
    else:
        assert "run-eval: error:" in out


def test_usage_errors_exit_2(tmp_path):
    assert_clean_error(run_cli("verify", cwd=tmp_path), "Missing argument")
    bad_trust = tmp_path / "trust.yaml"
    bad_trust.write_text("keys: [{role: king, kid: x}]")
    proc = run_cli("verify", str(CORPUS / "cases" / "unsigned.yaml"), "--trust", str(bad_trust), cwd=tmp_path)
    assert_clean_error(proc, "keys[0].role: 'king'")
    assert proc.returncode == 2
