"""`run-eval audit`: two tiny models run the DROP-like benchmark (its "." stop sequence cuts
their decimal answers for real), and audit attributes the failures to the truncation; the
rules and the distribution test on their own; bad input is one line."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from conftest import REPO, assert_clean_error, run_inproc

from run_eval.runner.audit.checks import ASHMAN_D_THRESHOLD, clusters, lenient_match, per_model, truncated_by
from run_eval.runner.audit.read import Outcome, Run

DROP_LIKE = REPO / "tests" / "fixtures" / "lint" / "drop_like"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, tiny_model, tiny_model_b) -> Path:
    """Both tiny models on the DROP-like benchmark, run as it is (--no-lint)."""
    work = tmp_path_factory.mktemp("audit")
    for model, out in ((tiny_model, "a"), (tiny_model_b, "b")):
        proc = run_inproc("run", f"hf/{model}", str(DROP_LIKE), "--no-lint", "--log-dir", f"logs-{out}",
                          "--output-dir", out, "--model-id", f"tiny/{out}", cwd=work)
        assert proc.returncode == 0, proc.stderr
    return work


def audit_json(*args: str, cwd: Path) -> dict:
    proc = run_inproc("audit", *args, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_failures_are_attributed_to_the_stop_sequence_with_sample_ids(two_models):
    from inspect_ai.log import read_eval_log

    report = audit_json("logs-a", "logs-b", cwd=two_models)
    cut = {f["model"]: f for f in report["findings"] if f["rule"] == "stop-truncation"}
    assert set(cut) == {"tiny/a", "tiny/b"}
    for model, folder in (("tiny/a", "logs-a"), ("tiny/b", "logs-b")):
        (log_file,) = (two_models / folder).glob("*.eval")
        log = read_eval_log(str(log_file))
        # what the logs show: answers that end in "." and are a strict prefix of a decimal target
        expected = [s.id for s in log.samples if s.scores["match"].value == "I"
                    and s.output.completion.strip().endswith(".")
                    and s.target.startswith(s.output.completion.strip()) and s.target != s.output.completion.strip()]
        assert expected, "the tiny model's answers were not cut: the fixture shows nothing"
        f = cut[model]
        assert f["count"] == len(expected) and "'.'" in f["message"]
        assert [s.split(":")[0] for s in f["samples"]] == [str(i) for i in expected[:3]]
    assert report["distribution"]["quarters"]["models"].keys() == {"tiny/a", "tiny/b"}
    assert report["distribution"]["quarters"]["bimodal"] is False  # two models cannot show two clusters


def test_result_files_lead_to_their_logs_and_html_page(two_models):
    page = two_models / "audit.html"
    by_logs = audit_json("logs-a", "logs-b", cwd=two_models)
    by_results = audit_json("a/.eval_results/drop_like.yaml", "b/.eval_results/drop_like.yaml",
                            "--html", str(page), cwd=two_models)
    assert by_results == by_logs
    text = page.read_text()
    assert text.count("<svg") == 1 and "stop-truncation" in text and "tiny/a" in text
    assert not any(asset in text for asset in ("src=", "href=", "<link", "<script", "@import"))  # self-contained


def test_plain_output_lists_findings_and_scores(two_models):
    proc = run_inproc("audit", "logs-a", "logs-b", cwd=two_models)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split("\t")[:3] == ["rule", "task", "model"]
    assert any(line.startswith("stop-truncation\tquarters\ttiny/a\t") for line in lines)
    assert lines[-2].startswith("quarters: tiny/a ") and lines[-1].endswith(" in 2 runs")


def test_an_unfinished_log_in_a_folder_is_skipped_and_named_is_an_error(two_models, tmp_path):
    """A stopped run leaves a cancelled log beside the one --resume finished: a folder of logs
    is still audited; a cancelled log named on its own is one line."""
    from inspect_ai.log import read_eval_log, write_eval_log

    (finished,) = (two_models / "logs-a").glob("*.eval")
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(finished, folder / finished.name)
    log = read_eval_log(str(finished))
    log.status = "cancelled"
    write_eval_log(log, str(folder / "stopped.eval"))
    proc = run_inproc("audit", str(folder), "--json", cwd=tmp_path)
    assert proc.returncode == 0 and "skipped" in proc.stderr and "stopped.eval: unfinished run" in proc.stderr
    assert json.loads(proc.stdout)["distribution"]["quarters"]["models"] == {"tiny/a": log.results.scores[0]
                                                                               .metrics["accuracy"].value}
    named = run_inproc("audit", str(folder / "stopped.eval"), cwd=tmp_path)
    assert named.returncode == 2
    assert_clean_error(named, "stopped.eval: the run did not finish (cancelled)")


def outcome(i: str, target: str, completion: str, value: float = 0.0, **kw) -> Outcome:
    fields = {"answer": completion.strip(), "no_answer": not completion.strip(), "stop_reason": "unknown",
              "output_tokens": None, **kw}
    return Outcome(i, 1, target, completion, value=value, **fields)


@pytest.mark.parametrize("target, completion, stop_reason, stops, cut", [
    ("12.25", " 12.", "unknown", (".",), "."),  # transformers keeps the stop string
    ("12.25", "12", "stop", (".",), "."),  # an API drops it and says why it stopped
    ("12.25", "12", "unknown", (".",), None),  # no sign that it stopped there: a wrong answer
    ("12.25", "The answer is 12.", "unknown", (".",), "."),  # the answer's end is the target's start
    ("12.25", " 13.", "unknown", (".",), None),  # wrong digits: not a prefix
    ("12.25", " 112.", "unknown", (".",), None),  # "12" only inside a word
    ("12.", " 12.", "unknown", (".",), None),  # nothing of the target was lost
    ("New York\nCity", " New York\n", "unknown", ("\n",), "\n"),
])
def test_truncated_by(target, completion, stop_reason, stops, cut):
    assert truncated_by(outcome("1", target, completion, stop_reason=stop_reason), stops) == cut


def test_lenient_match_and_the_per_model_rules():
    run = Run("m", "d", "t", Path("x.eval"), "match", 0.2, 0.1, (".",), 8, (
        outcome("1", "12.25", " 12."),  # stop-truncation
        outcome("2", "12.5", " 12.50"),  # strict-scorer
        outcome("3", "Paris", ""),  # no-answer
        outcome("4", "7", " 1 2 3 4 5 6 7 8", output_tokens=8),  # max-tokens
        outcome("5", "7", " 7", value=1.0),
    ))
    found = {f.rule: f for f in per_model(run)}
    assert set(found) == {"stop-truncation", "strict-scorer", "no-answer", "max-tokens"}
    assert found["stop-truncation"].samples[0].startswith("1: '12.'")
    assert found["strict-scorer"].samples == ("2: '12.50' (target '12.5')",)
    assert "1 of 4 failures have no answer" in found["no-answer"].message
    assert not lenient_match(outcome("9", "12.5", " 12.6"))


def test_cluster_test_splits_a_bimodal_set_and_not_a_spread_one():
    drop = {f"m{i}": (v, 0.01) for i, v in enumerate([0.04, 0.06, 0.08, 0.07, 0.71, 0.74, 0.69])}
    r = clusters(drop)
    assert r["bimodal"] and r["d"] > ASHMAN_D_THRESHOLD and set(r["high"]) == {"m4", "m5", "m6"}
    spread = {f"m{i}": (v, 0.02) for i, v in enumerate([0.30, 0.38, 0.45, 0.52, 0.60, 0.66])}
    r = clusters(spread)  # evenly spread: any split has a large D, but the dip test sees one mode
    assert r["split"] and not r["bimodal"] and r["d"] > ASHMAN_D_THRESHOLD and r["dip_p"] > 0.5
    # sampling error counts: two groups 0.1 apart measured on a handful of samples are not separate
    noisy = {f"m{i}": (v, 0.15) for i, v in enumerate([0.40, 0.41, 0.52, 0.53])}
    r = clusters(noisy)
    assert r["dip_p"] < 0.05 and r["d"] <= ASHMAN_D_THRESHOLD and not r["bimodal"]
    few = clusters({"a": (0.1, 0.01), "b": (0.9, 0.01), "c": (0.9, 0.01)})
    assert not few["bimodal"] and "at least 4 models" in few["note"] and math.isfinite(few["threshold"])


@pytest.mark.parametrize("args, needle", [
    (("nowhere.eval",), "nowhere.eval: no such file"),
    (("README.md",), "not an Inspect log"),
    (("empty-dir",), "no Inspect logs"),
    (("bad.eval",), "not a readable Inspect log"),
    (("results.yaml",), "is not on this machine"),
])
def test_bad_input_is_one_line(args, needle, tmp_path):
    (tmp_path / "README.md").write_text("hi")
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "bad.eval").write_bytes(b"not a zip")
    (tmp_path / "results.yaml").write_text(
        "- dataset: {id: org/b, task_id: t}\n  value: 0.5\n  source: {url: /nowhere/log.eval, name: Inspect log}\n")
    proc = run_inproc("audit", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_clean_error(proc, needle)


def test_a_folder_written_by_inspects_eval_set_is_audited_by_its_logs_only(tmp_path):
    """eval_set writes logs.json and eval-set.json beside its logs: they are not logs (Inspect's
    own listing skips them), and one named on its own is a one-line error."""
    import testmodels  # noqa: F401  (registers the instant flaky/ provider in this process)
    from inspect_ai import Task, eval_set
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate

    task = Task(dataset=[Sample(input=f"What is {a} + 2?", target=str(a + 2), id=a) for a in range(1, 5)],
                solver=[generate()], scorer=match(numeric=True), name="sums")
    ok, _ = eval_set(task, log_dir=str(tmp_path / "set"), model="flaky/model", log_format="json", display="none")
    assert ok
    names = sorted(p.name for p in (tmp_path / "set").iterdir())
    assert {"logs.json", "eval-set.json"} <= set(names) and [n for n in names if "_sums_" in n and n.endswith(".json")]
    report = audit_json("set", cwd=tmp_path)
    assert report["distribution"]["sums"]["models"] == {"flaky/model": 1.0}
    for name in ("logs.json", "eval-set.json"):
        proc = run_inproc("audit", f"set/{name}", cwd=tmp_path)
        assert proc.returncode == 2
        assert_clean_error(proc, f"set/{name}: not a readable Inspect log (eval: field required)")
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_log_from_inspect_itself_is_audited_from_its_plan(tmp_path, tiny_model):
    """No run-eval record in the log: the stop sequence is read from Inspect's plan."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate

    from run_eval.runner.models.tiny import ADDITION_TEMPLATE, QUARTERS_QUESTION, quarters_answer

    task = Task(dataset=[Sample(input=ADDITION_TEMPLATE.format(prompt=QUARTERS_QUESTION.format(a=a)),
                                target=quarters_answer(a)) for a in range(1, 9)],
                solver=[generate(stop_seqs=["."])], scorer=match(numeric=True), name="plain")
    (log,) = eval(task, model=f"hf/{tiny_model}", model_args={"do_sample": False}, log_dir=str(tmp_path / "logs"),
                  display="none")
    report = audit_json(str(tmp_path / "logs"), cwd=tmp_path)
    (f,) = [f for f in report["findings"] if f["rule"] == "stop-truncation"]
    cut = [s for s in log.samples if s.output.completion.strip().endswith(".") and s.scores["match"].value == "I"]
    assert f["task_id"] == "plain" and f["model"] == f"hf/{tiny_model}" and f["count"] == len(cut) > 0
