"""Deprecation and Sunset headers through a real gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from edge_support import ClientFactory, edge_gateway, route
from gatewright import runtime as gw
from gatewright.runtime.cors import CorsPolicy
from gatewright.runtime.deprecation import DeprecationNotice

Client = TestClient[web.Request, web.Application]

DEPRECATED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SUNSET = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


async def unauthorized(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    raise gw.GatewayError("UNAUTHORIZED")


async def streamed(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    response = web.StreamResponse()
    response.headers.add("Link", '</next>; rel="next"')
    await response.prepare(request)
    await response.write(b"chunk")
    await response.write_eof()
    return response


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> Client:
    mock = gw.MockSpec(body={"ok": True}, has_body=True, headers={"Link": '</a>; rel="alternate"'})
    app = edge_gateway(
        [
            route("oldList", "GET", "/v1/pets", mock),
            route("flagged", "GET", "/flagged", mock),
            route("current", "GET", "/v2/pets", mock),
            route("oldSecret", "GET", "/v1/secret", mock, handler=unauthorized),
            route("oldStream", "GET", "/v1/stream", mock, handler=streamed),
        ],
        cors=CorsPolicy(allow_origins=("https://app.example.com",), expose_headers=("Sunset",)),
        deprecations={
            "oldList": DeprecationNotice(
                deprecated_at=DEPRECATED_AT,
                sunset=SUNSET,
                link="https://docs.example.com/migrate-to-v2",
            ),
            "flagged": DeprecationNotice(),
            "oldSecret": DeprecationNotice(sunset=SUNSET),
            "oldStream": DeprecationNotice(deprecated_at=DEPRECATED_AT),
        },
    )
    return await aiohttp_client(app)


async def test_dated_deprecation_and_sunset(client: Client) -> None:
    resp = await client.get("/v1/pets", headers={"Origin": "https://app.example.com"})
    assert resp.status == 200
    assert resp.headers["Deprecation"] == f"@{int(DEPRECATED_AT.timestamp())}"
    assert resp.headers["Deprecation"] == "@1740830400"
    assert resp.headers["Sunset"] == "Tue, 30 Jun 2026 23:59:59 GMT"
    assert parsedate_to_datetime(resp.headers["Sunset"]) == SUNSET
    assert resp.headers.getall("Link") == [
        '</a>; rel="alternate"',
        '<https://docs.example.com/migrate-to-v2>; rel="deprecation"',
    ]
    # both edge features on one answer
    assert resp.headers["Access-Control-Expose-Headers"] == "Sunset"


async def test_undated_deprecation_is_true(client: Client) -> None:
    resp = await client.get("/flagged")
    assert resp.headers["Deprecation"] == "true"
    assert "Sunset" not in resp.headers


async def test_current_operation_has_no_deprecation_headers(client: Client) -> None:
    resp = await client.get("/v2/pets")
    assert resp.status == 200
    assert "Deprecation" not in resp.headers
    assert "Sunset" not in resp.headers


async def test_gateway_errors_of_a_deprecated_operation_announce_it(client: Client) -> None:
    resp = await client.get("/v1/secret")
    assert resp.status == 401
    assert resp.headers["Deprecation"] == "true"
    assert resp.headers["Sunset"] == "Tue, 30 Jun 2026 23:59:59 GMT"
    unknown = await client.get("/v0/none")
    assert unknown.status == 404
    assert "Deprecation" not in unknown.headers


async def test_streamed_answer_gets_headers_from_the_prepare_hook(client: Client) -> None:
    resp = await client.get("/v1/stream")
    assert await resp.read() == b"chunk"
    assert resp.headers["Deprecation"] == "@1740830400"
    assert resp.headers.getall("Link") == ['</next>; rel="next"']


def test_sunset_is_converted_to_gmt() -> None:
    eastern = timezone(timedelta(hours=-5))
    notice = DeprecationNotice(sunset=datetime(2026, 1, 1, 19, 0, tzinfo=eastern))
    assert dict(notice.headers)["Sunset"] == "Fri, 02 Jan 2026 00:00:00 GMT"


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"sunset": datetime(2026, 1, 1)}, "no time zone"),
        ({"deprecated_at": datetime(2026, 1, 1)}, "no time zone"),
        ({"deprecated_at": SUNSET, "sunset": DEPRECATED_AT}, "before the deprecation date"),
        ({"link": "https://x.example/a> ; rel=evil"}, "not a plain URL"),
        ({"link": "https://x.example/\r\nSet-Cookie: a=b"}, "not a plain URL"),
    ],
)
def test_bad_notices_fail_at_start_up(settings: dict[str, object], complaint: str) -> None:
    with pytest.raises(gw.ConfigurationError, match=complaint):
        DeprecationNotice(**settings)  # type: ignore[arg-type]
