"""``run-eval MODEL BENCHMARK --shards N`` on this machine: N worker processes, one result.

The run that the user starts (the *coordinator*) prepares as any run does (benchmark and
model pinned, lint, signing key), computes the run record and each task's shares
(runner/run/shards.py), and starts N workers: ``run-eval run ... --shard K/N`` started the
way this command was (runner/launch.py), each in a session of its own and on its share of
the cores. A worker prepares again, loads the model, and runs its share of each task as an
Inspect eval into the run folder, ``--resume`` included; it writes Inspect logs only, never
a result. When every worker has ended, the coordinator takes each shard's log (the newest
one made with exactly this run record and share), merges them into one log per task, and
judges and signs that as one process's log (``finish`` in runner/run/execute.py).

Faults: a worker that fails or is stopped does not stop the others; their logs stay in the
run folder, no result is written, and the same command with ``--resume`` runs only what is
missing (finished shards are reused, unfinished ones continued). Ctrl-C or SIGTERM stops
every worker (each writes its cancelled log) and then the coordinator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from run_eval.runner.errors import one_line
from run_eval.runner.launch import self_command
from run_eval.runner.run.request import RunFailed, RunInterrupted, RunOutcome, RunRequest
from run_eval.runner.run.shards import (
    Layout,
    MergeError,
    find_run,
    inspect_ids,
    manifest,
    merge,
    selected_ids,
    shard_log,
    split,
    write_log,
    write_manifest,
)

PROGRESS = "run-eval: shard"  # how a worker's progress lines start (the coordinator reads them)


# ------------------------------------------------------------------------------- the worker


def shares_of(req: RunRequest, built: list[Any], n: int) -> dict[str, list[list[str]]]:
    """task id -> the N shares of the samples this run selects."""
    return {b.spec.task_id: split(selected_ids(b.sample_ids(), req.options.limit, req.sample_ids), n,
                                  seed=req.options.seed, task_id=b.spec.task_id) for b in built}


def run_shard(req: RunRequest, s: Any, notify: Callable[[str], None]) -> list[Path]:
    """``--shard K/N``: this shard's share of each task, as Inspect logs in the run folder;
    the logs (one per task it has samples of)."""
    from run_eval.runner.run.execute import run_logs

    assert req.shard is not None
    k, n = req.shard
    layout = Layout(req.log_dir)
    shares = shares_of(req, s.p.built, n)
    epochs = {b.spec.task_id: b.task.epochs or 1 for b in s.p.built}
    failures, logs = [], []
    for b in s.p.built:
        share = shares[b.spec.task_id][k]
        if not share:
            continue
        _Progress.start(k, n, b.spec.task_id, len(share) * epochs[b.spec.task_id])
        try:
            (log,) = run_logs(req, s, notify, built=[b], log_dir=layout.shard_dir(b.spec.task_id, k),
                              sample_ids=inspect_ids(share))
        finally:
            _Progress.stop()
        logs.append(Path(str(log.location)))
        if log.status != "success":
            reason = log.error.message if log.error else log.status
            failures.append(f"task {b.spec.task_id!r} {log.status}: {one_line(reason)} (Inspect log: {log.location})")
    if failures:
        raise RunFailed(failures)
    print(f"{PROGRESS} {k + 1}/{n}: done", flush=True)
    return logs


class _Progress:
    """A worker's progress, one line per sample done on stdout, from Inspect's
    ``on_sample_end`` hook (registered once, active only while a shard runs)."""

    current: tuple[int, int, str, int] | None = None
    done = 0

    @classmethod
    def start(cls, k: int, n: int, task_id: str, total: int) -> None:
        _register_hook()
        cls.current, cls.done = (k, n, task_id, total), 0
        print(f"{PROGRESS} {k + 1}/{n}: {task_id}: 0/{total} samples", flush=True)

    @classmethod
    def stop(cls) -> None:
        cls.current = None

    @classmethod
    def sample_ended(cls, failed: bool) -> None:
        if cls.current is not None and not failed:  # (a failed or cancelled sample is not done)
            k, n, task_id, total = cls.current
            cls.done += 1
            print(f"{PROGRESS} {k + 1}/{n}: {task_id}: {cls.done}/{total} samples", flush=True)


_registered = False


def _register_hook() -> None:
    global _registered
    if _registered:
        return
    from inspect_ai.hooks import Hooks, SampleEnd, hooks

    @hooks(name="run_eval_shard_progress", description="run-eval: a shard's progress, for its coordinator")
    class ShardProgress(Hooks):
        def enabled(self) -> bool:
            return _Progress.current is not None

        async def on_sample_end(self, data: SampleEnd) -> None:
            _Progress.sample_ended(data.sample.error is not None)

    _registered = True


# -------------------------------------------------------------------------- the coordinator


def worth_saying(line: str, said: str | None) -> bool:
    """Whether a shard's progress line is worth a line of the coordinator's own: each tenth
    of a task, and its end (a line per sample would drown the others).

    >>> [worth_saying(f"run-eval: shard 1/2: t: {i}/20 samples", f"run-eval: shard 1/2: t: {i - 1}/20 samples")
    ...  for i in (1, 2, 3, 20)]
    [False, True, False, True]
    >>> worth_saying("run-eval: shard 1/2: t: 0/20 samples", None), worth_saying("run-eval: shard 1/2: done", None)
    (True, False)
    """
    def tenth(text: str | None) -> tuple[str, int] | None:
        head, _, counts = (text or "").rpartition(": ")
        done, _, total = counts.removesuffix(" samples").partition("/")
        if not (done.isdigit() and total.isdigit()) or int(total) == 0:
            return None
        return head, (10 * int(done)) // int(total)

    now = tenth(line)
    return now is not None and (now != tenth(said))


class Board:
    """What the coordinator says of its shards: at a terminal, one live line per shard (its
    latest state); elsewhere (a pipe, a file, CI), a line as a shard starts, each tenth of
    its samples, and as it ends."""

    def __init__(self, n: int, notify: Callable[[str], None], live: bool | None = None,
                 ready: Callable[[int], None] | None = None) -> None:
        self.n, self.notify, self.rows = n, notify, {}
        self.ready = ready or (lambda k: None)  # (see Launch)
        self.lock = threading.Lock()
        self.live = None
        if live if live is not None else sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(self._table(), console=Console(stderr=True), refresh_per_second=4, transient=False)
            self.live.start()

    def say(self, k: int, text: str) -> None:
        text = "".join(c if c.isprintable() else "?" for c in text)[:200]  # (a job's log line is data)
        with self.lock:
            self.rows[k] = text
            if self.live is not None:
                self.live.update(self._table())
                return
        self.notify(f"shard {k + 1}/{self.n}: {text}")

    def progress(self, k: int, line: str) -> None:
        """A shard's own progress line (``run-eval: shard K/N: TASK: I/T samples``)."""
        self.say(k, line.split(": ", 2)[-1])

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _table(self) -> Any:
        from rich.table import Table

        from rich.text import Text

        t = Table(show_header=False, box=None, pad_edge=False)
        for k in sorted(self.rows):
            t.add_row(f"shard {k + 1}/{self.n}", Text(self.rows[k]))  # (as text: no markup in it is read)
        return t


