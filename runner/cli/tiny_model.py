"""`run-eval tiny-model`: train the offline demo model (needs the `local` extra)."""

from __future__ import annotations

from pathlib import Path

import click

from run_eval.runner.errors import EXIT_USAGE, fail


@click.command("tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".tiny-model"))
@click.option("--steps", type=click.IntRange(min=1), help="Training steps (default: 300; 800 with --judge).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--benchmark", "benchmark_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Example benchmark whose test items are kept out of training.")
@click.option("--force", is_flag=True, help="Train again even if OUT_DIR holds a model of the same recipe.")
@click.option("--judge", is_flag=True, help="Train a judge instead: it grades model_graded_fact prompts of the "
              "judge fixture's template with GRADE: C or GRADE: I (see tests/fixtures/judge/hle_like).")
def tiny_model_command(out_dir: Path, steps: int | None, seed: int, benchmark_dir: Path | None, force: bool,
                       judge: bool) -> None:
    """Train the tiny offline demo model (random init, local tokenizer, CPU) into OUT_DIR.

    It answers the example benchmark (examples/arithmetic) in the expected formats;
    evaluate it with: run-eval hf/./OUT_DIR examples/arithmetic. A model of the same recipe
    (code, data, steps, seed, library versions) already in OUT_DIR is kept (see --force).
    """
    try:
        from run_eval.runner.models.tiny import build
    except ImportError as ex:
        fail(f"the tiny model needs the 'local' extra ({ex.name} is missing): pip install -e '.[local]'",
             EXIT_USAGE)
    path = build(out_dir, benchmark_dir=benchmark_dir, steps=steps, seed=seed, force=force,
                 kind="judge" if judge else "answers",
                 progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"tiny model: {path}")
