"""One contract for every LimitStore backend (memory and a real redis-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.stores import (
    BucketRequest,
    LimitStore,
    QuotaRequest,
    quota_window,
    store_from_url,
)


@pytest.fixture
async def limit_store(store_url: str, prefix: str) -> AsyncIterator[LimitStore]:
    store = store_from_url(store_url, prefix=prefix)
    yield store
    await store.close()


# A refill so slow that nothing comes back during a test.
FROZEN = 0.001


async def test_new_bucket_admits_burst_then_refuses(limit_store: LimitStore) -> None:
    bucket = BucketRequest("b", rate=FROZEN, burst=5)
    results = [await limit_store.admit([bucket]) for _ in range(6)]
    assert [r.allowed for r in results] == [True] * 5 + [False]
    assert [r.buckets[0].remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    refused = results[5]
    assert refused.buckets[0].rejected
    assert refused.buckets[0].limit == 5
    assert refused.retry_after == pytest.approx(1 / FROZEN, rel=0.01)


async def test_bucket_refills_at_rate(limit_store: LimitStore) -> None:
    bucket = BucketRequest("refill", rate=20, burst=2)
    assert (await limit_store.admit([bucket])).allowed
    assert (await limit_store.admit([bucket])).allowed
    refused = await limit_store.admit([bucket])
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.05 + 1e-6  # one token at 20/s
    await asyncio.sleep(0.2)  # refills 4 tokens, capped at burst 2
    outcomes = [(await limit_store.admit([bucket])).allowed for _ in range(2)]
    assert outcomes == [True, True]


async def test_refused_request_consumes_nothing_at_any_level(limit_store: LimitStore) -> None:
    wide = BucketRequest("wide", rate=FROZEN, burst=5)
    narrow = BucketRequest("narrow", rate=FROZEN, burst=1)
    quota = QuotaRequest("q", limit=10, period="day")
    assert (await limit_store.admit([wide, narrow], [quota])).allowed
    for _ in range(3):
        refused = await limit_store.admit([wide, narrow], [quota])
        assert not refused.allowed
        assert [b.rejected for b in refused.buckets] == [False, True]
    # Only the one admitted request was taken from "wide" and from the quota.
    after = await limit_store.admit([wide], [quota])
    assert after.allowed
    assert after.buckets[0].remaining == 3
    assert after.quotas[0].remaining == 8


async def test_quota_admits_exactly_limit_per_window(limit_store: LimitStore) -> None:
    quota = QuotaRequest("exact", limit=3, period="day")
    results = [await limit_store.admit([], [quota]) for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.quotas[0].remaining for r in results] == [2, 1, 0, 0, 0]
    assert results[3].quota_exceeded
    _start, end = quota_window(time.time(), "day")
    assert results[3].retry_after == pytest.approx(end - time.time(), abs=5)


async def test_quota_refusal_does_not_consume_bucket(limit_store: LimitStore) -> None:
    bucket = BucketRequest("with-quota", rate=FROZEN, burst=10)
    quota = QuotaRequest("tiny", limit=1, period="week")
    assert (await limit_store.admit([bucket], [quota])).allowed
    refused = await limit_store.admit([bucket], [quota])
    assert not refused.allowed and refused.quota_exceeded
    assert refused.buckets[0].remaining == 9  # unchanged by the refusal
    assert (await limit_store.admit([bucket])).buckets[0].remaining == 8


@pytest.mark.parametrize(
    ("period", "offset"), [("day", 0), ("day", 3600), ("week", 0), ("week", 86_400), ("month", 0), ("month", 86_400)]
)
async def test_quota_window_end_matches_reference(
    limit_store: LimitStore, period: str, offset: int
) -> None:
    quota = QuotaRequest(f"w-{period}-{offset}", limit=5, period=period, offset_seconds=offset)  # type: ignore[arg-type]
    admitted = await limit_store.admit([], [quota])
    _, end = quota_window(time.time(), period, offset)  # type: ignore[arg-type]
    # The Redis script computes windows itself from the server clock; both agree.
    assert admitted.quotas[0].reset_after == pytest.approx(end - time.time(), abs=5)


async def test_buckets_are_independent_by_key(limit_store: LimitStore) -> None:
    first = BucketRequest("k1", rate=FROZEN, burst=1)
    second = BucketRequest("k2", rate=FROZEN, burst=1)
    assert (await limit_store.admit([first])).allowed
    assert not (await limit_store.admit([first])).allowed
    assert (await limit_store.admit([second])).allowed


async def test_concurrent_admissions_never_exceed_burst(limit_store: LimitStore) -> None:
    bucket = BucketRequest("race", rate=FROZEN, burst=20)
    results = await asyncio.gather(*(limit_store.admit([bucket]) for _ in range(60)))
    assert sum(r.allowed for r in results) == 20


def test_bad_values_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        BucketRequest("x", rate=0, burst=1)
    with pytest.raises(ConfigurationError, match="burst"):
        BucketRequest("x", rate=1, burst=0)
    with pytest.raises(ConfigurationError, match="offset_seconds"):
        QuotaRequest("x", limit=1, period="day", offset_seconds=86_400)
    with pytest.raises(ConfigurationError, match="period"):
        QuotaRequest("x", limit=1, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown limit store URL"):
        store_from_url("mongodb://x")
