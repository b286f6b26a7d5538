"""``--shards N``: one run over N worker processes gives what one process gives; a shard that
dies loses no other shard's work, and --resume runs only what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from inspect_ai.log import read_eval_log

from conftest import EXAMPLE, REPO, assert_clean_error, run_inproc, wait_for_calls

TEST_MODELS = REPO / "tests" / "testmodels.py"
ARGS = ("--limit", "12", "--epochs", "2", "--max-tokens", "4")


def claims(path: Path) -> dict[str, dict]:
    from run_eval.signing.token import check_signature

    return {e["dataset"]["task_id"]: check_signature(e["verifyToken"]).payload
            for e in yaml.safe_load(path.read_text(encoding="utf-8"))}


def scores(log) -> list:
    """Every (sample, epoch): its input as the model saw it, its choices, answer and score."""
    return sorted((str(s.id), s.epoch, json.dumps(s.input, default=str), s.choices,
                   s.output.completion, {k: v.value for k, v in (s.scores or {}).items()})
                  for s in log.samples)


@pytest.fixture(scope="module")
def both(tiny_model, tmp_path_factory) -> dict:
    """The example (an exact-match task and a multiple-choice one with shuffle_choices), 12
    samples and 2 epochs each, run once in one process and once over 2 shards."""
    work = tmp_path_factory.mktemp("shards")
    single = run_inproc(f"hf/{tiny_model}", str(EXAMPLE), *ARGS, "--output-dir", "one", "--log-dir", "one/logs",
                        cwd=work)
    assert single.returncode == 0, single.stdout + single.stderr
    sharded = run_inproc(f"hf/{tiny_model}", str(EXAMPLE), *ARGS, "--shards", "2", "--output-dir", "two",
                         "--log-dir", "two/logs", cwd=work)
    assert sharded.returncode == 0, sharded.stdout + sharded.stderr
    (run_dir,) = (work / "two" / "logs").iterdir()
    return {"work": work, "single": single, "sharded": sharded, "run_dir": run_dir,
            "one": claims(work / "one" / ".eval_results" / "arithmetic.yaml"),
            "two": claims(work / "two" / ".eval_results" / "arithmetic.yaml")}


def test_a_sharded_run_signs_what_one_process_signs(both):
    assert sorted(both["two"]) == ["addition", "comparison"]
    for task in ("addition", "comparison"):
        one, two = both["one"][task], both["two"][task]
        assert two["metric"] == one["metric"]  # value, stderr, samples, total, subset
        assert two["metric"]["samples"] == 12 and two["metric"]["stderr"] is not None
        assert two["evidence"]["samples_sha256"] == one["evidence"]["samples_sha256"]
        assert two["run"] == one["run"] and two["spec"] == one["spec"] and two["dataset"] == one["dataset"]
        assert two["run"]["epochs"] == 2 and (task != "comparison" or two["run"]["shuffle_choices_seed"] == 42)
        single_log = read_eval_log(str(next((both["work"] / "one" / "logs").glob(f"*_{task}_*.eval"))))
        merged = read_eval_log(str(both["run_dir"] / f"{task}.eval"))
        assert scores(merged) == scores(single_log)  # same prompts, shuffled choices, answers, scores
        assert merged.results.scores == single_log.results.scores
        assert merged.reductions == single_log.reductions


def test_the_shards_split_the_samples_and_the_merged_log_lists_them(both):
    run_dir = both["run_dir"]
    merged = read_eval_log(str(run_dir / "addition.eval"))
    ledger = merged.eval.shards.ledger
    assert [e.shard for e in ledger] == ["1", "2"] and [e.selected for e in ledger] == [6, 6]
    shard_ids = []
    for e in ledger:
        (path,) = (run_dir / "addition.shards" / e.shard).glob("*.eval")
        assert path.name == e.log
        shard = read_eval_log(str(path))
        shard_ids.append({str(s.id) for s in shard.samples})
        assert len(shard.samples) == 12 == e.samples  # its 6 samples, 2 epochs each
    assert not shard_ids[0] & shard_ids[1]
    assert shard_ids[0] | shard_ids[1] == {f"add-{i:03d}" for i in range(12)}
    # every shard's progress and end were said
    for k in (1, 2):
        assert f"shard {k}/2: started" in both["sharded"].stderr and f"shard {k}/2: finished" in both["sharded"].stderr


def test_verify_log_audit_and_inspect_view_read_the_merged_log(both, tmp_path):
    work, run_dir = both["work"], both["run_dir"]
    result = work / "two" / ".eval_results" / "arithmetic.yaml"
    ok = run_inproc("verify", str(result), "--log", str(run_dir / "addition.eval"), "--log",
                    str(run_dir / "comparison.eval"), cwd=work)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("log digests match; value recomputed") == 2
    # a shard's log is not the evidence the token binds
    (shard_log,) = (run_dir / "addition.shards" / "1").glob("*.eval")
    bad = run_inproc("verify", str(result), "--log", str(shard_log), cwd=work)
    assert bad.returncode == 1 and "log" in bad.stdout
    audit = run_inproc("audit", str(work / "two" / "logs"), cwd=work)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "0 findings in 2 runs" in audit.stdout  # the two merged logs, not the four shard logs with them
    # inspect view: its listing shows the merged logs and hides the shards they cover
    from inspect_ai.log import bundle_log_dir

    bundle_log_dir(str(work / "two" / "logs"), str(tmp_path / "view"))
    listed = sorted(p.relative_to(tmp_path / "view" / "logs").as_posix()
                    for p in (tmp_path / "view" / "logs").rglob("*.eval"))
    assert listed == [f"{run_dir.name}/addition.eval", f"{run_dir.name}/comparison.eval"]
    listing = json.loads((tmp_path / "view" / "logs" / "listing.json").read_text())
    assert sorted(listing) == listed


def test_reproduce_of_a_sharded_result_agrees_run_sharded_or_not(both, tiny_model):
    work = both["work"]
    for task, shards in (("comparison", "1"), ("addition", "2")):
        # 12 samples: a delta of 0 is "reproduced" only within a wide tolerance (the statistics say so)
        proc = run_inproc("reproduce", str(work / "two" / ".eval_results" / "arithmetic.yaml"), "--task", task,
                          "--shards", shards, "--tolerance", "0.3", "--model-path", str(tiny_model),
                          "--benchmark-path", str(EXAMPLE), "--json", "--output-dir", str(work / f"repro-{task}"),
                          cwd=work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (e,) = json.loads(proc.stdout)["entries"]
        assert (e["verdict"], e["kind"], e["n"], e["delta"], e["changed_samples"]) == \
            ("reproduced", "paired", 12, 0.0, [])
        assert e["claim_matches_evidence"] is True
        runs = [p for p in (work / f"repro-{task}" / "logs").iterdir() if p.is_dir()]
        assert len(runs) == (1 if shards == "2" else 0)  # the re-run was sharded as asked


def test_bad_shards_values_are_one_line(tmp_path):
    for value in ("0", "-1", "two"):
        proc = run_inproc("flaky/model", str(EXAMPLE), "--shards", value, cwd=tmp_path)
        assert_clean_error(proc, "--shards")
    proc = run_inproc("flaky/model", str(EXAMPLE), "--shard", "3/2", cwd=tmp_path)
    assert_clean_error(proc, "--shard", "1 <= K <= N")


# ------------------------------------------------------------------ a shard dies; --resume


def start_held(args: list[str], cwd: Path, calls: Path, *, hold_after: int) -> subprocess.Popen:
    """`run-eval ARGS` with the test models, each of its workers holding after `hold_after`
    answers (tests/testmodels.py) and counting them in `calls`."""
    return subprocess.Popen([sys.executable, str(TEST_MODELS), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env={**os.environ, "RUN_EVAL_TEST_HOLD_AFTER": str(hold_after),
                                 "RUN_EVAL_TEST_CALLS": str(calls)})


def test_a_killed_shard_loses_no_other_work_and_resume_finishes_it(tmp_path):
    """9 samples over 2 shards (5 and 4). Each worker holds after its 4th answer: shard 2
    finishes, shard 1 is held and then killed (SIGKILL). The run fails with no result and
    shard 2's log kept; --resume reuses it and runs only shard 1's missing samples."""
    args = ["flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "9", "--shards", "2",
            "--max-connections", "1"]
    calls = tmp_path / "calls.txt"
    proc = start_held(args, tmp_path, calls, hold_after=4)
    said = Said(proc.stderr)
    try:
        wait_for_calls(proc, calls, 8)  # both shards answered 4: shard 2 is done, shard 1 waits on its 5th
        worker = int(said.wait_for(r"shard 1/2: started \(pid (\d+)").group(1))
        os.kill(worker, signal.SIGKILL)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.stdout.read(), said.text()
    assert proc.returncode == 1, out + err
    assert "shard 1/2 failed (exit status -9)" in err and "shard 2/2: finished" in err
    assert "finish the run with the same command and --resume" in err
    assert not (tmp_path / ".eval_results").exists()
    (run_dir,) = (tmp_path / "logs").iterdir()
    (kept,) = (run_dir / "addition.shards" / "2").glob("*.eval")
    assert read_eval_log(str(kept)).status == "success"

    resumed_calls = tmp_path / "calls-resumed.txt"
    resumed = subprocess.run([sys.executable, str(TEST_MODELS), *args, "--resume"], cwd=tmp_path,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
                             env={**os.environ, "RUN_EVAL_TEST_CALLS": str(resumed_calls)})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"--resume: continuing the sharded run in {run_dir.relative_to(tmp_path)}" in resumed.stderr
    assert "shard 2/2: already finished" in resumed.stderr and "shard 2/2: started" not in resumed.stderr
    # shard 2's 4 samples are not asked again; shard 1's 5 are (its log held none: killed before a flush)
    assert len(resumed_calls.read_text().splitlines()) == 5
    assert sorted((run_dir / "addition.shards" / "2").glob("*.eval")) == [kept]
    (entry,) = yaml.safe_load((tmp_path / ".eval_results" / "arithmetic.yaml").read_text())
    c = claims(tmp_path / ".eval_results" / "arithmetic.yaml")["addition"]
    assert entry["value"] == 1.0 and c["metric"]["samples"] == 9


class Said:
    """A process's stderr, read as it comes (a thread), to wait for a line: an event."""

    def __init__(self, stream) -> None:
        import threading

        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append("")  # the end
            self.cond.notify_all()

    def wait_for(self, pattern: str):
        import re

        with self.cond:
            while True:
                for line in self.lines:
                    if m := re.search(pattern, line):
                        return m
                assert self.lines[-1:] != [""], self.text()  # ended without it
                self.cond.wait(300)

    def text(self) -> str:
        with self.cond:
            return "".join(self.lines)


