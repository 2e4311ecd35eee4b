"""Request and response transforms: structured operations compiled from ``x-gateway.transform``.

Layer: runtime (aiohttp, stdlib). A generated route wraps its integration spec in
:class:`Transformed`; at start-up stage variables are resolved, and per request:

1. request headers and query: rename, remove, set, append. The client's own request
   is never changed: an :class:`OverridableIntegration` (the ``http_proxy``) is handed
   the result as :class:`UpstreamOverrides`; any other gets a cloned request carrying
   it (a clone costs a new request object and re-encoding every header, per request).
   A transform that only removes, sets or appends request headers with values fixed
   at start-up is no per-request step at all: the proxy takes those headers into the
   copy it makes anyway (:meth:`OverridableIntegration.with_fixed_headers`);
2. the upstream path (``http_proxy`` only): :attr:`UpstreamOverrides.path`, and the
   proxy replaces the whole path of its upstream URL with it;
3. JSON request body: rename, remove, set by JSON pointer;
4. the integration's answer: status remap, headers, then JSON body operations.

Values are compiled expressions (literal text and :class:`ValueRef`), never templates
interpreted here, and every value is placed as data: header values lose control
characters (no CR/LF header splitting), query values are percent-encoded by yarl,
path values are encoded as one segment, and body values are JSON strings.

Body operations are skipped (the body passes untouched) when the body is not JSON,
does not parse, is content-encoded, or is a streamed answer (an upstream answer with
no length or longer than the proxy buffers); an answer's body is also left alone
above :data:`RESPONSE_BODY_LIMIT`. A streamed answer still gets its status and
header operations, through :data:`STREAMED_RESPONSE_HOOK`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias, runtime_checkable
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict, MultiDict
from yarl import URL

from .config import JSONValue
from .context import PRINCIPAL, REQUEST_ID, ROUTE_MATCH
from .errors import ConfigurationError
from .integration import Integration, IntegrationSpec, Route, StartupContext, read_body
from .templating import StageVar

__all__ = [
    "RESPONSE_BODY_LIMIT",
    "STREAMED_RESPONSE_HOOK",
    "BodyOps",
    "Expression",
    "FieldOps",
    "OverridableIntegration",
    "RequestTransform",
    "ResponseTransform",
    "Transformed",
    "TransformedIntegration",
    "UpstreamOverrides",
    "ValueRef",
]

RESPONSE_BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A value of the request: ``("path", ("id",))``, ``("body", ("a", 0))``,
    ``("auth", ("principalId",))``, ``("auth", ("context", "tenant"))``,
    ``("context", ("requestId",))``."""

    source: Literal["path", "query", "header", "body", "auth", "context"]
    key: tuple[str | int, ...]


# literal text, stage variables (resolved at start-up) and request values, in order
Expression: TypeAlias = tuple[str | StageVar | ValueRef, ...]
_Resolved: TypeAlias = tuple[str | ValueRef, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldOps:
    """Header or query operations, applied as rename, remove, set, append."""

    set: Mapping[str, Expression] = field(default_factory=dict)
    append: Mapping[str, Expression] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyOps:
    """JSON pointer operations, applied as rename, remove, then set (constants first)."""

    set: Mapping[str, Expression] = field(default_factory=dict)
    constants: Mapping[str, JSONValue] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTransform:
    headers: FieldOps | None = None
    query: FieldOps | None = None
    path: Expression | None = None  # the whole upstream path
    body: BodyOps | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseTransform:
    status: Mapping[int, int] = field(default_factory=dict)
    headers: FieldOps | None = None
    body: BodyOps | None = None


@dataclass(slots=True)
class UpstreamOverrides:
    """What a transform changes in the upstream request of an ``http_proxy``; one
    request key for all of it, so that the proxy looks once per request."""

    path: str | None = None  # replaces the whole path of the upstream URL
    headers: CIMultiDict[str] | None = None  # the transformed request headers
    url: URL | None = None  # the request URL with the transformed query


@runtime_checkable
class OverridableIntegration(Protocol):
    """An integration that takes a transform's changes to its upstream request as an
    argument instead of a cloned request (the ``http_proxy``)."""

    async def invoke(
        self,
        request: web.Request,
        body: bytes | None,
        overrides: UpstreamOverrides | None = None,
    ) -> web.StreamResponse: ...

    def with_fixed_headers(
        self, remove: frozenset[str], add: tuple[tuple[str, str], ...]
    ) -> Integration | None:
        """This integration sending ``add`` (after dropping the lowercased names in
        ``remove``) with every request, or None when it cannot do that exactly."""
        ...


STREAMED_RESPONSE_HOOK: web.RequestKey[Callable[[web.StreamResponse], None]] = web.RequestKey(
    "gatewright_streamed_response_hook"
)

# --------------------------------------------------------------------------- start-up


def _resolve(expression: Expression, stage: str, variables: Mapping[str, str], what: str) -> _Resolved:
    out: list[str | ValueRef] = []
    for piece in expression:
        if isinstance(piece, StageVar):
            if piece.name not in variables:
                raise ConfigurationError(
                    f"stage {stage!r} has no variable {piece.name!r} (needed by {what})"
                )
            piece = variables[piece.name]
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        else:
            out.append(piece)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Fields:
    set: tuple[tuple[str, _Resolved], ...]
    append: tuple[tuple[str, _Resolved], ...]
    remove: tuple[str, ...]
    rename: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Body:
    set: tuple[tuple[tuple[str, ...], _Resolved], ...]
    constants: tuple[tuple[tuple[str, ...], JSONValue], ...]
    remove: tuple[tuple[str, ...], ...]
    rename: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


def _pointer(text: str) -> tuple[str, ...]:
    if not text.startswith("/"):
        raise ConfigurationError(f"{text!r} is not a JSON pointer")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text.split("/")[1:])


