"""How to evaluate, as the options of ``run-eval run``: one type, and the one place that
turns it back into a command line.

A run is forwarded as a command line in three places: to an HF Job (``--on hf-jobs``),
to each cell of a sweep (a ``run-eval run`` subprocess), and to a re-run on HF Jobs by
``reproduce``. All of them build a :class:`RunOptions` and call :meth:`RunOptions.argv`,
so an option added here reaches every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SEED = 42


@dataclass(frozen=True)
class RunOptions:
    """The options of ``run-eval run`` that say how to evaluate (not where to write)."""

    task_ids: tuple[str, ...] = ()
    limit: int | None = None
    epochs: int | None = None
    seed: int = DEFAULT_SEED
    max_tokens: int | None = None
    temperature: float | None = None
    max_connections: int | None = None
    model_args: tuple[str, ...] = ()  # ``-M KEY=VALUE`` as given (values are YAML scalars)
    backend: str = "auto"
    allow_errors: float | None = None  # a count >= 1, or a fraction < 1
    sample_ids: tuple[str, ...] = ()  # evaluate only these samples (reproduce --samples)
    no_lint: bool = False  # run even if lint finds errors in the method (recorded in the token)
    lint_ignore: tuple[str, ...] = ()  # lint rules whose errors do not stop the run (recorded in the token)
    judges: tuple[str, ...] = ()  # --judge: the models that grade model-graded scorers (runner/models/judge.py)
    shards: int = 1  # --shards N: the samples split over N Inspect evals, merged (runner/run/shards.py); not recorded

    def argv(self) -> list[str]:
        """These options as ``run-eval run`` arguments.

        >>> RunOptions(task_ids=("a",), limit=5, model_args=("device=cpu",)).argv()
        ['--task', 'a', '--seed', '42', '--backend', 'auto', '--limit', '5', '-M', 'device=cpu']
        """
        out = [*(a for t in self.task_ids for a in ("--task", t)), "--seed", str(self.seed),
               "--backend", self.backend]
        for flag, value in (("--limit", self.limit), ("--epochs", self.epochs), ("--max-tokens", self.max_tokens),
                            ("--temperature", self.temperature), ("--max-connections", self.max_connections),
                            ("--allow-errors", None if self.allow_errors is None else f"{self.allow_errors:g}")):
            if value is not None:
                out += [flag, str(value)]
        out += [a for m in self.model_args for a in ("-M", m)]
        out += [a for i in self.sample_ids for a in ("--sample-id", str(i))]
        out += ["--no-lint"] if self.no_lint else []
        out += [a for r in self.lint_ignore for a in ("--lint-ignore", r)]
        out += [a for j in self.judges for a in ("--judge", j)]
        out += ["--shards", str(self.shards)] if self.shards > 1 else []
        return out
