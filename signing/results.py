"""The Community Evals result file: ``.eval_results/<benchmark>.yaml`` in a model repo.

Entries are built and serialised with huggingface_hub's ``EvalResultEntry`` and
``eval_result_entries_to_yaml`` (no schema of our own), merged with the entries already
in the file (kept unless the run replaces their dataset/task), and the file is
replaced atomically: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from signing.errors import ResultFileError

if TYPE_CHECKING:
    from huggingface_hub import EvalResultEntry

# huggingface_hub is imported inside the functions that need it: `run-eval verify` and the
# trust store use this module and must start fast.

RESULTS_DIR = ".eval_results"

try:  # libyaml's parser: the same safe constructors as yaml.SafeLoader, about 15x faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


def safe_load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``: safe loading only (plain data, no Python objects), with
    libyaml when PyYAML has it."""
    return yaml.load(text, Loader=_SafeLoader)


def result_path(output_dir: Path, benchmark_name: str) -> Path:
    return output_dir / RESULTS_DIR / f"{benchmark_name}.yaml"


def parse_raw(text: str, where: str, what: str = "result file") -> list[dict[str, Any]]:
    """Entries of a result file's text, as written (dicts), checked to have the Hub's shape."""
    try:
        data = safe_load_yaml(text)
    except yaml.YAMLError as ex:
        raise ResultFileError(f"{where}: {what} cannot be read ({_first_line(ex)}); fix or move it away") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ResultFileError(f"{where}: {what} is not a list of entries; fix or move it away")
    from huggingface_hub import parse_eval_result_entries

    try:
        parse_eval_result_entries(data)
    except (KeyError, TypeError, ValueError, AttributeError) as ex:
        raise ResultFileError(f"{where}: {what} has an entry without {ex}; fix or move it away") from None
    return data


def read_raw(path: Path) -> list[dict[str, Any]]:
    """Entries of an existing result file, exactly as written ([] when there is none)."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as ex:
        raise ResultFileError(
            f"{path}: existing result file cannot be read ({_first_line(ex)}); fix or move it away"
        ) from None
    return parse_raw(text, str(path), "existing result file")


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


def write_entries(path: Path, new: list[EvalResultEntry]) -> list[dict[str, Any]]:
    """Merge new entries into the file at path and replace it atomically; returns what was written."""
    from huggingface_hub import eval_result_entries_to_yaml

    entries = merge_raw(read_raw(path), eval_result_entries_to_yaml(new))
    atomic_write_text(path, dump_raw(entries))
    return entries


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