class _Resolver:
    def __init__(self, context: StartupContext, route: Route) -> None:
        self.stage = context.stage
        self.variables = context.stage_variables
        self.what = f"the transform of operation {route.operation_id}"

    def expression(self, expression: Expression) -> _Resolved:
        return _resolve(expression, self.stage, self.variables, self.what)

    def fields(self, ops: FieldOps | None) -> _Fields | None:
        if ops is None:
            return None
        return _Fields(
            set=tuple((k, self.expression(v)) for k, v in ops.set.items()),
            append=tuple((k, self.expression(v)) for k, v in ops.append.items()),
            remove=ops.remove,
            rename=tuple(ops.rename.items()),
        )

    def body(self, ops: BodyOps | None) -> _Body | None:
        if ops is None:
            return None
        return _Body(
            set=tuple((_pointer(k), self.expression(v)) for k, v in ops.set.items()),
            constants=tuple((_pointer(k), v) for k, v in ops.constants.items()),
            remove=tuple(_pointer(p) for p in ops.remove),
            rename=tuple((_pointer(a), _pointer(b)) for a, b in ops.rename.items()),
        )


@dataclass(frozen=True, slots=True)
class Transformed:
    """An integration spec whose requests and answers are transformed (an ``IntegrationSpec``)."""

    integration: IntegrationSpec
    request: RequestTransform | None = None
    response: ResponseTransform | None = None

    def build(self, context: StartupContext, route: Route) -> Integration:
        resolver = _Resolver(context, route)
        request, response = self.request, self.response
        built = TransformedIntegration(
            self.integration.build(context, route),
            request_headers=resolver.fields(request.headers if request else None),
            request_query=resolver.fields(request.query if request else None),
            request_path=resolver.expression(request.path)
            if request is not None and request.path is not None
            else None,
            request_body=resolver.body(request.body if request else None),
            status=dict(response.status) if response else {},
            response_headers=resolver.fields(response.headers if response else None),
            response_body=resolver.body(response.body if response else None),
        )
        return built.folded() or built


