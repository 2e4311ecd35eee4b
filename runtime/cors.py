"""Cross-origin resource sharing, answered by the gateway as the Fetch standard describes.

Layer: runtime (aiohttp, stdlib). Must not import ``gatewright.compiler`` or any
build-time package.

One :class:`CorsPolicy` per API, overridden or switched off per operation, is built
into a :class:`Cors` by :func:`cors_for`. It has two parts:

- :meth:`Cors.preflight` answers preflights. A generated gateway calls it first
  thing in its one handler (``gatewright.runtime.app.gateway_handler``), before error
  rendering, routing, auth and throttling; apps assembled by hand put
  :meth:`Cors.middleware` outside everything else instead.
- :meth:`Cors.decorate` adds the CORS headers to every other answer before it is
  sent. A generated gateway's handler calls it on what it returns, whether an
  operation answered or the gateway rendered an error, and the proxy calls
  :meth:`Cors.decorate_routed` (through :data:`~gatewright.runtime.context.STREAM_HEAD`)
  on an answer it streams, just before streaming starts: a plain call per request, where a prepare hook
  costs two coroutines. Apps assembled by hand put :meth:`Cors.on_response_prepare`
  into ``app.on_response_prepare`` instead.

Behaviour:

- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
  is located with the *requested* method and answered here, before error
  rendering, routing, auth and throttling: it is never sent upstream, never
  counted and needs no credentials. A preflight the policy allows gets ``204``;
  one from a disallowed origin, or asking for a method or header the policy does
  not allow, gets ``403`` with no CORS headers, which is how the Fetch standard
  (§3.2.3, "HTTP responses") lets a server say it does not share. A preflight for
  a path or method no operation answers, or for an operation whose CORS is off,
  goes on to routing like any request (404, 405, or the spec's own ``OPTIONS``).
- Every other answer (including the gateway's own 401, 403, 404, 429, 5xx) gets
  ``Access-Control-Allow-Origin`` when the request's origin is allowed, with the
  policy of the routed operation, or the API policy when routing did not get that
  far. CORS headers an upstream sent are removed wherever the gateway does CORS,
  so a browser never sees two conflicting answers.
- With credentials allowed, ``*`` is never sent: the origin is echoed, and ``*``
  in allowed methods or headers echoes what the preflight asked for.
- ``Vary: Origin`` is on every answer whose CORS headers depend on the origin,
  including answers to requests without ``Origin`` (a shared cache must not reuse
  them across origins).

Origin patterns: ``https://app.example.com`` (exact), ``*`` (any origin),
``https://*.example.com`` (one or more labels in front of ``example.com``, never
``example.com`` itself) and ``http://localhost:*`` (any port).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, istr

from .context import ROUTE_MATCH
from .errors import ConfigurationError
from .integration import RouteEntry
from .router import Router

__all__ = [
    "Cors",
    "CorsPolicy",
    "OperationLocator",
    "add_vary",
    "cors_for",
    "operation_locator",
]

OperationLocator = Callable[[str, str], str | None]
"""``(method, raw path) -> operation id``: which operation would answer this request."""

_VARY = istr(hdrs.VARY)
_ALLOW_ORIGIN = istr("Access-Control-Allow-Origin")
_ALLOW_CREDENTIALS = istr("Access-Control-Allow-Credentials")
_ALLOW_METHODS = istr("Access-Control-Allow-Methods")
_ALLOW_HEADERS = istr("Access-Control-Allow-Headers")
_EXPOSE_HEADERS = istr("Access-Control-Expose-Headers")
_MAX_AGE = istr("Access-Control-Max-Age")
_REQUEST_METHOD = istr("Access-Control-Request-Method")
_REQUEST_HEADERS = istr("Access-Control-Request-Headers")
_RESPONSE_CORS_HEADERS = frozenset(
    (_ALLOW_ORIGIN, _ALLOW_CREDENTIALS, _ALLOW_METHODS, _ALLOW_HEADERS, _EXPOSE_HEADERS, _MAX_AGE)
)
_PREFLIGHT_VARY = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_LABEL = re.compile(r"[a-z0-9-]+|\[[0-9a-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")
# SECURITY: an Origin is echoed into a header, so only a serialized origin
# (scheme "://" host [":" port], RFC 6454) is ever compared or echoed.
_SERIALIZED_ORIGIN = re.compile(
    r"[a-z][a-z0-9+.-]*://(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?"
)
_ANY_LABELS = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*"
_VERDICT_CACHE_SIZE = 1024


def _origin_pattern(entry: str) -> re.Pattern[str] | str:
    """An allowed-origin entry as an exact lower-case origin or a compiled pattern."""
    text = entry.strip().lower()
    scheme, sep, authority = text.partition("://")
    problem = None
    labels: list[str] = []
    colon = port = ""
    if not sep or not _SCHEME.fullmatch(scheme) or not authority:
        problem = "it is not scheme://host[:port]"
    elif any(c in authority for c in "/?#@ "):
        problem = "an origin has no path, query, user or trailing slash"
    if problem is None:
        host = authority
        if not authority.endswith("]") and ":" in authority:
            host, colon, port = authority.rpartition(":")
        labels = host.split(".") if not host.startswith("[") else [host]
        if not all(label == "*" or _LABEL.fullmatch(label) for label in labels):
            problem = "a wildcard must be a whole host label, as in https://*.example.com"
        elif "*" in labels[1:]:
            problem = "only the leftmost host label may be a wildcard"
        elif labels[0] == "*" and len(labels) < 3:
            problem = "a wildcard cannot stand for the registrable domain"
        elif colon and port != "*" and not _PORT.fullmatch(port):
            problem = "the port must be digits or *"
    if problem is not None:
        raise ConfigurationError(f"CORS allowed origin {entry!r} is invalid: {problem}")
    if "*" not in authority:
        return text
    parts = [re.escape(scheme), "://"]
    parts.append(r"\.".join(_ANY_LABELS if label == "*" else re.escape(label) for label in labels))
    if colon:
        parts.append(":" + (r"[0-9]{1,5}" if port == "*" else re.escape(port)))
    return re.compile("".join(parts))


def _tokens(values: Iterable[str], *, what: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if value != "*" and not _TOKEN.fullmatch(value):
            raise ConfigurationError(f"CORS {what} entry {value!r} is not an HTTP token")
        out.append(value)
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsPolicy:
    """The CORS settings of an API or one operation (``x-gateway.cors``).

    >>> CorsPolicy(allow_origins=("https://*.example.com",), allow_headers=("X-Trace",),
    ...            allow_credentials=True, max_age_seconds=600)  # doctest: +ELLIPSIS
    CorsPolicy(allow_origins=('https://*.example.com',), ...)
    """

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_seconds: int | None = None

    # Derived once in __post_init__; the request path only does set lookups.
    _exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _any_origin: bool = field(init=False, repr=False, compare=False)
    _methods: frozenset[str] = field(init=False, repr=False, compare=False)
    _any_method: bool = field(init=False, repr=False, compare=False)
    _headers: frozenset[str] = field(init=False, repr=False, compare=False)
    _any_header: bool = field(init=False, repr=False, compare=False)
    _methods_value: str = field(init=False, repr=False, compare=False)
    _headers_value: str = field(init=False, repr=False, compare=False)
    _expose_value: str = field(init=False, repr=False, compare=False)
    # Origin -> allowed: a page's origin repeats on every call it makes.
    _verdicts: dict[str, bool] = field(init=False, repr=False, compare=False)
    # Origin -> the headers an actual answer gets (none for a disallowed origin)
    _decorations: dict[str, tuple[tuple[istr, str], ...]] = field(
        init=False, repr=False, compare=False
    )
    _varies: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.allow_origins:
            raise ConfigurationError(
                "CORS allow_origins is empty; list origins, or switch CORS off for the operation"
            )
        exact: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        any_origin = False
        for entry in self.allow_origins:
            if entry.strip() == "*":
                any_origin = True
                continue
            if entry.strip().lower() == "null":
                raise ConfigurationError(
                    "CORS allowed origin 'null' is refused: every sandboxed document and "
                    "file: page sends it, so allowing it allows any site"
                )
            compiled = _origin_pattern(entry)
            if isinstance(compiled, str):
                exact.add(compiled)
            else:
                patterns.append(compiled)
        methods = tuple(m.upper() for m in _tokens(self.allow_methods, what="allowed method"))
        headers = _tokens(self.allow_headers, what="allowed header")
        expose = _tokens(self.expose_headers, what="exposed header")
        if self.allow_credentials and "*" in expose:
            raise ConfigurationError(
                "CORS exposed headers cannot be '*' when credentials are allowed: browsers "
                "read it as a header named '*'; list the header names"
            )
        if self.max_age_seconds is not None and self.max_age_seconds < 0:
            raise ConfigurationError(
                f"CORS max_age_seconds must be >= 0, got {self.max_age_seconds!r}"
            )
        assign = object.__setattr__
        assign(self, "_exact", frozenset(exact))
        assign(self, "_patterns", tuple(patterns))
        assign(self, "_any_origin", any_origin)
        assign(self, "_methods", frozenset(m for m in methods if m != "*"))
        assign(self, "_any_method", "*" in methods)
        assign(self, "_headers", frozenset(h.lower() for h in headers if h != "*"))
        assign(self, "_any_header", "*" in headers)
        assign(self, "_methods_value", ", ".join(dict.fromkeys(m for m in methods if m != "*")))
        assign(self, "_headers_value", ", ".join(dict.fromkeys(h for h in headers if h != "*")))
        assign(self, "_expose_value", ", ".join(dict.fromkeys(expose)))
        assign(self, "_verdicts", {})
        assign(self, "_decorations", {})
        assign(self, "_varies", self.allow_credentials or not any_origin)

    @property
    def varies_by_origin(self) -> bool:
        """True when the answer names the origin (so responses carry ``Vary: Origin``)."""
        return self._varies

    def allows_origin(self, origin: str) -> bool:
        """Whether the serialized ``origin`` (an ``Origin`` header value) may read answers."""
        known = self._verdicts.get(origin)
        if known is not None:
            return known
        lowered = origin.lower()
        verdict = _SERIALIZED_ORIGIN.fullmatch(lowered) is not None and (
            self._any_origin
            or lowered in self._exact
            or any(pattern.fullmatch(lowered) for pattern in self._patterns)
        )
        verdicts = self._verdicts
        if len(verdicts) >= _VERDICT_CACHE_SIZE:
            # callers choose the Origin header: never let them grow this without bound
            verdicts.clear()
        verdicts[origin] = verdict
        return verdict

    def _allow_origin_value(self, origin: str) -> str:
        return origin if self._varies else "*"

    def decorate(self, headers: CIMultiDict[str], origin: str | None) -> None:
        """Add this policy's CORS headers for an actual (non-preflight) answer."""
        if not headers.keys().isdisjoint(_RESPONSE_CORS_HEADERS):
            # an upstream's own CORS answer would contradict the gateway's: dropped
            for name in _RESPONSE_CORS_HEADERS:
                headers.popall(name, None)
        if origin is None:
            if self._varies:
                add_vary(headers, "Origin")
            return
        decoration = self._decorations.get(origin)
        if decoration is None:
            decoration = self._decoration(origin)
        # a decoration starts with "Vary: Origin" when answers vary by origin
        if self._varies and hdrs.VARY in headers:
            add_vary(headers, "Origin")
            decoration = decoration[1:]
        if decoration:
            headers.extend(decoration)

    def _decoration(self, origin: str) -> tuple[tuple[istr, str], ...]:
        pairs = [(_VARY, "Origin")] if self._varies else []
        if self.allows_origin(origin):
            pairs.append((_ALLOW_ORIGIN, self._allow_origin_value(origin)))
            if self.allow_credentials:
                pairs.append((_ALLOW_CREDENTIALS, "true"))
            if self._expose_value:
                pairs.append((_EXPOSE_HEADERS, self._expose_value))
        decoration = tuple(pairs)
        decorations = self._decorations
        if len(decorations) >= _VERDICT_CACHE_SIZE:
            decorations.clear()  # callers choose the Origin header: bounded
        decorations[origin] = decoration
        return decoration

    def preflight(self, origin: str, method: str, requested: str | None) -> web.Response:
        """The answer to a preflight: 204 when allowed, a bare 403 otherwise."""
        headers: CIMultiDict[str] = CIMultiDict()
        for name in _PREFLIGHT_VARY:
            add_vary(headers, name)
        names = [n.strip().lower() for n in (requested or "").split(",") if n.strip()]
        allowed = (
            self.allows_origin(origin)
            and _TOKEN.fullmatch(method) is not None
            and (self._any_method or method.upper() in self._methods)
            and all(
                _TOKEN.fullmatch(n) is not None and (self._any_header or n in self._headers)
                for n in names
            )
        )
        if not allowed:
            return web.Response(status=403, text="CORS preflight refused", headers=headers)
        headers[_ALLOW_ORIGIN] = self._allow_origin_value(origin.lower())
        if self.allow_credentials:
            headers[_ALLOW_CREDENTIALS] = "true"
        if self._any_method:
            # "*" is only a wildcard without credentials; naming the method always works
            headers[_ALLOW_METHODS] = method if self.allow_credentials else "*"
        else:
            headers[_ALLOW_METHODS] = self._methods_value
        if names:
            # Echoing what was asked is what "*" means here; it also covers
            # Authorization, which a literal "*" never does.
            headers[_ALLOW_HEADERS] = ", ".join(names) if self._any_header else self._headers_value
        if self.max_age_seconds is not None:
            headers[_MAX_AGE] = str(self.max_age_seconds)
        return web.Response(status=204, headers=headers)


