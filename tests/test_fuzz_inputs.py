"""Strangers' files: whatever an eval.yaml, a result file or a token holds, the readers
answer with a value or the project's own error (one line), never another exception.

Property tests (hypothesis, modest example counts) over the three entry points:
- eval.yaml: tasks.spec.load_spec -> EvalSpec or TasksError;
- result files: signing.results.parse_raw/read_raw -> entries or ResultFileError,
  signing.verify.load_entries -> entries or ValueError, and verify_paths (which turns
  every problem into a verdict or a report line) -> no exception at all, and a report
  the CLI can print;
- tokens: signing.token.check_signature -> Checked or TokenInvalid, with a one-line reason.
Then the explicit hostile inputs (billion laughs, 6 MB, duplicate keys, non-UTF-8, deep
nesting, !!python tags), and each through the real CLI once.
"""

from __future__ import annotations

import base64
import copy
import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from run_eval.signing.errors import ResultFileError
from run_eval.signing.keys import load_key
from run_eval.signing.results import parse_raw, read_raw
from run_eval.signing.token import TokenInvalid, build_claims, check_signature, sign
from run_eval.signing.trust import load_trust
from run_eval.signing.verify import decide, load_entries, verify_paths
from run_eval.tasks.errors import TasksError
from run_eval.tasks.hub import data_patterns
from run_eval.tasks.spec import load_spec

from conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "tokens"
EVAL_YAMLS = [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "eval-yaml").rglob("*.yaml"))]
RESULT_FILES = [p.read_text(encoding="utf-8") for p in sorted((CORPUS / "cases").glob("*.yaml"))
                if p.stat().st_size < 20_000]
GOOD = yaml.safe_load((CORPUS / "cases" / "good_executor.yaml").read_text())
TOKEN = GOOD[0]["verifyToken"]
TRUST = load_trust(CORPUS / "trust.yaml")
KEY = load_key(CORPUS / "keys" / "foreign.pem")  # a stranger's key: signs anything we like

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def one_line(text: str) -> None:
    assert text and "\n" not in text and "\r" not in text, repr(text)


# --- generators ------------------------------------------------------------------------

YAML_PIECES = list("[]{}-:?,&*!|>'\"#%@`~ \n\n\t\\abxyz019.+=<") + [
    "!!python/object/apply:os.system ['x'] ", "!!timestamp ", "!!int ", "!!binary ", "!!set ",
    "!!omap ", "!!float ", "!custom ", "&a ", "*a", "<<: ", "---\n", "...\n", "2026-13-45",
    "0x", "1:2:3", "\x00", "\ufeff", "é", "\x85", "tasks:", "- id: ", "name: ", "  ", "solvers:",
    "scorers:", "field_spec:", "epochs: ", "args: ", "value: ", "dataset: ", "verifyToken: ",
]


