"""Request and response transforms through a generated gateway and a recording upstream."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from gatewright.compiler.pipeline import compile_to_tree

from .support import generated_gateway

# The authorizer the spec names ("transform_authorizer:authorize"), written next to
# the generated package so that it is importable while the gateway runs.
AUTHORIZER = """
def authorize(event):
    return {"isAuthorized": True, "principalId": "user-7", "context": {"tenant": "acme"}}
"""


@pytest.fixture(scope="module")
def app_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("transform")
    (root / "transform_authorizer.py").write_text(AUTHORIZER)
    with generated_gateway("transform.yaml", root) as module:
        yield module


@dataclass
class Seen:
    method: str
    path: str  # raw, still percent-encoded
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Upstream:
    seen: list[Seen] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()

        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append(
                Seen(
                    method=request.method,
                    path=request.raw_path.partition("?")[0],
                    query=list(request.query.items()),
                    headers=list(request.headers.items()),
                    body=await request.read(),
                )
            )
            if request.path == "/stream":
                response = web.StreamResponse(headers={"Content-Type": "application/json"})
                await response.prepare(request)
                await response.write(b'{"streamed":')
                await response.write(b"true}")
                await response.write_eof()
                return response
            if request.path == "/items":
                return web.json_response({"upstream": {"name": "n", "internal": "x"}})
            status = 404 if "missing" in request.path else 200
            return web.json_response(
                {"ok": True},
                status=status,
                headers={"X-Powered-By": "php", "X-Upstream-Secret": "s3"},
            )

        app.router.add_route("*", "/{tail:.*}", record)
        return app


@pytest.fixture
async def gateway(
    app_module: ModuleType,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Upstream]]:
    upstream = Upstream()
    server = TestServer(upstream.app(), host="127.0.0.1")
    await server.start_server()
    env = {"UPSTREAM_URL": str(server.make_url("")).rstrip("/")}
    client = TestClient(TestServer(app_module.build_app("prod", env=env), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, upstream
    finally:
        await client.close()
        await server.close()


Gateway = tuple[TestClient[web.Request, web.Application], Upstream]


async def test_request_headers_query_and_path_with_every_expression_kind(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.get(
        "/orders/42",
        params=[("q", "hello"), ("debug", "1"), ("legacy", "old"), ("tag", "t0")],
        headers={"X-User": "u", "X-Input": "plain", "Cookie": "a=b", "X-Old": "o", "Via": "client"},
    )
    assert resp.status == 200
    (seen,) = upstream.seen
    # path rewrite: {path.x} and {auth.principalId}
    assert seen.path == "/v2/orders/42/by/user-7"
    # query: set (stage variable, header), append, remove, rename; others pass through
    assert sorted(seen.query) == sorted(
        [
            ("q", "hello"),
            ("modern", "old"),
            ("tag", "t0"),
            ("tag", "42"),
            ("version", "2024-06"),
            ("echo", "plain"),
        ]
    )
    # headers: every expression kind, literal text around them
    assert seen.header("X-Tenant") == ["acme"]
    assert seen.header("X-Principal") == ["user=user-7"]
    assert seen.header("X-Order") == ["order-42"]
    assert seen.header("X-Echo") == ["plain"]
    assert seen.header("X-Stage") == ["eu/2024-06"]
    assert seen.header("X-Request") == [resp.headers["X-Request-Id"]]
    assert seen.header("X-Query") == ["hello"]
    assert seen.header("Via") == ["client", "gatewright"]
    assert seen.header("Cookie") == []
    assert seen.header("X-Old") == [] and seen.header("X-New") == ["o"]
    # response headers: set, append, remove, rename
    assert resp.headers["X-Order-Id"] == "42"
    assert resp.headers["X-Echo"] == "plain"
    assert resp.headers.getall("X-Gateway") == ["transformed"]
    assert "X-Powered-By" not in resp.headers
    assert "X-Upstream-Secret" not in resp.headers
    assert resp.headers["X-Exposed"] == "s3"
    assert await resp.json() == {"ok": True}


async def test_status_remap(gateway: Gateway) -> None:
    client, _upstream = gateway
    resp = await client.get("/orders/missing", headers={"X-User": "u"})
    assert resp.status == 410
    assert resp.headers["X-Order-Id"] == "missing"


async def test_missing_values_leave_the_field_alone(gateway: Gateway) -> None:
    client, upstream = gateway
    resp = await client.get("/orders/7", headers={"X-User": "u"})
    assert resp.status == 200
    (seen,) = upstream.seen
    assert seen.header("X-Echo") == [] and seen.header("X-Query") == []
    assert "echo" not in dict(seen.query)
    assert "X-Echo" not in resp.headers


async def test_injection_in_headers_query_and_path_stays_data(gateway: Gateway) -> None:
    client, upstream = gateway
    tricky = 'a"b\'{path.id}{"x":1}&debug=1'
    resp = await client.get(
        "/orders/..%2Fadmin",
        params={"q": "line1\r\nX-Injected: yes"},
        headers={"X-User": "u", "X-Input": tricky},
    )
    assert resp.status == 200
    (seen,) = upstream.seen
    # the literal braces of a value are never read as an expression
    assert seen.header("X-Echo") == [tricky]
    # CR/LF are stripped: no second header line
    assert seen.header("X-Query") == ["line1X-Injected: yes"]
    assert seen.header("X-Injected") == []
    # a query value is one value: '&debug=1' does not add a parameter
    assert dict(seen.query)["echo"] == tricky
    assert "debug" not in dict(seen.query)
    # a path value is one segment: no '/' and no dot-segment climbing
    assert seen.path == "/v2/orders/..%2Fadmin/by/user-7"
    assert resp.headers["X-Echo"] == tricky


async def test_json_body_operations_and_body_expressions(gateway: Gateway) -> None:
    client, upstream = gateway
    injected = '","evil":true,"x":"}]'
    item = {"name": 'widget"}', "secret": "s"}
    document = {"item": item, "tags": ["t1"], "internal": 1, "old": "o", "a/b": 5}
    resp = await client.post("/items", json=document, headers={"X-Input": injected})
    assert resp.status == 200
    (seen,) = upstream.seen
    sent = json.loads(seen.body)
    assert sent == {
        "item": {"name": 'widget"}'},
        "tags": ["t1", "added"],
        "new": "o",
        "c~d": 5,
        "meta": {"source": "gateway", "echo": injected, "name": 'widget"}', "count": 3},
    }
    # {body.a.b}, {body.list.0} and an object value (as JSON text) in headers
    assert seen.header("X-Item-Name") == ['widget"}']
    assert seen.header("X-First-Tag") == ["t1"]
    assert json.loads(seen.header("X-Whole")[0]) == item
    # response body: rename, remove, set with a request value as a JSON string
    assert await resp.json() == {"upstream": {"label": "n"}, "gateway": {"echo": injected}}


async def test_mock_answer_is_transformed(gateway: Gateway) -> None:
    client, _upstream = gateway
    resp = await client.get("/mocked", params={"q": '{"a": [1]}'})
    assert resp.status == 202
    assert resp.headers["X-Seen"] == '{"a": [1]}'
    assert "X-Mock" not in resp.headers
    assert await resp.json() == {"hello": "world", "q": '{"a": [1]}'}


async def test_streamed_answer_gets_status_and_headers_but_no_body_ops(gateway: Gateway) -> None:
    client, _upstream = gateway
    resp = await client.get("/stream")
    assert resp.status == 203
    assert resp.headers["X-Streamed"] == "yes"
    assert await resp.json() == {"streamed": True}


async def test_defaults_transform_applies_where_no_operation_overrides_it(gateway: Gateway) -> None:
    client, upstream = gateway
    assert (await client.get("/plain", headers={"Via": "client"})).status == 200
    assert upstream.seen[0].header("Via") == ["client", "gatewright"]


# --------------------------------------------------------------------------- compile errors

BAD_SPEC = """
openapi: 3.0.3
info: {{title: Bad, version: "1"}}
x-gateway:
  version: 1
  stages: {{prod: {{variables: {{known: v}}}}}}
  backends: {{api: {{url: "http://127.0.0.1:9"}}}}
  defaults: {{integration: {{type: http_proxy, backend: api}}}}