# --------------------------------------------------------------------------- per request

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MISSING = object()


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _text(value: object) -> str | None:
    """A JSON value as text: strings as they are, other values as compact JSON."""
    if value is None or value is _MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Values:
    """The request values expressions read; the JSON body is parsed at most once."""

    __slots__ = ("_body", "_parsed", "request")

    def __init__(self, request: web.Request, body: bytes | None) -> None:
        self.request = request
        self._body = body
        self._parsed: object = None

    def body_document(self) -> object:
        if self._parsed is None:
            self._parsed = _MISSING
            if self._body and _is_json(self.request.headers.get("Content-Type")):
                with contextlib.suppress(ValueError):
                    self._parsed = json.loads(self._body)
        return self._parsed

    def get(self, ref: ValueRef) -> str | None:
        request = self.request
        name = str(ref.key[0])
        if ref.source == "path":
            return request[ROUTE_MATCH].path_params.get(name)
        if ref.source == "query":
            return request.query.get(name)
        if ref.source == "header":
            return request.headers.get(name)
        if ref.source == "context":
            return request[REQUEST_ID] if name == "requestId" else None
        if ref.source == "auth":
            principal = request.get(PRINCIPAL)
            if principal is None:
                return None
            if name == "principalId":
                return str(principal.id)
            value = principal.context.get(str(ref.key[1]), _MISSING) if len(ref.key) > 1 else None
            return _text(value)
        node = self.body_document()
        for step in ref.key:
            if isinstance(node, dict) and isinstance(step, str | int):
                node = node.get(str(step), _MISSING)
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            else:
                return None
        return _text(node)

    def render(self, expression: _Resolved) -> str | None:
        """The expression's text; None when it reads values and none of them is present."""
        out: list[str] = []
        found = False
        has_refs = False
        for piece in expression:
            if isinstance(piece, str):
                out.append(piece)
                continue
            has_refs = True
            value = self.get(piece)
            if value is not None:
                found = True
                out.append(value)
        if has_refs and not found:
            return None
        return "".join(out)


def _header_value(text: str) -> str:
    # SECURITY: a request value must never end a header line and start another one
    return _CONTROL.sub("", text)


def _apply_fields(
    target: CIMultiDict[str] | MultiDict[str], ops: _Fields, values: _Values, *, headers: bool
) -> None:
    for old, new in ops.rename:
        moved = target.getall(old, [])
        if moved:
            target.popall(old)
            target.popall(new, None)
            for value in moved:
                target.add(new, value)
    for name in ops.remove:
        target.popall(name, None)
    for kind, pairs in (("set", ops.set), ("append", ops.append)):
        for name, expression in pairs:
            text = values.render(expression)
            if text is None:
                continue
            if headers:
                text = _header_value(text)
            if kind == "set":
                target[name] = text
            else:
                target.add(name, text)


def _walk(doc: object, tokens: tuple[str, ...], *, create: bool) -> object:
    """The container that holds the pointer's last token, or _MISSING."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            child = node.get(token, _MISSING)
            if child is _MISSING and create:
                child = node[token] = {}
            node = child
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node if isinstance(node, dict | list) else _MISSING


def _take(doc: object, tokens: tuple[str, ...]) -> object:
    parent = _walk(doc, tokens, create=False)
    last = tokens[-1]
    if isinstance(parent, dict):
        return parent.pop(last, _MISSING)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    return _MISSING


def _put(doc: object, tokens: tuple[str, ...], value: object) -> None:
    parent = _walk(doc, tokens, create=True)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) < len(parent):
            parent[int(last)] = value


def _apply_body(payload: bytes, ops: _Body, values: _Values) -> bytes | None:
    """The transformed JSON document, or None when ``payload`` is not a JSON container."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(doc, dict | list):
        return None
    for old, new in ops.rename:
        moved = _take(doc, old)
        if moved is not _MISSING:
            _put(doc, new, moved)
    for tokens in ops.remove:
        _take(doc, tokens)
    for tokens, constant in ops.constants:
        _put(doc, tokens, constant)
    for tokens, expression in ops.set:
        text = values.render(expression)
        if text is not None:
            _put(doc, tokens, text)  # always a JSON string: a value never becomes structure
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _path_segment(value: str) -> str:
    # SECURITY: one value is one path segment; "." and ".." cannot climb the upstream path
    if value in (".", ".."):
        return "%2E" * len(value)
    return quote(value, safe="")