def add_vary(headers: CIMultiDict[str], name: str) -> None:
    """Add ``name`` to ``Vary`` unless it is there (or ``*`` is); adding folds the lines into one."""
    if hdrs.VARY not in headers:
        headers[hdrs.VARY] = name
        return
    present = [
        token.strip() for line in headers.getall(hdrs.VARY, ()) for token in line.split(",")
    ]
    present = [token for token in present if token]
    if "*" in present or name.lower() in (token.lower() for token in present):
        return
    headers[hdrs.VARY] = ", ".join([*present, name])


class Cors:
    """CORS for one API, built by :func:`cors_for`: preflight answers and answer headers."""

    __slots__ = ("_default", "_locate", "_operations")

    def __init__(
        self,
        default: CorsPolicy | None,
        operations: Mapping[str, CorsPolicy | None],
        locate: OperationLocator,
    ) -> None:
        self._default = default
        self._operations = operations
        self._locate = locate

    def preflight(self, request: web.BaseRequest) -> web.Response | None:
        """The answer to ``request`` when it is a preflight this API's CORS answers.

        ``None`` for every other request, including preflights for a path or method
        no operation answers, or for an operation whose CORS is off: those go on to
        routing like any request.
        """
        if request.method != hdrs.METH_OPTIONS:
            return None
        headers = request.headers
        origin = headers.get(hdrs.ORIGIN)
        requested_method = headers.get(_REQUEST_METHOD)
        if origin is None or requested_method is None:
            return None
        operation_id = self._locate(requested_method, request.rel_url.raw_path)
        if operation_id is None:
            return None
        own = self._operations.get(operation_id, self._default)
        if own is None:
            return None
        request[_PREFLIGHT_ANSWERED] = True  # the prepare hook leaves this answer alone
        return own.preflight(origin, requested_method, headers.get(_REQUEST_HEADERS))

    def decorate(
        self, request: web.BaseRequest, response: web.StreamResponse, operation_id: str | None
    ) -> None:
        """Add the CORS headers to ``response`` (not a preflight answer) before it is sent.

        The policy is the one of ``operation_id``, or the API's when the request
        reached no operation (``None``: 404, 405, 414, ...).
        """
        if operation_id is None:
            policy = self._default
        else:
            policy = self._operations.get(operation_id, self._default)
        if policy is not None:
            policy.decorate(response.headers, request.headers.get(hdrs.ORIGIN))

    def decorate_routed(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        """:meth:`decorate` with the policy of the operation routing found for ``request``
        (``request[ROUTE_MATCH]``), for an answer the gateway handler does not return
        itself (the proxy streams it: :data:`~gatewright.runtime.context.STREAM_HEAD`)."""
        match = request.get(ROUTE_MATCH)
        self.decorate(request, response, None if match is None else match.operation_id)

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """``app.on_response_prepare`` hook, for apps assembled by hand: the CORS headers
        of every answer but preflights, with the routed operation's policy."""
        if request.method == hdrs.METH_OPTIONS and request.get(_PREFLIGHT_ANSWERED):
            return
        self.decorate_routed(request, response)

    def middleware(self) -> Middleware:
        """A middleware answering preflights, for an app with no gateway handler to do it.

        Put it outside every other middleware.
        """

        @web.middleware
        async def cors_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
            answer = self.preflight(request)
            if answer is not None:
                return answer
            return await handler(request)

        return cors_preflight


_PREFLIGHT_ANSWERED = web.RequestKey("gatewright_cors_preflight_answered", bool)


def cors_for(
    *,
    policy: CorsPolicy | None,
    locate: OperationLocator,
    operations: Mapping[str, CorsPolicy | None] | None = None,
) -> Cors | None:
    """CORS for one API: ``policy`` applies to every operation not in ``operations``.

    ``operations`` maps operation ids to their own policy, or to ``None`` to switch
    CORS off there. ``locate`` tells which operation a preflight is for (see
    :func:`operation_locator`). ``None`` when CORS is off everywhere.
    """
    own = dict(operations or {})
    if policy is None and not any(p is not None for p in own.values()):
        return None
    return Cors(policy, own, locate)


def operation_locator(router: Router[RouteEntry], *, base_path: str = "") -> OperationLocator:
    """A locator over the gateway's own router, so preflights match exactly as routing does.

    ``base_path`` is stripped first, as the routing middleware strips it.
    """
    base = base_path.rstrip("/")
    prefix = base + "/"

    def locate(method: str, raw_path: str) -> str | None:
        if base:
            if raw_path == base:
                raw_path = "/"
            elif raw_path.startswith(prefix):
                raw_path = raw_path[len(base) :]
            else:
                return None
        found = router.match(method.upper(), raw_path)
        if isinstance(found, tuple):
            entry, _values = found
            return entry.route.operation_id
        return None

    return locate
