"""Each operation runs only the feature middlewares that act on it (``scoped``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler, Middleware
from gatewright import runtime as gw
from gatewright.runtime.app import operation_chains
from gatewright.runtime.context import operation_scope, scoped
from route_support import invoking_route

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


def mock_route(operation_id: str) -> gw.Route:
    return invoking_route(operation_id, gw.MockSpec(body={"op": operation_id}, has_body=True))


def counting(seen: list[str], name: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(f"{name}:{request[gw.ROUTE_MATCH].operation_id}")
        return await handler(request)

    return middleware


async def test_scoped_middlewares_run_only_for_their_operations(
    aiohttp_client: ClientFactory,
) -> None:
    seen: list[str] = []
    everywhere = counting(seen, "all")
    only_a = scoped(counting(seen, "a"), ["a"])
    assert operation_scope(everywhere) is None
    assert operation_scope(only_a) == frozenset({"a"})
    app = gw.build_gateway_app(
        gw.ApiConfig(title="chains"),
        [mock_route("a"), mock_route("b")],
        stage="dev",
        env={},
        extra_middlewares=[everywhere, only_a],
    )
    client = await aiohttp_client(app)
    for path in ("/a", "/b"):
        resp = await client.get(path)
        assert resp.status == 200
        assert "X-Request-Id" in resp.headers
    assert seen == ["all:a", "a:a", "all:b"]


async def test_an_operation_no_middleware_acts_on_calls_its_handler_directly(
    aiohttp_client: ClientFactory,
) -> None:
    seen: list[str] = []
    app = gw.build_gateway_app(
        gw.ApiConfig(title="chains"),
        [mock_route("a"), mock_route("b")],
        stage="dev",
        env={},
        extra_middlewares=[scoped(counting(seen, "a"), ["a"])],
    )
    state = app[gw.GATEWAY_STATE]
    entries = [e for e in (state.locate("GET", "/a"), state.locate("GET", "/b")) if e is not None]
    assert len(entries) == 2
    chains = operation_chains([scoped(counting([], "a"), ["a"])], entries)
    assert chains["b"] is None
    assert chains["a"] is not None
    client = await aiohttp_client(app)
    assert (await client.get("/b")).status == 200
    assert (await client.get("/a")).status == 200
    assert seen == ["a:a"]
