"""Header transforms with values fixed at start-up are sent by the http_proxy itself.

Such a transform is no per-request step: ``Transformed.build`` hands the headers to
the proxy, which adds them to the header copy it makes anyway. These tests check that
the folded form sends exactly what the general transform would, and that the
transforms the proxy cannot take over keep the general form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from gatewright import runtime as gw
from gatewright.runtime.proxy import HttpProxy
from gatewright.runtime.transform import TransformedIntegration
from route_support import invoking_route

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
SEEN = web.AppKey("seen", list[tuple[str, list[tuple[str, str]]]])


def recording_upstream() -> web.Application:
    app = web.Application()
    app[SEEN] = []

    async def record(request: web.Request) -> web.StreamResponse:
        request.app[SEEN].append((request.raw_path, list(request.headers.items())))
        return web.json_response({"ok": True})

    app.router.add_route("*", "/{tail:.*}", record)
    return app


def transformed_route(
    operation_id: str,
    headers: gw.FieldOps,
    url: tuple[gw.TemplatePart, ...] = (gw.StageVar("upstream"), gw.Text("/x")),
) -> gw.Route:
    return invoking_route(
        operation_id,
        gw.Transformed(gw.HttpProxySpec(url=url), request=gw.RequestTransform(headers=headers)),
    )


ROUTES: Sequence[gw.Route] = [
    # fixed values only: folded into the proxy
    transformed_route(
        "fixed",
        gw.FieldOps(
            set={"X-Stage": (gw.StageVar("name"),), "X-Pinned": ("a\r\nInjected: no",)},
            append={"Via": ("gatewright",)},
            remove=("X-Secret",),
        ),
    ),
    # a value read from each request: stays a transform
    transformed_route("perRequest", gw.FieldOps(set={"X-User": (gw.ValueRef("header", ("X-Name",)),)})),
    # a header the proxy sets itself: stays a transform, and the proxy's value wins
    transformed_route("proxyOwned", gw.FieldOps(set={"X-Request-Id": ("fixed",)})),
    # a header the upstream URL reads: stays a transform, so the URL sees the new value
    transformed_route(
        "urlReads",
        gw.FieldOps(set={"X-Tenant": ("acme",)}),
        url=(gw.StageVar("upstream"), gw.Text("/t/"), gw.RequestValue("header", "X-Tenant")),
    ),
]


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> tuple[TestClient[web.Request, web.Application], list[tuple[str, list[tuple[str, str]]]]]:
    upstream = await aiohttp_server(recording_upstream())
    config = gw.ApiConfig(
        title="folding",
        stages=(
            gw.Stage(name="dev", variables={"upstream": str(upstream.make_url("")).rstrip("/"), "name": "dev-1"}),
        ),
    )
    app = gw.build_gateway_app(config, ROUTES, stage="dev", env={})
    return await aiohttp_client(app), upstream.app[SEEN]


def integration_of(client: TestClient[web.Request, web.Application], path: str) -> gw.Integration:
    entry = client.server.app[gw.GATEWAY_STATE].locate("GET", path)
    assert entry is not None
    return entry.integration


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


async def test_fixed_header_transform_is_sent_by_the_proxy(
    gateway: tuple[TestClient[web.Request, web.Application], list[tuple[str, list[tuple[str, str]]]]],
) -> None:
    client, seen = gateway
    assert type(integration_of(client, "/fixed")) is HttpProxy
    resp = await client.get(
        "/fixed", headers={"X-Stage": "from-client", "X-Secret": "s", "Via": "client"}
    )
    assert resp.status == 200
    _, headers = seen[-1]
    assert values(headers, "X-Stage") == ["dev-1"]  # set replaces the client's value
    assert values(headers, "X-Pinned") == ["aInjected: no"]  # no header splitting
    assert values(headers, "Injected") == []
    assert values(headers, "Via") == ["client", "gatewright"]  # append keeps it
    assert values(headers, "X-Secret") == []
    assert len(values(headers, "X-Request-Id")) == 1


async def test_transforms_the_proxy_cannot_take_over_stay_transforms(
    gateway: tuple[TestClient[web.Request, web.Application], list[tuple[str, list[tuple[str, str]]]]],
) -> None:
    client, seen = gateway
    for path in ("/perRequest", "/proxyOwned", "/urlReads"):
        assert type(integration_of(client, path)) is TransformedIntegration, path

    await client.get("/perRequest", headers={"X-Name": "ada"})
    assert values(seen[-1][1], "X-User") == ["ada"]

    resp = await client.get("/proxyOwned")
    assert values(seen[-1][1], "X-Request-Id") == [resp.headers["X-Request-Id"]]

    await client.get("/urlReads", headers={"X-Tenant": "other"})
    path, headers = seen[-1]
    assert path == "/t/acme"
    assert values(headers, "X-Tenant") == ["acme"]
