"""Throttling through a real aiohttp app: levels, order, two-phase, headers, quotas."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.keys import (
    ApiKeyAuthenticator,
    MemoryKeyStore,
    UsagePlan,
    api_key_middleware,
)
from gatewright.runtime.quota import QuotaPolicy
from gatewright.runtime.stores import store_from_url
from gatewright.runtime.throttle import (
    Limiter,
    RateLimitHeaders,
    TokenBucket,
    plan_levels,
    throttle_middleware,
)
from pytest_aiohttp import AiohttpClient

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]
Client = TestClient[web.Request, web.Application]

FROZEN = 0.001  # refill so slow that nothing comes back during a test


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


HANDLERS: dict[str, Handler] = {"get": ok, "list": ok, "open": ok}


@pytest.fixture
async def limiter(store_url: str, prefix: str) -> AsyncIterator[Limiter]:
    limiter = Limiter(store_from_url(store_url, prefix=prefix))
    yield limiter
    await limiter.store.close()


async def statuses(client: Client, path: str, count: int, headers: Mapping[str, str] | None = None) -> list[int]:
    result = []
    for _ in range(count):
        async with client.get(path, headers=headers) as response:
            result.append(response.status)
    return result


async def test_rate_limit_returns_429_with_retry_after_and_ratelimit_headers(
    aiohttp_client: AiohttpClient, make_app: AppFactory, limiter: Limiter
) -> None:
    throttle = throttle_middleware(limiter=limiter, operations={"get": TokenBucket(rate=FROZEN, burst=2)})
    client = await aiohttp_client(make_app(HANDLERS, [throttle]))
    assert await statuses(client, "/ops/get/1", 2) == [200, 200]
    async with client.get("/ops/get/1") as refused:
        assert refused.status == 429
        assert (await refused.json())["type"] == "THROTTLED"
        assert int(refused.headers["Retry-After"]) >= 999
        assert refused.headers["RateLimit-Limit"] == "2"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.headers["RateLimit-Reset"] == refused.headers["Retry-After"]
    # Other operations have no operation-level throttle here.
    assert await statuses(client, "/ops/list/1", 3) == [200, 200, 200]


@pytest.mark.parametrize(
    ("style", "present", "absent"),
    [
        ("none", (), ("Retry-After", "RateLimit-Limit", "X-RateLimit-Limit")),
        ("legacy", ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"), ("RateLimit-Limit",)),
    ],
)
async def test_rate_limit_header_style(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    style: RateLimitHeaders,
    present: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    limiter = Limiter(store_from_url("memory://"), headers=style)
    throttle = throttle_middleware(limiter=limiter, api=TokenBucket(rate=FROZEN, burst=1))
    client = await aiohttp_client(make_app(HANDLERS, [throttle]))
    await statuses(client, "/ops/get/1", 1)
    async with client.get("/ops/get/1") as refused:
        assert refused.status == 429
        for name in present:
            assert name in refused.headers
        for name in absent:
            assert name not in refused.headers


@pytest.fixture
async def keyed(limiter: Limiter) -> tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter]:
    plans = {
        "gold": UsagePlan(
            "gold",
            throttle=TokenBucket(rate=FROZEN, burst=3),
            quota=QuotaPolicy(limit=1000, period="day"),
            methods={"get": TokenBucket(rate=FROZEN, burst=1)},
        ),
        "metered": UsagePlan("metered", quota=QuotaPolicy(limit=3, period="month")),
    }
    return MemoryKeyStore(), plans, limiter


def keyed_app(
    make_app: AppFactory,
    store: MemoryKeyStore,
    plans: dict[str, UsagePlan],
    limiter: Limiter,
    **levels: TokenBucket,
) -> web.Application:
    auth = ApiKeyAuthenticator(store, plans=plans, cache_seconds=0)
    operations = {k: v for k, v in levels.items() if k not in ("api", "account")}
    return make_app(
        HANDLERS,
        [
            api_key_middleware(authenticator=auth, required={"get", "list"}),
            throttle_middleware(
                limiter=limiter,
                plans=plans,
                operations=operations,
                api=levels.get("api"),
                account=levels.get("account"),
            ),
        ],
    )


async def test_plan_method_then_plan_levels_apply_per_key(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    keyed: tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter],
) -> None:
    store, plans, limiter = keyed
    first, _ = await store.create(plan="gold")
    second, _ = await store.create(plan="gold")
    client = await aiohttp_client(keyed_app(make_app, store, plans, limiter))
    as_first = {"X-API-Key": first}
    # usage-plan method level: burst 1 for "get"
    assert await statuses(client, "/ops/get/1", 2, as_first) == [200, 429]
    # usage-plan level: burst 3 shared by all operations of the key; "get" took one
    assert await statuses(client, "/ops/list/1", 3, as_first) == [200, 200, 429]
    # limits are per key
    assert await statuses(client, "/ops/list/1", 3, {"X-API-Key": second}) == [200, 200, 200]


async def test_refusal_at_api_level_consumes_no_plan_tokens(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    keyed: tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter],
) -> None:
    store, plans, limiter = keyed
    value, key = await store.create(plan="gold")
    app = keyed_app(make_app, store, plans, limiter, api=TokenBucket(rate=FROZEN, burst=1))
    client = await aiohttp_client(app)
    assert await statuses(client, "/ops/list/1", 4, {"X-API-Key": value}) == [200, 429, 429, 429]
    plan_buckets, plan_quotas = plan_levels(plans["gold"], "gold", key.id, "list")
    after = await limiter.store.admit(plan_buckets, plan_quotas)
    # One admitted request used one plan token and one quota unit; the refusals none.
    assert after.buckets[0].remaining == 1
    assert after.quotas[0].remaining == 998


async def test_quota_exceeded_after_exactly_limit_requests(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    keyed: tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter],
) -> None:
    store, plans, limiter = keyed
    value, _ = await store.create(plan="metered")
    client = await aiohttp_client(keyed_app(make_app, store, plans, limiter))
    assert await statuses(client, "/ops/list/1", 3, {"X-API-Key": value}) == [200, 200, 200]
    async with client.get("/ops/list/1", headers={"X-API-Key": value}) as refused:
        assert refused.status == 429
        assert (await refused.json())["type"] == "QUOTA_EXCEEDED"
        assert refused.headers["RateLimit-Limit"] == "3"


async def test_operation_without_key_requirement_bypasses_plan_limits(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    keyed: tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter],
) -> None:
    store, plans, limiter = keyed
    value, _ = await store.create(plan="gold")
    client = await aiohttp_client(keyed_app(make_app, store, plans, limiter))
    assert await statuses(client, "/ops/open/1", 6, {"X-API-Key": value}) == [200] * 6


async def test_account_ceiling_is_shared_by_every_operation(
    aiohttp_client: AiohttpClient,
    make_app: AppFactory,
    keyed: tuple[MemoryKeyStore, dict[str, UsagePlan], Limiter],
) -> None:
    store, plans, limiter = keyed
    app = keyed_app(make_app, store, plans, limiter, account=TokenBucket(rate=FROZEN, burst=2))
    client = await aiohttp_client(app)
    assert await statuses(client, "/ops/open/1", 1) == [200]
    assert await statuses(client, "/ops/open/2", 1) == [200]
    assert await statuses(client, "/ops/open/3", 1) == [429]


def test_bad_throttle_settings_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        TokenBucket(rate=-1, burst=1)
    with pytest.raises(ConfigurationError, match="fail_mode"):
        Limiter(store_from_url("memory://"), fail_mode="sometimes")  # type: ignore[arg-type]
