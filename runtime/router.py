"""Path-first route matching over a precompiled resource tree.

Layer: runtime (stdlib only). Semantics:

- the most specific *path* wins, then the method: static segments beat templated
  ones, templated beat greedy ``{name+}`` (one or more remaining segments); the
  search backtracks, so ``/pets/mine/toys`` still reaches ``/pets/{id}/toys`` when
  ``/pets/mine`` has no ``toys`` child;
- on the chosen path, an exact method wins, then ``HEAD`` falls back to ``GET``,
  then ``ANY``; otherwise the result is "method not allowed" with the allowed list;
- the raw path is split on ``/`` first and each segment is percent-decoded after,
  so an encoded ``%2F`` stays inside its parameter; a single trailing slash is
  ignored and empty segments never match a parameter;
- dot segments (``.`` and ``..``, also when percent-encoded) never match a parameter
  or a greedy segment: no encoding of them is safe in an upstream path, since URL
  parsers that follow the WHATWG standard treat ``%2e%2e`` as ``..`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

from .config import Segment
from .errors import ConfigurationError

__all__ = ["MethodNotAllowed", "Router"]

EntryT = TypeVar("EntryT")

_DOT_SEGMENTS = frozenset({".", ".."})


def _is_value(segment: str) -> bool:
    """Whether a path segment may become a parameter value."""
    return bool(segment) and segment not in _DOT_SEGMENTS


@dataclass(slots=True, eq=False)
class _Node(Generic[EntryT]):
    static: dict[str, _Node[EntryT]] = field(default_factory=dict)
    param: _Node[EntryT] | None = None
    greedy: _Node[EntryT] | None = None  # the resource a greedy segment here leads to
    methods: dict[str, EntryT] = field(default_factory=dict)
    allow: str = ""  # the Allow header for 405, built when the router is frozen


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    allow: str  # e.g. "GET, HEAD, POST"


class Router(Generic[EntryT]):
    """Maps ``(method, raw path)`` to an entry. Build with :meth:`add`, then :meth:`freeze`.

    ``Router[str]()`` with ``add("GET", (("static", "pets"), ("param", "id")), "getPet")``
    answers ``match("GET", "/pets/7")`` with ``("getPet", ("7",))``.
    """

    __slots__ = ("_exact", "_frozen", "_root")

    def __init__(self) -> None:
        self._root: _Node[EntryT] = _Node()
        self._exact: dict[str, _Node[EntryT]] = {}  # fully static raw paths, for a fast hit
        self._frozen = False

    def add(self, method: str, segments: Sequence[Segment], entry: EntryT, *, label: str) -> None:
        """Register ``entry``; ``label`` names the route in conflict errors."""
        if self._frozen:
            raise ConfigurationError("routes cannot be added after the router is frozen")
        node = self._root
        for index, (kind, value) in enumerate(segments):
            if kind == "static":
                node = node.static.setdefault(value, _Node())
            elif kind == "param":
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                if index != len(segments) - 1:
                    raise ConfigurationError(f"{label}: a greedy segment must be the last one")
                if node.greedy is None:
                    node.greedy = _Node()
                node = node.greedy
        method = method.upper()
        if method in node.methods:
            raise ConfigurationError(f"{label}: another route already answers {method} here")
        node.methods[method] = entry
        if all(kind == "static" for kind, _ in segments):
            self._exact["/" + "/".join(value for _, value in segments)] = node

    def freeze(self) -> None:
        self._frozen = True
        self._finish(self._root)

    def _finish(self, node: _Node[EntryT]) -> None:
        allowed = set(node.methods)
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.discard("ANY")
        node.allow = ", ".join(sorted(allowed))
        for child in node.static.values():
            self._finish(child)
        for extra in (node.param, node.greedy):
            if extra is not None:
                self._finish(extra)

    def match(
        self, method: str, raw_path: str
    ) -> tuple[EntryT, tuple[str, ...]] | MethodNotAllowed | None:
        """``(entry, captured values)``, :class:`MethodNotAllowed`, or ``None`` (404)."""
        encoded = "%" in raw_path
        node = None if encoded else self._exact.get(raw_path)
        values: list[str] = []
        if node is None:
            segments = raw_path.split("/")
            # "/a/b/" -> ["a", "b"]; "/" -> []
            segments = segments[1:-1] if segments[-1] == "" else segments[1:]
            if encoded:
                segments = [unquote(s) if "%" in s else s for s in segments]
            node = _walk(self._root, segments, values)
            if node is None:
                values = []
                node = _find(self._root, segments, 0, values)
                if node is None:
                    return None
        methods = node.methods
        entry = methods.get(method)
        if entry is None:
            if method == "HEAD":
                entry = methods.get("GET")
            if entry is None:
                entry = methods.get("ANY")
                if entry is None:
                    return MethodNotAllowed(node.allow)
        return entry, tuple(values)


def _walk(node: _Node[EntryT], segments: list[str], values: list[str]) -> _Node[EntryT] | None:
    """The common case without backtracking: static child first, else the parameter child.

    When this reaches a resource, it is the one the full search would find first.
    """
    for segment in segments:
        child = node.static.get(segment)
        if child is None:
            child = node.param
            if child is None or not _is_value(segment):
                return None
            values.append(segment)
        node = child
    return node if node.methods else None


def _find(
    node: _Node[EntryT], segments: list[str], index: int, values: list[str]
) -> _Node[EntryT] | None:
    if index == len(segments):
        return node if node.methods else None
    segment = segments[index]
    child = node.static.get(segment)
    if child is not None:
        found = _find(child, segments, index + 1, values)
        if found is not None:
            return found
    if node.param is not None and _is_value(segment):
        values.append(segment)
        found = _find(node.param, segments, index + 1, values)
        if found is not None:
            return found
        values.pop()
    greedy = node.greedy
    if greedy is not None and greedy.methods and all(map(_is_value, segments[index:])):
        values.append("/".join(segments[index:]))
        return greedy
    return None
