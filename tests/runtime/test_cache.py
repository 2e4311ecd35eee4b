"""Response caching in a real app in front of a real, counting aiohttp upstream."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.cache import (
    INVALIDATE_CACHE_PERMISSION,
    MAX_ENTRY_BYTES,
    CachePolicy,
    ResponseCache,
    cache_middleware,
)
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.stores import cache_store_from_url
from pytest_aiohttp import AiohttpClient, AiohttpServer
from redis_support import RedisServer

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]
Client = TestClient[web.Request, web.Application]

FORWARDED = ("X-Principal", "Accept-Language")
RETURNED = ("Content-Type", "Set-Cookie", "Cache-Control")


@dataclass
class Upstream:
    server: TestServer
    calls: Counter[str]


@pytest.fixture
async def upstream(aiohttp_server: AiohttpServer) -> Upstream:
    calls: Counter[str] = Counter()

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        calls[name] += 1
        n = calls[name]
        body = {"n": n, "principal": request.headers.get("X-Principal"), "query": request.query_string}
        if name == "slow":
            await asyncio.sleep(0.2)
        if name == "cookie":
            response = web.json_response(body)
            response.set_cookie("session", f"s{n}")
            return response
        if name in ("no-store", "private"):
            return web.json_response(body, headers={"Cache-Control": name})
        if name == "big":
            return web.Response(body=b"x" * (MAX_ENTRY_BYTES + 1))
        if name == "exact":
            return web.Response(body=b"x" * MAX_ENTRY_BYTES)
        if name == "error":
            return web.json_response(body, status=503)
        return web.json_response(body)

    app = web.Application()
    app.router.add_route("*", "/{name}", serve)
    return Upstream(await aiohttp_server(app), calls)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def proxy_to(upstream: Upstream, session: aiohttp.ClientSession) -> Handler:
    async def forward(request: web.Request) -> web.StreamResponse:
        url = upstream.server.make_url("/" + request.match_info["op"]).with_query(request.query)
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
        async with session.request(request.method, url, headers=headers) as response:
            body = await response.read()
            kept = [(k, v) for k, v in response.headers.items() if k in RETURNED]
            return web.Response(status=response.status, body=body, headers=kept)

    return forward


OPS = ("data", "slow", "cookie", "no-store", "private", "big", "exact", "error")


async def gateway(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    upstream: Upstream,
    session: aiohttp.ClientSession,
    cache: ResponseCache,
    policies: Mapping[str, CachePolicy],
) -> Client:
    handler = proxy_to(upstream, session)
    app = make_app(dict.fromkeys(OPS, handler), [cache_middleware(cache=cache, policies=policies)])
    return await aiohttp_client(app)


@pytest.fixture
async def cache(store_url: str, prefix: str) -> AsyncIterator[ResponseCache]:
    response_cache = ResponseCache(cache_store_from_url(store_url, prefix=prefix))
    yield response_cache
    await response_cache.store.close()


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    upstream: Upstream,
    session: aiohttp.ClientSession,
    cache: ResponseCache,
) -> Client:
    policy = CachePolicy(ttl_seconds=60, key_query=("page",), key_headers=("Accept-Language",))
    policies = dict.fromkeys(OPS, policy)
    policies["shared"] = CachePolicy(shared=True)
    return await gateway(aiohttp_client, make_app, upstream, session, cache, policies)


async def fetch(
    client: Client, path: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> tuple[int, str | None, dict[str, object] | bytes, Mapping[str, str]]:
    async with client.request(method, path, headers=headers) as response:
        raw = await response.read()
        body: dict[str, object] | bytes = raw
        if response.content_type == "application/json":
            body = await response.json()
        return response.status, response.headers.get("X-Cache"), body, dict(response.headers)


async def test_second_request_is_a_hit_without_upstream_call(client: Client, upstream: Upstream) -> None:
    first = await fetch(client, "/ops/data/1")
    second = await fetch(client, "/ops/data/1")
    assert first[:3] == (200, "Miss", {"n": 1, "principal": None, "query": ""})
    assert second[:3] == (200, "Hit", first[2])
    assert "Age" in second[3]
    assert second[3]["Content-Type"].startswith("application/json")
    assert upstream.calls["data"] == 1


async def test_principal_never_receives_another_principals_entry(client: Client, upstream: Upstream) -> None:
    alice = await fetch(client, "/ops/data/1", {"X-Principal": "alice"})
    bob = await fetch(client, "/ops/data/1", {"X-Principal": "bob"})
    alice_again = await fetch(client, "/ops/data/1", {"X-Principal": "alice"})
    assert alice[2] == {"n": 1, "principal": "alice", "query": ""}
    assert bob[1] == "Miss"
    assert bob[2] == {"n": 2, "principal": "bob", "query": ""}
    assert alice_again[1:3] == ("Hit", alice[2])


async def test_declared_parameters_are_normalised_into_the_key(client: Client, upstream: Upstream) -> None:
    await fetch(client, "/ops/data/1?page=2&page=1&debug=1", {"Accept-Language": "en"})
    same = await fetch(client, "/ops/data/1?page=1&page=2&page=1&debug=2", {"accept-language": "en"})
    assert same[1] == "Hit"  # values sorted and de-duplicated, undeclared ignored, names lower-cased
    assert (await fetch(client, "/ops/data/1?page=3", {"Accept-Language": "en"}))[1] == "Miss"
    assert (await fetch(client, "/ops/data/1?page=1&page=2", {"Accept-Language": "de"}))[1] == "Miss"
    assert (await fetch(client, "/ops/data/2?page=1&page=2", {"Accept-Language": "en"}))[1] == "Miss"
    assert upstream.calls["data"] == 4


async def test_set_cookie_response_is_never_cached_or_replayed(client: Client, upstream: Upstream) -> None:
    first = await fetch(client, "/ops/cookie/1")
    second = await fetch(client, "/ops/cookie/1")
    assert (first[1], second[1]) == ("Miss", "Miss")
    assert "session=s1" in first[3]["Set-Cookie"]
    assert "session=s2" in second[3]["Set-Cookie"]
    assert upstream.calls["cookie"] == 2


@pytest.mark.parametrize("name", ["no-store", "private", "big", "error"])
async def test_uncacheable_responses_go_upstream_every_time(
    client: Client, upstream: Upstream, name: str
) -> None:
    for _ in range(2):
        assert (await fetch(client, f"/ops/{name}/1"))[1] == "Miss"
    assert upstream.calls[name] == 2


async def test_entry_of_exactly_one_mebibyte_is_cached(client: Client, upstream: Upstream) -> None:
    await fetch(client, "/ops/exact/1")
    hit = await fetch(client, "/ops/exact/1")
    assert hit[1] == "Hit" and hit[2] == b"x" * MAX_ENTRY_BYTES
    assert upstream.calls["exact"] == 1


async def test_other_methods_bypass_the_cache(client: Client, upstream: Upstream) -> None:
    for _ in range(2):
        assert (await fetch(client, "/ops/data/1", method="POST"))[1] == "Bypass"
    assert upstream.calls["data"] == 2


async def test_concurrent_misses_make_one_upstream_call(client: Client, upstream: Upstream) -> None:
    results = await asyncio.gather(*(fetch(client, "/ops/slow/1") for _ in range(10)))
    assert upstream.calls["slow"] == 1
    assert sorted(r[1] or "" for r in results) == ["Hit"] * 9 + ["Miss"]
    assert all(r[2] == results[0][2] for r in results)


async def test_max_age_zero_refreshes_only_when_authorised(client: Client, upstream: Upstream) -> None:
    await fetch(client, "/ops/data/1", {"X-Principal": "alice"})
    denied = await fetch(client, "/ops/data/1", {"X-Principal": "alice", "Cache-Control": "max-age=0"})
    assert denied[1] == "Hit"
    assert denied[3]["X-Cache-Invalidation"] == "denied"
    allowed = await fetch(
        client,
        "/ops/data/1",
        {"X-Principal": "alice", "X-Scopes": INVALIDATE_CACHE_PERMISSION, "Cache-Control": "max-age=0"},
    )
    assert allowed[1] == "Refresh"
    assert allowed[2] == {"n": 2, "principal": "alice", "query": ""}
    after = await fetch(client, "/ops/data/1", {"X-Principal": "alice"})
    assert after[1:3] == ("Hit", allowed[2])


@pytest.mark.parametrize(
    ("rule", "on_unauthorized", "expected_status", "expected_cache"),
    [
        ("anyone", "fail_403", 200, "Refresh"),
        ("never", "fail_403", 200, "Hit"),
        ("authorized", "fail_403", 403, None),
        ("authorized", "succeed_without_header", 200, "Hit"),
    ],
)
async def test_max_age_zero_rules(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    upstream: Upstream,
    session: aiohttp.ClientSession,
    rule: str,
    on_unauthorized: str,
    expected_status: int,
    expected_cache: str | None,
) -> None:
    policy = CachePolicy(client_max_age0=rule, on_unauthorized=on_unauthorized)  # type: ignore[arg-type]
    cache = ResponseCache(cache_store_from_url("memory://"))
    client = await gateway(aiohttp_client, make_app, upstream, session, cache, {"data": policy})
    await fetch(client, "/ops/data/1")
    status, x_cache, _, headers = await fetch(client, "/ops/data/1", {"Cache-Control": "max-age=0"})
    assert (status, x_cache) == (expected_status, expected_cache)
    assert "X-Cache-Invalidation" not in headers


async def test_shared_policy_serves_every_principal_one_entry(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    upstream: Upstream,
    session: aiohttp.ClientSession,
) -> None:
    cache = ResponseCache(cache_store_from_url("memory://"))
    client = await gateway(aiohttp_client, make_app, upstream, session, cache, {"data": CachePolicy(shared=True)})
    await fetch(client, "/ops/data/1", {"X-Principal": "alice"})
    assert (await fetch(client, "/ops/data/1", {"X-Principal": "bob"}))[1] == "Hit"
    assert upstream.calls["data"] == 1


async def test_cache_store_outage_bypasses_and_recovers(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    upstream: Upstream,
    session: aiohttp.ClientSession,
    redis_server: RedisServer,
) -> None:
    cache = ResponseCache(cache_store_from_url(redis_server.url))
    client = await gateway(aiohttp_client, make_app, upstream, session, cache, {"data": CachePolicy()})
    redis_server.stop()
    outage = [await fetch(client, "/ops/data/1") for _ in range(2)]
    assert [(r[0], r[1]) for r in outage] == [(200, "Bypass"), (200, "Bypass")]
    assert cache.health.failures == 2
    redis_server.start()
    assert [(await fetch(client, "/ops/data/1"))[1] for _ in range(2)] == ["Miss", "Hit"]
    assert cache.health.healthy
    await cache.store.close()


def test_cache_policy_bounds() -> None:
    with pytest.raises(ConfigurationError, match="ttl_seconds"):
        CachePolicy(ttl_seconds=3601)
    with pytest.raises(ConfigurationError, match="max_entry_bytes"):
        CachePolicy(max_entry_bytes=MAX_ENTRY_BYTES + 1)
    with pytest.raises(ConfigurationError, match="upper case"):
        CachePolicy(methods=frozenset({"get"}))
