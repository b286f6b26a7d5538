"""Evidence and results: the `.eval_results/*.yaml` files a run emits (and, later, their tokens)."""
