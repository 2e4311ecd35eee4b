"""One contract for every CacheStore backend, plus the memory backend's byte bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.stores import CacheStore, MemoryCacheStore, cache_store_from_url


@pytest.fixture
async def cache_store(store_url: str, prefix: str) -> AsyncIterator[CacheStore]:
    store = cache_store_from_url(store_url, prefix=prefix)
    yield store
    await store.close()


async def test_set_then_get_returns_bytes(cache_store: CacheStore) -> None:
    await cache_store.set("a", b"\x00value\xff", ttl=60)
    assert await cache_store.get("a") == b"\x00value\xff"
    assert await cache_store.get("missing") is None


async def test_entry_expires_after_ttl(cache_store: CacheStore) -> None:
    await cache_store.set("short", b"x", ttl=0.1)
    assert await cache_store.get("short") == b"x"
    await asyncio.sleep(0.3)
    assert await cache_store.get("short") is None


async def test_delete_removes_entry(cache_store: CacheStore) -> None:
    await cache_store.set("gone", b"x", ttl=60)
    await cache_store.delete("gone")
    assert await cache_store.get("gone") is None


async def test_set_replaces_entry(cache_store: CacheStore) -> None:
    await cache_store.set("k", b"old", ttl=60)
    await cache_store.set("k", b"new", ttl=60)
    assert await cache_store.get("k") == b"new"


async def test_memory_cache_evicts_least_recently_used_to_stay_within_bytes() -> None:
    store = MemoryCacheStore(max_bytes=300)
    for name in ("a", "b", "c"):
        await store.set(name, bytes(99), ttl=60)  # 100 bytes each with the key
    assert store.size_bytes == 300
    assert await store.get("a") is not None  # "a" is now the most recently used
    await store.set("d", bytes(99), ttl=60)
    assert await store.get("b") is None  # evicted: least recently used
    assert await store.get("a") is not None
    assert await store.get("c") is not None
    assert await store.get("d") is not None
    assert store.size_bytes <= 300
    await store.set("huge", bytes(400), ttl=60)  # larger than the whole cache
    assert await store.get("huge") is None
    assert store.size_bytes <= 300


def test_memory_cache_needs_a_positive_bound() -> None:
    with pytest.raises(ConfigurationError):
        MemoryCacheStore(max_bytes=0)
    with pytest.raises(ConfigurationError, match="unknown cache store URL"):
        cache_store_from_url("memcached://x")