@dataclass
class Worker:
    k: int
    n: int
    proc: Any  # a subprocess.Popen, or a Forked
    output: Path  # the worker's stdout and stderr
    board: Board
    last: str | None = None  # its latest progress line said
    lines: list[str] = field(default_factory=list)  # its error lines
    done: threading.Event = field(default_factory=threading.Event)  # it has ended (returncode set)


# launch(req, layout, shards to run (k from 0), n, notify, ready) -> lines for the shards that did not finish;
# it calls ready(k), from any thread, as soon as shard k has finished and its logs are in its folders: the
# coordinator reads them while the other shards still run (a core is free then), not all at the end
Launch = Callable[[RunRequest, Layout, list[int], int, Callable[[str], None], Callable[[int], None]], list[str]]


def run_sharded(req: RunRequest, p: Any, notify: Callable[[str], None], launch: Launch | None = None,
                exact: bool = True) -> RunOutcome:
    """Coordinate a sharded run: the run folder (a new one, or with --resume the one of this
    run), the shards that have no finished log in it run by ``launch`` (default: local worker
    processes; runner/remote/sharded.py: HF Jobs), then one merged log per task, judged and signed.
    ``exact``: a shard's log must have this run's whole record (else only what makes it the
    same run: the shards of HF Jobs have the jobs' packages and environment)."""
    from run_eval.runner.run.execute import finish, records, start

    n = req.options.shards
    if launch is None and can_fork(p.model):
        s = start(req, p)  # prepared, imported and set up once: the workers are forks of this process
        check_api_model(req, p.model, s.decoding)
        launch = ForkLaunch(s)
    else:
        s = records(req, p)
    shares = shares_of(req, p.built, n)
    by_task = {b.spec.task_id: b.task.metadata["run_eval"] for b in p.built}
    content = manifest(n, by_task, shares)
    layout = find_run(req.log_dir, content) if req.resume else None
    if req.resume:
        notify(f"--resume: continuing the sharded run in {layout.root}" if layout else
               f"--resume: no sharded run in {req.log_dir} matches this one; running it from the start")
    if layout is None:
        layout = Layout.new(req.log_dir, n)
        write_manifest(layout, content)

    found: dict[tuple[str, int], Any] = {}

    def finished(t: str, k: int) -> Any | None:  # (a finished shard's log is read once)
        if (t, k) not in found:
            log = shard_log(layout.shard_dir(t, k), by_task[t], shares[t][k], exact=exact)
            if log is None:
                return None
            found[(t, k)] = log
        return found[(t, k)]

    def ready(k: int) -> None:  # (a launcher's thread, while other shards run)
        for t in shares:
            if shares[t][k]:
                try:
                    finished(t, k)
                except Exception:  # read again below, where what is wrong is said
                    pass

    busy = [k for k in range(n) if any(shares[t][k] for t in shares)]
    pending = [k for k in busy if not all(finished(t, k) for t in shares if shares[t][k])]
    for k in sorted(set(busy) - set(pending)):
        notify(f"shard {k + 1}/{n}: already finished in {layout.root}; reusing its logs")
    failed = (launch or launch_local)(req, layout, pending, n, notify, ready) if pending else []
    if failed:
        raise RunFailed(failed + [f"the other shards' logs are kept in {layout.root}: finish the run with the same "
                                  "command and --resume (only what is missing runs); no result file was written"])
    logs = []
    for b in p.built:
        t = b.spec.task_id
        shard_logs = []
        for k, share in enumerate(shares[t]):
            if not share:
                continue
            log = finished(t, k)
            if log is None:
                raise RunFailed([f"task {t!r}, shard {k + 1}/{n}: no finished log of this run in "
                                 f"{layout.shard_dir(t, k)}; finish the run with the same command and --resume"])
            shard_logs.append((k, log, share))
        order = selected_ids(b.sample_ids(), req.options.limit, req.sample_ids)
        try:
            merged = merge(t, shard_logs, n, order, req.sample_ids, req.options.limit)
        except MergeError as ex:
            raise RunFailed([str(ex), "no result file was written"]) from None
        logs.append(write_log(merged, layout.merged_log(t)))
    return finish(req, s, logs)


