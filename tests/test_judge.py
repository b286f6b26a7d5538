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
    differs by one config value (another snapshot of the same judge); and a third that differs
    from the first only in --seed."""
    work = tmp_path_factory.mktemp("judge")
    other = work / "judge-b"
    shutil.copytree(tiny_judge, other)
    config = json.loads((other / "generation_config.json").read_text())
    (other / "generation_config.json").write_text(json.dumps({**config, "max_new_tokens": 17}))
    out = {"work": work, "judge_b": other, "model": tiny_model}
    for name, judge, seed in (("a", f"hf/{tiny_judge}", "42"), ("b", f"hf/{other}", "42"),
                              ("seed", f"hf/{tiny_judge}", "7")):
        proc = run_inproc("run", f"hf/{tiny_model}", str(HLE), "--judge", judge, "--output-dir", name,
                          "--log-dir", f"logs-{name}", "--model-id", "tiny/model", "--seed", seed, cwd=work)
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
    # (20 matching samples bound |Δ| by ±0.16, runner/compare/stats.py: reproduced within ±0.2)
    proc = run_inproc("reproduce", str(judged["a"]), "--benchmark-path", str(HLE), "--model-path",
                      str(judged["model"]), "--json", "--tolerance", "0.2", cwd=judged["work"])
    assert proc.returncode == 0, proc.stderr
    (o,) = json.loads(proc.stdout)["entries"]
    assert o["verdict"] == "reproduced" and o["judge_differs"] is False


def test_two_runs_differing_only_in_seed_had_the_same_judge(judged):
    """The judge's identity is its model, revision or digest and decoding mode (judge_identity),
    not the run's seed that its record also holds: diff and the leaderboard agree."""
    d = run_inproc("diff", str(judged["a"]), str(judged["seed"]), "--json", cwd=judged["work"])
    data = json.loads(d.stdout)
    assert "judge" not in data["blocking"] and data["comparable"] is True, data["blocking"]
    board = run_inproc("leaderboard", str(judged["a"]), str(judged["seed"]), "--json", cwd=judged["work"])
    assert len(json.loads(board.stdout)["groups"]) == 1


def test_reproduce_with_another_judge_says_the_method_differs(judged):
    # another snapshot of the same judge (the same weights: the same grades), so the re-run's
    # value agrees; still it is not a reproduction of what the token claims
    proc = run_inproc("reproduce", str(judged["a"]), "--benchmark-path", str(HLE), "--model-path",
                      str(judged["model"]), "--judge", f"hf/{judged['judge_b']}", "--json", "--tolerance", "0.2",
                      cwd=judged["work"])
    assert proc.returncode == 1, proc.stderr
    (o,) = json.loads(proc.stdout)["entries"]
    assert o["verdict"] == "method-differs" and o["judge_differs"] is True
    assert o["why"].startswith("the judge differs") and "graded so, the re-run is reproduced" in o["why"]


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


def copy_benchmark(dest: Path, edit) -> Path:
    """The judge fixture copied to ``dest``, its eval.yaml rewritten by ``edit``."""
    shutil.copytree(HLE, dest)
    (dest / "eval.yaml").write_text(edit((HLE / "eval.yaml").read_text()))
    return dest


def grading_models(log) -> set[str]:
    """The models that answered the grading prompts of a log's samples: its model events in a
    scorer's span."""
    out = set()
    for s in log.samples:
        scoring = {e.id for e in s.events if e.event == "span_begin" and e.type == "scorer"}
        out |= {e.model for e in s.events if e.event == "model" and e.span_id in scoring}
    return out


