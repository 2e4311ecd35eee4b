"""gzip compression through a real gateway: thresholds, exclusions, streaming, passthrough."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from edge_support import (
    DISPATCH_PATHS,
    ClientFactory,
    ServerFactory,
    dispatch_through,
    edge_gateway,
    route,
)
from gatewright import runtime as gw
from gatewright.runtime.compression import CompressionPolicy, accepts_gzip

Client = TestClient[web.Request, web.Application]

# Text that compresses, but not to nothing: zlib must emit output as it goes.
TEXT = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(4096)).encode()
BIG_JSON: dict[str, gw.JSONValue] = {
    "items": [{"id": i, "name": f"pet number {i}"} for i in range(400)]
}
STREAM_GATE = web.AppKey("stream_gate", asyncio.Event)


def make_routes() -> list[gw.Route]:
    async def typed(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
        media = request.query["type"]
        headers = {"Content-Type": media}
        if "encoding" in request.query:
            headers["Content-Encoding"] = request.query["encoding"]
        if "etag" in request.query:
            headers["ETag"] = request.query["etag"]
        if "cache" in request.query:
            headers["Cache-Control"] = request.query["cache"]
        return web.Response(body=TEXT, headers=headers)

    async def events(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(50):
            await response.write(f"data: {i} {TEXT[:1000].decode()}\n\n".encode())
        await response.write_eof()
        return response

    async def streamed(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
        # Writes half, then waits until the client has received compressed bytes:
        # only an incremental encoder can get past this point.
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "ETag": '"v1"'})
        if "length" in request.query:
            response.content_length = len(TEXT) * 2
        await response.prepare(request)
        await response.write(TEXT)
        await response.write(TEXT[:1024])
        await asyncio.wait_for(request.app[STREAM_GATE].wait(), timeout=20)
        await response.write(TEXT[1024:])
        await response.write_eof()
        return response

    big = gw.MockSpec(body=BIG_JSON, has_body=True)
    small = gw.MockSpec(body={"ok": True}, has_body=True)
    return [
        route("big", "GET", "/big", big),
        route("small", "GET", "/small", small),
        route("typed", "GET", "/typed", small, handler=typed),
        route("events", "GET", "/events", small, handler=events),
        route("streamed", "GET", "/streamed", small, handler=streamed),
    ]


def gateway(policy: CompressionPolicy | None) -> web.Application:
    app = edge_gateway(make_routes(), compression=policy)
    app[STREAM_GATE] = asyncio.Event()
    return app


POLICY = CompressionPolicy(
    minimum_size_bytes=1024, binary_media_types=("application/octet-stream", "model/*")
)


@pytest.fixture(params=DISPATCH_PATHS)
async def client(aiohttp_client: ClientFactory, request: pytest.FixtureRequest) -> Client:
    client = await aiohttp_client(gateway(POLICY), auto_decompress=False)
    return dispatch_through(client, request.param)


GZIP = {"Accept-Encoding": "gzip, deflate"}


async def test_off_by_default(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(gateway(CompressionPolicy()), auto_decompress=False)
    resp = await client.get("/big", headers=GZIP)
    assert "Content-Encoding" not in resp.headers
    assert json.loads(await resp.read()) == BIG_JSON


async def test_large_answer_is_gzipped_whole_with_a_length(client: Client) -> None:
    resp = await client.get("/big", headers=GZIP)
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in resp.headers["Vary"].lower()
    raw = await resp.read()
    assert int(resp.headers["Content-Length"]) == len(raw)
    assert json.loads(gzip.decompress(raw)) == BIG_JSON
    assert len(raw) < len(json.dumps(BIG_JSON)) / 3


async def test_small_answer_is_left_alone(client: Client) -> None:
    resp = await client.get("/small", headers=GZIP)
    assert "Content-Encoding" not in resp.headers
    assert json.loads(await resp.read()) == {"ok": True}


@pytest.mark.parametrize("accept", [None, "identity", "br", "gzip;q=0", "*;q=0", "gzip;q=0, *"])
async def test_client_that_does_not_accept_gzip_gets_identity_and_vary(
    client: Client, accept: str | None
) -> None:
    headers = {} if accept is None else {"Accept-Encoding": accept}
    if accept is None:
        headers["Accept-Encoding"] = ""  # the test client would add its own otherwise
    resp = await client.get("/big", headers=headers)
    assert "Content-Encoding" not in resp.headers
    assert "accept-encoding" in resp.headers["Vary"].lower()
    assert json.loads(await resp.read()) == BIG_JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("*", True),
        ("br;q=1, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=0, *;q=1", False),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=bogus", False),
    ],
)
def test_accept_encoding_weights(value: str | None, expected: bool) -> None:
    assert accepts_gzip(value) is expected


@pytest.mark.parametrize(
    "query",
    [
        "type=application/octet-stream",  # listed binary type
        "type=model/gltf-binary",  # listed by wildcard
        "type=image/png",  # compressed already
        "type=text/plain&encoding=br",  # encoded already: passes untouched
        "type=text/plain&cache=no-transform",
    ],
)
async def test_excluded_answers_are_not_compressed(client: Client, query: str) -> None:
    resp = await client.get(f"/typed?{query}", headers=GZIP)
    assert resp.headers.get("Content-Encoding") in (None, "br")
    assert await resp.read() == TEXT


async def test_strong_etag_becomes_weak_when_gzipped(client: Client) -> None:
    resp = await client.get('/typed?type=text/plain&etag="abc"', headers=GZIP)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["ETag"] == 'W/"abc"'
    assert gzip.decompress(await resp.read()) == TEXT
    identity = await client.get(
        '/typed?type=text/plain&etag="abc"', headers={"Accept-Encoding": "identity"}
    )
    assert identity.headers["ETag"] == '"abc"'


async def test_head_is_not_compressed(client: Client) -> None:
    resp = await client.head("/big", headers=GZIP)
    assert resp.status == 200
    assert "Content-Encoding" not in resp.headers


async def test_event_stream_is_never_compressed(client: Client) -> None:
    resp = await client.get("/events", headers=GZIP)
    assert "Content-Encoding" not in resp.headers
    assert (await resp.read()).startswith(b"data: 0 ")


@pytest.mark.parametrize("declared_length", [False, True])
async def test_streamed_answer_is_compressed_incrementally(
    client: Client, declared_length: bool
) -> None:
    assert client.app is not None
    gate = client.app[STREAM_GATE]
    gate.clear()
    path = "/streamed?length=1" if declared_length else "/streamed"
    resp = await client.get(path, headers=GZIP)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in resp.headers
    assert resp.headers["ETag"] == 'W/"v1"'
    # compressed bytes arrive while the handler is still waiting for the rest
    first = await asyncio.wait_for(resp.content.readany(), timeout=20)
    assert first
    gate.set()
    rest = await resp.read()
    assert gzip.decompress(first + rest) == TEXT + TEXT


async def test_streamed_answer_without_gzip_keeps_its_framing(client: Client) -> None:
    assert client.app is not None
    gate = client.app[STREAM_GATE]
    gate.set()
    resp = await client.get("/streamed?length=1", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in resp.headers
    assert resp.headers["Content-Length"] == str(len(TEXT) * 2)
    assert await resp.read() == TEXT + TEXT


# -------------------------------------------------- through the real http_proxy integration


async def test_upstream_encoded_body_passes_untouched(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    already = gzip.compress(TEXT, mtime=0)
    plain_big = TEXT * 4

    async def encoded(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=already, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
        )

    async def plain(request: web.Request) -> web.StreamResponse:
        # larger than the proxy's buffer limit: relayed as a stream
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.content_length = len(plain_big)
        await response.prepare(request)
        for start in range(0, len(plain_big), 50_000):
            await response.write(plain_big[start : start + 50_000])
        await response.write_eof()
        return response

    upstream_app = web.Application()
    upstream_app.router.add_get("/encoded", encoded)
    upstream_app.router.add_get("/plain", plain)
    upstream: TestServer = await aiohttp_server(upstream_app)
    base = str(upstream.make_url("")).rstrip("/")
    app = edge_gateway(
        [
            route("encoded", "GET", "/encoded", gw.HttpProxySpec(url=(gw.Text(base + "/encoded"),))),
            route("plain", "GET", "/plain", gw.HttpProxySpec(url=(gw.Text(base + "/plain"),))),
        ],
        compression=POLICY,
    )
    client = await aiohttp_client(app, auto_decompress=False)
    resp = await client.get("/encoded", headers=GZIP)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert await resp.read() == already  # not encoded twice
    resp = await client.get("/plain", headers=GZIP)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await resp.read()) == plain_big


def test_bad_policy_fails_at_start_up() -> None:
    with pytest.raises(gw.ConfigurationError, match="between 0 and"):
        CompressionPolicy(minimum_size_bytes=-1)
    with pytest.raises(gw.ConfigurationError, match="type/subtype"):
        CompressionPolicy(minimum_size_bytes=0, binary_media_types=("png",))
