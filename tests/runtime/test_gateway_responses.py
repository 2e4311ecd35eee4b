"""Gateway responses: the table, error formats, overrides, limits and the error middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler, Middleware
from gatewright import runtime as gw

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


async def validating_handler(
    request: web.Request, integration: gw.Integration
) -> web.StreamResponse:
    body = await gw.read_body(request)
    if body == b"bad":
        raise gw.ValidationFailure("body", "/name", "name must be a string")
    if body == b"crash":
        raise ZeroDivisionError("unexpected")
    return await integration.invoke(request, body)


def routes() -> Sequence[gw.Route]:
    return [
        gw.Route(
            operation_id="createPet",
            method="POST",
            path="/pets",
            segments=(("static", "pets"),),
            handler=validating_handler,
            integration=gw.MockSpec(status=201, body={"ok": True}, has_body=True),
            content_types=("application/json", "text/*"),
            max_body_bytes=100,
        )
    ]


async def make_client(
    aiohttp_client: ClientFactory,
    *,
    middlewares: Sequence[Middleware] = (),
    outer: Sequence[Middleware] = (),
    **api: Any,
) -> TestClient[web.Request, web.Application]:
    app = gw.build_gateway_app(
        gw.ApiConfig(title="t", **api),
        routes(),
        stage="dev",
        env={},
        extra_middlewares=middlewares,
        outer_middlewares=outer,
    )
    return await aiohttp_client(app)


async def test_validation_failure_is_400_with_pointer(aiohttp_client: ClientFactory) -> None:
    client = await make_client(aiohttp_client)
    resp = await client.post("/pets", data=b"bad", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "BAD_REQUEST_BODY"
    assert await resp.json() == {"message": "name must be a string", "pointer": "/name"}


async def test_problem_json_format(aiohttp_client: ClientFactory) -> None:
    client = await make_client(aiohttp_client, error_format="problem+json")
    resp = await client.get("/nowhere", headers={"X-Request-Id": "rid-9"})
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert await resp.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not found",
        "errorType": "RESOURCE_NOT_FOUND",
        "requestId": "rid-9",
    }


async def test_override_renders_placeholders_as_json_values(aiohttp_client: ClientFactory) -> None:
    overrides = (
        gw.ResponseOverride(
            type="BAD_REQUEST_BODY",
            status=422,
            headers={"X-Why": "{error.message}"},
            body={
                "error": {"text": "{error.message}", "where": "{error.pointer}"},
                "id": "{context.requestId}",
            },
            has_body=True,
        ),
    )
    client = await make_client(aiohttp_client, gateway_responses=overrides)
    resp = await client.post(
        "/pets", data=b"bad", headers={"Content-Type": "application/json", "X-Request-Id": "r1"}
    )
    assert resp.status == 422
    assert resp.headers["X-Why"] == "name must be a string"
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "BAD_REQUEST_BODY"
    assert await resp.json() == {
        "error": {"text": "name must be a string", "where": "/name"},
        "id": "r1",
    }


async def test_hostile_message_cannot_break_out_of_the_body(aiohttp_client: ClientFactory) -> None:
    async def hostile(request: web.Request, handler: Handler) -> web.StreamResponse:
        raise gw.GatewayError("ACCESS_DENIED", 'x", "admin": true, "y": "\r\nSet-Cookie: a=b')

    overrides = (
        gw.ResponseOverride(
            type="DEFAULT_4XX",
            headers={"X-Reason": "{error.message}"},
            body={"msg": "denied: {error.message}"},
            has_body=True,
        ),
    )
    client = await make_client(
        aiohttp_client, middlewares=[web.middleware(hostile)], gateway_responses=overrides
    )
    resp = await client.post("/pets", data=b"{}", headers={"Content-Type": "application/json"})
    assert resp.status == 403
    body = await resp.json()
    assert list(body) == ["msg"]
    assert "admin" in body["msg"]
    assert "Set-Cookie" not in resp.headers
    assert "\n" not in resp.headers["X-Reason"]


async def test_default_4xx_override_applies_to_types_without_their_own(
    aiohttp_client: ClientFactory,
) -> None:
    overrides = (
        gw.ResponseOverride(type="DEFAULT_4XX", headers={"X-Family": "4xx"}),
        gw.ResponseOverride(type="RESOURCE_NOT_FOUND", status=410),
    )
    client = await make_client(aiohttp_client, gateway_responses=overrides)
    resp = await client.get("/nowhere")
    assert resp.status == 410
    assert resp.headers["X-Family"] == "4xx"
    resp = await client.delete("/pets")
    assert resp.status == 405
    assert resp.headers["X-Family"] == "4xx"


async def test_feature_middleware_raises_a_gateway_response(aiohttp_client: ClientFactory) -> None:
    seen: list[str] = []

    @web.middleware
    async def throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request[gw.ROUTE_MATCH].operation_id)
        seen.append(request[gw.REQUEST_ID])
        raise gw.GatewayError("THROTTLED", headers={"Retry-After": "3"})

    client = await make_client(aiohttp_client, middlewares=[throttle])
    resp = await client.post(
        "/pets", data=b"{}", headers={"Content-Type": "application/json", "X-Request-Id": "q"}
    )
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "3"
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "THROTTLED"
    assert seen == ["createPet", "q"]
    assert (await client.get("/nowhere")).status == 404
    assert seen == ["createPet", "q"]  # unrouted requests never reach feature middlewares


async def test_unexpected_exception_is_logged_500(
    aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(aiohttp_client)
    resp = await client.post(
        "/pets", data=b"crash", headers={"Content-Type": "application/json", "X-Request-Id": "z9"}
    )
    assert resp.status == 500
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "DEFAULT_5XX"
    assert await resp.json() == {"message": "Internal server error"}
    assert any("z9" in r.getMessage() for r in caplog.records)


async def test_undeclared_content_type_is_415(aiohttp_client: ClientFactory) -> None:
    client = await make_client(aiohttp_client)
    resp = await client.post("/pets", data=b"<x/>", headers={"Content-Type": "application/xml"})
    assert resp.status == 415
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "UNSUPPORTED_MEDIA_TYPE"
    ok = await client.post(
        "/pets", data=b"hello", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    assert ok.status == 201


async def test_operation_body_limit_is_413(aiohttp_client: ClientFactory) -> None:
    client = await make_client(aiohttp_client)
    resp = await client.post("/pets", data=b"x" * 101, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "REQUEST_TOO_LARGE"


async def test_long_url_is_414_and_large_headers_431(aiohttp_client: ClientFactory) -> None:
    client = await make_client(
        aiohttp_client, limits=gw.Limits(max_url_length=100, max_header_bytes=600)
    )
    resp = await client.get("/pets?q=" + "a" * 200)
    assert resp.status == 414
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "URI_TOO_LONG"
    resp = await client.get("/pets", headers={"X-Big": "b" * 700})
    assert resp.status == 431
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


def test_every_required_response_type_is_in_the_table() -> None:
    expected = {
        "BAD_REQUEST_BODY": 400,
        "BAD_REQUEST_PARAMETERS": 400,
        "RESOURCE_NOT_FOUND": 404,
        "METHOD_NOT_ALLOWED": 405,
        "REQUEST_TOO_LARGE": 413,
        "UNSUPPORTED_MEDIA_TYPE": 415,
        "REQUEST_HEADER_FIELDS_TOO_LARGE": 431,
        "URI_TOO_LONG": 414,
        "INTEGRATION_FAILURE": 502,
        "INTEGRATION_TIMEOUT": 504,
        "UNAUTHORIZED": 401,
        "ACCESS_DENIED": 403,
        "THROTTLED": 429,
        "QUOTA_EXCEEDED": 429,
        "INVALID_API_KEY": 403,
        "API_CONFIGURATION_ERROR": 500,
        "DEFAULT_4XX": 400,
        "DEFAULT_5XX": 500,
    }
    assert {name: gw.RESPONSE_TYPES[name].status for name in expected} == expected


def test_override_of_an_unknown_type_is_a_startup_error() -> None:
    with pytest.raises(gw.ConfigurationError, match="NOT_A_TYPE"):
        gw.GatewayResponses("message", (gw.ResponseOverride(type="NOT_A_TYPE"),))


def test_require_runtime_message_names_versions_and_fixes() -> None:
    gw.require_runtime(">=0.1,<0.2", generated_by="0.1.0", module="pkg.app", installed="0.1.5")
    with pytest.raises(gw.RuntimeVersionError) as caught:
        gw.require_runtime(">=0.3,<0.4", generated_by="0.3.1", module="pkg.app", installed="0.2.1")
    message = str(caught.value)
    for fragment in ("pkg.app", "0.3.1", "0.2.1", ">=0.3,<0.4", "regenerate", "gatewright 0.3.x"):
        assert fragment in message


async def test_redirect_raised_by_a_middleware_is_not_an_error(
    aiohttp_client: ClientFactory,
) -> None:
    @web.middleware
    async def moved(request: web.Request, handler: Handler) -> web.StreamResponse:
        raise web.HTTPFound("/elsewhere")

    client = await make_client(aiohttp_client, middlewares=[moved])
    resp = await client.post(
        "/pets", data=b"{}", headers={"Content-Type": "application/json"}, allow_redirects=False
    )
    assert resp.status == 302
    assert resp.headers["Location"] == "/elsewhere"
    assert gw.ERROR_TYPE_HEADER not in resp.headers


async def test_answer_from_a_feature_middleware_gets_the_request_id(
    aiohttp_client: ClientFactory,
) -> None:
    @web.middleware
    async def cached(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.json_response({"cached": True})

    client = await make_client(aiohttp_client, middlewares=[cached])
    resp = await client.post(
        "/pets", data=b"{}", headers={"Content-Type": "application/json", "X-Request-Id": "c-1"}
    )
    assert await resp.json() == {"cached": True}
    assert resp.headers["X-Request-Id"] == "c-1"


async def test_outer_middlewares_wrap_gateway_responses_and_can_locate_operations(
    aiohttp_client: ClientFactory,
) -> None:
    @web.middleware
    async def tag(request: web.Request, handler: Handler) -> web.StreamResponse:
        entry = request.app[gw.GATEWAY_STATE].locate("POST", request.rel_url.raw_path)
        response = await handler(request)
        response.headers["X-Outer"] = entry.route.operation_id if entry else "-"
        return response

    client = await make_client(aiohttp_client, outer=[tag], base_path="/v1")
    resp = await client.get("/v1/pets")
    assert resp.status == 405
    assert resp.headers["X-Outer"] == "createPet"
    resp = await client.get("/v1/nowhere")
    assert resp.status == 404
    assert resp.headers["X-Outer"] == "-"
