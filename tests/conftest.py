"""Test setup: nothing may touch the network, and nothing may use the user's caches.

The environment is set before any Hugging Face library is imported (their constants
are read at import time), and inherited by every `run-eval` subprocess a test starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="run-eval-tests-"))
# kept between sessions: the tiny model, rebuilt only when its recipe changes (runner/models/tiny.py)
_MODEL_CACHE = Path(os.environ.get("RUN_EVAL_TEST_CACHE")
                    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "run-eval-tests")
# pytest-xdist's workers inherit the environment set below, XDG_CACHE_HOME included: named here,
# they share the user's model cache instead of each session training the tiny models again
os.environ["RUN_EVAL_TEST_CACHE"] = str(_MODEL_CACHE)
os.environ.update(
    {
        "HF_HOME": str(_HOME / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "XDG_CACHE_HOME": str(_HOME / "cache"),  # Inspect's caches (platformdirs)
        "XDG_DATA_HOME": str(_HOME / "data"),
        "INSPECT_LOG_DIR": str(_HOME / "inspect-logs"),
        "TOKENIZERS_PARALLELISM": "false",
        "RUN_EVAL_DEBUG": "",
        "RUN_EVAL_HOME": str(_HOME / "run-eval-home"),  # keys and trust store of the tests
    }
)
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_ENDPOINT", None)

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "arithmetic"


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The offline demo model, from the package's own builder: trained once, then kept in
    the test cache until its recipe (builder code, data, steps, seed, library versions)
    changes. A lock keeps parallel sessions from training it twice at once."""
    from filelock import FileLock

    from run_eval.runner.models.tiny import build

    _MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(_MODEL_CACHE / ".tiny-model.lock"):
        return build(_MODEL_CACHE / "tiny-model", benchmark_dir=EXAMPLE)


@pytest.fixture(scope="session")
def tiny_model_b() -> Path:
    """A second, weaker tiny model (fewer steps, another seed): a second model for the
    tests that compare models (audit), trained and kept like ``tiny_model``."""
    from filelock import FileLock

    from run_eval.runner.models.tiny import build

    _MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(_MODEL_CACHE / ".tiny-model-b.lock"):
        return build(_MODEL_CACHE / "tiny-model-b", benchmark_dir=EXAMPLE, steps=150, seed=1)


@pytest.fixture(scope="session")
def tiny_judge() -> Path:
    """The tiny judge (``run-eval tiny-model --judge``): grades the judge fixture's prompts
    with GRADE: C or GRADE: I; trained and kept like ``tiny_model``."""
    from filelock import FileLock

    from run_eval.runner.models.tiny import build

    _MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(_MODEL_CACHE / ".tiny-judge.lock"):
        return build(_MODEL_CACHE / "tiny-judge", kind="judge")


