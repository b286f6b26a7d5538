"""Benchmarks: where their eval.yaml and data come from, and eval.yaml -> Inspect AI tasks."""
