"""The conformance corpus (tests/conformance/cases/, made by make_cases.py): one folder per
case, positive and negative, each saying what to run and what must come out. See
make_cases.py for the case kinds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import run_inproc

CASES = Path(__file__).parent / "conformance" / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.yaml").is_file())


def test_the_corpus_is_large_enough_and_covers_every_kind():
    kinds = {yaml.safe_load((CASES / n / "case.yaml").read_text())["kind"] for n in NAMES}
    assert len(NAMES) >= 40
    assert kinds == {"cli", "compare", "job-command", "pin", "sweep", "model-args"}


@pytest.fixture()
def folder(request, tmp_path) -> Path:
    """A private copy of the case's folder (some kinds make it a git checkout)."""
    dest = tmp_path / request.param
    shutil.copytree(CASES / request.param, dest)
    return dest


@pytest.mark.parametrize("folder", NAMES, indirect=True)
def test_case(folder: Path):
    case = yaml.safe_load((folder / "case.yaml").read_text())
    run = {"cli": cli, "compare": compare, "job-command": job_command, "pin": pin, "sweep": sweep,
           "model-args": model_args}[case["kind"]]
    run(case, folder)


def claims_of(folder: Path):
    from run_eval.signing.token import check_signature

    (entry,) = yaml.safe_load((folder / "results.yaml").read_text())
    return check_signature(entry["verifyToken"]).claims


def cli(case: dict, folder: Path) -> None:
    args = [a.replace("{dir}", str(folder)) for a in case["command"]]
    proc = run_inproc(*args, cwd=folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode == case["exit"], out
    assert "Traceback" not in out
    if "statuses" in case:
        entries = json.loads(proc.stdout)["entries"]
        assert [e["status"] for e in entries] == case["statuses"], out
        if case.get("reason"):
            reasons = [e["reason"] for e in entries if e["reason"]]
            assert any(case["reason"] in r for r in reasons), reasons
    for needle in case.get("stdout", []):
        assert needle in proc.stdout, out
    for needle in case.get("stderr", []):
        assert needle in proc.stderr, out
    for needle in case.get("not_stderr", []):
        assert needle not in proc.stderr, out
    for needle in case.get("not_stdout", []):
        assert needle not in proc.stdout, out


def compare(case: dict, folder: Path) -> None:
    from run_eval.runner.compare.reproduce import compare_values

    original = yaml.safe_load((folder / "original.yaml").read_text())
    rerun = yaml.safe_load((folder / "rerun.yaml").read_text())
    value = sum(original.values()) / len(original) if original else None
    outcome = compare_values(claims_of(folder), original, value, rerun, tolerance=case["tolerance"])
    assert outcome.verdict == case["verdict"], outcome.why
    assert case["why"] in outcome.why, outcome.why
    got = outcome.as_dict()
    json.dumps(got)
    for key, want in case.get("json", {}).items():
        assert got[key] == pytest.approx(want, abs=1e-6), (key, got[key])


def job_command(case: dict, folder: Path) -> None:
    from run_eval.runner.remote.online import command_matches

    command = json.loads((folder / "command.json").read_text())
    check = command_matches(claims_of(folder), "j1", command)
    assert check.ok is case["ok"], check.note
    assert case["note"] in check.note, check.note


def pin(case: dict, folder: Path) -> None:
    from run_eval.tasks.source import resolve_benchmark

    bench = folder / "bench"
    (bench / ".gitignore").write_text(case["gitignore"])

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(bench), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                       capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "benchmark")
    assert resolve_benchmark(str(bench)).pin_kind == case["pin"]


def sweep(case: dict, folder: Path) -> None:
    from run_eval.runner.remote.sweep import Cell, SweepOptions, cell_done
    from run_eval.runner.run.options import RunOptions
    from run_eval.signing.trust import load_trust

    o = dict(case["options"])
    options = RunOptions(**{**o, "task_ids": tuple(o.get("task_ids", ()))})
    cell = Cell(f"hf/{folder / 'model'}", str(folder / "bench"))
    opts = SweepOptions(options=options, output_dir=folder / "out", trust=load_trust(folder / "trust.yaml"))
    assert cell_done(cell, opts) is case["done"]


def model_args(case: dict, folder: Path) -> None:
    from run_eval.runner.compare.reproduce import recorded_options
    from run_eval.runner.models.reference import parse_model_args

    c = claims_of(folder)
    got = parse_model_args(recorded_options(c, c.dataset.task_id, None).model_args)
    assert got == case["args"]
    assert all(type(got[k]) is type(v) for k, v in case["args"].items())
