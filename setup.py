"""Packaging: the design card's top-level folders are installed under one import name.

``runner/``, ``tasks/``, ``signing/``, ``jobs/`` and ``safeyaml/`` stay where a reader
expects them in the repo, and are installed as ``run_eval.runner``, ``run_eval.tasks``,
... (``run_eval/`` itself holds only the package marker and ``python -m run_eval``), so
the wheel puts exactly one top-level import package, ``run_eval``, into site-packages.
Sub-packages are found by setuptools' discovery (``find_packages``), never listed by
hand, so a new one cannot be left out of the wheel; tests/test_layout.py checks the
built wheel. Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

PARTS = ("runner", "tasks", "signing", "jobs", "safeyaml")  # the design card's folders

found = find_packages(include=[*PARTS, *(f"{p}.*" for p in PARTS)])
setup(
    packages=["run_eval", *(f"run_eval.{p}" for p in found)],
    package_dir={"run_eval": "run_eval", **{f"run_eval.{p}": p for p in PARTS}},
)
