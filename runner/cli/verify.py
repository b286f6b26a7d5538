"""`run-eval verify PATH...`: check every entry's verifyToken offline."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import click

from run_eval.runner.cli.options import trust_option
from run_eval.runner.cli.output import print_rows, signer_or_reason, status_counts
from run_eval.signing.trust import TrustStore
from run_eval.signing.verify import PARALLEL_MIN_FILES, Report, verify_paths


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_id", metavar="ORG/NAME",
              help="The model repo these results claim to belong to; a token for another model is invalid.")
@click.option("--log", "logs", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An Inspect log: check the evidence digests and recompute the value (repeatable).")
@trust_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--online", is_flag=True, help="For hf-jobs entries, also check the job on the Hub "
              "(exists in the claimed namespace, COMPLETED, same commits and spec in its command).")
@click.option("--jobs", "jobs", type=click.IntRange(min=1), metavar="N",
              help=f"Worker processes deciding the files (default: one per core from {PARALLEL_MIN_FILES} "
                   "files on, else 1; --log and --online run in one process).")
def verify_command(paths: tuple[Path, ...], model_id: str | None, logs: tuple[Path, ...],
                   trust: TrustStore, as_json: bool, online: bool, jobs: int | None) -> None:
    """Verify the verifyTokens of result files (or folders holding .eval_results/*.yaml).

    Exit status: 0 no entry invalid, 1 some entry invalid or unreadable, 2 usage error.
    """
    # Everything imported so far lives until exit: keep the collector from re-scanning it
    # while thousands of result files are parsed (about a tenth of the time for 1,000 files);
    # frozen, it is also shared with forked workers page for page instead of copied.
    gc.freeze()
    check_online = None
    if online:
        from run_eval.runner.remote.online import check_job_online as check_online
    report = verify_paths(list(paths), trust=trust, model_id=model_id, logs=list(logs), online=check_online,
                          jobs=jobs)
    if as_json:
        click.echo(json.dumps({"entries": [e.as_dict() for e in report.entries],
                               "problems": report.problems}, indent=2))
    else:
        print_report(report)
    sys.exit(0 if report.ok else 1)


def print_report(report: Report) -> None:
    """A table at a terminal, else one tab-separated line per entry (file, task, value, status,
    signer or reason); then the problems and the counts."""
    rows = [(e.file, str(e.verdict.task_id), str(e.verdict.value), e.status, signer_or_reason(e))
            for e in report.entries]
    print_rows(("file", "task", "value", "status", "signer / reason"), rows, status_column=3,
               errors=report.problems, footer=[status_counts([e.status for e in report.entries])])
