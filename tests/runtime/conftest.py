"""Fixtures for runtime tests: a real redis-server, and store URLs over every backend.

``redis_url`` starts one ``redis-server`` for the session on a free loopback port
(no persistence). ``store_url`` parametrises a test over ``memory://`` and that
Redis, so one contract suite runs against both backends. ``redis_server`` gives a
test its own server that it may stop and start again (fault tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.context import PRINCIPAL, ROUTE_MATCH, Principal, RouteMatch
from gatewright.runtime.errors import GatewayError
from redis_support import REDIS_BINARY, RedisServer

__all__ = ["AppFactory"]

def _require_redis_binary() -> None:
    if not Path(REDIS_BINARY).exists():
        pytest.skip(f"redis-server not found at {REDIS_BINARY}; `make test` installs it")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_redis_binary()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis the test may kill and restart (same port)."""
    _require_redis_binary()
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def prefix() -> str:
    """A fresh Redis key prefix, so tests sharing the session server never collide."""
    return f"test:{uuid.uuid4().hex}:"


# --------------------------------------------------------------------------- a small gateway

# Stand-ins for the gateway's routing, authentication and error rendering, so the
# middlewares under test run in a real aiohttp app exactly as they will in one.

STATUS_BY_TYPE = {
    "ACCESS_DENIED": 403,
    "INVALID_API_KEY": 403,
    "QUOTA_EXCEEDED": 429,
    "THROTTLED": 429,
}

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]


@web.middleware
async def render_gateway_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        return web.json_response(
            {"message": exc.message, "type": exc.response_type},
            status=STATUS_BY_TYPE.get(exc.response_type, 500),
            headers=exc.headers,
        )


@web.middleware
async def route_and_identify(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/ops/{op}/{item}`` routes to operation ``op``; ``X-Principal`` names the caller."""
    request[ROUTE_MATCH] = RouteMatch(
        operation_id=request.match_info["op"],
        method=request.method,
        route="/ops/{op}/{item}",
        path_params={"item": request.match_info["item"]},
    )
    caller = request.headers.get("X-Principal")
    if caller:
        scopes = frozenset(request.headers.get("X-Scopes", "").split())
        request[PRINCIPAL] = Principal(id=caller, scheme="test", scopes=scopes)
    return await handler(request)


@pytest.fixture
def make_app() -> AppFactory:
    """Build an app: ``handlers`` by operation id, ``middlewares`` after routing and auth."""

    def build(handlers: Mapping[str, Handler], middlewares: Sequence[Middleware]) -> web.Application:
        table = dict(handlers)

        async def dispatch(request: web.Request) -> web.StreamResponse:
            return await table[request.match_info["op"]](request)

        app = web.Application(middlewares=[render_gateway_errors, route_and_identify, *middlewares])
        app.router.add_route("*", "/ops/{op}/{item}", dispatch)
        return app

    return build

