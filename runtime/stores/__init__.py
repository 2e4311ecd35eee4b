"""Pluggable stores for throttling, quotas and the response cache, chosen by URL.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

- ``memory://`` keeps state in this process (the embedded default).
- ``redis://host:port/db`` (also ``rediss://``, ``unix://``) shares state between
  gateway processes through redis-py asyncio.

>>> limits = store_from_url("memory://")
>>> cache = cache_store_from_url("redis://127.0.0.1:6379/0", prefix="gw:orders:")

API keys have their own store (``gatewright.runtime.keys.key_store_from_url``),
which adds ``sqlite:///path``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigurationError
from .base import (
    Admission,
    BucketRequest,
    CacheStore,
    LevelState,
    LimitStore,
    QuotaPeriod,
    QuotaRequest,
    StoreHealth,
    quota_window,
)
from .memory import MemoryCacheStore, MemoryLimitStore

__all__ = [
    "Admission",
    "BucketRequest",
    "CacheStore",
    "LevelState",
    "LimitStore",
    "MemoryCacheStore",
    "MemoryLimitStore",
    "QuotaPeriod",
    "QuotaRequest",
    "StoreHealth",
    "cache_store_from_url",
    "is_redis_url",
    "quota_window",
    "store_from_url",
]

_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def is_redis_url(url: str) -> bool:
    return urlsplit(url).scheme in _REDIS_SCHEMES


def _check_scheme(url: str, what: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme != "memory" and scheme not in _REDIS_SCHEMES:
        raise ConfigurationError(
            f"unknown {what} store URL {url!r}: use memory:// or redis://host:port/db"
        )
    return scheme


def store_from_url(url: str, *, prefix: str = "gw:", timeout: float = 0.5) -> LimitStore:
    """The throttle and quota store for ``url``.

    ``prefix`` namespaces Redis keys (one per API); ``timeout`` bounds every Redis
    call in seconds, so an outage turns into ``failMode`` quickly.
    """
    if _check_scheme(url, "limit") == "memory":
        return MemoryLimitStore()
    from .redis import RedisLimitStore, redis_client_from_url

    return RedisLimitStore(redis_client_from_url(url, timeout=timeout), prefix=prefix)


def cache_store_from_url(
    url: str, *, prefix: str = "gw:", max_bytes: int = 64 * 1024 * 1024, timeout: float = 0.5
) -> CacheStore:
    """The response-cache store for ``url``; ``max_bytes`` bounds the memory backend."""
    if _check_scheme(url, "cache") == "memory":
        return MemoryCacheStore(max_bytes=max_bytes)
    from .redis import RedisCacheStore, redis_client_from_url

    return RedisCacheStore(redis_client_from_url(url, timeout=timeout), prefix=prefix)