@st.composite
def mutated(draw, texts: list[str]) -> str:
    """A real file with a few random edits: delete, insert, duplicate or swap lines."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "dup_line", "swap", "truncate"]))
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)):]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(YAML_PIECES)) + text[i:]
        elif op == "truncate":
            text = text[:i]
        else:
            lines = text.splitlines(keepends=True)
            a, b = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            if op == "dup_line":
                lines.insert(b, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "".join(lines)
    return text


scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
           | st.text(max_size=12) | st.sampled_from(["", "default", "literal:A", "mean", "pass_at_2",
                                                      "generate", "choice", "match", "test"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=10) | st.integers(0, 3), inner, max_size=4),
                      max_leaves=12)
# YAML-only values a stranger can write: dates, sets, bytes, ordered pairs
yaml_values = values | st.sampled_from(["!!set {a, b}", "2026-01-01", "!!binary aGk=", "!!omap [a: 1]",
                                        "2026-01-01T00:00:00Z", ".nan", "-.inf", "0x1f", "1:30"])


@st.composite
def data_mutated(draw, documents: list) -> object:
    """A real document with one subtree replaced by a random value (the structure a
    schema check sees, rather than a syntax error)."""
    doc = copy.deepcopy(draw(st.sampled_from(documents)))
    node = doc
    for _ in range(draw(st.integers(0, 5))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if isinstance(node[key], (dict, list)) and draw(st.booleans()):
                node = node[key]
                continue
            node[key] = draw(values)
            return doc
        if isinstance(node, list) and node:
            i = draw(st.integers(0, len(node) - 1))
            if isinstance(node[i], (dict, list)) and draw(st.booleans()):
                node = node[i]
                continue
            node[i] = draw(values)
            return doc
        break
    if isinstance(node, dict):
        node[draw(st.text(max_size=10))] = draw(values)
    elif isinstance(node, list):
        node.append(draw(values))
    return doc


def yaml_text(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# --- (a) eval.yaml ---------------------------------------------------------------------

def load_spec_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "eval.yaml"
        path.write_bytes(data)
        try:
            load_spec(path)
        except TasksError as ex:
            assert ex.lines
            for line in ex.lines:
                one_line(line)


@FUZZ
@given(st.binary(max_size=300))
def test_eval_yaml_any_bytes(data):
    load_spec_bytes(data)


@FUZZ
@given(mutated(EVAL_YAMLS))
def test_eval_yaml_mutated_text(text):
    load_spec_bytes(text.encode("utf-8", "surrogatepass"))


EVAL_DOCS = [yaml.safe_load(t) for t in EVAL_YAMLS]


@FUZZ
@given(data_mutated(EVAL_DOCS))
def test_eval_yaml_mutated_structure(doc):
    load_spec_bytes(yaml_text(doc).encode())


@FUZZ
@given(st.binary(max_size=200) | mutated(["---\nconfigs:\n- config_name: default\n  data_files:\n"
                                           "  - split: test\n    path: data/*.parquet\n  data_dir: d\n---\n# card\n"]))
def test_dataset_card_never_raises(text):
    with tempfile.TemporaryDirectory() as d:
        Path(d, "README.md").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        patterns = data_patterns(Path(d), {"default"})
        assert patterns is None or all(isinstance(p, str) for p in patterns)


# --- (b) result files ------------------------------------------------------------------

def read_result_bytes(data: bytes) -> None:
    """Every reader of a result file, on the same bytes; verify_paths raises nothing."""
    for text in (data, data.decode("utf-8", "replace")):
        try:
            parse_raw(text, "f.yaml")
        except ResultFileError as ex:
            one_line(str(ex))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ".eval_results" / "bench.yaml"
        path.parent.mkdir()
        path.write_bytes(data)
        try:
            read_raw(path)
        except ResultFileError as ex:
            one_line(str(ex))
        try:
            load_entries(path)
        except ValueError as ex:
            one_line(str(ex))
        report = verify_paths([Path(d)], trust=TRUST, model_id="org/model")
        printable(report)


def printable(report) -> None:
    """What the CLI does with a report: JSON and one tab-separated line per entry."""
    json.dumps({"entries": [v.as_dict() for v in report.entries], "problems": report.problems})
    for v in report.entries:
        line = "\t".join((v.file, str(v.verdict.task_id), str(v.verdict.value), v.status,
                          v.reason or v.verdict.signer or ""))
        one_line(line)
    for p in report.problems:
        one_line(p)


@FUZZ
@given(st.binary(max_size=300))
def test_result_file_any_bytes(data):
    read_result_bytes(data)


@FUZZ
@given(mutated(RESULT_FILES))
def test_result_file_mutated_text(text):
    read_result_bytes(text.encode("utf-8", "surrogatepass"))


RESULT_DOCS = [yaml.safe_load(t) for t in RESULT_FILES]


@FUZZ
@given(data_mutated(RESULT_DOCS), st.sampled_from(["", "tag"]), yaml_values)
def test_result_file_mutated_structure(doc, how, extra):
    text = yaml_text(doc)
    if how == "tag" and isinstance(extra, str) and isinstance(doc, list) and doc and isinstance(doc[0], dict):
        text = text.replace("  value: ", f"  value: {extra} #", 1)  # a YAML-only value in place
    read_result_bytes(text.encode())


@FUZZ
@given(st.dictionaries(st.sampled_from(["model", "dataset", "metric", "entry", "hash", "iat", "version",
                                        "evidence", "executor", "spec", "run"]), yaml_values, max_size=6))
def test_validly_signed_claims_of_any_shape(changes):
    """A stranger signs whatever claims they like with their own key: the verdict is
    a status and a reason, never an exception."""
    entry = copy.deepcopy({k: v for k, v in GOOD[0].items() if k != "verifyToken"})
    claims = {**build_claims(entry, model={"id": "org/model"}, dataset=entry["dataset"],
                             metric={"name": "accuracy", "value": entry["value"]}), **changes}
    try:
        token = sign(claims, KEY)
    except Exception:  # rfc8785 refuses what JSON cannot carry (NaN, huge ints)
        assume(False)
    for trust in (TRUST, TRUST.merged(TRUST)):
        v = decide({**entry, "verifyToken": token}, trust, model_id="org/model")
        assert v.status in ("self-signed", "invalid")
        if v.reason:
            one_line(v.reason)


# --- (c) tokens ------------------------------------------------------------------------

def check(token) -> None:
    try:
        check_signature(token)
    except TokenInvalid as ex:
        one_line(str(ex))


@FUZZ
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_\-=+/. \n]{0,200}", fullmatch=True))
def test_token_any_string(token):
    check(token)


@FUZZ
@given(st.integers(0, 2), st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10**6),
                                             st.sampled_from(list("Aa0-_=+/. \n\x00é"))), min_size=1, max_size=4))
def test_token_mutated_parts(which, edits):
    parts = TOKEN.split(".")
    part = parts[which]
    for op, pos, ch in edits:
        i = pos % (len(part) + 1)
        if op == "insert":
            part = part[:i] + ch + part[i:]
        elif op == "delete":
            part = part[:i] + part[i + 1:]
        elif i < len(part):
            part = part[:i] + ch + part[i + 1:]
    parts[which] = part
    token = ".".join(parts)
    assume(token != TOKEN)
    with pytest.raises(TokenInvalid) as info:
        check_signature(token)
    one_line(str(info.value))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10)


@FUZZ
@given(st.dictionaries(st.sampled_from(["alg", "jwk", "kid", "crit", "b64", "typ", "x5u", "jku", "zip"])
                       | st.text(max_size=5), json_values, max_size=5), st.booleans())
def test_token_header_of_any_json(extra, keep_alg):
    header, payload, signature = TOKEN.split(".")
    hdr = json.loads(base64.urlsafe_b64decode(header + "=="))
    new = {**hdr, **extra}
    if keep_alg:
        new["alg"] = "EdDSA"
    assume(new != hdr)
    with pytest.raises(TokenInvalid) as info:  # the signature covers the header: always invalid
        check_signature(f"{b64(json.dumps(new).encode())}.{payload}.{signature}")
    one_line(str(info.value))


def test_the_good_token_is_still_good():
    assert check_signature(TOKEN).payload["model"]["id"] == "org/model"


# --- explicit hostile inputs -------------------------------------------------------------

def billion_laughs(top: str) -> str:
    lines = [f"{top}: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"k{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion_laughs": (billion_laughs("tasks").encode(), "more than 100,000 values once aliases are expanded"),
    "six_megabytes": (b"tasks: '" + b"x" * (6 * 1024 * 1024) + b"'\n", "too large: 6,291,466 bytes"),
    "duplicate_key": (b"tasks:\n- id: a\n  split: test\n  split: train\n",
                      "duplicate key at tasks[0].split (line 4, column 3; the first is at line 3)"),
    "not_utf8": (b"tasks:\n- id: \xe9t\xe9\n", "not valid UTF-8 (byte 13)"),
    "deep": (b"tasks: " + b"[" * 5000 + b"]" * 5000, "nested more than 100 levels deep"),
    "python_tag": (b"tasks: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
                   "tag '!!python/object/apply:os.system' is not allowed"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_eval_yaml(tmp_path, name):
    data, needle = HOSTILE[name]
    path = tmp_path / "eval.yaml"
    path.write_bytes(data)
    with pytest.raises(TasksError) as info:
        load_spec(path)
    (line,) = info.value.lines
    assert line.startswith(f"{path}: ") and needle in line and line.endswith("; fix the file or ask its author")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_result_file(tmp_path, name):
    data, needle = HOSTILE[name]
    path = tmp_path / "r.yaml"
    path.write_bytes(data.replace(b"tasks", b"- dataset", 1) if name == "duplicate_key" else data)
    with pytest.raises(ResultFileError) as info:
        read_raw(path)
    one_line(str(info.value))
    assert str(path) in str(info.value) and needle.split(" at ")[0] in str(info.value)
    with pytest.raises(ValueError) as info:
        load_entries(path)
    one_line(str(info.value))
    assert str(info.value).startswith(f"{path}: ")
    report = verify_paths([path], trust=TRUST)
    assert report.problems and not report.ok


def test_hostile_trust_store(tmp_path):
    path = tmp_path / "trust.yaml"
    for data, needle in HOSTILE.values():
        path.write_bytes(data.replace(b"tasks", b"keys", 1))
        with pytest.raises(Exception) as info:
            load_trust(path)
        assert type(info.value).__name__ == "TrustStoreError"
        one_line(str(info.value))
        assert str(info.value).startswith(f"{path}: cannot read the trust store: ")


# --- through the CLI -------------------------------------------------------------------

def test_cli_bad_eval_yaml_fails_before_any_model(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_bytes(HOSTILE["billion_laughs"][0])
    proc = run_cli("mockllm/model", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"run-eval: error: {path}: more than 100,000 values"), line
    assert not (tmp_path / ".eval_results").exists()


def test_cli_verify_bad_files(tmp_path):
    laughs, dup = tmp_path / "laughs.yaml", tmp_path / "dup.yaml"
    laughs.write_bytes(HOSTILE["billion_laughs"][0].replace(b"tasks", b"x"))
    dup.write_text("- dataset: {id: a, task_id: t}\n  value: 1\n  value: 2\n")
    good = CORPUS / "cases" / "good_executor.yaml"
    proc = run_cli("verify", "--trust", str(CORPUS / "trust.yaml"), str(good), str(laughs), str(dup), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr == "", proc.stderr
    errors = [line for line in proc.stdout.splitlines() if line.startswith("run-eval: error:")]
    assert errors == [
        f"run-eval: error: {laughs}: not a readable result file: more than 100,000 values once aliases are "
        "expanded at k4 (line 5, column 5); fix the file or ask its author",
        f"run-eval: error: {dup}: not a readable result file: duplicate key at [0].value (line 3, column 3; "
        "the first is at line 2); fix the file or ask its author",
    ]
    assert proc.stdout.count("\tverified\t") == 2  # the good file is still verified


def test_cli_bad_trust_store_is_a_usage_error(tmp_path):
    bad = tmp_path / "trust.yaml"
    bad.write_bytes(b"keys:\n- kid: a\n  kid: b\n")
    proc = run_cli("verify", "--trust", str(bad), str(CORPUS / "cases" / "unsigned.yaml"), cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"run-eval: error: {bad}: cannot read the trust store: duplicate key at keys[0].kid"), line
