"""Throttle accuracy under saturating load: accepted ~= burst + rate * t.

The ten-second measurement with one process on memory:// and two processes sharing
one redis-server is ``bench/throttle_accuracy.py``; this is the short version with
generous bounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from gatewright.runtime.stores import store_from_url
from gatewright.runtime.throttle import Limiter, TokenBucket, throttle_middleware
from pytest_aiohttp import AiohttpClient

AppFactory = Callable[[Mapping[str, Handler], Sequence[Middleware]], web.Application]

RATE, BURST, SECONDS, WORKERS = 50, 100, 2.0, 8


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


async def test_accepted_count_matches_burst_plus_rate_times_duration(
    aiohttp_client: AiohttpClient, make_app: AppFactory, store_url: str, prefix: str
) -> None:
    limiter = Limiter(store_from_url(store_url, prefix=prefix))
    throttle = throttle_middleware(limiter=limiter, api=TokenBucket(rate=RATE, burst=BURST))
    client = await aiohttp_client(make_app({"get": ok}, [throttle]))
    counts = {200: 0, 429: 0}
    started = time.monotonic()
    deadline = started + SECONDS

    async def saturate() -> None:
        while time.monotonic() < deadline:
            async with client.get("/ops/get/1") as response:
                counts[response.status] += 1

    await asyncio.gather(*(saturate() for _ in range(WORKERS)))
    elapsed = time.monotonic() - started
    expected = BURST + RATE * elapsed
    assert counts[429] > counts[200]  # the load really saturated the bucket
    assert 0.85 * expected <= counts[200] <= expected + 3
    await limiter.store.close()
