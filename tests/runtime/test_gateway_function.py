"""function integration (Lambda proxy payload 1.0 and 2.0) and mock integration."""

from __future__ import annotations

import base64
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from gatewright import runtime as gw

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

HANDLERS = """
import asyncio
import json
import time


def echo_v1(event, context):
    return {
        "statusCode": 201,
        "headers": {"X-Single": "one", "Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event, "request_id": context.aws_request_id}),
        "isBase64Encoded": False,
    }


async def echo_v2(event, context):
    await asyncio.sleep(0)
    return {"event": event}


async def with_cookies(event, context):
    return {"statusCode": 200, "cookies": ["a=1", "b=2; Path=/"], "body": "ok"}


def binary(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
            "body": "iVBORw0K", "isBase64Encoded": True}


def raising(event, context):
    raise RuntimeError("boom")


def malformed(event, context):
    return {"statusCode": "teapot", "body": 5}


def not_a_dict(event, context):
    return ["nope"]


def slow_sync(event, context):
    time.sleep(0.6)
    return {"statusCode": 200, "body": "late"}


async def slow_async(event, context):
    await asyncio.sleep(5)
    return {"statusCode": 200, "body": "late"}


NOT_CALLABLE = 3
"""


@pytest.fixture
def handlers_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"gw_test_handlers_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(HANDLERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


async def call(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    return await integration.invoke(request, None)


def function_route(
    op: str,
    method: str,
    path: str,
    handler: str,
    version: Literal["1.0", "2.0"] = "1.0",
    timeout_ms: int = 5000,
) -> gw.Route:
    segs: list[gw.Segment] = []
    for part in path.strip("/").split("/"):
        segs.append(("param", part[1:-1]) if part.startswith("{") else ("static", part))
    return gw.Route(
        operation_id=op,
        method=method,
        path=path,
        segments=tuple(segs),
        handler=call,
        integration=gw.FunctionSpec(
            handler=handler, payload_version=version, timeout_ms=timeout_ms
        ),
    )


@pytest.fixture
async def client(
    handlers_module: str, aiohttp_client: ClientFactory
) -> TestClient[web.Request, web.Application]:
    m = handlers_module
    routes = [
        function_route("echoV1", "POST", "/v1/items/{id}", f"{m}:echo_v1"),
        function_route("echoV2", "POST", "/v2/items/{id}", f"{m}:echo_v2", "2.0"),
        function_route("cookies", "GET", "/cookies", f"{m}:with_cookies", "2.0"),
        function_route("binary", "GET", "/binary", f"{m}:binary"),
        function_route("raising", "GET", "/raising", f"{m}:raising"),
        function_route("malformed", "GET", "/malformed", f"{m}:malformed"),
        function_route("notADict", "GET", "/not-a-dict", f"{m}:not_a_dict"),
        function_route("slowSync", "GET", "/slow-sync", f"{m}:slow_sync", timeout_ms=150),
        function_route("slowAsync", "GET", "/slow-async", f"{m}:slow_async", timeout_ms=150),
        gw.Route(
            operation_id="mocked",
            method="GET",
            path="/mock",
            segments=(("static", "mock"),),
            handler=call,
            integration=gw.MockSpec(
                status=202, headers={"X-Mock": "yes"}, body={"hello": "world"}, has_body=True
            ),
        ),
        gw.Route(
            operation_id="mockedText",
            method="GET",
            path="/mock-text",
            segments=(("static", "mock-text"),),
            handler=call,
            integration=gw.MockSpec(status=200, media_type="text/plain", body="hi", has_body=True),
        ),
    ]
    config = gw.ApiConfig(title="fn", stages=(gw.Stage(name="dev", variables={"color": "blue"}),))
    return await aiohttp_client(gw.build_gateway_app(config, routes, stage="dev", env={}))


async def test_payload_v1_event_and_response(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.post(
        "/v1/items/42?tag=a&tag=b",
        json={"name": "x"},
        headers={"X-Request-Id": "req-1"},
    )
    assert resp.status == 201
    assert resp.headers["X-Single"] == "one"
    assert resp.headers.getall("X-Multi") == ["a", "b"]
    body = await resp.json()
    event = body["event"]
    assert body["request_id"] == "req-1"
    assert event["resource"] == "/v1/items/{id}"
    assert event["path"] == "/v1/items/42"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["requestId"] == "req-1"
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"name": "x"}'


async def test_payload_v2_async_result_without_status_is_a_json_200(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.post(
        "/v2/items/7?a=1&a=2",
        data=b"\x00\xff",
        headers={"Content-Type": "application/octet-stream", "Cookie": "c1=x; c2=y"},
    )
    assert resp.status == 200
    event = (await resp.json())["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v2/items/{id}"
    assert event["rawPath"] == "/v2/items/7"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["c1=x", "c2=y"]
    assert event["pathParameters"] == {"id": "7"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"
    assert event["requestContext"]["http"]["method"] == "POST"


async def test_payload_v2_cookies_become_set_cookie(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/cookies")
    assert resp.headers.getall("Set-Cookie") == ["a=1", "b=2; Path=/"]
    assert await resp.text() == "ok"


async def test_base64_response_body_is_decoded(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/binary")
    assert await resp.read() == base64.b64decode("iVBORw0K")
    assert resp.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("path", ["/raising", "/malformed", "/not-a-dict"])
async def test_failing_or_malformed_function_answers_502(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    resp = await client.get(path)
    assert resp.status == 502
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_FAILURE"


@pytest.mark.parametrize("path", ["/slow-sync", "/slow-async"])
async def test_slow_function_answers_504(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    started = time.monotonic()
    resp = await client.get(path)
    assert resp.status == 504
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "INTEGRATION_TIMEOUT"
    assert time.monotonic() - started < 3


async def test_mock_answers_its_static_response(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/mock")
    assert resp.status == 202
    assert resp.headers["X-Mock"] == "yes"
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.json() == {"hello": "world"}
    resp = await client.get("/mock-text")
    assert await resp.text() == "hi"
    assert resp.content_type == "text/plain"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("gw_no_such_module_xyz:handler", "cannot be imported"),
        ("{m}:missing", "has no attribute"),
        ("{m}:NOT_CALLABLE", "not callable"),
        ("no_colon_here", "package.module:function"),
    ],
)
def test_function_problems_are_startup_errors(
    handlers_module: str, target: str, message: str
) -> None:
    route = function_route("f", "GET", "/f", target.format(m=handlers_module))
    with pytest.raises(gw.ConfigurationError, match=message):
        gw.build_gateway_app(gw.ApiConfig(title="t"), [route], stage="dev", env={})
