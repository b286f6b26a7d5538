"""`run-eval diff A B`: why two scores differ, every methodology field of their tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from run_eval.runner.cli.options import trust_option
from run_eval.runner.cli.output import print_rows
from run_eval.runner.errors import fail

EXIT_BAD = 2


@click.command("diff")
@click.argument("a", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--task", metavar="ID", help="Compare this task's entries (default: the first entry of each file).")
@click.option("--json", "as_json", is_flag=True)
@trust_option
def diff_command(a: Path, b: Path, task: str | None, as_json: bool, trust: Any) -> None:
    """Explain why two scores differ: every methodology field of their tokens, side by side."""
    from run_eval.runner.compare.diff import compare, sample_agreement
    from run_eval.runner.compare.reproduce import ReproduceError, check_token, load_targets, original_log
    from run_eval.signing.results import ResultFileError

    try:
        ta, tb = (load_targets(str(p), task=task, benchmark=None)[0] for p in (a, b))
        for t in (ta, tb):
            check_token(t, trust, require=())
    except ReproduceError as ex:
        fail(ex.lines, EXIT_BAD)
    except ResultFileError as ex:
        fail(str(ex), EXIT_BAD)
    assert ta.claims is not None and tb.claims is not None  # (check_token)
    rows, blocking, other = compare(ta.claims, tb.claims)
    agreement = None
    try:  # per-sample agreement only from the very logs the tokens name
        la, lb = original_log(ta, None), original_log(tb, None)
    except ReproduceError:
        la = lb = None
    if la is not None and lb is not None:
        agreement = sample_agreement(la, lb)
    if as_json:
        click.echo(json.dumps({
            "comparable": not blocking, "blocking": blocking, "other": other,
            "fields": [{"field": r.label, "a": r.a, "b": r.b, "differs": r.differs, "blocks": r.breaks and r.differs}
                       for r in rows],
            "sample_agreement": None if agreement is None else
            {"both": agreement[0], "same": agreement[1], "differ": agreement[2]},
        }, indent=2, default=str))
        return
    marks = {(True, True): "≠ breaks comparison", (True, False): "≠"}
    print_rows(("field", "A", "B", ""), [(r.label, json.dumps(r.a, default=str), json.dumps(r.b, default=str),
                                         marks.get((r.differs, r.breaks), "")) for r in rows],
               title=f"{a.name} vs {b.name}")
    from rich.console import Console

    console = Console()
    if blocking:
        console.print(f"not comparable: they differ in {', '.join(blocking)}", style="red", highlight=False)
    else:
        console.print("comparable: same benchmark commit, method, generation settings and sample set"
                      + (f" (they also differ in {', '.join(other)})" if other else ""), highlight=False)
    if agreement is not None:
        both, same, differ = agreement
        console.print(f"per-sample agreement: {same}/{both} samples scored the same"
                      + (f"; differ: {', '.join(map(str, differ[:20]))}" if differ else ""), highlight=False)
