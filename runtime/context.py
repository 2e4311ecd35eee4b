"""Per-request context shared by the gateway's middlewares.

Layer: runtime. Routing happens first; every later middleware (auth, throttling,
caching, transforms) reads what routing found from ``request[ROUTE_MATCH]`` and
what authentication established from ``request[PRINCIPAL]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["PRINCIPAL", "REQUEST_ID", "ROUTE_MATCH", "Principal", "RouteMatch"]


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The operation a request was routed to."""

    operation_id: str
    method: str  # the operation's method ("ANY" for the any-method route)
    route: str  # the path template, e.g. "/pets/{petId}", without basePath
    path_params: Mapping[str, str] = field(default_factory=dict)  # percent-decoded


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
