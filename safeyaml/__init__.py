"""YAML written by strangers, read safely: plain data only, and within limits.

Every YAML file this project reads from someone else goes through :func:`loads` (or
:func:`load_file`): an eval.yaml from any dataset repo, a dataset card's front matter,
result files from any model repo, trust stores, public key files. On top of PyYAML's
safe loader (libyaml's parser when PyYAML has it), it refuses, with one line naming the
problem and where it is:

- a file over ``max_bytes`` (default 5 MiB), before anything is parsed;
- bytes that are not UTF-8 (the offset of the first bad byte);
- a document nested deeper than ``max_depth`` collections (default 100): libyaml's
  composer recurses on the C stack and crashes the interpreter on a few tens of
  thousands of ``[``, so suspicious texts are measured from the event stream first;
- a document with more than ``max_nodes`` nodes (default 100,000) once its aliases are
  expanded ("billion laughs": ``&a [*b, *b, ...]`` doubling per line), counted on the
  composed node graph with each anchor measured once, so it fails in microseconds;
  also an alias inside its own anchor (a recursive structure);
- a mapping with the same key twice (YAML says keys are unique; PyYAML keeps the last
  one silently): the error names the key path and both lines;
- any tag but the YAML 1.1 types the safe loader knows (``!!python/...`` and every
  application tag are refused: nothing is ever executed or instantiated);
- an integer written with more than 1,000 digits (Python cannot print it, and
  ``1:0:0:...`` would take quadratic time to build), and scalars the safe constructors
  choke on (``!!timestamp nonsense``, ``2026-02-30``).

Errors are :class:`YamlInputError` (a ValueError) whose message is one line; each
caller prefixes the file and adds what to do. This package imports nothing from the
project.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml's parser: the same safe constructors as yaml.SafeLoader, about 15x faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "MAX_INT_DIGITS", "YamlInputError",
           "read_bytes", "decode", "loads", "load_file"]

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 100_000
MAX_INT_DIGITS = 1_000

# libyaml's composer recurses once per nesting level on the C stack (about 400 bytes a
# level; it crashed at 40,000 levels with an 8 MiB stack). Below this many possible
# nesting indicators a text cannot get near that, and is composed directly.
_C_SAFE_DEPTH = 1_000

_Y = "tag:yaml.org,2002:"
_STR = _Y + "str"
_INT = _Y + "int"
_MERGE = _Y + "merge"
_VALUE = _Y + "value"
# the YAML 1.1 types of the safe loader, plus the merge key (<<) and the value key (=)
_ALLOWED_TAGS = frozenset(
    t for t in yaml.SafeLoader.yaml_constructors if t is not None) | {_MERGE, _VALUE}


class YamlInputError(ValueError):
    """The YAML input is refused; the message is one line (what, and where in the text)."""

    def __init__(self, problem: str, mark: Any = None, key_path: str | None = None,
                 note: str | None = None):
        self.problem = problem
        self.line = mark.line + 1 if mark is not None else None
        self.column = mark.column + 1 if mark is not None else None
        self.key_path = key_path
        text = f"{problem} at {_shorten(key_path, 120)}" if key_path else problem
        where = [f"line {self.line}, column {self.column}"] if self.line is not None else []
        if note:
            where.append(note)
        super().__init__(_one_line(f"{text} ({'; '.join(where)})" if where else text, 400))


def read_bytes(path: Any, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, never reading more than ``max_bytes + 1`` (so /dev/zero or a
    10 GB file costs nothing); YamlInputError when larger. OSError is left to the caller
    (it knows how to say "cannot read")."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise YamlInputError(_too_large(size, max_bytes))
        # a pipe or a device reports no size; a file may grow while it is read
        data = f.read(size + 1) if size else f.read(max_bytes + 1)
        if size and len(data) > size:
            data += f.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise YamlInputError(_too_large(None, max_bytes))
    return data


def decode(data: bytes) -> str:
    """Strict UTF-8 (a leading BOM is allowed and dropped); YamlInputError naming the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        raise YamlInputError(f"not valid UTF-8 (byte {ex.start})") from None


def load_file(path: Any, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              max_nodes: int = MAX_NODES) -> Any:
    """:func:`loads` of a file's content; OSError is left to the caller."""
    return loads(read_bytes(path, max_bytes), max_bytes=max_bytes, max_depth=max_depth,
                 max_nodes=max_nodes)


