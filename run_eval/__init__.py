"""run-eval: eval.yaml benchmarks run with Inspect AI, scores signed and checked.

This package is only the installed name: the code lives in the repository's top-level
folders, installed beneath it (see setup.py and ARCHITECTURE.md):

- ``run_eval.runner``: the CLI and the orchestration of runs;
- ``run_eval.tasks``: benchmark sources, eval.yaml -> Inspect tasks;
- ``run_eval.signing``: keys, tokens, trust, result files, verification;
- ``run_eval.jobs``: Hugging Face Jobs;
- ``run_eval.safeyaml``: the YAML reader for strangers' files.
"""
