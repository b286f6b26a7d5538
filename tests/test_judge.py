"""Model-graded benchmarks offline: the HLE-shaped fixture run with a local judge (the tiny
judge really grades), the judge pinned and recorded, told apart by diff and the
leaderboard, re-run by reproduce; a judge that cannot be had or cannot be read is one line
and no result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLE, REPO, assert_clean_error, run_inproc

from run_eval.signing.results import read_raw
from run_eval.signing.token import check_signature

HLE = REPO / "tests" / "fixtures" / "judge" / "hle_like"


def claims_of(result: Path):
    (entry,) = read_raw(result)
    return entry, check_signature(entry["verifyToken"]).claims


@pytest.fixture(scope="module")
def judged(tmp_path_factory, tiny_model, tiny_judge) -> dict:
    """Two runs that differ only in the judge: the tiny judge, and a copy of it whose folder
    differs by one config value (another snapshot of the same judge)."""
    work = tmp_path_factory.mktemp("judge")
    other = work / "judge-b"
    shutil.copytree(tiny_judge, other)
    config = json.loads((other / "generation_config.json").read_text())
    (other / "generation_config.json").write_text(json.dumps({**config, "max_new_tokens": 17}))
    out = {"work": work, "judge_b": other, "model": tiny_model}
    for name, judge in (("a", f"hf/{tiny_judge}"), ("b", f"hf/{other}")):
        proc = run_inproc("run", f"hf/{tiny_model}", str(HLE), "--judge", judge, "--output-dir", name,
                          "--log-dir", f"logs-{name}", "--model-id", "tiny/model", cwd=work)
        assert proc.returncode == 0, proc.stderr
        out[name] = work / name / ".eval_results" / "hle_like.yaml"
    return out


def test_the_local_judge_grades_and_the_token_and_notes_name_it(judged, tiny_judge):
    from inspect_ai.log import read_eval_log

    entry, c = claims_of(judged["a"])
    (used,) = c.run.judge.used
    assert used["model"] == f"hf/{tiny_judge}" and used["provider"] == "hf"
    assert used["revision"].startswith("sha256:")  # a local folder, pinned by content
    assert used["generate_config"]["seed"] == 42 and used["model_args"]["do_sample"] is False
    assert used["decoding"] == "greedy"
    assert c.run.judge.declared == ["openai/o3-mini"] and c.run.judge.substituted is True
    assert f"judge: hf/{tiny_judge} (eval.yaml: openai/o3-mini)" in entry["notes"]
    log = read_eval_log(entry["source"]["url"])
    assert log.eval.model_roles["grader"].model == f"hf-batch/{tiny_judge}"
    grades = {s.id: s.scores["model_graded_fact"] for s in log.samples}
    truth = {s.id: "C" if s.output.completion.strip() == s.target else "I" for s in log.samples}
    # the judge's prompt and answer are in the log, and it really grades: its grades agree
    # with the plain comparison of answer and target, and it gives both grades
    for s in log.samples:
        prompt, answer = grades[s.id].metadata["grading"]
        assert f"Submission: {s.output.completion}" in prompt["content"]
        assert answer["content"].strip() == f"GRADE: {grades[s.id].value}"
    agree = sum(grades[i].value == truth[i] for i in truth)
    assert agree >= 0.8 * len(truth), {i: (grades[i].value, truth[i]) for i in truth}
    assert {g.value for g in grades.values()} == {"C", "I"}


def test_diff_and_leaderboard_keep_two_judges_apart(judged):
    d = run_inproc("diff", str(judged["a"]), str(judged["b"]), "--json", cwd=judged["work"])
    data = json.loads(d.stdout)
    assert data["comparable"] is False and data["blocking"] == ["judge"], data["blocking"]
    board = run_inproc("leaderboard", str(judged["a"]), str(judged["b"]), "--json", cwd=judged["work"])
    groups = json.loads(board.stdout)["groups"]
    assert len(groups) == 2, groups  # never ranked together


def test_reproduce_uses_the_recorded_judge(judged):
    proc = run_inproc("reproduce", str(judged["a"]), "--benchmark-path", str(HLE), "--model-path",
                      str(judged["model"]), "--json", cwd=judged["work"])
    assert proc.returncode == 0, proc.stderr
    (o,) = json.loads(proc.stdout)["entries"]
    assert o["verdict"] == "reproduced" and o["judge_differs"] is False


def test_reproduce_with_another_judge_says_so(judged):
    proc = run_inproc("reproduce", str(judged["a"]), "--benchmark-path", str(HLE), "--model-path",
                      str(judged["model"]), "--judge",
                      f"hf/{judged['judge_b']}", "--json", cwd=judged["work"])
    assert proc.returncode in (0, 1, 3), proc.stderr
    (o,) = json.loads(proc.stdout)["entries"]
    assert o["judge_differs"] is True and o["why"].startswith("the judge differs")


def test_reproduce_refuses_when_the_recorded_judge_cannot_be_had(judged, tmp_path):
    moved = tmp_path / "moved"
    shutil.move(judged["judge_b"], moved)
    try:
        proc = run_inproc("reproduce", str(judged["b"]), "--benchmark-path", str(HLE), "--model-path",
                          str(judged["model"]), cwd=judged["work"])
    finally:
        shutil.move(moved, judged["judge_b"])
    assert proc.returncode == 2
    assert_clean_error(proc, "the recorded judge", "cannot be had here", "pass --judge MODEL")


def test_a_judge_that_answers_in_another_form_is_one_line_and_no_result(tiny_model, tmp_path):
    # the answering tiny model as judge: it answers "ANSWER: B", never "GRADE: C"
    proc = run_inproc("run", f"hf/{tiny_model}", str(HLE), "--judge", f"hf/{tiny_model}", "--limit", "4",
                      cwd=tmp_path)
    assert proc.returncode == 1
    assert_clean_error(proc, f"judge hf/{tiny_model} answered 4 of 4 samples in a form the scorer cannot read",
                       "no result file was written")
    assert not (tmp_path / ".eval_results").exists()


@pytest.mark.parametrize("args, needle", [
    (("--judge", "hf/./nowhere"), "judge 'hf/./nowhere' (--judge): no such model folder"),
    ((), "judge 'openai/o3-mini' cannot be used"),  # the declared judge, unreachable offline
])
def test_a_judge_that_cannot_be_had_is_one_line(args, needle, tiny_model, tmp_path):
    proc = run_inproc("run", f"hf/{tiny_model}", str(HLE), *args, cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert proc.returncode == 2
    assert_clean_error(proc, needle)
    assert not (tmp_path / ".eval_results").exists()


def test_judge_on_a_benchmark_without_a_graded_scorer(tiny_model, tmp_path):
    proc = run_inproc("run", f"hf/{tiny_model}", str(EXAMPLE), "--judge", f"hf/{tiny_model}", cwd=tmp_path)
    assert proc.returncode == 2
    assert_clean_error(proc, "--judge: no selected task of local/arithmetic has a model-graded scorer")


def test_judge_travels_with_the_run_options():
    from run_eval.runner.run.options import RunOptions

    assert RunOptions(judges=("hf/org/j@abc", "hf/org/k")).argv()[-4:] == ["--judge", "hf/org/j@abc", "--judge",
                                                                           "hf/org/k"]


def test_a_sweep_cell_graded_by_another_judge_is_not_done(judged, tiny_judge, tiny_model):
    """A sweep skips a cell only when its result was graded by the judge it would use now."""
    from run_eval.runner.remote.sweep import Cell, SweepOptions, cell_done
    from run_eval.runner.run.options import RunOptions
    from run_eval.signing.trust import TrustStore

    def done(judge: str) -> bool:
        cell = Cell(model=f"hf/{tiny_model}", benchmark=str(HLE))
        opts = SweepOptions(options=RunOptions(judges=(judge,)), output_dir=judged["work"], trust=TrustStore())
        shutil.copytree(judged["work"] / "a", judged["work"] / cell.folder_name, dirs_exist_ok=True)
        return cell_done(cell, opts)

    assert done(f"hf/{tiny_judge}")
    assert not done(f"hf/{judged['judge_b']}")


def test_hf_jobs_take_hub_and_api_judges_only(tiny_judge):
    from run_eval.runner.remote.submit import RemoteInputError, pin_judges

    assert pin_judges(("openai/o3-mini",)) == ("openai/o3-mini",)
    with pytest.raises(RemoteInputError, match="a local folder cannot be used on HF Jobs"):
        pin_judges((f"hf/{tiny_judge}",))
