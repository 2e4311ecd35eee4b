"""CORS end to end through a real gateway: preflights, credentials, error answers, overrides."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer, unused_port
from edge_support import (
    DISPATCH_PATHS,
    ClientFactory,
    ServerFactory,
    dispatch_through,
    edge_gateway,
    route,
)
from gatewright import runtime as gw
from gatewright.runtime.cors import CorsPolicy, add_vary
from gatewright.runtime.stores import MemoryLimitStore
from gatewright.runtime.throttle import Limiter, TokenBucket, throttle_middleware
from multidict import CIMultiDict, CIMultiDictProxy

Client = TestClient[web.Request, web.Application]

APP = "https://app.example.com"
EVIL = "https://evil.example.net"

API_POLICY = CorsPolicy(
    allow_origins=(APP, "https://*.tenants.example.com", "http://localhost:*"),
    allow_methods=("GET", "POST", "PUT"),
    allow_headers=("X-Trace", "Content-Type", "Authorization"),
    expose_headers=("X-Request-Id", "RateLimit-Remaining"),
    allow_credentials=True,
    max_age_seconds=600,
)
ADMIN_ONLY = CorsPolicy(allow_origins=("https://admin.example.com",), allow_methods=("GET",))

UPSTREAM_CALLS = web.AppKey("upstream_calls", list[str])


def upstream_app() -> web.Application:
    app = web.Application()
    app[UPSTREAM_CALLS] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        request.app[UPSTREAM_CALLS].append(f"{request.method} {request.path}")
        # an upstream doing its own (wrong) CORS: the gateway's answer must win
        return web.json_response(
            {"ok": True},
            headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "DELETE"},
        )

    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def unauthorized(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    raise gw.GatewayError("UNAUTHORIZED", headers={"WWW-Authenticate": 'Bearer realm="edge"'})


async def streamed(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    await response.write(b"streamed body")
    await response.write_eof()
    return response


def gateway_routes(upstream_url: str) -> Sequence[gw.Route]:
    mock = gw.MockSpec(body={"pet": 1}, has_body=True)
    dead = f"http://127.0.0.1:{unused_port()}/nothing-listens-here"
    return [
        route("getPet", "GET", "/pets/{id}", mock),
        route("updatePet", "PUT", "/pets/{id}", mock),
        route("relay", "ANY", "/relay/{rest+}", gw.HttpProxySpec(url=(gw.Text(upstream_url + "/up"),))),
        route("secret", "GET", "/secret", mock, handler=unauthorized),
        route("limited", "GET", "/limited", mock),
        route("broken", "GET", "/broken", gw.HttpProxySpec(url=(gw.Text(dead),), timeout_ms=2000)),
        route("internal", "GET", "/internal", mock),
        route("admin", "GET", "/admin", mock),
        route("stream", "GET", "/stream", mock, handler=streamed),
    ]


@pytest.fixture
async def upstream(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(upstream_app())


@pytest.fixture(params=DISPATCH_PATHS)
async def client(
    upstream: TestServer, aiohttp_client: ClientFactory, request: pytest.FixtureRequest
) -> Client:
    limiter = Limiter(MemoryLimitStore(), fail_mode="closed", headers="ietf")
    throttle = throttle_middleware(
        limiter=limiter, operations={"limited": TokenBucket(rate=0.001, burst=1)}
    )
    app = edge_gateway(
        gateway_routes(str(upstream.make_url("")).rstrip("/")),
        cors=API_POLICY,
        cors_operations={"internal": None, "admin": ADMIN_ONLY},
        extra=[throttle],
    )
    return dispatch_through(await aiohttp_client(app), request.param)


def preflight_headers(
    origin: str = APP, method: str = "PUT", headers: str | None = "x-trace,content-type"
) -> dict[str, str]:
    out = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        out["Access-Control-Request-Headers"] = headers
    return out


def cors_headers(resp: ClientResponse) -> dict[str, str]:
    return {
        k.lower(): v for k, v in resp.headers.items() if k.lower().startswith("access-control-")
    }


def vary_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    lines = headers.getall("Vary", [])
    return {token.strip().lower() for line in lines for token in line.split(",") if token.strip()}


# ------------------------------------------------------------------ preflights


async def test_preflight_from_allowed_origin_is_answered_by_the_gateway(
    client: Client, upstream: TestServer
) -> None:
    resp = await client.options("/relay/pets/7", headers=preflight_headers())
    assert resp.status == 204
    assert cors_headers(resp) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, POST, PUT",
        "access-control-allow-headers": "X-Trace, Content-Type, Authorization",
        "access-control-max-age": "600",
    }
    assert {"origin", "access-control-request-method"} <= vary_tokens(resp.headers)
    assert await resp.read() == b""
    # answered before error rendering and routing: never sent upstream
    assert gw.ERROR_TYPE_HEADER not in resp.headers
    assert upstream.app[UPSTREAM_CALLS] == []


async def test_preflight_from_disallowed_origin_is_a_bare_403(client: Client) -> None:
    resp = await client.options("/pets/1", headers=preflight_headers(origin=EVIL))
    assert resp.status == 403
    assert cors_headers(resp) == {}
    assert "origin" in vary_tokens(resp.headers)


@pytest.mark.parametrize(
    ("method", "requested"),
    [("DELETE", None), ("PUT", "x-trace,x-not-allowed"), ("PUT", "bad header")],
)
async def test_preflight_asking_for_more_than_allowed_is_refused(
    client: Client, method: str, requested: str | None
) -> None:
    # DELETE is routable (ANY on /relay) but not in allow_methods
    resp = await client.options(
        "/relay/x", headers=preflight_headers(method=method, headers=requested)
    )
    assert resp.status == 403
    assert cors_headers(resp) == {}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://a.tenants.example.com", True),
        ("https://a.b.tenants.example.com", True),
        ("HTTPS://A.TENANTS.EXAMPLE.COM", True),
        ("https://tenants.example.com", False),
        ("https://eviltenants.example.com", False),
        ("https://a.tenants.example.com.evil.net", False),
        ("http://a.tenants.example.com", False),
        ("https://a.tenants.example.com:8443", False),
        ("http://localhost:5173", True),
        ("http://localhost", False),
        ("https://app.example.com/", False),
        ("https://app.example.com/path", False),
        ("null", False),
        ("https://app.example.com\r\nX-Injected: 1", False),
    ],
)
async def test_origin_patterns(client: Client, origin: str, allowed: bool) -> None:
    policy_says = API_POLICY.allows_origin(origin)
    assert policy_says is allowed
    if "\r" in origin:
        return  # not sendable as a header; the policy check above is the test
    resp = await client.options("/pets/1", headers=preflight_headers(origin=origin))
    assert resp.status == (204 if allowed else 403)
    if allowed:
        assert resp.headers["Access-Control-Allow-Origin"] == origin.lower()


async def test_preflight_needs_no_auth_and_is_never_throttled(client: Client) -> None:
    for _ in range(5):
        resp = await client.options("/limited", headers=preflight_headers(method="GET"))
        assert resp.status == 204
    # the one token of the bucket is still there for the real request
    assert (await client.get("/limited", headers={"Origin": APP})).status == 200
    refused = await client.get("/limited", headers={"Origin": APP})
    assert refused.status == 429
    # and the gateway's 429 is readable by the page
    assert refused.headers["Access-Control-Allow-Origin"] == APP
    assert refused.headers["Access-Control-Allow-Credentials"] == "true"
    assert "RateLimit-Remaining" in refused.headers["Access-Control-Expose-Headers"]
    # the operation itself demands auth; its preflight does not
    assert (await client.options("/secret", headers=preflight_headers(method="GET"))).status == 204


async def test_preflight_where_cors_is_off_goes_to_routing(client: Client) -> None:
    resp = await client.options("/internal", headers=preflight_headers(method="GET"))
    # no OPTIONS operation: routing answers 405, which no browser takes as a preflight pass
    assert resp.status == 405
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "METHOD_NOT_ALLOWED"
    assert "Access-Control-Allow-Methods" not in resp.headers
    # while the operation's own answers carry no CORS headers at all
    actual = await client.get("/internal", headers={"Origin": APP})
    assert actual.status == 200
    assert cors_headers(actual) == {}


async def test_preflight_for_unknown_path_or_method_goes_to_routing(client: Client) -> None:
    resp = await client.options("/nowhere", headers=preflight_headers(method="GET"))
    assert resp.status == 404
    resp = await client.options("/secret", headers=preflight_headers(method="POST"))
    assert resp.status == 405


async def test_plain_options_is_not_a_preflight(client: Client) -> None:
    resp = await client.options("/pets/1", headers={"Origin": APP})
    assert resp.status == 405
    assert resp.headers["Allow"]
    assert resp.headers["Access-Control-Allow-Origin"] == APP  # an actual answer, shared


async def test_operation_override_policy(client: Client) -> None:
    resp = await client.options("/admin", headers=preflight_headers(method="GET", headers=None))
    assert resp.status == 403
    admin = "https://admin.example.com"
    resp = await client.options(
        "/admin", headers=preflight_headers(origin=admin, method="GET", headers=None)
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == admin
    assert resp.headers["Access-Control-Allow-Methods"] == "GET"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    actual = await client.get("/admin", headers={"Origin": APP})
    assert actual.status == 200
    assert "Access-Control-Allow-Origin" not in actual.headers


# ------------------------------------------------------------------ actual answers


async def test_expect_100_continue_is_served_with_cors_headers(client: Client) -> None:
    resp = await client.post(
        "/relay/items", data=b'{"a": 1}', expect100=True, headers={"Origin": APP}
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == APP


async def test_actual_request_from_allowed_origin(client: Client) -> None:
    resp = await client.get("/pets/1", headers={"Origin": APP})
    assert resp.status == 200
    assert cors_headers(resp) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-Request-Id, RateLimit-Remaining",
    }
    assert "origin" in vary_tokens(resp.headers)


async def test_disallowed_origin_gets_no_cors_headers_but_vary(client: Client) -> None:
    resp = await client.get("/pets/1", headers={"Origin": EVIL})
    assert resp.status == 200
    assert cors_headers(resp) == {}
    assert "origin" in vary_tokens(resp.headers)


async def test_request_without_origin_still_varies_on_origin(client: Client) -> None:
    resp = await client.get("/pets/1")
    assert cors_headers(resp) == {}
    assert "origin" in vary_tokens(resp.headers)


async def test_upstream_cors_headers_are_replaced(client: Client) -> None:
    resp = await client.get("/relay/anything", headers={"Origin": APP})
    assert resp.status == 200
    assert resp.headers.getall("Access-Control-Allow-Origin") == [APP]
    assert "Access-Control-Allow-Methods" not in resp.headers
    resp = await client.get("/relay/anything", headers={"Origin": EVIL})
    assert cors_headers(resp) == {}


async def test_gateway_401_carries_cors_headers(client: Client) -> None:
    resp = await client.get("/secret", headers={"Origin": APP})
    assert resp.status == 401
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "UNAUTHORIZED"
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="edge"'
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert (await resp.json()) == {"message": "Unauthorized"}


async def test_gateway_502_from_unreachable_upstream_carries_cors_headers(client: Client) -> None:
    resp = await client.get("/broken", headers={"Origin": APP})
    assert resp.status == 502
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_FAILURE"
    assert resp.headers["Access-Control-Allow-Origin"] == APP


async def test_routing_errors_use_the_api_policy(client: Client) -> None:
    resp = await client.get("/nowhere", headers={"Origin": APP})
    assert resp.status == 404
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    resp = await client.delete("/secret", headers={"Origin": APP})
    assert resp.status == 405
    assert resp.headers["Access-Control-Allow-Origin"] == APP


async def test_streamed_answers_get_headers_from_the_prepare_hook(client: Client) -> None:
    resp = await client.get("/stream", headers={"Origin": APP})
    assert resp.status == 200
    assert await resp.read() == b"streamed body"
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "origin" in vary_tokens(resp.headers)


async def test_base_path_is_honoured_by_preflights(
    aiohttp_client: ClientFactory, upstream: TestServer
) -> None:
    app = edge_gateway(
        gateway_routes(str(upstream.make_url("")).rstrip("/")), cors=API_POLICY, base_path="/v1"
    )
    client = await aiohttp_client(app)
    assert (await client.options("/v1/pets/1", headers=preflight_headers())).status == 204
    assert (await client.options("/pets/1", headers=preflight_headers())).status == 404


# ------------------------------------------------------------------ wildcards


async def test_any_origin_without_credentials_is_a_literal_star(
    aiohttp_client: ClientFactory,
) -> None:
    policy = CorsPolicy(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    app = edge_gateway([route("getPet", "GET", "/pets/{id}", gw.MockSpec())], cors=policy)
    client = await aiohttp_client(app)
    resp = await client.get("/pets/1", headers={"Origin": EVIL})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "origin" not in vary_tokens(resp.headers)  # the answer is the same for everyone
    pre = await client.options(
        "/pets/1", headers=preflight_headers(origin=EVIL, method="GET", headers="authorization,x-a")
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert pre.headers["Access-Control-Allow-Methods"] == "*"
    # a literal "*" would not cover Authorization, so the requested names are echoed
    assert pre.headers["Access-Control-Allow-Headers"] == "authorization, x-a"


async def test_any_origin_with_credentials_echoes_and_never_sends_a_star(
    aiohttp_client: ClientFactory,
) -> None:
    policy = CorsPolicy(
        allow_origins=("*",), allow_methods=("*",), allow_headers=("*",), allow_credentials=True
    )
    app = edge_gateway([route("getPet", "GET", "/pets/{id}", gw.MockSpec())], cors=policy)
    client = await aiohttp_client(app)
    pre = await client.options(
        "/pets/1", headers=preflight_headers(origin=EVIL, method="GET", headers="x-a")
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == EVIL
    assert pre.headers["Access-Control-Allow-Methods"] == "GET"
    assert pre.headers["Access-Control-Allow-Headers"] == "x-a"
    assert "origin" in vary_tokens(pre.headers)
    resp = await client.get("/pets/1", headers={"Origin": EVIL})
    assert resp.headers["Access-Control-Allow-Origin"] == EVIL
    assert "*" not in {v for k, v in resp.headers.items() if k.lower().startswith("access-")}


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"allow_origins": ()}, "empty"),
        ({"allow_origins": ("https://app.example.com/",)}, "no path"),
        ({"allow_origins": ("app.example.com",)}, "scheme://host"),
        ({"allow_origins": ("https://*.com",)}, "registrable domain"),
        ({"allow_origins": ("https://ex*.com",)}, "whole host label"),
        ({"allow_origins": ("https://a.*.example.com",)}, "leftmost"),
        ({"allow_origins": ("https://app.example.com:http",)}, "port"),
        ({"allow_origins": ("null",)}, "sandboxed"),
        ({"allow_origins": (APP,), "allow_headers": ("X Bad",)}, "HTTP token"),
        (
            {"allow_origins": (APP,), "expose_headers": ("*",), "allow_credentials": True},
            "cannot be '*'",
        ),
        ({"allow_origins": (APP,), "max_age_seconds": -1}, ">= 0"),
    ],
)
def test_bad_policies_fail_at_start_up(settings: dict[str, object], complaint: str) -> None:
    with pytest.raises(gw.ConfigurationError, match=complaint):
        CorsPolicy(**settings)  # type: ignore[arg-type]


def test_vary_is_merged_not_duplicated() -> None:
    headers: CIMultiDict[str] = CIMultiDict([("Vary", "Accept-Encoding"), ("Vary", "origin")])
    add_vary(headers, "Origin")
    assert headers.getall("Vary") == ["Accept-Encoding", "origin"]  # already there: untouched
    add_vary(headers, "Accept")
    assert headers.getall("Vary") == ["Accept-Encoding, origin, Accept"]
    star: CIMultiDict[str] = CIMultiDict(Vary="*")
    add_vary(star, "Origin")
    assert star["Vary"] == "*"
