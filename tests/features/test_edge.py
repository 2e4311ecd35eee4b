"""CORS, compression, deprecation, the served OpenAPI document and request limits,
end to end through a gateway generated from ``specs/edge.yaml``."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from .support import generated_gateway

ALLOWED = "https://app.example.com"
DENIED = "https://evil.example.net"
BIG = "x" * 4096


@pytest.fixture(scope="module")
def app_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with generated_gateway("edge.yaml", tmp_path_factory.mktemp("edge")) as module:
        yield module


class Upstream:
    """Counts what reaches it, so tests can prove a preflight never did."""

    def __init__(self) -> None:
        self.calls = 0

    def app(self) -> web.Application:
        app = web.Application()

        async def answer(request: web.Request) -> web.StreamResponse:
            self.calls += 1
            size = int(request.query.get("size", "10"))
            if request.query.get("kind") == "gzip":
                body = gzip.compress(b"a" * size)
                return web.Response(body=body, headers={"Content-Encoding": "gzip"}, content_type="text/plain")
            if request.query.get("kind") == "binary":
                return web.Response(body=b"\x00" * size, content_type="application/octet-stream")
            # an upstream's own CORS headers must never reach the browser
            return web.Response(
                text="a" * size,
                content_type="text/plain",
                headers={"Access-Control-Allow-Origin": "*"},
            )

        app.router.add_get("/{tail:.*}", answer)
        return app


Gateway = tuple[TestClient[web.Request, web.Application], Upstream]


@pytest.fixture
async def gateway(app_module: ModuleType, tmp_path: Path) -> AsyncIterator[Gateway]:
    upstream = Upstream()
    upstream_server = TestServer(upstream.app(), host="127.0.0.1")
    await upstream_server.start_server()
    env = {
        "UPSTREAM_URL": str(upstream_server.make_url("")).rstrip("/"),
        "KEYS_URL": f"sqlite:///{tmp_path / 'keys.db'}",
    }
    client = TestClient(TestServer(app_module.build_app("dev", env=env), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, upstream
    finally:
        await client.close()
        await upstream_server.close()


def preflight(origin: str, method: str = "GET", headers: str | None = None) -> dict[str, str]:
    out = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        out["Access-Control-Request-Headers"] = headers
    return out


async def test_preflight_from_an_allowed_origin_is_answered_by_the_gateway(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.options("/v1/items", headers=preflight(ALLOWED, "GET", "x-trace, content-type"))
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert "x-trace" in resp.headers["Access-Control-Allow-Headers"].lower()
    assert resp.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in resp.headers.getall("Vary")[0]
    # wildcard origin pattern with any port
    resp = await client.options("/v1/items", headers=preflight("http://localhost:5173"))
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert upstream.calls == 0


async def test_preflight_from_a_disallowed_origin_gets_no_cors_headers(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.options("/v1/items", headers=preflight(DENIED))
    assert resp.status == 403
    assert not any(h.lower().startswith("access-control-") for h in resp.headers)
    resp = await client.options("/v1/items", headers=preflight(ALLOWED, "GET", "x-unknown"))
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert upstream.calls == 0


async def test_preflight_needs_no_auth_and_is_not_throttled(gateway: Gateway) -> None:
    client, upstream = gateway
    assert (await client.options("/v1/secret", headers=preflight(ALLOWED, "GET", "x-api-key"))).status == 204
    for _ in range(3):  # the bucket holds one token: preflights do not take it
        assert (await client.options("/v1/limited", headers=preflight(ALLOWED))).status == 204
    assert (await client.get("/v1/limited", headers={"Origin": ALLOWED})).status == 200
    assert upstream.calls == 1


async def test_actual_request_with_credentials_echoes_the_origin_never_star(gateway: Gateway) -> None:
    client, _ = gateway
    resp = await client.get("/v1/items", headers={"Origin": ALLOWED})
    assert resp.status == 200
    assert resp.headers.getall("Access-Control-Allow-Origin") == [ALLOWED]
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Request-Id"
    assert any("Origin" in v for v in resp.headers.getall("Vary"))
    denied = await client.get("/v1/items", headers={"Origin": DENIED})
    assert denied.status == 200
    assert "Access-Control-Allow-Origin" not in denied.headers  # the upstream's '*' is removed
    plain = await client.get("/v1/items")
    assert any("Origin" in v for v in plain.headers.getall("Vary"))


async def test_streamed_answers_get_the_same_cors_headers(gateway: Gateway) -> None:
    # over the proxy's 256 KiB buffer: streamed, so sent before the handler returns
    client, _ = gateway
    size = 300 * 1024
    resp = await client.get(f"/v1/items?size={size}", headers={"Origin": ALLOWED})
    assert resp.status == 200
    assert len(await resp.read()) == size
    assert resp.headers.getall("Access-Control-Allow-Origin") == [ALLOWED]  # not the upstream's '*'
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert any("Origin" in v for v in resp.headers.getall("Vary"))
    denied = await client.get(f"/v1/items?size={size}", headers={"Origin": DENIED})
    await denied.read()
    assert "Access-Control-Allow-Origin" not in denied.headers


async def test_operation_override_and_off_switch(gateway: Gateway) -> None:
    client, _ = gateway
    resp = await client.get("/v1/public", headers={"Origin": DENIED})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    # off: the gateway neither answers preflights nor touches CORS headers; what the
    # upstream sends (here its own '*') passes as it is
    resp = await client.get("/v1/internal", headers={"Origin": ALLOWED})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = await client.options("/v1/internal", headers=preflight(ALLOWED))
    assert resp.status == 405  # routed like any request: a browser sees a failed preflight


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/secret", 401), ("/v1/limited", 429), ("/v1/broken", 502), ("/v1/nowhere", 404)],
)
async def test_gateway_errors_carry_cors_headers(gateway: Gateway, path: str, status: int) -> None:
    client, _ = gateway
    if status == 429:
        await client.get(path)  # take the only token
    resp = await client.get(path, headers={"Origin": ALLOWED})
    assert resp.status == status
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["X-Gateway-Error-Type"]


async def test_compression_threshold_and_already_encoded(gateway: Gateway) -> None:
    client, _ = gateway
    gz = {"Accept-Encoding": "gzip"}
    big = await client.get("/v1/items?size=5000", headers=gz, auto_decompress=False)
    assert big.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await big.read()) == b"a" * 5000
    assert "Accept-Encoding" in ",".join(big.headers.getall("Vary"))
    small = await client.get("/v1/items?size=100", headers=gz, auto_decompress=False)
    assert "Content-Encoding" not in small.headers
    assert await small.read() == b"a" * 100
    refused = await client.get("/v1/items?size=5000", headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    assert "Content-Encoding" not in refused.headers
    encoded = await client.get("/v1/items?size=5000&kind=gzip", headers=gz, auto_decompress=False)
    assert encoded.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await encoded.read()) == b"a" * 5000  # encoded once, not twice
    binary = await client.get("/v1/items?size=5000&kind=binary", headers=gz, auto_decompress=False)
    assert "Content-Encoding" not in binary.headers
    assert await binary.read() == b"\x00" * 5000


async def test_deprecation_and_sunset_headers(gateway: Gateway) -> None:
    client, _ = gateway
    old = await client.get("/v1/old")
    assert old.headers["Deprecation"] == "true"
    assert "Sunset" not in old.headers
    retiring = await client.get("/v1/retiring")
    assert retiring.headers["Deprecation"] == "true"
    assert retiring.headers["Sunset"] == "Sun, 30 Jun 2030 00:00:00 GMT"
    current = await client.get("/v1/items")
    assert "Deprecation" not in current.headers


async def test_openapi_document_is_served_valid_and_without_x_gateway(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.get("/v1/openapi.json", headers={"Origin": ALLOWED})
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    text = await resp.text()
    assert "x-gateway" not in text
    document = json.loads(text)
    validate(document)
    assert document["servers"][0]["url"].endswith("/v1")
    assert "/secret" in document["paths"]
    assert "429" in document["paths"]["/limited"]["get"]["responses"]
    assert (await client.get("/openapi.json")).status == 404  # only under basePath
    assert upstream.calls == 0


async def test_url_and_header_limits(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.get("/v1/items?q=" + "a" * 600, headers={"Origin": ALLOWED})
    assert resp.status == 414
    assert resp.headers["X-Gateway-Error-Type"] == "URI_TOO_LONG"
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    resp = await client.get("/v1/items", headers={"X-Big": "b" * 3000})
    assert resp.status == 431
    assert resp.headers["X-Gateway-Error-Type"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert upstream.calls == 0
