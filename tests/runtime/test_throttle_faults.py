"""failMode with a real redis-server killed and restarted under the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.stores import store_from_url
from gatewright.runtime.throttle import FailMode, Limiter, TokenBucket, throttle_middleware
from pytest_aiohttp import AiohttpClient
from redis_support import RedisServer

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]
Client = TestClient[web.Request, web.Application]

FROZEN = 0.001


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


async def get_status(client: Client) -> tuple[int, Mapping[str, str]]:
    async with client.get("/ops/get/1") as response:
        return response.status, dict(response.headers)


def is_healthy(limiter: Limiter) -> bool:
    return limiter.health.healthy


async def build(
    aiohttp_client: AiohttpClient, make_app: AppFactory, server: RedisServer, fail_mode: FailMode
) -> tuple[Client, Limiter]:
    limiter = Limiter(store_from_url(server.url, prefix="gw:"), fail_mode=fail_mode)
    throttle = throttle_middleware(limiter=limiter, operations={"get": TokenBucket(rate=FROZEN, burst=2)})
    return await aiohttp_client(make_app({"get": ok}, [throttle])), limiter


async def test_fail_open_admits_while_redis_is_down_and_recovers(
    aiohttp_client: AiohttpClient, make_app: AppFactory, redis_server: RedisServer
) -> None:
    client, limiter = await build(aiohttp_client, make_app, redis_server, "open")
    assert [(await get_status(client))[0] for _ in range(3)] == [200, 200, 429]
    redis_server.stop()
    assert [(await get_status(client))[0] for _ in range(5)] == [200] * 5
    assert limiter.health.failures == 5
    assert not is_healthy(limiter)
    redis_server.start()  # empty again: the bucket starts full
    assert [(await get_status(client))[0] for _ in range(3)] == [200, 200, 429]
    assert is_healthy(limiter)
    await limiter.store.close()


async def test_fail_closed_refuses_with_429_while_redis_is_down_and_recovers(
    aiohttp_client: AiohttpClient, make_app: AppFactory, redis_server: RedisServer
) -> None:
    client, limiter = await build(aiohttp_client, make_app, redis_server, "closed")
    assert (await get_status(client))[0] == 200
    redis_server.stop()
    for _ in range(3):
        status, headers = await get_status(client)
        assert status == 429
        assert headers["Retry-After"] == "1"
    assert limiter.health.failures == 3
    redis_server.start()
    assert [(await get_status(client))[0] for _ in range(3)] == [200, 200, 429]
    await limiter.store.close()


@pytest.mark.parametrize("fail_mode", ["open", "closed"])
async def test_redis_restart_under_load_never_gives_5xx(
    aiohttp_client: AiohttpClient, make_app: AppFactory, redis_server: RedisServer, fail_mode: FailMode
) -> None:
    limiter = Limiter(store_from_url(redis_server.url, prefix="gw:"), fail_mode=fail_mode)
    throttle = throttle_middleware(limiter=limiter, api=TokenBucket(rate=200, burst=50))
    client = await aiohttp_client(make_app({"get": ok}, [throttle]))
    seen: list[int] = []
    stop = asyncio.Event()

    async def load() -> None:
        while not stop.is_set():
            seen.append((await get_status(client))[0])

    workers = [asyncio.create_task(load()) for _ in range(4)]
    await asyncio.sleep(0.3)
    redis_server.stop()
    await asyncio.sleep(0.3)
    during_outage = len(seen)
    redis_server.start()
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*workers)
    assert seen and all(status in (200, 429) for status in seen)
    assert limiter.health.failures > 0
    assert is_healthy(limiter)  # recovered without a restart
    assert 200 in seen[during_outage:]
    await limiter.store.close()
