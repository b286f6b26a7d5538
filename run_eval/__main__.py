"""``python -m run_eval``: the ``run-eval`` command."""

from run_eval.runner.cli.main import main

main()
