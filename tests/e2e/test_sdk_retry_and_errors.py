"""The generated SDK against the generated gateway: typed 4xx errors and 429 retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from .support import REPO, compile_all, gateway, import_sdk

SPEC = REPO / "tests" / "e2e" / "specs" / "retry.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ModuleType]]:
    out = tmp_path_factory.mktemp("retry")
    compile_all(SPEC, out)
    sdk = import_sdk(out, "retry")
    with gateway(out, "retry", "dev", {}) as url:
        yield url, sdk


def test_429_with_retry_after_is_retried_then_succeeds_sync(served: tuple[str, ModuleType]) -> None:
    url, sdk = served
    time.sleep(1.1)  # a full bucket
    with sdk.Client(base_url=url, max_retries=3) as client:
        first = client.ticks.get_tick.raw()
        assert first.status == 200 and first.retries == 0
        started = time.monotonic()
        second = client.ticks.get_tick.raw()  # the bucket is empty: 429, Retry-After, retry
        elapsed = time.monotonic() - started
        assert second.status == 200
        assert second.retries >= 1, "the SDK did not retry the throttled call"
        assert second.parse().tick == 1
        assert elapsed >= 0.3, "the retry did not wait for Retry-After"


def test_429_without_retries_raises_a_typed_rate_limit_error(served: tuple[str, ModuleType]) -> None:
    url, sdk = served
    time.sleep(1.1)
    with sdk.Client(base_url=url, max_retries=0) as client:
        client.ticks.get_tick()
        with pytest.raises(sdk.RateLimitError) as info:
            client.ticks.get_tick()
    err: Any = info.value
    assert err.status == 429
    assert err.headers.get("Retry-After")
    assert err.headers.get("X-Gateway-Error-Type") == "THROTTLED"
    assert err.request_id


def test_4xx_becomes_a_typed_exception_async(served: tuple[str, ModuleType]) -> None:
    url, sdk = served

    async def call() -> Any:
        async with sdk.AsyncClient(base_url=url) as client:
            ok = await client.orders.get_order(order_id=7)
            assert ok.id == 7
            with pytest.raises(sdk.BadRequestError) as info:
                await client.orders.get_order(order_id=0)  # minimum: 1, checked by the gateway
            return info.value

    err = asyncio.run(call())
    assert err.status == 400
    assert err.headers.get("X-Gateway-Error-Type") == "BAD_REQUEST_PARAMETERS"
    message = err.body.message if hasattr(err.body, "message") else err.body["message"]
    assert "orderId" in message
