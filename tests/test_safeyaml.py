"""safeyaml: a stranger's YAML is plain data within limits, or one YamlInputError line."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from run_eval import safeyaml
from run_eval.safeyaml import YamlInputError

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused(data, **limits) -> str:
    with pytest.raises(YamlInputError) as info:
        safeyaml.loads(data, **limits)
    msg = str(info.value)
    assert "\n" not in msg and msg
    return msg


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", sorted((FIXTURES / "eval-yaml").rglob("*.yaml")) + sorted(
    (FIXTURES / "tokens").rglob("*.yaml")), ids=lambda p: p.name)
def test_same_data_as_safe_load_on_real_files(path):
    text = path.read_text(encoding="utf-8")
    assert safeyaml.loads(text) == yaml.safe_load(text)
    assert safeyaml.loads(text.encode()) == yaml.safe_load(text)


def test_plain_yaml_features_still_work():
    text = ("base: &base {x: 1, y: 2}\nderived: {<<: *base, y: 3}\nlist: [*base, *base]\n"
            "when: 2026-01-02\nbin: !!binary aGk=\nset: !!set {a, b}\nomap: !!omap [p: 1, q: 2]\n")
    data = safeyaml.loads(text)
    assert data["derived"] == {"x": 1, "y": 3}
    assert data["list"] == [{"x": 1, "y": 2}] * 2
    assert data["when"] == dt.date(2026, 1, 2) and data["bin"] == b"hi" and data["set"] == {"a", "b"}
    assert data["omap"] == [("p", 1), ("q", 2)]
    assert safeyaml.loads("") is None and safeyaml.loads("# only a comment\n") is None
    assert safeyaml.loads("\ufeffa: 1".encode()) == {"a": 1}  # a UTF-8 BOM is fine


def test_billion_laughs_fails_fast():
    t0 = time.perf_counter()
    msg = refused(billion_laughs())
    assert "more than 100,000 values once aliases are expanded" in msg and "line " in msg
    assert time.perf_counter() - t0 < 2
    doubling = "a0: &a0 [k]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 60))
    assert "once aliases are expanded" in refused(doubling)
    # with merge keys: each level merges the previous one twice (PyYAML copies the pairs)
    merges = "a0: &a0 {k: v}\n" + "".join(
        f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n" for i in range(1, 60))
    assert "once aliases are expanded" in refused(merges)
    assert safeyaml.loads(billion_laughs(3))["d"][0][0][0][0] == "lol"  # 1,111 nodes: fine


def test_recursive_alias_refused():
    assert "recursive structure" in refused("&a [*a]")
    assert "recursive structure" in refused("a: &x {b: *x}")


def test_size_limit_before_parsing(tmp_path):
    big = b"a: '" + b"x" * (6 * 1024 * 1024) + b"'\n"
    msg = refused(big)
    assert msg.startswith(f"too large: {len(big):,} bytes") and "5,242,880" in msg
    assert refused("[1, 2, 3]", max_bytes=5) == "too large: 9 bytes (the limit is 5 bytes)"
    f = tmp_path / "big.yaml"
    f.write_bytes(big)
    with pytest.raises(YamlInputError, match=f"too large: {len(big):,} bytes"):
        safeyaml.load_file(f)
    if os.path.exists("/dev/zero"):  # no size to stat; never read past the limit
        with pytest.raises(YamlInputError, match="more than 1,000 bytes"):
            safeyaml.read_bytes("/dev/zero", 1000)


def test_non_utf8_names_the_byte():
    assert refused(b"a: 1\nb: \xff\n") == "not valid UTF-8 (byte 8)"
    assert refused(b"\xff\xfea\x00") == "not valid UTF-8 (byte 0)"
    assert "lone surrogate" in refused("a: \ud800")


def test_control_characters_have_a_line_and_column():
    assert refused("a: 1\nb: \x00") == (
        "not valid YAML: character #x0000 (control characters are not allowed) (line 2, column 4)")


@pytest.mark.parametrize("text, where", [
    ("tasks:\n- id: a\n  id: b\n", "duplicate key at tasks[0].id (line 3, column 3; the first is at line 2)"),
    ("a: 1\nb: 2\na: 3\n", "duplicate key at a (line 3, column 1; the first is at line 1)"),
    ("x: {1: a, 0x1: b}", "duplicate key at x.'0x1'"),  # the same int, written two ways
    ("? [1]\n: a\n", "found unhashable key"),
    ("- !!set {a, a}", "duplicate key at [0].a"),
])
def test_duplicate_keys_are_an_error(text, where):
    assert where in refused(text)


def test_merged_keys_may_be_overridden():
    assert safeyaml.loads("a: &a {x: 1}\nb:\n  <<: *a\n  x: 2\n")["b"] == {"x": 2}
    assert "duplicate key at b.x" in refused("a: &a {x: 1}\nb:\n  <<: *a\n  x: 2\n  x: 3\n")


@pytest.mark.parametrize("text", [
    "[" * 101 + "]" * 101,
    "[" * 100_000 + "]" * 100_000,  # libyaml's composer would crash the interpreter on this
    "- " * 5000 + "x",
    "".join(f"{' ' * i}k:\n" for i in range(150)) + " " * 150 + "v\n",
    "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 50 + "*a" + "]" * 50,  # deep through an alias
])
def test_deep_nesting_refused(text):
    assert "nested more than 100 levels deep" in refused(text)


def test_depth_100_is_fine():
    assert safeyaml.loads("[" * 100 + "]" * 100) is not None


def test_many_values_refused_before_composing():
    t0 = time.perf_counter()
    assert "more than 100,000 values" in refused("[" + "1," * 1_000_000 + "1]")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("text", [
    "!!python/object/apply:os.system ['echo pwned']",
    "a: !!python/name:os.system\n",
    "a: !!python/object:collections.OrderedDict {}\n",
    "a: !!python/tuple [1, 2]\n",
    "? !!python/name:os.system\n: 1\n",
    "a: &x !!python/object/new:os.system [echo]\nb: *x\n",
    "a: !custom thing\n",
])
def test_only_safe_tags(text):
    assert "is not allowed (only plain YAML data)" in refused(text)


@pytest.mark.parametrize("text, needle", [
    ("a: " + "1" * 1001, "an integer with more than 1,000 digits at a"),
    ("a: 0x" + "f" * 5000, "an integer with more than 1,000 digits"),
    ("a: 1" + ":0" * 600, "an integer with more than 1,000 digits"),
    ("a: 2026-02-30", "'2026-02-30' is not a valid !!timestamp at a (line 1, column 4; day is out of range"),
    ("a: !!timestamp soon", "'soon' is not a valid !!timestamp"),
    ("a: !!int ''", "'' is not a valid !!int"),
    ("a: !!bool maybe", "'maybe' is not a valid !!bool"),
    ("a: !!float x", "'x' is not a valid !!float"),
    ("a: *nothing", "found undefined alias"),
    ("a: 1\n---\nb: 2\n", "expected a single document in the stream"),
    ("tasks: [\n", "not valid YAML at line 2, column 1"),
])
def test_scalars_and_syntax(text, needle):
    assert needle in refused(text)


def test_big_numbers_that_fit_are_fine():
    assert safeyaml.loads("a: " + "9" * 1000)["a"] == int("9" * 1000)
    assert safeyaml.loads("a: 1.0e+999")["a"] == float("inf")


# --- properties ----------------------------------------------------------------------

def _only_yaml_input_error(data) -> None:
    try:
        safeyaml.loads(data)
    except YamlInputError as ex:
        assert str(ex) and "\n" not in str(ex)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes(data):
    _only_yaml_input_error(data)


YAML_ALPHABET = st.sampled_from(list("[]{}-:?,&*!|>'\"#%@`~ \n\t\\abxyz019.+=<") + [
    "!!python/object:os.system ", "!!timestamp ", "!!int ", "!!binary ", "!!set ", "!!omap ",
    "&a ", "*a", "<<: ", "---\n", "...\n", "2026-13-45", "0x", "1:2:3", "\x00", "\ufeff", "é"])


@SETTINGS
@given(st.lists(YAML_ALPHABET, max_size=80).map("".join))
def test_any_yaml_ish_text(text):
    _only_yaml_input_error(text)


json_data = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@SETTINGS
@given(json_data)
def test_same_as_safe_load_on_plain_data(value):
    text = yaml.safe_dump(value, allow_unicode=True)
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:  # a "<<" key is a merge key, and so on: refused by both
        with pytest.raises(YamlInputError):
            safeyaml.loads(text)
    else:
        assert safeyaml.loads(text) == expected