def launch_local(req: RunRequest, layout: Layout, pending: list[int], n: int,
                 notify: Callable[[str], None], ready: Callable[[int], None] | None = None) -> list[str]:
    """The shards as new ``run-eval run --shard K/N`` processes on this machine, each on its
    share of the cores (where this process must not fork: a model on a GPU)."""
    notify(f"{len(pending)} shards running in {layout.root}")
    board = Board(n, notify, ready=ready)
    return wait_for([start_worker(req, layout, k, n, board) for k in pending], board)


def can_fork(model: Any) -> bool:
    """Whether the workers can be forks of this process: POSIX, and no GPU a local model
    would run on (CUDA cannot be used in a child forked after it was initialised)."""
    from run_eval.runner.models.reference import LOCAL_PROVIDERS

    if not hasattr(os, "fork") or not hasattr(os, "setsid"):
        return False
    if model.provider not in LOCAL_PROVIDERS:
        return True  # an API model (e.g. openai-api/ against a vLLM server): the process holds no device
    try:
        import torch
    except ImportError:
        return True
    return not torch.cuda.is_available()


def check_api_model(req: RunRequest, model: Any, decoding: Any) -> None:
    """An API model (``openai-api/...``) made once here, before any shard starts: a missing
    package or key is one line, not one per shard (the forks then reuse it: Inspect memoizes)."""
    from run_eval.runner.models.reference import LOCAL_PROVIDERS

    if model.provider in LOCAL_PROVIDERS:
        return
    from inspect_ai.model import get_model

    try:
        get_model(decoding.model, **decoding.model_args)
    except Exception as ex:
        raise RunFailed([f"MODEL {req.model!r}: {one_line(str(ex)) or type(ex).__name__}; no shard was started"]) \
            from None


