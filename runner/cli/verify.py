"""`run-eval verify PATH...`: check every entry's verifyToken offline."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import click

from run_eval.runner.cli.output import print_rows, signer_or_reason, status_counts
from run_eval.signing.errors import SigningError
from run_eval.signing.trust import load_trust_stores
from run_eval.signing.verify import Report, verify_paths


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_id", metavar="ORG/NAME",
              help="The model repo these results claim to belong to; a token for another model is invalid.")
@click.option("--log", "logs", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An Inspect log: check the evidence digests and recompute the value (repeatable).")
@click.option("--trust", "trust_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A trust store file to use besides RUN_EVAL_HOME/trust.yaml (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--online", is_flag=True, help="For hf-jobs entries, also check the job on the Hub "
              "(exists in the claimed namespace, COMPLETED, same commits and spec in its command).")
def verify_command(paths: tuple[Path, ...], model_id: str | None, logs: tuple[Path, ...],
                   trust_files: tuple[Path, ...], as_json: bool, online: bool) -> None:
    """Verify the verifyTokens of result files (or folders holding .eval_results/*.yaml).

    Exit status: 0 no entry invalid, 1 some entry invalid or unreadable, 2 usage error.
    """
    # Everything imported so far lives until exit: keep the collector from re-scanning it
    # while thousands of result files are parsed (about a tenth of the time for 1,000 files).
    gc.freeze()
    try:
        store = load_trust_stores(trust_files)
    except SigningError as ex:
        raise click.UsageError(str(ex)) from None
    check_online = None
    if online:
        from run_eval.runner.remote.online import check_job_online as check_online
    report = verify_paths(list(paths), trust=store, model_id=model_id, logs=list(logs), online=check_online)
    if as_json:
        click.echo(json.dumps({"entries": [v.as_dict() for v in report.verdicts],
                               "problems": report.problems}, indent=2))
    else:
        print_report(report)
    sys.exit(0 if report.ok else 1)


def print_report(report: Report) -> None:
    """A table at a terminal, else one tab-separated line per entry (file, task, value, status,
    signer or reason); then the problems and the counts."""
    rows = [(v.file, str(v.task_id), str(v.value), v.status, signer_or_reason(v)) for v in report.verdicts]
    print_rows(("file", "task", "value", "status", "signer / reason"), rows, status_column=3,
               errors=report.problems, footer=[status_counts([v.status for v in report.verdicts])])
