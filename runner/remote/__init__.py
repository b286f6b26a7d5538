"""Runs elsewhere: a run submitted to Hugging Face Jobs and its result fetched back,
sweeps (the models x benchmarks matrix), and the online check of a job-made token."""