def loads(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
          max_nodes: int = MAX_NODES) -> Any:
    """The single YAML document in ``data`` as plain Python data (None when empty).

    Raises YamlInputError (and nothing else, short of MemoryError) for anything refused."""
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise YamlInputError(_too_large(len(raw), max_bytes))
        text = decode(raw)
    elif isinstance(data, str):
        text = data
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as ex:  # a str holding a lone surrogate: no UTF-8 file makes one
            raise YamlInputError(f"not valid UTF-8 (a lone surrogate at character {ex.start})") from None
        if len(raw) > max_bytes:
            raise YamlInputError(_too_large(len(raw), max_bytes))
    else:
        raise YamlInputError(f"expected YAML text, got {type(data).__name__}")
    # What needs measuring before construction: a text with few nesting indicators cannot
    # be deep, one without "&" has no anchors (so no aliases), a short one has few nodes.
    bound = len(raw) - len(raw.translate(None, b"[{-:?"))
    short = len(raw) <= max_nodes // 4
    scanned = not short or bound > _C_SAFE_DEPTH
    if scanned:
        _scan(text, max_depth, max_nodes)
    walk = b"&" in raw or (not scanned and bound > max_depth)
    loader = _Loader(text)
    loader.max_depth, loader.max_nodes, loader.walk = max_depth, max_nodes, walk
    try:
        return loader.get_single_data()
    except YamlInputError:
        raise
    except yaml.MarkedYAMLError as ex:
        raise _from_yaml_error(ex, max_depth) from None
    except yaml.YAMLError as ex:  # ReaderError (a control character, a NUL...) and kin
        raise _from_reader_error(ex, text) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError) as ex:
        # a safe constructor choked on a scalar (``!!int x``, ``2026-02-30``...): name the
        # node it was building (construct_object marks it before calling the constructor)
        building = list(loader.recursive_objects)
        node = building[-1] if building else None
        what = "a value"
        if node is not None:
            shown = f"{_one_line(repr(node.value), 60)} " if node.__class__ is ScalarNode else ""
            what = f"{shown}is not a valid {_short_tag(node.tag)}"
        detail = _one_line(str(ex)) if isinstance(ex, (ValueError, OverflowError)) else ""
        raise YamlInputError(
            what, node.start_mark if node is not None else None,
            _key_path(loader.root, node) if node is not None and loader.root is not None else None,
            detail or None,
        ) from None
    finally:
        loader.dispose()


def _too_large(size: int | None, max_bytes: int) -> str:
    got = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return f"too large: {got} (the limit is {max_bytes:,} bytes)"


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_tag(tag: str | None) -> str:
    tag = tag or "?"
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


# libyaml (PyYAML >= 6.0.3 bundles one with a nesting limit of 1,000) refuses a deep
# document itself, sometimes before our own count of its events reaches MAX_DEPTH: its
# scanner reads ahead. PyYAML gives no error type for it, only this problem text.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


def _from_yaml_error(ex: yaml.MarkedYAMLError, max_depth: int = MAX_DEPTH) -> YamlInputError:
    if ex.problem == _LIBYAML_TOO_DEEP:  # deeper than libyaml's limit, so deeper than ours
        return YamlInputError(f"nested more than {max_depth} levels deep", ex.problem_mark)
    problem = ex.problem or ex.context or type(ex).__name__
    if ex.problem and ex.context and not ex.context.startswith("while"):
        problem = f"{ex.context}, {ex.problem}"  # "expected a single document..., but found another"
    mark = ex.problem_mark or ex.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    err = YamlInputError(_one_line(f"not valid YAML{where}: {problem}"))
    if mark is not None:
        err.line, err.column = mark.line + 1, mark.column + 1
    return err


def _from_reader_error(ex: yaml.YAMLError, text: str) -> YamlInputError:
    """libyaml's ReaderError gives a character position: turn it into a line and column."""
    pos, char = getattr(ex, "position", None), getattr(ex, "character", None)
    if isinstance(pos, int) and 0 <= pos <= len(text):
        line = text.count("\n", 0, pos)
        mark = yaml.Mark("", pos, line, pos - (text.rfind("\n", 0, pos) + 1), None, None)
        what = f"character {char!r}" if isinstance(char, str) else f"character #x{char:04x}" if isinstance(char, int) else "a character"
        return YamlInputError(f"not valid YAML: {what} ({getattr(ex, 'reason', None) or 'not allowed'})", mark)
    return YamlInputError(f"not valid YAML: {_one_line(str(ex))}")


