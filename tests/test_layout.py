"""The design card's rule: runner uses tasks, signing and jobs; they never import runner.
safeyaml is a leaf: tasks and signing both read strangers' YAML with it, so it imports
nothing of the project."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_only_runner_imports_runner():
    offenders = [
        f"{p.relative_to(REPO)} imports runner"
        for pkg in ("tasks", "signing", "jobs")
        for p in (REPO / pkg).rglob("*.py")
        if "runner" in imported_packages(p)
    ]
    assert offenders == []


def test_safeyaml_imports_no_project_package():
    offenders = [
        f"{p.relative_to(REPO)} imports {pkg}"
        for p in (REPO / "safeyaml").rglob("*.py")
        for pkg in sorted(imported_packages(p) & {"runner", "tasks", "signing", "jobs"})
    ]
    assert offenders == []


def test_no_private_inspect_modules_in_the_package():
    # tasks are built from Inspect's public API; only tests may reach into inspect_ai._*
    offenders = []
    for pkg in ("tasks", "signing", "jobs", "runner", "safeyaml"):
        for p in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                offenders += [f"{p.relative_to(REPO)}: {n}" for n in names
                              if n.startswith("inspect_ai.") and any(part.startswith("_") for part in n.split(".")[1:])]
    assert offenders == []
