"""Start-up: `run-eval --help` and `run-eval verify` import only what they need, and the
command list kept in runner/cli/main.py (for a help that imports no command) agrees with the
commands themselves."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from run_eval.runner.cli.main import COMMANDS
from run_eval.signing.verify import PARALLEL_MIN_FILES

from conftest import REPO, assert_clean_error, run_cli

CORPUS = Path(__file__).parent / "fixtures" / "tokens"
NEVER_AT_START = ("huggingface_hub", "inspect_ai", "datasets", "torch", "transformers", "rich", "asyncio")


def load(name: str) -> click.Command:
    module, _, attr = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), attr)


def modules_after(*args: str, eager: bool = False) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `run-eval ARGS` in a fresh interpreter; the modules it imported. eager: first
    import every command, as if they were all registered up front."""
    code = (
        "import sys\n"
        "from run_eval.runner.cli.main import main\n"
        + ("import click\nfrom run_eval.runner.cli.main import COMMANDS, cli\n"
           "for name in COMMANDS:\n    cli.get_command(click.Context(cli), name)\n" if eager else "") +
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "COLUMNS": "80"}, stdin=subprocess.DEVNULL, timeout=120)
    line = proc.stderr.rsplit("MODULES ", 1)[-1]
    return proc, set(line.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_static_help_is_the_commands_own(name):
    cmd = load(name)
    assert cmd.name == name and not cmd.hidden
    assert COMMANDS[name][1] == inspect.cleandoc(cmd.help).splitlines()[0]  # the docstring's first line
    listed = click.Command(name, help=COMMANDS[name][1])
    for limit in (20, 45, 60, 74, 200):
        assert listed.get_short_help_str(limit) == cmd.get_short_help_str(limit)


def test_help_imports_no_command_and_lists_them_all():
    proc, loaded = modules_after("--help")
    assert proc.returncode == 0 or proc.stdout.startswith("Usage:"), proc.stderr
    assert not {m.split(".")[0] for m in loaded} & set(NEVER_AT_START)
    commands = sorted(m for m in loaded if m.startswith("run_eval.runner.cli.") and m != "run_eval.runner.cli.main")
    assert commands == []
    # the same help as the group gives when it holds every command for real
    eager, _ = modules_after("--help", eager=True)
    assert proc.stdout == eager.stdout
    for name in COMMANDS:
        assert f"\n  {name} " in proc.stdout


def test_verify_imports_neither_the_hub_nor_inspect():
    proc, loaded = modules_after("verify", "--trust", str(CORPUS / "trust.yaml"),
                                 str(CORPUS / "cases" / "good_executor.yaml"))
    assert "2 verified" in proc.stdout, proc.stdout + proc.stderr
    assert not {m.split(".")[0] for m in loaded} & set(NEVER_AT_START)


def test_verify_of_a_folder_imports_no_pydantic(tmp_path):
    # importing pydantic and building models was a third of verify's start-up (BENCHMARKS.md
    # section 3): the typed claims are msgspec Structs, and a folder big enough for the worker
    # processes (forked after the imports) still decides with nothing more imported
    folder = tmp_path / ".eval_results"
    folder.mkdir()
    good = (CORPUS / "cases" / "good_executor.yaml").read_bytes()
    for i in range(PARALLEL_MIN_FILES):
        (folder / f"r{i:03d}.yaml").write_bytes(good)
    proc, loaded = modules_after("verify", "--trust", str(CORPUS / "trust.yaml"), str(tmp_path))
    assert proc.stdout.rstrip().endswith(f"{2 * PARALLEL_MIN_FILES} verified"), proc.stdout + proc.stderr
    assert not {m.split(".")[0] for m in loaded} & {"pydantic", "pydantic_core", *NEVER_AT_START}


def test_default_command_is_run(tmp_path):
    assert_clean_error(run_cli("some/model", cwd=tmp_path), "Missing argument 'BENCHMARK'", "run-eval run --help")
    helped = run_cli("run", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: run-eval run [OPTIONS] MODEL BENCHMARK")
    assert_clean_error(run_cli("nosuch", "x", "--bad", cwd=tmp_path), "No such option '--bad'")


def test_verify_plain_output_has_every_entry(tmp_path):
    # not a terminal: one tab-separated line per entry, then the counts (no table)
    files = [str(CORPUS / "cases" / f"{c}.yaml") for c in ("good_executor", "unsigned", "value_edited")]
    proc = run_cli("verify", "--trust", str(CORPUS / "trust.yaml"), *files, cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t") == ["file", "task", "value", "status", "signer / reason"]
    rows = [line.split("\t") for line in lines[1:-1]]
    assert [r[3] for r in rows] == ["verified", "verified", "unsigned", "invalid"]
    assert rows[3][4].startswith("hash mismatch: value")
    assert lines[-1] == "2 verified, 1 unsigned, 1 invalid"


def test_python_m_run_eval_is_the_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "run_eval", "--help"], capture_output=True, text=True, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: run-eval MODEL BENCHMARK [OPTIONS] | COMMAND [ARGS]...")
