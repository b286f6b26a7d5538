"""The run-eval CLI and the orchestration of runs."""