def test_sigterm_stops_every_shard_and_writes_no_result(tmp_path):
    args = ["flaky/model", str(EXAMPLE), "--task", "addition", "--limit", "8", "--shards", "2",
            "--max-connections", "1"]
    calls = tmp_path / "calls.txt"
    proc = start_held(args, tmp_path, calls, hold_after=1)
    try:
        wait_for_calls(proc, calls, 2)  # each shard answered once and waits
        proc.send_signal(signal.SIGTERM)  # to the coordinator only: it stops its workers
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, out + err
    assert "Traceback" not in out + err
    assert "terminated (SIGTERM) before every task finished" in err and "--resume" in err
    assert not (tmp_path / ".eval_results").exists()
    (run_dir,) = (tmp_path / "logs").iterdir()
    statuses = sorted(read_eval_log(str(p), header_only=True).status
                      for p in run_dir.glob("addition.shards/*/*.eval"))
    assert statuses == ["cancelled", "cancelled"]  # each worker was stopped and wrote its log


def test_the_merge_refuses_logs_that_are_not_this_runs_shards(both):
    from run_eval.runner.run.shards import MergeError, merge

    run_dir = both["run_dir"]
    logs = [read_eval_log(str(next((run_dir / "addition.shards" / k).glob("*.eval")))) for k in ("1", "2")]
    shares = [sorted({str(s.id) for s in log.samples}) for log in logs]
    order = sorted(shares[0] + shares[1])
    merged = merge("addition", [(0, logs[0], shares[0]), (1, logs[1], shares[1])], 2, order, None, 12)
    assert merged.results.scores == read_eval_log(str(run_dir / "addition.eval")).results.scores
    with pytest.raises(MergeError, match="shard 1/2 .*not its share"):
        merge("addition", [(0, logs[0], shares[1]), (1, logs[1], shares[0])], 2, order, None, 12)
    with pytest.raises(MergeError, match="not exactly the run's 12 samples"):
        merge("addition", [(0, logs[0], shares[0])], 2, order, None, 12)
    other = logs[1].model_copy(deep=True)
    other.eval.metadata["run_eval"]["seed"] = 7
    with pytest.raises(MergeError, match="shard 2/2 .*made by a different run"):
        merge("addition", [(0, logs[0], shares[0]), (1, other, shares[1])], 2, order, None, 12)
    cancelled = logs[1].model_copy(update={"status": "cancelled"})
    with pytest.raises(MergeError, match="shard 2/2 .*cancelled"):
        merge("addition", [(0, logs[0], shares[0]), (1, cancelled, shares[1])], 2, order, None, 12)


