"""Hugging Face Jobs: shipping the code, submitting a ``run-eval`` command line with its
secrets, following and managing the job (``hfjobs.py``), and what a process running
inside a job says about where it runs (``executor.py``). Knows nothing of runs."""
