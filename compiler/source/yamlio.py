"""Parsing YAML and JSON text into plain Python data, and finding positions.

Layer: source. YAML is read with PyYAML's C loader (when available) configured for
YAML 1.2 core-schema scalars: only ``true``/``false`` are booleans (so a country
code ``NO`` stays a string) and dates stay strings (an OpenAPI example is data,
not a ``datetime``). Positions are found lazily, only when a diagnostic needs one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

__all__ = ["SyntaxProblem", "find_position", "find_positions", "parse_text"]

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]  # PyYAML's loaders are untyped
    pass


# YAML 1.2 core schema booleans; drop YAML 1.1 yes/no/on/off and timestamps.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        # OpenAPI keys are strings; YAML reads an unquoted 200 as an integer
        if isinstance(key, bool):
            key = "true" if key else "false"
        elif key is None:
            key = "null"
        elif not isinstance(key, str):
            key = str(key)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


class SyntaxProblem(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_text(text: str, *, is_json: bool) -> Any:
    """Parse a document; raises :class:`SyntaxProblem` with a 1-based position."""
    if is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SyntaxProblem(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise SyntaxProblem("JSON is nested too deeply", 1, 1) from None
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise SyntaxProblem(f"invalid YAML: {what}{context}", line, col) from None
    except yaml.YAMLError as exc:
        raise SyntaxProblem(f"invalid YAML: {exc}", 1, 1) from None
    except RecursionError:
        raise SyntaxProblem("YAML is nested too deeply", 1, 1) from None


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _compose(text: str) -> Any:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def find_position(text: str, pointer: str, cache: dict[str, Any], *, is_json: bool = False) -> tuple[int, int] | None:
    """1-based (line, column) of the node at ``pointer``; the deepest existing ancestor
    when the pointer goes past what exists (a missing key is reported at its parent).

    ``is_json`` says ``text`` parsed as JSON: it is then scanned for the pointer
    (milliseconds) rather than composed into a YAML node graph (seconds on a big spec).
    """
    found = cache.get("found")
    if found is not None and pointer in found:
        position: tuple[int, int] | None = found[pointer]
        return position
    if is_json and _json_positions(text, [pointer], cache):
        hit: tuple[int, int] | None = cache["found"].get(pointer)
        return hit
    if "node" not in cache:
        cache["node"] = _compose(text)
    node = cache["node"]
    if node is None:  # an empty document (or only comments): its root is the start of the file
        return (1, 1) if not pointer else None
    tokens = [_unescape(t) for t in pointer.split("/")[1:]] if pointer else []
    mark_node = node
    for token in tokens:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and str(key_node.value) == token:
                    nxt, mark_node = value_node, key_node
                    break
        elif isinstance(node, yaml.SequenceNode) and token.isdigit():
            idx = int(token)
            if idx < len(node.value):
                nxt = mark_node = node.value[idx]
        if nxt is None:
            break
        node = nxt
    mark = mark_node.start_mark
    return mark.line + 1, mark.column + 1


def find_positions(text: str, pointers: list[str], cache: dict[str, Any], *, is_json: bool = False) -> None:
    """Locate many pointers at once, as :func:`find_position` would, into ``cache``.

    One pass over PyYAML's event stream, without building the node graph: about five
    times faster than composing a big document, which matters when a compile reports
    warnings about a spec of megabytes. Pointers through an alias are left to
    :func:`find_position`. Text that parsed as JSON (``is_json``) is scanned as
    JSON instead, ten times faster again (see :func:`_json_positions`).
    """
    if is_json and _json_positions(text, pointers, cache):
        return
    tokens, wanted = _pointer_paths(pointers)
    marks: dict[tuple[str, ...], tuple[int, int]] = {}
    aliases: set[tuple[str, ...]] = set()  # what lies below these is not in the stream
    # one frame per open collection: [is_mapping, path, next index or pending key]
    stack: list[list[Any]] = []
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            if not stack:
                path: tuple[str, ...] = ()
                mark = event.start_mark
            else:
                frame = stack[-1]
                if frame[0]:  # a mapping: keys and values alternate
                    if frame[2] is None:
                        frame[2] = (str(event.value) if isinstance(event, yaml.ScalarEvent) else "", event.start_mark)
                        continue
                    key, mark = frame[2]
                    frame[2] = None
                    path = (*frame[1], key)
                else:
                    path = (*frame[1], str(frame[2]))
                    frame[2] += 1
                    mark = event.start_mark
            if path in wanted and path not in marks and mark is not None:
                marks[path] = (mark.line + 1, mark.column + 1)
                if isinstance(event, yaml.AliasEvent):
                    aliases.add(path)
            if isinstance(event, yaml.MappingStartEvent):
                stack.append([True, path, None])
            elif isinstance(event, yaml.SequenceStartEvent):
                stack.append([False, path, 0])
    except yaml.YAMLError:
        return  # find_position reports what it can on its own
    _record(tokens, marks, aliases, cache)


def _pointer_paths(pointers: list[str]) -> tuple[dict[str, tuple[str, ...]], set[tuple[str, ...]]]:
    """Each pointer's unescaped tokens, and every path on the way to one (itself included)."""
    tokens = {p: tuple(_unescape(t) for t in p.split("/")[1:]) if p else () for p in pointers}
    return tokens, {path[:n] for path in tokens.values() for n in range(len(path) + 1)}