_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _scan(text: str, max_depth: int, max_nodes: int) -> None:
    """Depth and node count from the parser's events (libyaml parses without recursion),
    before anything is composed: a deep or huge text fails here, cheaply."""
    depth = nodes = 0
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(ev, _START):
                depth += 1
                nodes += 1
                if depth > max_depth:
                    raise YamlInputError(f"nested more than {max_depth} levels deep", ev.start_mark)
            elif isinstance(ev, _END):
                depth -= 1
            elif isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent)):
                nodes += 1
            if nodes > max_nodes:
                raise YamlInputError(f"more than {max_nodes:,} values", ev.start_mark)
    except yaml.MarkedYAMLError as ex:
        raise _from_yaml_error(ex, max_depth) from None
    except yaml.YAMLError as ex:
        raise _from_reader_error(ex, text) from None


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader: the node graph is measured before anything is constructed (when
    it can hold aliases or be deep), mapping keys are unique, unknown tags are refused."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES
    walk = True
    root: Node | None = None

    def get_single_data(self) -> Any:
        node = self.root = self.get_single_node()
        if node is None:
            return None
        if self.walk:
            _Checker(self, node).run()
        return self.construct_document(node)

    def fail(self, problem: str, node: Node, mark: Any = None, key: str | None = None,
             note: str | None = None) -> None:
        path = _key_path(self.root, node) if self.root is not None else None
        if key is not None:
            path = f"{path}.{key}" if path else key
        raise YamlInputError(problem, mark or node.start_mark, path, note)

    def construct_undefined(self, node: Node) -> Any:
        self.fail(f"tag {_short_tag(node.tag)!r} is not allowed (only plain YAML data)", node)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INT_DIGITS:
            self.fail(f"an integer with more than {MAX_INT_DIGITS:,} digits", node)
        return super().construct_yaml_int(node)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        """SafeConstructor's, refusing a key written twice. Keys merged in with ``<<`` may
        be overridden by the mapping's own keys (that is what merging means)."""
        if not isinstance(node, MappingNode):
            return super().construct_mapping(node, deep)
        first = next((pair for pair in node.value if pair[0].tag != _MERGE), None)
        self.flatten_mapping(node)  # merged pairs first, then the mapping's own, in order
        pairs = node.value
        own = 0 if first is None or pairs[0] is first else next(
            (i for i, pair in enumerate(pairs) if pair is first), len(pairs))
        explicit: set[Any] | None = set() if own else None
        mapping: dict[Any, Any] = {}
        for i, (key_node, value_node) in enumerate(pairs):
            key = self.construct_object(key_node, deep=deep)
            try:
                if i >= own:
                    if key in (mapping if explicit is None else explicit):
                        self._duplicate(node, pairs[own:], key_node, key)
                    if explicit is not None:
                        explicit.add(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key",
                    key_node.start_mark) from None
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def _duplicate(self, node: MappingNode, own: list[Any], key_node: Node, key: Any) -> None:
        first = next(k for k, _ in own if self.construct_object(k) == key)
        self.fail("duplicate key", node, key_node.start_mark, key=_path_part(key_node),
                  note=f"the first is at line {first.start_mark.line + 1}")


_Loader.add_constructor(_INT, _Loader.construct_yaml_int)
_Loader.add_constructor(None, _Loader.construct_undefined)


class _Checker:
    """One walk of the node graph: tags, depth and size with aliases expanded. An anchored node is measured once (memo), so exponential expansion costs
    nothing to detect; a node met again while it is being walked is a recursive alias."""

    def __init__(self, loader: _Loader, root: Node):
        self.loader, self.root = loader, root
        self.max_depth, self.max_nodes = loader.max_depth, loader.max_nodes
        self.memo: dict[int, tuple[int, int]] = {}  # id(collection) -> (nodes, height)
        self.active: set[int] = set()

    def run(self) -> None:
        self.visit(self.root, 1)

    def fail(self, problem: str, node: Node) -> None:
        self.loader.fail(problem, node)

    def visit(self, node: Node, depth: int) -> tuple[int, int]:
        """(nodes, height) of node with aliases expanded; depth = nesting level of node."""
        tag = node.tag
        if tag not in _ALLOWED_TAGS:
            self.fail(f"tag {_short_tag(tag)!r} is not allowed (only plain YAML data)", node)
        if node.__class__ is ScalarNode:
            return 1, 0
        nid = id(node)
        got = self.memo.get(nid)
        if got is not None:
            if depth + got[1] - 1 > self.max_depth:
                self.fail(f"nested more than {self.max_depth} levels deep (aliases expanded)", node)
            return got
        if depth > self.max_depth:
            self.fail(f"nested more than {self.max_depth} levels deep", node)
        if nid in self.active:
            self.fail("an alias refers to a collection that contains it (a recursive structure)", node)
        self.active.add(nid)
        size, height = 1, 0
        limit = self.max_nodes
        if isinstance(node, MappingNode):
            for key, value in node.value:
                s, h = self.visit(key, depth + 1)
                size += s
                height = max(height, h)
                s, h = self.visit(value, depth + 1)
                size += s
                height = max(height, h)
                if size > limit:
                    break
        elif isinstance(node, SequenceNode):
            for item in node.value:
                s, h = self.visit(item, depth + 1)
                size += s
                height = max(height, h)
                if size > limit:
                    break
        if size > limit:
            self.fail(f"more than {limit:,} values once aliases are expanded", node)
        self.active.discard(nid)
        got = (size, height + 1)
        self.memo[nid] = got
        return got


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit // 2 - 1] + "…" + text[-(limit // 2):]


def _path_part(key: Node) -> str:
    name = key.value if key.__class__ is ScalarNode else "?"
    return name if name.isidentifier() else repr(name)


def _key_path(root: Node, target: Node) -> str | None:
    """``tasks[0].field_spec``: where target is, for an error message (None at the top)."""
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path or None
        if id(node) in seen or node.__class__ is ScalarNode:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                part = _path_part(key)
                stack.append((value, f"{path}.{part}" if path else part))
        elif isinstance(node, SequenceNode):
            for i in reversed(range(len(node.value))):
                stack.append((node.value[i], f"{path}[{i}]"))
    return None