def test_each_task_is_graded_by_the_judge_its_token_names(judged, tiny_judge, tmp_path):
    """Two model-graded tasks, one declaring a judge and one not: the second is graded by the
    evaluated model (never by the first one's judge through Inspect's default role)."""
    from inspect_ai.log import read_eval_log

    def two_tasks(text: str) -> str:
        head, task = text.split("tasks:\n")
        declared = task.replace("id: hle", "id: declared").replace("openai/o3-mini", f"hf/{judged['judge_b']}")
        own = task.replace("id: hle", "id: own").replace("          model: openai/o3-mini\n", "")
        return f"{head}tasks:\n{declared}{own}"

    bench = copy_benchmark(tmp_path / "two", two_tasks)
    # the tiny judge is the evaluated model: it answers junk, and grades it readably
    proc = run_inproc("run", f"hf/{tiny_judge}", str(bench), "--limit", "4", "--model-id", "tiny/judge", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    entries = {e["dataset"]["task_id"]: e for e in read_raw(tmp_path / ".eval_results" / "two.yaml")}
    graders = {task: grading_models(read_eval_log(e["source"]["url"])) for task, e in entries.items()}
    assert graders == {"declared": {f"hf-batch/{judged['judge_b']}"}, "own": {f"hf-batch/{tiny_judge}"}}
    judges = {task: check_signature(e["verifyToken"]).claims.run.judge.used for task, e in entries.items()}
    assert judges["own"] == [{"model": f"hf/{tiny_judge}", "evaluated_model": True}]
    assert [u["model"] for u in judges["declared"]] == [f"hf/{judged['judge_b']}"]


def test_unscored_samples_are_left_out_of_the_evidence_as_inspect_leaves_them(tiny_model, tiny_judge, tmp_path):
    """A grade its scorer cannot read leaves the sample unscored (NaN): Inspect's metric skips
    it, and so do verify --log and reproduce, which recompute the value from the log."""
    from inspect_ai.log import read_eval_log

    # only "GRADE: C" is readable: the samples the tiny judge grades I are unscored
    bench = copy_benchmark(tmp_path / "c_only", lambda t: t.replace(
        "          instructions:", '          grade_pattern: "GRADE: (C)"\n          instructions:'))
    proc = run_inproc("run", f"hf/{tiny_model}", str(bench), "--judge", f"hf/{tiny_judge}", "--limit", "8",
                      "--allow-errors", "8", "--model-id", "tiny/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    entry, c = claims_of(tmp_path / ".eval_results" / "c_only.yaml")
    log = read_eval_log(entry["source"]["url"])
    values = [s.scores["model_graded_fact"].value for s in log.samples]
    unscored = sum(1 for v in values if v != v)
    assert 0 < unscored < len(values), values  # some of each
    assert c.metric.subset["errored"] == unscored
    ok = run_inproc("verify", str(tmp_path), "--log", entry["source"]["url"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"value recomputed (mean of {len(values) - unscored} reduced sample scores; {unscored} unscored" \
        in ok.stdout
    # the re-run (which allows as many failed samples as the original) is compared with the log
    again = run_inproc("reproduce", str(tmp_path), "--benchmark-path", str(bench), "--model-path", str(tiny_model),
                       "--json", cwd=tmp_path)
    (o,) = json.loads(again.stdout)["entries"]
    assert o["claim_matches_evidence"] is True and o["original_log"] == o["claimed"] == entry["value"], o
    assert o["n"] == len(values) - unscored and o["judge_differs"] is False


@pytest.fixture(scope="module")
def api_graded(tmp_path_factory):
    """A real Inspect log of a model-graded task whose judge is an API alias: Inspect's
    mockllm provider stands in for it, its answers naming the snapshot that answered (as an
    API's do); one answer has no grade (that sample is unscored)."""
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import model_graded_fact
    from inspect_ai.solver import generate

    def outputs(model: str, texts: list[str]) -> list[ModelOutput]:
        out = [ModelOutput.from_content(model, t) for t in texts]
        for o in out:  # (mockllm would count tokens with a tokenizer it downloads)
            o.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    judge = get_model("mockllm/model", memoize=False,
                      custom_outputs=outputs("o3-mini-2025-01-31", ["GRADE: C", "GRADE: I", "I cannot say"]))
    evaluated = get_model("mockllm/model", memoize=False, custom_outputs=outputs("mockllm", ["3", "5", "7"]))
    task = Task(dataset=[Sample(input=f"{n} + {n}?", target=str(2 * n), id=f"s{n}") for n in (1, 2, 3)],
                solver=generate(), scorer=model_graded_fact(model_role="grader"))
    (log,) = inspect_eval(task, model=evaluated, model_roles={"grader": judge}, display="none",
                          log_dir=str(tmp_path_factory.mktemp("api-judge")), max_samples=1)
    assert log.status == "success"
    return log


def test_an_api_judge_is_recorded_with_the_model_that_answered(api_graded):
    from run_eval.runner.models.judge import TaskJudges, answered_by, judge_identity, resolve_judge
    from run_eval.runner.models.reference import resolve_model

    judge = resolve_judge("mockllm/model", seed=42, backend="auto", what="--judge")
    tj = TaskJudges((judge,), ())
    record = answered_by(tj.record(resolve_model("mockllm/model")), api_graded)
    (used,) = record["used"]
    assert used["answered_by"] == ["o3-mini-2025-01-31"]  # not the evaluated model's "mockllm"
    assert "mockllm/model (not pinned: answered by o3-mini-2025-01-31)" in tj.notes(judge.ref, record)
    # another snapshot behind the same alias is another judge (diff shows both)
    moved = {**record, "used": [{**used, "answered_by": ["o3-mini-2025-06-01"]}]}
    assert judge_identity(record) != judge_identity(moved)
    assert judge_identity(record) == ["mockllm/model (provider default; answered by o3-mini-2025-01-31)"]


def test_the_value_is_recomputed_as_inspects_metric_computes_it(api_graded):
    """One sample unscored: Inspect's accuracy leaves it out, so does the recomputed value,
    and the per-sample values a paired comparison uses hold no NaN."""
    from run_eval.signing.evidence import per_sample_values, recompute_metric, samples_sha256

    inspect_value = api_graded.results.scores[0].metrics["accuracy"].value
    assert inspect_value == 0.5
    again = recompute_metric(api_graded, "accuracy")
    assert again.value == inspect_value and "1 unscored left out" in again.note
    assert per_sample_values(api_graded) == {"s1": 1.0, "s2": 0.0}
    assert len(samples_sha256(api_graded)) == 64  # the unscored sample is still digested


def test_a_sweep_with_shards_grades_each_shard_with_its_answers(judged, tiny_model, tiny_judge):
    """sweep --shards 2 on the judged benchmark: each shard's log holds its samples' answers and
    the judge's grades of them, and the merged result is the unsharded run's: same value,
    stderr, per-sample grades and judge."""
    from inspect_ai.log import read_eval_log

    work = judged["work"]
    proc = run_inproc("sweep", "--models", f"hf/{tiny_model}", "--benchmarks", str(HLE), "--judge",
                      f"hf/{tiny_judge}", "--shards", "2", "--output-dir", "sw", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = (work / "sw").glob("*/.eval_results/hle_like.yaml")
    entry, c = claims_of(result)
    _, one = claims_of(judged["a"])
    assert c.metric == one.metric and c.evidence.samples_sha256 == one.evidence.samples_sha256
    assert c.run.judge == one.run.judge
    (run_dir,) = [p for p in (result.parent.parent / "logs").iterdir() if p.is_dir()]
    shard_logs = [read_eval_log(str(p)) for p in sorted(run_dir.glob("*.shards/*/*.eval"))]
    assert len(shard_logs) == 2 and all(len(s.samples) == 10 for s in shard_logs)
    for log in shard_logs:  # graded where answered: the judge's prompt holds the shard's own answer
        for s in log.samples:
            prompt, _ = s.scores["model_graded_fact"].metadata["grading"]
            assert f"Submission: {s.output.completion}" in prompt["content"]
