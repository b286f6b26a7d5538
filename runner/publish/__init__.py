"""Results on the Hub: ``push`` (one commit or PR to a model repo) and reading what a
model repo has published (``results``, and ``reproduce`` of a Hub TARGET)."""