def test_shards_as_new_processes_where_the_run_cannot_fork(both, tiny_model, tmp_path):
    """Where a local model would run on a GPU (CUDA does not survive a fork), the workers are
    new `run-eval run --shard K/N` processes: the same result as the forked ones."""
    from run_eval.runner.run.options import RunOptions
    from run_eval.runner.run.prepare import prepare
    from run_eval.runner.run.request import RunRequest
    from run_eval.runner.run.sharded import launch_local, run_sharded

    opts = RunOptions(task_ids=("addition",), limit=12, epochs=2, max_tokens=4, shards=2)
    req = RunRequest(f"hf/{tiny_model}", str(EXAMPLE), opts, log_dir=tmp_path / "logs", output_dir=tmp_path,
                     display="none")
    said: list[str] = []
    read_early: list[int] = []

    def launch(req, layout, pending, n, notify, ready):
        def noted(k):  # the coordinator reads a shard's logs as the shard ends, not all at the end
            ready(k)
            read_early.append(k)
        return launch_local(req, layout, pending, n, notify, noted)

    outcome = run_sharded(req, prepare(req), said.append, launch=launch)
    assert sorted(read_early) == [0, 1]
    (r,) = outcome.results
    one = both["one"]["addition"]["metric"]
    assert (r.value, r.stderr, r.samples) == (one["value"], one["stderr"], one["samples"])
    assert claims(outcome.result_file)["addition"]["evidence"]["samples_sha256"] == \
        both["one"]["addition"]["evidence"]["samples_sha256"]
    (run_dir,) = (tmp_path / "logs").iterdir()
    for k in (1, 2):  # each was `run-eval run ... --shard K/2`, its output kept beside the logs
        assert any(line.startswith(f"shard {k}/2: started (pid") for line in said)
        assert f"run-eval: shard {k}/2: done" in (run_dir / f"shard-{k}.out").read_text()