@pytest.fixture()
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the example benchmark (tests may edit it)."""
    dest = tmp_path / "arithmetic"
    shutil.copytree(EXAMPLE, dest)
    return dest


def run_cli(*args: str, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed `run-eval` console script as a user would."""
    exe = shutil.which("run-eval")
    cmd = [exe] if exe else [sys.executable, "-m", "run_eval"]
    return subprocess.run(
        [*cmd, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def start_cli(*args: str, cwd: Path, env: dict | None = None, cmd: list[str] | None = None) -> subprocess.Popen:
    """`run-eval ARGS` (or `cmd ARGS`) started as a process, to run beside another: two
    independent commands at once use both cores. Collect it with `finish`."""
    exe = shutil.which("run-eval")
    return subprocess.Popen([*(cmd or ([exe] if exe else [sys.executable, "-m", "run_eval"])), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, timeout: int = 600) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_inproc(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`run-eval ARGS` in this process (its `main`, as the console script calls it), with the
    working folder and environment it would have, and its output captured: the same exit
    status and lines as `run_cli` without a new interpreter (which spends seconds importing
    torch and Inspect). For everything but what needs a process of its own: the console
    script and start-up, signals, concurrent processes, and the loopback Hub (the Hugging
    Face clients read HF_ENDPOINT when first imported)."""
    import contextlib
    import io

    from inspect_ai._display.core import active

    from run_eval.runner.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    active._active_display = None  # Inspect keeps its first display for the process; a command starts afresh
    os.environ.update(env or {})
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as ex:
                code = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
    finally:
        active._active_display = None
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["run-eval", *args], code, out.getvalue(), err.getvalue())


def wait_for_calls(proc: subprocess.Popen, calls: Path, n: int) -> None:
    """Wait until a run with ``RUN_EVAL_TEST_HOLD_AFTER=n`` (tests/testmodels.py) has written its
    n-th line to ``calls``: an event, not a time. The run is then held mid-run, still going."""
    import time

    deadline = time.time() + 300  # a bound on a stuck run, not a wait for the signal's moment
    while time.time() < deadline and proc.poll() is None and \
            (not calls.exists() or len(calls.read_text().splitlines()) < n):
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    assert len(calls.read_text().splitlines()) == n  # mid-run: n samples generated, the next ones held


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A failed command: non-zero, `run-eval: error:` lines, no traceback anywhere."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    assert "run-eval: error:" in proc.stderr, out
    for needle in needles:
        assert needle in proc.stderr, out


ZIP_ZSTD = 93  # Inspect writes .eval members with zstd, which Python 3.11's zipfile cannot read


def _zip_member(z, info, data: bytes) -> bytes:
    """A zip member's bytes, decompressing zstd members (as Inspect writes them) by hand."""
    if info.compress_type != ZIP_ZSTD:
        return z.read(info)
    import struct

    import zstandard

    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    raw = data[start: start + info.compress_size]
    return zstandard.ZstdDecompressor().decompressobj().decompress(raw)


def secret_leaks(secrets: dict[str, str], roots: list[Path], texts: dict[str, str] = {}) -> list[str]:
    """Where any secret value occurs: in `texts` (name -> text, e.g. a command's output) or in
    any file under `roots`, reading every member of zip files (Inspect's .eval logs are zips
    whose members are compressed, so their raw bytes would hide a secret)."""
    import zipfile

    needles = {name: value.encode() for name, value in secrets.items() if value}
    found = [f"{name} in {where}" for where, text in texts.items() for name, v in needles.items()
             if v in text.encode()]
    for root in roots:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            parts = {str(path): data}
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    parts.update({f"{path}!{i.filename}": _zip_member(z, i, data) for i in z.infolist()})
            found += [f"{name} in {where}" for where, blob in parts.items() for name, v in needles.items()
                      if v in blob]
    return found


# ------------------------------------------------------------------ the loopback Hub

HUB_TOKEN = "hf_loopback_test_token_123456"


def no_shuffle_example(dest: Path) -> Path:
    """The example benchmark without shuffle_choices (Inspect's own loader cannot seed it)."""
    import yaml

    shutil.copytree(EXAMPLE, dest)
    spec = yaml.safe_load((dest / "eval.yaml").read_text())
    for t in spec["tasks"]:
        t.pop("shuffle_choices", None)
    (dest / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory, tiny_model):
    """One loopback Hub per test module, holding the dataset org/bench (the example, unshuffled)
    and the model org/tiny (the tiny model), with one HF cache for the module's commands."""
    from hubserver import FakeHub

    work = tmp_path_factory.mktemp("hub")
    h = FakeHub(token=HUB_TOKEN)
    h.start()
    h.bench_sha = h.add_repo("org/bench", "dataset", folder=no_shuffle_example(work / "bench-src"))
    h.model_sha = h.add_repo("org/tiny", "model", folder=tiny_model)
    h.env = {
        "HF_ENDPOINT": h.url,
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HOME": str(work / "hf-home"),
        "HF_TOKEN": HUB_TOKEN,
    }
    yield h
    h.stop()


@pytest.fixture()
def hub(hub_server):
    """The module's Hub, as it was before this test: what a test commits, opens or runs on it
    is undone afterwards (FakeHub.checkpoint/restore)."""
    state = hub_server.checkpoint()
    yield hub_server
    hub_server.restore(state)


def hub_cli(hub, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`run-eval ARGS` as a process whose Hugging Face clients talk to the loopback Hub."""
    return run_cli(*args, cwd=cwd, env={**hub.env, **env})


@pytest.fixture(scope="module")
def shared_hub_run(hub_server, tmp_path_factory) -> Path:
    """One run of the Hub model on the Hub benchmark (addition only), shared by the module."""
    work = tmp_path_factory.mktemp("hub-run")
    proc = hub_cli(hub_server, "hf/org/tiny", "org/bench", "--task", "addition", "--max-tokens", "4", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / ".eval_results" / "bench.yaml"


@pytest.fixture()
def hub_run(hub, shared_hub_run, tmp_path) -> Path:
    """That run's result file in this test's folder, as a run there would have left it."""
    dest = tmp_path / ".eval_results" / "bench.yaml"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_hub_run, dest)
    return dest


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_HOME, ignore_errors=True)