class ForkLaunch:
    """The shards as forks of this process, which has imported, prepared and set up the run
    once (a new ``run-eval`` process spends seconds on that before its first sample, which
    on a few cores is most of what a shard saves). Each fork is in a session of its own, on
    its share of the cores, its output in ``shard-K.out``, and runs ``run_shard`` as a
    ``--shard K/N`` process would, exiting as it would."""

    def __init__(self, started: Any) -> None:
        self.started = started

    def __call__(self, req: RunRequest, layout: Layout, pending: list[int], n: int,
                 notify: Callable[[str], None], ready: Callable[[int], None] | None = None) -> list[str]:
        notify(f"{len(pending)} shards running in {layout.root}")
        board = Board(n, notify, ready=ready)
        return wait_for([self.fork(req, layout, k, n, board) for k in pending], board)

    def fork(self, req: RunRequest, layout: Layout, k: int, n: int, board: Board) -> Worker:
        output = layout.root / f"shard-{k + 1}.out"
        out = open(output, "a", encoding="utf-8")
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                os.close(read)
                os.setsid()
                os.dup2(write, 1)
                os.dup2(write, 2)
                os.close(write)
                sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
                sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                cores = core_share(k, n)
                if cores:
                    os.sched_setaffinity(0, cores)
                    if "torch" in sys.modules:
                        sys.modules["torch"].set_num_threads(max(1, len(cores) - 1) if len(cores) > 1 else 1)
                code = shard_main(replace(req, shard=(k, n), log_dir=layout.root, display="none"), self.started)
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        os.close(write)
        w = Worker(k, n, Forked(pid, os.fdopen(read, "r", encoding="utf-8")), output, board)
        board.say(k, f"started (pid {pid}, output {output})")
        threading.Thread(target=_read, args=(w, out), daemon=True).start()
        return w


def shard_main(req: RunRequest, started: Any) -> int:
    """A forked worker's run of its shard, as ``run-eval run --shard K/N`` would: its error lines
    on stderr, its exit status (0, 1 failed, 130 / 143 stopped)."""
    from run_eval.runner.errors import EXIT_FAILED
    from run_eval.runner.run import interrupt
    from run_eval.runner.run.execute import stopped_line

    def say(lines: list[str]) -> None:
        for line in lines:
            print(f"run-eval: error: {line}", file=sys.stderr, flush=True)

    try:
        with interrupt.sigterm_as_interrupt():
            run_shard(req, started, lambda m: print(f"run-eval: {m}", file=sys.stderr, flush=True))
        return 0
    except RunInterrupted as ex:
        say(ex.lines)
        return interrupt.exit_code()
    except RunFailed as ex:
        say(ex.lines)
        return EXIT_FAILED
    except KeyboardInterrupt:
        say(stopped_line(req.log_dir))
        return interrupt.exit_code()
    except Exception as ex:  # one line, as the CLI's last line of defence says it
        say([f"{type(ex).__name__}: {one_line(str(ex))}"])
        return EXIT_FAILED


