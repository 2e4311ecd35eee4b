"""Quota windows (UTC, shifted by an offset) and exact per-window admission."""

from __future__ import annotations

import calendar

import pytest
from gatewright.runtime.errors import ConfigurationError, GatewayError
from gatewright.runtime.quota import QuotaCounter, QuotaPolicy, quota_window
from gatewright.runtime.stores import MemoryLimitStore, QuotaRequest, store_from_url
from gatewright.runtime.throttle import Limiter
from redis.asyncio import Redis

DAY = 86_400


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, 0))


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("now", "period", "offset", "expected"),
    [
        # 2024-03-07 is a Thursday; weeks start Monday 00:00 UTC.
        (utc(2024, 3, 7, 12), "week", 0, (utc(2024, 3, 4), utc(2024, 3, 11))),
        # Offset of one day: weeks run Tuesday to Tuesday.
        (utc(2024, 3, 4, 23), "week", DAY, (utc(2024, 2, 27), utc(2024, 3, 5))),
        (utc(2024, 2, 29, 23, 59), "month", 0, (utc(2024, 2, 1), utc(2024, 3, 1))),
        (utc(2024, 12, 31, 23, 59), "month", 0, (utc(2024, 12, 1), utc(2025, 1, 1))),
        # Offset of one day: months run from the 2nd to the 2nd.
        (utc(2024, 3, 1, 12), "month", DAY, (utc(2024, 2, 2), utc(2024, 3, 2))),
        (utc(2024, 3, 7, 5), "day", 6 * 3600, (utc(2024, 3, 6, 6), utc(2024, 3, 7, 6))),
    ],
)
def test_quota_window_boundaries(now: int, period: str, offset: int, expected: tuple[int, int]) -> None:
    assert quota_window(now, period, offset) == expected  # type: ignore[arg-type]


async def test_week_boundary_with_offset_resets_count() -> None:
    clock = FakeClock(utc(2024, 3, 11, 23, 59))  # Monday, just before Tuesday 00:00
    store = MemoryLimitStore(clock=clock)
    quota = QuotaRequest("weekly", limit=2, period="week", offset_seconds=DAY)
    assert [(await store.admit([], [quota])).allowed for _ in range(3)] == [True, True, False]
    refused = await store.admit([], [quota])
    assert refused.retry_after == pytest.approx(60)
    clock.now = utc(2024, 3, 12, 0, 0)  # the new week starts on Tuesday
    assert [(await store.admit([], [quota])).allowed for _ in range(3)] == [True, True, False]


async def test_month_boundary_with_offset_resets_count() -> None:
    clock = FakeClock(utc(2023, 12, 31, 12))
    store = MemoryLimitStore(clock=clock)
    quota = QuotaRequest("monthly", limit=3, period="month", offset_seconds=DAY)
    # Dec 31 is still in the window that began on Dec 2; it ends on Jan 2.
    assert sum([(await store.admit([], [quota])).allowed for _ in range(5)]) == 3
    clock.now = utc(2024, 1, 1, 23, 59)
    assert not (await store.admit([], [quota])).allowed
    clock.now = utc(2024, 1, 2)
    assert sum([(await store.admit([], [quota])).allowed for _ in range(5)]) == 3


async def test_redis_quota_rolls_over_to_a_new_window(redis_url: str, prefix: str) -> None:
    store = store_from_url(redis_url, prefix=prefix)
    quota = QuotaRequest("roll", limit=2, period="day")
    assert [(await store.admit([], [quota])).allowed for _ in range(3)] == [True, True, False]
    # Pretend the counter belongs to yesterday's window: the script must start afresh.
    client = Redis.from_url(redis_url)
    await client.hset(f"{prefix}q:roll", "s", str(quota_window(0, "day")[0]))
    await client.aclose()
    assert [(await store.admit([], [quota])).allowed for _ in range(3)] == [True, True, False]
    await store.close()


async def test_quota_counter_raises_quota_exceeded_with_retry_after(store_url: str, prefix: str) -> None:
    counter = QuotaCounter(Limiter(store_from_url(store_url, prefix=prefix)))
    policy = QuotaPolicy(limit=2, period="day")
    await counter.consume("tenant", policy)
    await counter.consume("tenant", policy)
    with pytest.raises(GatewayError) as caught:
        await counter.consume("tenant", policy)
    assert caught.value.response_type == "QUOTA_EXCEEDED"
    assert int(caught.value.headers["Retry-After"]) > 0
    assert caught.value.headers["RateLimit-Limit"] == "2"
    assert caught.value.headers["RateLimit-Remaining"] == "0"
    await counter.limiter.store.close()


def test_quota_policy_rejects_offset_beyond_period() -> None:
    with pytest.raises(ConfigurationError, match="offset_seconds"):
        QuotaPolicy(limit=10, period="week", offset_seconds=7 * DAY)
