"""``run-eval audit``: systematic failure in the outputs of one or many models on a benchmark
(read.py: the logs; checks.py: the rules and the distribution test; html.py: the page)."""