class Forked:
    """A forked worker, with the part of ``subprocess.Popen`` that the coordinator uses."""

    def __init__(self, pid: int, stdout: Any) -> None:
        self.pid, self.stdout, self.returncode = pid, stdout, None

    def poll(self) -> int | None:
        if self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # (not reaped: the reader thread alone waits for it)
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def worker_argv(req: RunRequest, layout: Layout, k: int, n: int) -> list[str]:
    args = [*self_command(), "run", req.model, req.benchmark, *replace(req.options, shards=1).argv(),
            "--shard", f"{k + 1}/{n}", "--log-dir", str(layout.root), "--output-dir", str(req.output_dir)]
    args += ["--model-id", req.model_id] if req.model_id else []
    args += ["--dataset-id", req.dataset_id] if req.dataset_id else []
    args += [a for t, fp in sorted(req.expect_spec.items()) for a in ("--expect-spec", f"{t}={fp}")]
    return args + (["--resume"] if req.resume else [])


def core_share(k: int, n: int) -> set[int] | None:
    """The cores worker k of n may use: a contiguous n-th of this process's (one each, in
    turn, when there are more workers than cores); None where affinity is not supported."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    if n >= len(cores):
        return {cores[k % len(cores)]}
    return set(cores[k * len(cores) // n:(k + 1) * len(cores) // n])


def start_worker(req: RunRequest, layout: Layout, k: int, n: int, board: Board) -> Worker:
    output = layout.root / f"shard-{k + 1}.out"
    out = open(output, "a", encoding="utf-8")
    # a session of its own: a Ctrl-C at the terminal reaches the coordinator only, which stops
    # each worker once (SIGTERM, which a worker takes as Ctrl-C) and waits for its log
    proc = subprocess.Popen(worker_argv(req, layout, k, n), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    cores = core_share(k, n)
    if cores:
        try:
            os.sched_setaffinity(proc.pid, cores)
        except OSError:
            pass  # it ended already, or the cores are not ours to give: it runs where the OS puts it
    w = Worker(k, n, proc, output, board)
    board.say(k, f"started (pid {proc.pid}, output {output})")
    threading.Thread(target=_read, args=(w, out), daemon=True).start()
    return w


def _read(w: Worker, out: Any) -> None:
    assert w.proc.stdout is not None
    with out:
        for line in w.proc.stdout:
            out.write(line)
            out.flush()
            line = line.rstrip("\n")
            if line.startswith(PROGRESS) and worth_saying(line, w.last):
                w.last = line
                w.board.progress(w.k, line)
            elif line.startswith("run-eval: error:"):
                w.lines.append(line.removeprefix("run-eval: error: "))
    code = w.proc.wait()  # (the one place a worker is waited for)
    w.board.say(w.k, "finished" if code == 0 else f"ended with exit status {code}")
    try:
        if code == 0:
            w.board.ready(w.k)
    finally:
        w.done.set()


def wait_for(workers: list[Worker], board: Board) -> list[str]:
    """Wait for every worker; lines for those that did not finish. On Ctrl-C or SIGTERM:
    stop them all, wait for their logs, and raise RunInterrupted."""
    from run_eval.runner.run.execute import stopped_line

    try:
        for w in workers:
            while not w.done.wait(0.5):  # (a timed wait, so that Ctrl-C is taken at once)
                pass
    except KeyboardInterrupt:
        for w in workers:
            if not w.done.is_set():
                w.proc.send_signal(signal.SIGTERM)
        try:
            for w in workers:
                while not w.done.wait(0.5):
                    pass
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once
            for w in workers:
                if not w.done.is_set():
                    w.proc.kill()
        board.close()
        raise RunInterrupted(stopped_line(workers[0].output.parent)) from None
    board.close()
    return [f"shard {w.k + 1}/{w.n} failed (exit status {w.proc.returncode}): "
            f"{w.lines[0] if w.lines else 'see ' + str(w.output)}" for w in workers if w.proc.returncode != 0]