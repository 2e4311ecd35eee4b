"""http_proxy against a real upstream: headers, ids, cookies, timeouts, failures, retries, streaming."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port
from gatewright import runtime as gw
from gatewright.runtime import proxy
from multidict import CIMultiDict

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

CALLS = web.AppKey("calls", dict[str, int])


def upstream_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[CALLS] = {}

    def count(request: web.Request, name: str) -> int:
        calls = request.app[CALLS]
        calls[name] = calls.get(name, 0) + 1
        return calls[name]

    async def echo(request: web.Request) -> web.StreamResponse:
        count(request, "echo")
        body = await request.read()
        resp = web.json_response(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "headers": {k: v for k, v in request.headers.items()},
                "body_len": len(body),
            }
        )
        resp.headers["Keep-Alive"] = "timeout=5"
        resp.headers["Proxy-Authenticate"] = "Basic"
        resp.headers["X-Upstream"] = "yes"
        return resp

    async def set_cookie(request: web.Request) -> web.StreamResponse:
        resp = web.Response(text="set")
        resp.set_cookie("session", "alice-secret")
        return resp

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.Response(text="late")

    async def flaky(request: web.Request) -> web.StreamResponse:
        if count(request, "flaky") <= 2:
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(1)
        return web.Response(text="finally")

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(32):
            await resp.write(b"x" * 32 * 1024)
        await resp.write_eof()
        return resp

    app.router.add_route("*", "/echo/{tail:.*}", echo)
    app.router.add_get("/set-cookie", set_cookie)
    app.router.add_get("/slow", slow)
    app.router.add_route("*", "/flaky", flaky)
    app.router.add_get("/big", big)
    return app


def received_headers(echoed: Any) -> CIMultiDict[str]:
    return CIMultiDict(echoed["headers"])


async def proxy_handler(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    return await integration.invoke(request, None)


def proxy_route(
    op: str,
    method: str,
    segments: tuple[gw.Segment, ...],
    path: tuple[gw.TemplatePart, ...],
    **spec: Any,
) -> gw.Route:
    return gw.Route(
        operation_id=op,
        method=method,
        path="/" + "/".join(v for _, v in segments),
        segments=segments,
        handler=proxy_handler,
        integration=gw.HttpProxySpec(url=(gw.StageVar("upstream"), *path), **spec),
    )


ROUTES: Sequence[gw.Route] = [
    proxy_route(
        "getPet",
        "GET",
        (("static", "pets"), ("param", "id")),
        (gw.Text("/echo/pets/"), gw.RequestValue("path", "id")),
    ),
    proxy_route(
        "anyFiles",
        "ANY",
        (("static", "files"), ("greedy", "rest")),
        (gw.Text("/echo/files/"), gw.RequestValue("path", "rest")),
    ),
    proxy_route("setCookie", "GET", (("static", "set-cookie"),), (gw.Text("/set-cookie"),)),
    proxy_route("whoami", "GET", (("static", "whoami"),), (gw.Text("/echo/whoami"),)),
    proxy_route("slow", "GET", (("static", "slow"),), (gw.Text("/slow"),), timeout_ms=200),
    proxy_route("flakyGet", "GET", (("static", "flaky"),), (gw.Text("/flaky"),), retries=2),
    proxy_route("flakyPost", "POST", (("static", "flaky"),), (gw.Text("/flaky"),), retries=2),
    proxy_route("big", "GET", (("static", "big"),), (gw.Text("/big"),)),
    proxy_route(
        "upload",
        "POST",
        (("static", "upload"),),
        (gw.Text("/echo/upload"),),
    ),
]


def gateway(upstream_url: str, routes: Sequence[gw.Route] = ROUTES, **api: Any) -> web.Application:
    config = gw.ApiConfig(
        title="proxy test",
        stages=(gw.Stage(name="dev", variables={"upstream": "${env.UPSTREAM_URL}"}),),
        **api,
    )
    return gw.build_gateway_app(config, routes, stage="dev", env={"UPSTREAM_URL": upstream_url})


@pytest.fixture
async def upstream(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(upstream_app())


# Every test runs on both ways the client pool sends: through aiohttp's connector
# directly (what this aiohttp supports) and through ClientSession.request (the path
# an aiohttp without those pieces gets).
@pytest.fixture(params=["direct", "session"])
def send_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "session":
        monkeypatch.setattr(proxy, "DIRECT_SEND", False)
    return str(request.param)


@pytest.fixture
async def client(
    upstream: TestServer, aiohttp_client: ClientFactory, send_path: str
) -> TestClient[web.Request, web.Application]:
    app = gateway(str(upstream.make_url("")).rstrip("/"))
    test_client = await aiohttp_client(app)
    assert app[proxy.CLIENT_POOL].direct is (send_path == "direct")
    return test_client


def test_this_aiohttp_takes_the_direct_path() -> None:
    # an aiohttp upgrade that changes the pieces ClientPool.send uses turns this red
    # (the gateway still works, through ClientSession.request, but costs more CPU)
    assert proxy.DIRECT_SEND


async def stale_connection_upstream() -> tuple[asyncio.Server, list[int]]:
    """An upstream that answers the first request on each connection and then, like a
    server whose idle timeout fired just as the next request left, closes the
    connection on the second one without answering. Counts requests per connection."""
    requests_per_connection: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests_per_connection.append(0)
        index = len(requests_per_connection) - 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"content-length:" in head.lower():
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    await reader.readexactly(length)
                requests_per_connection[index] += 1
                if requests_per_connection[index] > 1:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, requests_per_connection


async def test_a_body_that_ends_when_the_upstream_closes_is_relayed_whole(
    aiohttp_client: ClientFactory, send_path: str
) -> None:
    # HTTP/1.1 allows a response with neither Content-Length nor chunked framing: its
    # body is everything until the connection closes (RFC 9112 section 6.3)
    body = b"close-delimited " * 1000

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
        writer.write(body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    routes = [proxy_route("get", "GET", (("static", "x"),), (gw.Text("/x"),))]
    async with server:
        client = await aiohttp_client(gateway(f"http://127.0.0.1:{port}", routes))
        resp = await client.get("/x")
        assert resp.status == 200
        assert await resp.read() == body


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_kept_alive_connection_the_upstream_closed_is_retried_when_idempotent(
    aiohttp_client: ClientFactory, send_path: str, method: str
) -> None:
    server, requests_per_connection = await stale_connection_upstream()
    port = server.sockets[0].getsockname()[1]
    routes = [
        proxy_route("get", "GET", (("static", "x"),), (gw.Text("/x"),)),
        proxy_route("post", "POST", (("static", "x"),), (gw.Text("/x"),)),
    ]
    async with server:
        client = await aiohttp_client(gateway(f"http://127.0.0.1:{port}", routes))
        first = await client.request(method, "/x", data=b"{}" if method == "POST" else None)
        assert first.status == 200
        second = await client.request(method, "/x", data=b"{}" if method == "POST" else None)
        if method == "GET":
            # sent again on a new connection, which answers
            assert second.status == 200
            assert await second.text() == "ok"
            assert requests_per_connection == [2, 1]
        else:
            # a POST may have had its effect: never sent twice
            assert second.status == 502
            assert second.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_FAILURE"
            assert requests_per_connection == [2]


async def test_path_parameter_is_encoded_and_query_passes_through(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/pets/a%2Fb%20c?limit=5&tag=x%26y")
    assert resp.status == 200
    body = await resp.json()
    assert body["raw_path"] == "/echo/pets/a%2Fb%20c?limit=5&tag=x%26y"


async def test_greedy_value_keeps_slashes_but_not_dot_segments(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = await (await client.get("/files/a/b/c.txt")).json()
    assert body["raw_path"] == "/echo/files/a/b/c.txt"
    # sent over a raw socket: aiohttp's client would normalise the dot segments itself
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"GET /files/a/%2E%2E/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    # an encoded dot segment never matches: URL parsers that follow the WHATWG
    # standard would read "%2E%2E" upstream as ".." and climb out of the base path
    assert answer.startswith(b"HTTP/1.1 404 ")


async def test_hop_by_hop_headers_are_dropped_both_ways(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get(
        "/pets/1",
        headers={
            "Connection": "keep-alive, X-Drop-Me",
            "X-Drop-Me": "secret",
            "TE": "trailers",
            "Proxy-Authorization": "Basic eA==",
            "X-Keep-Me": "kept",
        },
    )
    received = {k.lower() for k in received_headers(await resp.json())}
    assert "x-drop-me" not in received
    assert "te" not in received
    assert "proxy-authorization" not in received
    assert "x-keep-me" in received
    assert "Keep-Alive" not in resp.headers
    assert "Proxy-Authenticate" not in resp.headers
    assert resp.headers["X-Upstream"] == "yes"


async def test_forwarded_headers_are_set(client: TestClient[web.Request, web.Application]) -> None:
    resp = await client.get(
        "/pets/1", headers={"X-Forwarded-For": "10.0.0.1", "Host": "api.example"}
    )
    headers = received_headers(await resp.json())
    assert headers["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Host"] == "api.example"


async def test_request_id_is_propagated_or_generated_and_returned(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/pets/1", headers={"X-Request-Id": "abc-123"})
    assert received_headers(await resp.json())["X-Request-Id"] == "abc-123"
    assert resp.headers["X-Request-Id"] == "abc-123"
    resp = await client.get("/pets/1", headers={"X-Request-Id": "bad id\twith junk"})
    generated = resp.headers["X-Request-Id"]
    assert generated != "bad id\twith junk"
    assert received_headers(await resp.json())["X-Request-Id"] == generated


async def test_upstream_set_cookie_is_never_replayed_for_other_clients(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/set-cookie")
    assert "session=alice-secret" in resp.headers["Set-Cookie"]
    client.session.cookie_jar.clear()
    headers = received_headers(await (await client.get("/whoami")).json())
    assert "Cookie" not in headers


async def test_timeout_answers_504_quickly(
    client: TestClient[web.Request, web.Application],
) -> None:
    started = time.monotonic()
    resp = await client.get("/slow")
    assert resp.status == 504
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_TIMEOUT"
    assert time.monotonic() - started < 2.5


async def test_refused_connection_answers_502(
    aiohttp_client: ClientFactory,
) -> None:
    client = await aiohttp_client(gateway(f"http://127.0.0.1:{unused_port()}"))
    resp = await client.get("/pets/1")
    assert resp.status == 502
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_FAILURE"
    assert await resp.json() == {"message": "Bad gateway"}


async def test_get_is_retried_on_connection_failure(
    client: TestClient[web.Request, web.Application], upstream: TestServer
) -> None:
    resp = await client.get("/flaky")
    assert resp.status == 200
    assert await resp.text() == "finally"
    assert upstream.app[CALLS]["flaky"] == 3


async def test_post_is_not_retried(
    client: TestClient[web.Request, web.Application], upstream: TestServer
) -> None:
    resp = await client.post("/flaky", data=b"{}")
    assert resp.status == 502
    assert upstream.app[CALLS]["flaky"] == 1


async def test_large_bodies_stream_both_ways(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/big")
    assert resp.status == 200
    assert len(await resp.read()) == 32 * 32 * 1024
    payload = b"y" * (3 * 1024 * 1024)
    resp = await client.post("/upload", data=io.BytesIO(payload))
    assert (await resp.json())["body_len"] == len(payload)


async def test_chunked_request_body_is_forwarded(
    client: TestClient[web.Request, web.Application],
) -> None:
    async def chunks() -> Any:
        for _ in range(4):
            yield b"z" * 1000

    resp = await client.post("/upload", data=chunks())
    assert (await resp.json())["body_len"] == 4000


async def test_body_over_the_limit_is_413_before_the_upstream_is_called(
    upstream: TestServer, aiohttp_client: ClientFactory
) -> None:
    app = gateway(str(upstream.make_url("")).rstrip("/"), limits=gw.Limits(max_body_bytes=1000))
    client = await aiohttp_client(app)
    resp = await client.post("/upload", data=b"x" * 1001)
    assert resp.status == 413
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "REQUEST_TOO_LARGE"

    async def chunks() -> Any:
        for _ in range(3):
            yield b"z" * 600

    resp = await client.post("/upload", data=chunks())
    assert resp.status == 413
    assert "echo" not in upstream.app[CALLS]


async def test_missing_env_var_is_a_clear_startup_error() -> None:
    config = gw.ApiConfig(
        title="t", stages=(gw.Stage(name="dev", variables={"upstream": "${env.NOPE_URL}"}),)
    )
    with pytest.raises(gw.ConfigurationError, match="NOPE_URL"):
        gw.build_gateway_app(config, ROUTES, stage="dev", env={})


async def test_unknown_stage_lists_the_stages() -> None:
    config = gw.ApiConfig(title="t", stages=(gw.Stage(name="dev"), gw.Stage(name="prod")))
    with pytest.raises(gw.ConfigurationError, match="'dev', 'prod'"):
        gw.build_gateway_app(config, ROUTES, stage="qa", env={})
