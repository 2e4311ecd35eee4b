"""API key stores (memory, SQLite, Redis) and the key middleware in a real app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.context import PRINCIPAL
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.keys import (
    ApiKeyAuthenticator,
    KeyStore,
    MemoryKeyStore,
    UsagePlan,
    api_key_middleware,
    hash_key,
    key_store_from_url,
    plans_from_mapping,
)
from gatewright.runtime.throttle import TokenBucket
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from redis_support import RedisServer

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def key_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def key_store(key_store_url: str, prefix: str) -> AsyncIterator[KeyStore]:
    store = key_store_from_url(key_store_url, prefix=prefix)
    yield store
    await store.close()


async def test_created_key_is_found_by_value_only(key_store: KeyStore) -> None:
    value, key = await key_store.create(plan="free", stages=["prod"], name="ci")
    assert len(value) >= 40
    found = await key_store.lookup(value)
    assert found == key
    assert found.stages == frozenset({"prod"}) and found.enabled
    assert await key_store.lookup(value + "x") is None
    assert await key_store.lookup(key.id) is None


async def test_revoked_key_is_listed_as_disabled(key_store: KeyStore) -> None:
    value, key = await key_store.create(plan="free")
    other_value, other = await key_store.create(plan="pro")
    assert await key_store.revoke(key.id)
    assert not await key_store.revoke("no-such-id")
    found = await key_store.lookup(value)
    assert found is not None and not found.enabled
    listed = {k.id: k for k in await key_store.list()}
    assert set(listed) == {key.id, other.id}
    assert not listed[key.id].enabled and listed[other.id].enabled
    assert (await key_store.lookup(other_value)) == other


async def test_imported_key_value_must_be_long_and_unique(key_store: KeyStore) -> None:
    with pytest.raises(ConfigurationError, match="20"):
        await key_store.create(plan="free", value="short")
    await key_store.create(plan="free", value="k" * 24)
    with pytest.raises(ConfigurationError, match="already exists"):
        await key_store.create(plan="free", value="k" * 24)


async def test_sqlite_stores_only_the_hash_and_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    store = key_store_from_url(url)
    value, key = await store.create(plan="free")
    await store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert value.encode() not in raw
    assert hash_key(value).encode() in raw
    reopened = key_store_from_url(url)
    assert await reopened.lookup(value) == key
    await reopened.close()


async def test_redis_stores_only_the_hash(redis_url: str, prefix: str) -> None:
    store = key_store_from_url(redis_url, prefix=prefix)
    value, _ = await store.create(plan="free")
    client = Redis.from_url(redis_url)
    dumped = b""
    async for name in client.scan_iter(match=f"{prefix}*"):
        dumped += name + (await client.dump(name) or b"")
    await client.aclose()
    await store.close()
    assert value.encode() not in dumped
    assert hash_key(value).encode() in dumped


# --------------------------------------------------------------------------- middleware

PLANS = {
    "free": UsagePlan("free"),
    "prod-only": UsagePlan("prod-only", stages=frozenset({"prod"})),
}


async def whoami(request: web.Request) -> web.StreamResponse:
    principal = request.get(PRINCIPAL)
    if principal is None:
        return web.json_response({})
    return web.json_response(
        {"id": principal.id, "key": principal.api_key_id, "plan": principal.plan, "scheme": principal.scheme}
    )


def key_app(make_app: AppFactory, auth: ApiKeyAuthenticator) -> web.Application:
    return make_app(
        {"keyed": whoami, "open": whoami},
        [api_key_middleware(authenticator=auth, required={"keyed"})],
    )


async def test_valid_key_in_header_or_query_sets_the_principal(
    aiohttp_client: AiohttpClient, make_app: AppFactory
) -> None:
    store = MemoryKeyStore()
    value, key = await store.create(plan="free")
    auth = ApiKeyAuthenticator(store, plans=PLANS, sources=("header:X-API-Key", "query:api_key"))
    client = await aiohttp_client(key_app(make_app, auth))
    async with client.get("/ops/keyed/1", headers={"X-API-Key": value}) as response:
        assert response.status == 200
        assert await response.json() == {"id": key.id, "key": key.id, "plan": "free", "scheme": "apiKey"}
    async with client.get("/ops/keyed/1", params={"api_key": value}) as response:
        assert response.status == 200
    # an authenticated principal keeps its identity and gains the key and plan
    async with client.get("/ops/keyed/1", headers={"X-API-Key": value, "X-Principal": "alice"}) as response:
        assert await response.json() == {"id": "alice", "key": key.id, "plan": "free", "scheme": "test"}


@pytest.mark.parametrize(
    ("case", "expected_type"),
    [
        ("missing", "INVALID_API_KEY"),
        ("unknown", "INVALID_API_KEY"),
        ("revoked", "INVALID_API_KEY"),
        ("other stage", "ACCESS_DENIED"),
        ("plan not on stage", "ACCESS_DENIED"),
    ],
)
async def test_bad_keys_are_refused_with_403(
    aiohttp_client: AiohttpClient, make_app: AppFactory, case: str, expected_type: str
) -> None:
    store = MemoryKeyStore()
    good, _ = await store.create(plan="free", stages=["beta"])
    revoked, revoked_key = await store.create(plan="free")
    await store.revoke(revoked_key.id)
    other_stage, _ = await store.create(plan="free", stages=["prod"])
    prod_plan, _ = await store.create(plan="prod-only")
    values = {
        "missing": None,
        "unknown": "x" * 43,
        "revoked": revoked,
        "other stage": other_stage,
        "plan not on stage": prod_plan,
    }
    auth = ApiKeyAuthenticator(store, plans=PLANS, stage="beta", cache_seconds=0)
    client = await aiohttp_client(key_app(make_app, auth))
    value = values[case]
    headers = {"X-API-Key": value} if value else {}
    async with client.get("/ops/keyed/1", headers=headers) as response:
        assert response.status == 403
        assert (await response.json())["type"] == expected_type
    async with client.get("/ops/keyed/1", headers={"X-API-Key": good}) as response:
        assert response.status == 200
    async with client.get("/ops/open/1") as response:
        assert response.status == 200  # operations without apiKeyRequired need no key


async def test_revocation_takes_effect_after_forget(
    aiohttp_client: AiohttpClient, make_app: AppFactory
) -> None:
    store = MemoryKeyStore()
    value, key = await store.create(plan="free")
    auth = ApiKeyAuthenticator(store, plans=PLANS, cache_seconds=60)
    client = await aiohttp_client(key_app(make_app, auth))
    async with client.get("/ops/keyed/1", headers={"X-API-Key": value}) as response:
        assert response.status == 200
    await store.revoke(key.id)
    auth.forget(key.id)
    async with client.get("/ops/keyed/1", headers={"X-API-Key": value}) as response:
        assert response.status == 403


async def test_key_store_outage_fail_open_keeps_verified_keys_only(
    aiohttp_client: AiohttpClient, make_app: AppFactory, redis_server: RedisServer
) -> None:
    store = key_store_from_url(redis_server.url)
    known, _ = await store.create(plan="free")
    unseen, _ = await store.create(plan="free")
    clock = [0.0]
    auth = ApiKeyAuthenticator(store, plans=PLANS, cache_seconds=1, fail_mode="open", clock=lambda: clock[0])
    client = await aiohttp_client(key_app(make_app, auth))
    async with client.get("/ops/keyed/1", headers={"X-API-Key": known}) as response:
        assert response.status == 200
    redis_server.stop()
    clock[0] = 10.0  # the verified entry is stale, and the store is down
    async with client.get("/ops/keyed/1", headers={"X-API-Key": known}) as response:
        assert response.status == 200
    async with client.get("/ops/keyed/1", headers={"X-API-Key": unseen}) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
    assert auth.health.failures == 2
    redis_server.start()  # an empty server: the keys are gone
    async with client.get("/ops/keyed/1", headers={"X-API-Key": unseen}) as response:
        assert response.status == 403
    assert auth.health.healthy
    await store.close()


def test_plans_from_mapping_reads_the_usage_plan_shape() -> None:
    plans = plans_from_mapping(
        {
            "usagePlans": {
                "pro": {
                    "throttle": {"rate": 100, "burst": 200},
                    "quota": {"limit": 1000, "period": "MONTH", "offset": 3600},
                    "methods": {"createOrder": {"throttle": {"rate": 20, "burst": 20}}},
                    "stages": ["prod"],
                },
                "free": {},
            }
        }
    )
    pro = plans["pro"]
    assert pro.throttle == TokenBucket(rate=100, burst=200)
    assert pro.quota is not None and (pro.quota.limit, pro.quota.period, pro.quota.offset_seconds) == (1000, "month", 3600)
    assert pro.methods == {"createOrder": TokenBucket(rate=20, burst=20)}
    assert pro.stages == frozenset({"prod"})
    assert plans["free"] == UsagePlan("free")
    with pytest.raises(ConfigurationError, match="burst"):
        plans_from_mapping({"bad": {"throttle": {"rate": 1}}})
    with pytest.raises(ConfigurationError, match="period"):
        plans_from_mapping({"bad": {"quota": {"limit": 1, "period": "fortnight"}}})


def test_key_store_url_must_be_known() -> None:
    with pytest.raises(ConfigurationError, match="unknown key store URL"):
        key_store_from_url("postgres://x")
    with pytest.raises(ConfigurationError, match="sqlite"):
        key_store_from_url("sqlite://host/keys.db")
