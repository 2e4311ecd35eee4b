"""Helpers shared by the auth tests (imported by conftest.py and the test modules).

The gateway app built by ``conftest.gateway`` is the auth middleware between a minimal
router (it sets ROUTE_MATCH, the real router's job) and an echo handler; GatewayErrors
are rendered with the default auth statuses, as the gateway-responses middleware does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.auth import AUTH_RESPONSE_STATUSES
from gatewright.runtime.context import PRINCIPAL, ROUTE_MATCH, RouteMatch
from gatewright.runtime.errors import GatewayError

ISSUER = "https://idp.test"
AUDIENCE = "orders-api"

ROUTES: Sequence[tuple[str, str, str]] = (
    ("GET", "/orders/{id}", "getOrder"),
    ("DELETE", "/orders/{id}", "deleteOrder"),
    ("POST", "/orders", "createOrder"),
    ("GET", "/reports/{name}", "getReport"),
    ("GET", "/health", "health"),
)

Client = TestClient[web.Request, web.Application]
GatewayFactory = Callable[[Middleware], Awaitable[Client]]


@dataclass
class SigningKeyPair:
    kid: str
    private_key: Any
    algorithm: str

    def public_jwk(self) -> dict[str, object]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, object] = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, use="sig")
        return jwk

    def token(self, **claims: object) -> str:
        now = int(time.time())
        payload: dict[str, object] = {
            "sub": "user-1",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(
            payload, self.private_key, algorithm=self.algorithm, headers={"kid": self.kid}
        )


@dataclass
class IdentityProvider:
    """A real JWKS + OIDC discovery endpoint whose key set tests can rotate."""

    keys: list[dict[str, object]] = field(default_factory=list)
    jwks_hits: int = 0
    discovery_hits: int = 0
    base_url: str = ""
    available: bool = True

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/jwks.json"

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def app(self) -> web.Application:
        async def jwks(request: web.Request) -> web.Response:
            self.jwks_hits += 1
            if not self.available:
                return web.Response(status=503)
            return web.json_response({"keys": self.keys})

        async def discovery(request: web.Request) -> web.Response:
            self.discovery_hits += 1
            return web.json_response({"issuer": ISSUER, "jwks_uri": self.jwks_uri})

        app = web.Application()
        app.router.add_get("/jwks.json", jwks)
        app.router.add_get("/.well-known/openid-configuration", discovery)
        return app


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


@web.middleware
async def render_gateway_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as error:
        return web.json_response(
            {"message": error.message, "type": error.response_type},
            status=AUTH_RESPONSE_STATUSES.get(error.response_type, 500),
            headers=error.headers,
        )


@web.middleware
async def route(request: web.Request, handler: Handler) -> web.StreamResponse:
    for method, template, operation_id in ROUTES:
        found = _route_pattern(template).match(request.path)
        if method == request.method and found:
            request[ROUTE_MATCH] = RouteMatch(operation_id, method, template, found.groupdict())
            break
    return await handler(request)


async def echo(request: web.Request) -> web.Response:
    principal = request.get(PRINCIPAL)
    return web.json_response(
        {
            "principal": None if principal is None else principal.id,
            "scheme": None if principal is None else principal.scheme,
            "scopes": [] if principal is None else sorted(principal.scopes),
            "context": {} if principal is None else dict(principal.context),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": (await request.read()).decode(),
        }
    )


def gateway_app(auth: Middleware) -> web.Application:
    app = web.Application(middlewares=[render_gateway_errors, route, auth])
    app.router.add_route("*", "/{tail:.*}", echo)
    return app
