"""Running a `run-eval` command line on Hugging Face Jobs (not implemented yet: see the README)."""