def _record(
    tokens: dict[str, tuple[str, ...]],
    marks: dict[tuple[str, ...], tuple[int, int]],
    aliases: set[tuple[str, ...]],
    cache: dict[str, Any],
) -> None:
    """Each pointer's position (or its deepest located ancestor's) into ``cache``."""
    found = cache.setdefault("found", {})
    for pointer, path in tokens.items():
        for n in range(len(path), -1, -1):
            if path[:n] in marks:
                if n == len(path) or path[:n] not in aliases:
                    found[pointer] = marks[path[:n]]
                break


# In text that parsed as JSON, the characters PyYAML reads otherwise: line breaks it
# counts besides "\n", and characters it refuses (JSON has no raw control characters
# below 0x20 but whitespace). Text holding one is located through PyYAML instead, so
# that positions never differ.
_YAML_SPECIAL = re.compile(r"[\r\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _after_space(text: str, at: int) -> int:
    found = _JSON_SPACE.match(text, at)
    return at if found is None else found.end()


def _json_positions(text: str, pointers: list[str], cache: dict[str, Any]) -> bool:
    """Locate ``pointers`` in JSON text as the PyYAML event pass would; False when the
    text is left to that pass (it holds characters PyYAML treats specially).

    Only the objects and arrays on the way to a wanted pointer are walked here; every
    other value is skipped by the C JSON scanner in one call. A mapping value is
    located at its key, as PyYAML marks it.
    """
    if ("\r" in text or "\x7f" in text) if text.isascii() else _YAML_SPECIAL.search(text):
        return False
    tokens, wanted = _pointer_paths(pointers)
    inner = {path[:n] for path in tokens.values() for n in range(len(path))}
    offsets: dict[tuple[str, ...], int] = {}
    # the C scanner's entry points, which the typing stubs do not list
    skip: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009
    scan_string: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")  # noqa: B009
    space = _after_space

    def walk(at: int, path: tuple[str, ...]) -> int:
        """Walk the value starting at ``at``; the offset just past it."""
        if path not in inner or text[at] not in "{[":
            return skip(text, at)[1]
        if text[at] == "{":
            at = space(text, at + 1)
            while text[at] != "}":
                key_at = at
                key, at = scan_string(text, at + 1)
                at = space(text, space(text, at) + 1)  # past the colon
                child = (*path, key)
                if child in wanted:
                    offsets.setdefault(child, key_at)
                at = space(text, walk(at, child))
                if text[at] == ",":
                    at = space(text, at + 1)
            return at + 1
        at = space(text, at + 1)
        index = 0
        while text[at] != "]":
            child = (*path, str(index))
            if child in wanted:
                offsets.setdefault(child, at)
            at = space(text, walk(at, child))
            if text[at] == ",":
                at = space(text, at + 1)
            index += 1
        return at + 1

    start = space(text, 0)
    offsets[()] = start
    try:
        walk(start, ())
    except (ValueError, IndexError, StopIteration):
        return False  # not JSON after all
    marks: dict[tuple[str, ...], tuple[int, int]] = {}
    line, line_start, counted = 1, 0, 0
    for path, offset in sorted(offsets.items(), key=lambda item: item[1]):
        line += text.count("\n", counted, offset)
        last_break = text.rfind("\n", counted, offset)
        line_start = line_start if last_break < 0 else last_break + 1
        counted = offset
        marks[path] = (line, offset - line_start + 1)
    _record(tokens, marks, set(), cache)
    return True
