"""The layout rules of ARCHITECTURE.md, checked on the source and on the built wheel.

- One import name: everything is imported as ``run_eval.<part>``; nothing imports a bare
  ``runner``, ``tasks``, ``signing``, ``jobs`` or ``safeyaml`` (those names belong to other
  PyPI projects, and a folder of that name in the user's current folder would shadow ours).
- Imports point one way: ``runner`` uses ``tasks``, ``signing`` and ``jobs``; they never
  import ``runner``; ``safeyaml`` imports nothing of the project.
- Inside ``runner``: only the CLI imports the CLI, and one command's module never
  imports another's (shared options and output have modules of their own).
- The wheel's only top-level import package is ``run_eval``, it holds every module of the
  source folders, and each of them imports from the wheel.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

PARTS = ("runner", "tasks", "signing", "jobs", "safeyaml")
CLI_SHARED = {"run_eval.runner.cli.main", "run_eval.runner.cli.options", "run_eval.runner.cli.output"}


def python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (REPO / f).rglob("*.py") if ".venv" not in p.parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names, at any depth of the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["run_eval", *parts]) if parts[0] != "run_eval" else ".".join(parts)


def test_nothing_imports_a_bare_part_name():
    offenders = [f"{p.relative_to(REPO)}: {m}"
                 for p in python_files(*PARTS, "run_eval", "tests", "bench", "examples")
                 for m in imports(p) if m.split(".")[0] in PARTS]
    assert offenders == []


def test_imports_point_one_way():
    offenders = []
    for part, forbidden in (("tasks", {"runner"}), ("signing", {"runner"}), ("jobs", {"runner"}),
                            ("safeyaml", set(PARTS))):
        for p in python_files(part):
            offenders += [f"{p.relative_to(REPO)} imports {m}" for m in imports(p)
                          if m.startswith("run_eval.") and m.split(".")[1] in forbidden - {part}]
    assert offenders == []


def test_no_command_module_reaches_into_another():
    offenders = []
    for p in python_files("runner"):
        me = module_name(p)
        for m in imports(p):
            if not m.startswith("run_eval.runner.cli"):
                continue
            target = ".".join(m.split(".")[:4])  # run_eval.runner.cli.<module>
            in_cli = me.startswith("run_eval.runner.cli")
            if not in_cli or (target not in CLI_SHARED and target != "run_eval.runner.cli" and target != me):
                offenders.append(f"{me} imports {m}")
    assert offenders == []


def test_no_private_inspect_modules_in_the_package():
    # tasks are built from Inspect's public API; only tests may reach into inspect_ai._*
    offenders = [f"{p.relative_to(REPO)}: {m}" for p in python_files(*PARTS)
                 for m in imports(p)
                 if m.startswith("inspect_ai.") and any(part.startswith("_") for part in m.split(".")[1:])]
    assert offenders == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("run_eval-*.whl")
    return whl


def test_the_wheel_installs_only_run_eval_and_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"run_eval"}
    in_wheel = {n for n in names if n.endswith(".py")}
    in_repo = {f"run_eval/{p.relative_to(REPO).as_posix()}" for p in python_files(*PARTS)}
    in_repo |= {f"run_eval/{p.name}" for p in python_files("run_eval")}
    assert in_repo - in_wheel == set()  # no sub-package left out
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "run-eval = run_eval.runner.cli.main:main" in meta
    assert "run_eval = run_eval.runner.models.providers" in meta


def test_every_module_of_the_wheel_imports_from_it(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    modules = sorted(n[:-3].replace("/", ".").removesuffix(".__init__")
                     for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py") and n != "run_eval/__main__.py")
    import site as site_module

    # -S: no site-packages processing, so no .pth file (the editable install's finder) runs;
    # the dependencies' folders are put on the path by hand, after the wheel's
    deps = [p for p in site_module.getsitepackages() if Path(p).is_dir()]
    code = (
        "import importlib, sys\n"
        f"sys.path[0:0] = [{str(site)!r}, *{deps!r}]\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        m = importlib.import_module(name)\n"
        f"        assert m.__file__.startswith({str(site)!r}), m.__file__\n"
        "    except Exception as ex:\n"
        "        bad.append(f'{name}: {type(ex).__name__}: {ex}')\n"
        "print('\\n'.join(bad))\n"
    )
    # from a neutral folder, with no editable install on the path: only the wheel's files
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-S", "-c", code, *modules], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
    assert len(modules) > 40
