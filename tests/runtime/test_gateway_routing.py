"""Routing: precedence, greedy, ANY, basePath, 404/405, percent-decoding, health checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from gatewright import runtime as gw
from gatewright.runtime.router import MethodNotAllowed, Router

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


def segments(path: str) -> tuple[gw.Segment, ...]:
    out: list[gw.Segment] = []
    for part in path.strip("/").split("/"):
        if not part:
            continue
        if part.startswith("{") and part.endswith("+}"):
            out.append(("greedy", part[1:-2]))
        elif part.startswith("{"):
            out.append(("param", part[1:-1]))
        else:
            out.append(("static", part))
    return tuple(out)


async def echo_route(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    match = request[gw.ROUTE_MATCH]
    return web.json_response(
        {"op": match.operation_id, "params": dict(match.path_params), "method": request.method}
    )


def route(op: str, method: str, path: str, **extra: Any) -> gw.Route:
    return gw.Route(
        operation_id=op,
        method=method,
        path=path,
        segments=segments(path),
        handler=echo_route,
        integration=gw.MockSpec(status=200),
        **extra,
    )


def make_app(routes: Sequence[gw.Route], **api: Any) -> web.Application:
    return gw.build_gateway_app(gw.ApiConfig(title="t", **api), routes, stage="dev", env={})


ROUTES = [
    route("listPets", "GET", "/pets"),
    route("createPet", "POST", "/pets"),
    route("getMine", "GET", "/pets/mine"),
    route("getPet", "GET", "/pets/{petId}"),
    route("deletePet", "DELETE", "/pets/{petId}"),
    route("getToys", "GET", "/pets/{petId}/toys"),
    route("files", "GET", "/files/{path+}"),
    route("anyThing", "ANY", "/things/{id}"),
    route("getThing", "GET", "/things/{id}"),
    route("root", "GET", "/"),
]


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(make_app(ROUTES))


async def op_of(client: TestClient[web.Request, web.Application], method: str, path: str) -> Any:
    resp = await client.request(method, path)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_static_segment_beats_templated(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await op_of(client, "GET", "/pets/mine"))["op"] == "getMine"
    assert (await op_of(client, "GET", "/pets/7"))["params"] == {"petId": "7"}


async def test_search_backtracks_from_static_to_templated(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = await op_of(client, "GET", "/pets/mine/toys")
    assert body == {"op": "getToys", "params": {"petId": "mine"}, "method": "GET"}


async def test_greedy_matches_one_or_more_segments(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await op_of(client, "GET", "/files/a/b/c.txt"))["params"] == {"path": "a/b/c.txt"}
    assert (await op_of(client, "GET", "/files/x"))["params"] == {"path": "x"}
    resp = await client.get("/files")
    assert resp.status == 404


async def test_any_is_the_fallback_when_no_exact_method(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await op_of(client, "GET", "/things/1"))["op"] == "getThing"
    assert (await op_of(client, "PATCH", "/things/1"))["op"] == "anyThing"


async def test_unknown_path_is_404_resource_not_found(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "RESOURCE_NOT_FOUND"
    assert await resp.json() == {"message": "Not found"}
    assert resp.headers["X-Request-Id"]


async def test_wrong_method_is_405_with_allow(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.put("/pets/3")
    assert resp.status == 405
    assert resp.headers["Allow"] == "DELETE, GET, HEAD"
    assert resp.headers[gw.ERROR_TYPE_HEADER] == "METHOD_NOT_ALLOWED"


async def test_head_falls_back_to_get(client: TestClient[web.Request, web.Application]) -> None:
    resp = await client.head("/pets")
    assert resp.status == 200


async def test_encoded_slash_stays_inside_its_parameter(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = await op_of(client, "GET", "/pets/a%2Fb")
    assert body == {"op": "getPet", "params": {"petId": "a/b"}, "method": "GET"}
    assert (await op_of(client, "GET", "/pets/%6Dine"))["op"] == "getMine"


async def test_trailing_slash_is_ignored_and_empty_segments_do_not_match(
    client: TestClient[web.Request, web.Application],
) -> None:
    assert (await op_of(client, "GET", "/pets/"))["op"] == "listPets"
    assert (await client.get("/pets//toys")).status == 404
    assert (await op_of(client, "GET", "/"))["op"] == "root"


async def test_base_path_prefixes_every_route(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(make_app(ROUTES, base_path="/v1"))
    assert (await op_of(client, "GET", "/v1/pets"))["op"] == "listPets"
    assert (await op_of(client, "GET", "/v1"))["op"] == "root"
    assert (await client.get("/pets")).status == 404
    assert (await client.get("/v1pets")).status == 404


async def test_healthz_and_readyz(client: TestClient[web.Request, web.Application]) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    assert (await client.get("/readyz")).status == 200
    client.app[gw.GATEWAY_STATE].draining = True
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await client.get("/healthz")).status == 200


def test_router_rejects_a_duplicate_method_on_one_path() -> None:
    router: Router[str] = Router()
    router.add("GET", segments("/a/{x}"), "one", label="one")
    with pytest.raises(gw.ConfigurationError, match="already answers GET"):
        router.add("GET", segments("/a/{y}"), "two", label="two")


def test_router_rejects_a_greedy_segment_that_is_not_last() -> None:
    router: Router[str] = Router()
    with pytest.raises(gw.ConfigurationError, match="greedy"):
        router.add("GET", (("greedy", "p"), ("static", "x")), "one", label="one")


def test_router_match_results() -> None:
    router: Router[str] = Router()
    router.add("GET", segments("/a/{x}/b"), "ab", label="ab")
    router.add("POST", segments("/a"), "a", label="a")
    router.freeze()
    assert router.match("GET", "/a/1/b") == ("ab", ("1",))
    assert router.match("GET", "/a") == MethodNotAllowed("POST")
    assert router.match("GET", "/a/1") is None


def test_templates_resolve_startup_parts_once_and_encode_request_values() -> None:
    from gatewright.runtime.templating import compile_template

    template = compile_template(
        (
            gw.StageVar("base"),
            gw.Text("/v2/"),
            gw.RequestValue("path", "id"),
            gw.Text("/files/"),
            gw.RequestValue("path", "rest"),
            gw.Text("?tenant="),
            gw.RequestValue("header", "X-Tenant"),
            gw.Text("&key="),
            gw.EnvVar("API_KEY", "none"),
        ),
        stage_name="dev",
        stage_variables={"base": "http://up"},
        env={},
        greedy_params=frozenset({"rest"}),
        what="test",
    )
    assert template.static is None
    rendered = template.render({"id": "é/1", "rest": "a/../b c"}, {}, {"X-Tenant": "t&1"})
    assert rendered == "http://up/v2/%C3%A9%2F1/files/a/%2E%2E/b%20c?tenant=t%261&key=none"
    single = compile_template(
        (gw.Text("http://up/pets/"), gw.RequestValue("path", "id")),
        stage_name="dev",
        stage_variables={},
        env={},
        what="test",
    )
    assert single.render({"id": "42"}, {}, {}) == "http://up/pets/42"
    assert single.render({"id": "4 2"}, {}, {}) == "http://up/pets/4%202"
    with pytest.raises(gw.ConfigurationError, match="no variable 'base'"):
        compile_template(
            (gw.StageVar("base"),), stage_name="dev", stage_variables={}, env={}, what="test"
        )
