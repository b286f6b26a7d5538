"""Test setup: nothing may touch the network, and nothing may use the user's caches.

The environment is set before any Hugging Face library is imported (their constants
are read at import time), and inherited by every `run-eval` subprocess a test starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="run-eval-tests-"))
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
    """The offline demo model, built once per test session from the package's own builder."""
    from run_eval.runner.models.tiny import build

    return build(_HOME / "tiny-model", benchmark_dir=EXAMPLE)


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


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_HOME, ignore_errors=True)
