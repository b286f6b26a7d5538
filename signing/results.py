"""The Community Evals result file: ``.eval_results/<benchmark>.yaml`` in a model repo.

Entries are built and serialised with huggingface_hub's ``EvalResultEntry`` and
``eval_result_entries_to_yaml`` (no schema of our own), merged with the entries already
in the file (kept unless the run replaces their dataset/task), and the file is
replaced atomically: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import yaml

from run_eval import safeyaml
from run_eval.signing.errors import ResultFileError

if TYPE_CHECKING:
    from huggingface_hub import EvalResultEntry

# huggingface_hub is imported inside the functions that need it: `run-eval verify` and the
# trust store use this module and must start fast.

RESULTS_DIR = ".eval_results"

def safe_load_yaml(text: str | bytes) -> Any:
    """A stranger's YAML as plain data, with :mod:`safeyaml`'s limits (size, depth, alias
    expansion, duplicate keys, safe tags only; libyaml when PyYAML has it). Raises
    safeyaml.YamlInputError (a ValueError) with a one-line reason."""
    return safeyaml.loads(text)


def result_path(output_dir: Path, benchmark_name: str) -> Path:
    return output_dir / RESULTS_DIR / f"{benchmark_name}.yaml"


def parse_raw(text: str | bytes, where: str, what: str = "result file") -> list[dict[str, Any]]:
    """Entries of a result file's text (or bytes), as written (dicts), checked to have the
    Hub's shape; ResultFileError with one line otherwise."""
    try:
        data = safe_load_yaml(text)
    except safeyaml.YamlInputError as ex:
        raise ResultFileError(f"{where}: {what} cannot be read ({ex}); fix or move it away") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ResultFileError(f"{where}: {what} is not a list of entries; fix or move it away")
    from huggingface_hub import parse_eval_result_entries

    try:
        parse_eval_result_entries(data)
    except KeyError as ex:
        raise ResultFileError(f"{where}: {what} has an entry without {ex}; fix or move it away") from None
    except Exception as ex:  # the Hub's parser on a stranger's data: any failure is "not its shape"
        raise ResultFileError(
            f"{where}: {what} has an entry the Hub cannot read ({_first_line(ex)}); fix or move it away"
        ) from None
    return data


def read_raw(path: Path) -> list[dict[str, Any]]:
    """Entries of an existing result file, exactly as written ([] when there is none)."""
    if not path.exists():
        return []
    try:
        data = safeyaml.read_bytes(path)
    except (OSError, safeyaml.YamlInputError) as ex:
        raise ResultFileError(
            f"{path}: existing result file cannot be read ({_first_line(ex)}); fix or move it away"
        ) from None
    return parse_raw(data, str(path), "existing result file")


def read_entries(path: Path) -> list[EvalResultEntry]:
    from huggingface_hub import parse_eval_result_entries

    return parse_eval_result_entries(read_raw(path))


def entry_key(entry: dict[str, Any]) -> tuple[Any, Any]:
    ds = entry.get("dataset") or {}
    return ds.get("id"), ds.get("task_id")


def merge_raw(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Old entries in order and untouched (their tokens stay valid), each replaced by the new
    entry for the same dataset and task; new entries for other tasks at the end."""
    fresh = {entry_key(e): e for e in new}
    out = [fresh.pop(entry_key(e), e) for e in old]
    return out + [e for e in new if entry_key(e) in fresh]


def dump_raw(entries: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100)


def dump_entries(entries: list[EvalResultEntry]) -> str:
    from huggingface_hub import eval_result_entries_to_yaml

    return dump_raw(eval_result_entries_to_yaml(entries))


LOCK_TIMEOUT_S = 60  # a writer holds the lock only while it reads, merges and replaces one file


def lock_path(path: Path) -> Path:
    """The lock file of a result file: ``.eval_results/.<name>.yaml.lock``. It is left in place
    (deleting a lock file others may be waiting on would let two writers in); it is not a
    result file, since readers only take ``*.yaml``."""
    return path.parent / f".{path.name}.lock"


@contextmanager
def result_file_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the result file at path (flock on its lock file, released
    by the kernel if the process dies), so concurrent writers merge one after another."""
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path(path), timeout=LOCK_TIMEOUT_S)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise ResultFileError(f"{path}: another process held its lock ({lock_path(path).name}) for "
                              f"{LOCK_TIMEOUT_S} s; nothing was written, try again") from None
    except OSError as ex:
        raise ResultFileError(f"{path}: cannot lock ({ex.strerror or ex})") from None
    try:
        yield
    finally:
        lock.release()


def merge_into(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Under the file's lock: read it, merge raw entries in, replace it atomically. Concurrent
    runs writing into one .eval_results/ folder lose no entry; returns what was written."""
    with result_file_lock(path):
        entries = merge_raw(read_raw(path), new)
        atomic_write_text(path, dump_raw(entries))
    return entries


def write_entries(path: Path, new: list[EvalResultEntry]) -> list[dict[str, Any]]:
    """Merge new entries into the file at path and replace it atomically; returns what was written."""
    from huggingface_hub import eval_result_entries_to_yaml

    return merge_into(path, eval_result_entries_to_yaml(new))


def atomic_write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as ex:
        raise ResultFileError(f"{path}: cannot write ({ex.strerror or ex})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as ex:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(ex, OSError):
            raise ResultFileError(f"{path}: cannot write ({ex.strerror or ex})") from None
        raise


def _first_line(ex: Any) -> str:
    text = str(ex).strip()
    return text.splitlines()[0] if text else type(ex).__name__