paths:
  /things/{{id}}:
    get:
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      x-gateway:
        {settings}
      responses: {{"200": {{description: ok}}}}
"""


@pytest.mark.parametrize(
    ("settings", "code", "pointer"),
    [
        (
            'transform: {request: {headers: {set: {X-A: "{nope.x}"}}}}',
            "GW323",
            "/transform/request/headers/set/X-A",
        ),
        ('transform: {request: {query: {append: {a: "{body}"}}}}', "GW323", "/transform/request/query/append/a"),
        ('transform: {response: {headers: {set: {X-A: "${env.HOME}"}}}}', "GW323", "/transform/response/headers/set/X-A"),
        ('transform: {request: {headers: {set: {X-A: "{auth.scopes}"}}}}', "GW323", "/transform/request/headers/set/X-A"),
        ('transform: {request: {body: {set: {"meta/x": "v"}}}}', "GW324", "/transform/request/body/set/meta~1x"),
        ('transform: {response: {body: {remove: ["/a~2"]}}}', "GW324", "/transform/response/body/remove/0"),
        ('transform: {request: {body: {rename: {"/a": "b"}}}}', "GW324", "/transform/request/body/rename/~1a"),
        ('transform: {request: {path: "/x/{path.nope}"}}', "GW312", "/transform/request/path"),
        ('transform: {request: {headers: {set: {X-A: "{stage.unknown}"}}}}', "GW302", "/transform/request/headers/set/X-A"),
        (
            'integration: {type: mock, status: 200}\n        transform: {request: {path: "/x"}}',
            "GW325",
            "/transform/request/path",
        ),
    ],
)
def test_bad_transforms_are_compile_errors_with_a_pointer(
    tmp_path: Path, settings: str, code: str, pointer: str
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(textwrap.dedent(BAD_SPEC.format(settings=settings)))
    result = compile_to_tree(spec, ["gateway"], format_code=False)
    errors = [(d.code, d.origin.pointer) for d in result.diags if d.severity.value == "error"]
    assert errors == [(code, "/paths/~1things~1{id}/get/x-gateway" + pointer)]