class TransformedIntegration:
    """A built :class:`Transformed`: applies the transforms around its integration."""

    __slots__ = (
        "_inner",
        "_overridable",
        "_reads_body",
        "_request_body",
        "_request_headers",
        "_request_path",
        "_request_query",
        "_response_body",
        "_response_headers",
        "_status",
    )

    def __init__(
        self,
        inner: Integration,
        *,
        request_headers: _Fields | None,
        request_query: _Fields | None,
        request_path: _Resolved | None,
        request_body: _Body | None,
        status: Mapping[int, int],
        response_headers: _Fields | None,
        response_body: _Body | None,
    ) -> None:
        self._inner = inner
        self._overridable = inner if isinstance(inner, OverridableIntegration) else None
        self._request_headers = request_headers
        self._request_query = request_query
        self._request_path = request_path
        self._request_body = request_body
        self._status = status
        self._response_headers = response_headers
        self._response_body = response_body
        expressions: list[_Resolved] = []
        for fields in (request_headers, request_query, response_headers):
            if fields is not None:
                expressions.extend(e for _, e in (*fields.set, *fields.append))
        for body in (request_body, response_body):
            if body is not None:
                expressions.extend(e for _, e in body.set)
        if request_path is not None:
            expressions.append(request_path)
        self._reads_body = request_body is not None or any(
            isinstance(p, ValueRef) and p.source == "body" for e in expressions for p in e
        )

    def folded(self) -> Integration | None:
        """The integration alone, sending fixed headers itself, when that is all this
        transform does: request headers removed, or set or appended with values that
        are fixed once stage variables are resolved. ``None`` otherwise."""
        ops = self._request_headers
        if (
            ops is None
            or self._overridable is None
            or ops.rename
            or self._request_query is not None
            or self._request_path is not None
            or self._request_body is not None
            or self._status
            or self._response_headers is not None
            or self._response_body is not None
        ):
            return None
        add: list[tuple[str, str]] = []
        for name, expression in (*ops.set, *ops.append):
            if not all(isinstance(piece, str) for piece in expression):
                return None  # a value read from each request
            add.append((name, _header_value("".join(str(piece) for piece in expression))))
        remove = frozenset(name.lower() for name in (*ops.remove, *(n for n, _ in ops.set)))
        return self._overridable.with_fixed_headers(remove, tuple(add))

    async def invoke(self, request: web.Request, body: bytes | None) -> web.StreamResponse:
        if body is None and self._reads_body and request.body_exists:
            # read through a clone: a request whose body was read cannot be cloned
            body = await read_body(request.clone())
        values = _Values(request, body)
        overrides = UpstreamOverrides()
        target = self._transform_request(request, values, overrides)
        if body is not None and self._request_body is not None and _is_json(request.content_type):
            body = _apply_body(body, self._request_body, values) or body
        if self._request_path is not None:
            overrides.path = "".join(
                p if isinstance(p, str) else _path_segment(values.get(p) or "")
                for p in self._request_path
            )
        changes_head = bool(self._status) or self._response_headers is not None
        if changes_head:
            target[STREAMED_RESPONSE_HOOK] = lambda response: self._response_head(response, values)
        overridable = self._overridable
        if overridable is not None:
            response = await overridable.invoke(target, body, overrides)
        else:
            response = await self._inner.invoke(target, body)
        if not response.prepared:
            if changes_head:
                self._response_head(response, values)
            if self._response_body is not None and isinstance(response, web.Response):
                self._response_payload(response, values)
        return response

    def _transform_request(
        self, request: web.Request, values: _Values, overrides: UpstreamOverrides
    ) -> web.Request:
        if self._request_headers is None and self._request_query is None:
            return request
        if self._request_headers is None:
            headers = None
        else:
            headers = CIMultiDict(request.headers)
            _apply_fields(headers, self._request_headers, values, headers=True)
        if self._request_query is None:
            rel_url = None
        else:
            query = MultiDict(request.query)
            _apply_fields(query, self._request_query, values, headers=False)
            rel_url = request.rel_url.with_query(list(query.items()))
        if self._overridable is not None:
            overrides.headers = headers
            overrides.url = rel_url
            return request
        if headers is not None and rel_url is not None:
            return request.clone(headers=headers, rel_url=rel_url)
        if headers is not None:
            return request.clone(headers=headers)
        assert rel_url is not None
        return request.clone(rel_url=rel_url)

    def _response_head(self, response: web.StreamResponse, values: _Values) -> None:
        status = self._status.get(response.status)
        if status is not None:
            response.set_status(status)
        if self._response_headers is not None:
            headers = CIMultiDict(response.headers)
            _apply_fields(headers, self._response_headers, values, headers=True)
            response.headers.clear()
            response.headers.extend(headers)

    def _response_payload(self, response: web.Response, values: _Values) -> None:
        assert self._response_body is not None
        payload = response.body
        if (
            not isinstance(payload, bytes)
            or len(payload) > RESPONSE_BODY_LIMIT
            or "Content-Encoding" in response.headers
            or not _is_json(response.headers.get("Content-Type"))
        ):
            return
        changed = _apply_body(payload, self._response_body, values)
        if changed is not None:
            response.headers.popall("ETag", None)  # it described the upstream's bytes
            response.body = changed
