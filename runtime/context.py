"""Per-request context shared by the gateway's middlewares.

Layer: runtime. Routing happens first; every later middleware (auth, throttling,
caching, transforms) reads what routing found from ``request[ROUTE_MATCH]`` and
what authentication established from ``request[PRINCIPAL]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = [
    "PRINCIPAL",
    "REQUEST_ID",
    "ROUTE_MATCH",
    "STREAM_HEAD",
    "Principal",
    "RouteMatch",
    "operation_scope",
    "scoped",
]


class RouteMatch(NamedTuple):
    """The operation a request was routed to.

    Immutable, and a named tuple rather than a frozen dataclass because one is built
    for every request to a path with parameters, and a frozen dataclass costs about
    twice as much to build.
    """

    operation_id: str
    method: str  # the operation's method ("ANY" for the any-method route)
    route: str  # the path template, e.g. "/pets/{petId}", without basePath
    path_params: Mapping[str, str] = MappingProxyType({})  # percent-decoded


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: set by authentication, used by caching, quotas and transforms."""

    id: str  # principalId: JWT sub, API key id, SigV4 access key, authorizer result
    scheme: str  # the security scheme key that authenticated it
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, object] = field(default_factory=dict)
    context: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    api_key_id: str | None = None  # the usage-plan identity, when a key was presented
    plan: str | None = None


ROUTE_MATCH = web.RequestKey("gatewright_route_match", RouteMatch)
PRINCIPAL = web.RequestKey("gatewright_principal", Principal)
REQUEST_ID = web.RequestKey("gatewright_request_id", str)

STREAM_HEAD: web.AppKey[Callable[[web.Request, web.StreamResponse], None]] = web.AppKey(
    "gatewright_stream_head"
)
"""Called on an answer a handler streams itself, just before its status line and headers
go out: what the gateway handler adds to the answers it returns (CORS headers) goes on
here, for the answers it never sees unsent."""


_SCOPE_ATTRIBUTE = "gatewright_operations"


def scoped(middleware: Middleware, operations: Iterable[str] | None) -> Middleware:
    """Declare that a feature middleware acts only on ``operations`` (``None``: on all).

    The gateway composes each operation's middlewares once, at start-up, and leaves
    out those that would only pass its requests on, so they cost nothing per request
    there. Only declare a scope where the middleware does nothing at all for the
    other operations.
    """
    if operations is not None:
        setattr(middleware, _SCOPE_ATTRIBUTE, frozenset(operations))
    return middleware


def operation_scope(middleware: Middleware) -> frozenset[str] | None:
    """The operations :func:`scoped` declared for ``middleware``; ``None`` for all."""
    scope: frozenset[str] | None = getattr(middleware, _SCOPE_ATTRIBUTE, None)
    return scope
