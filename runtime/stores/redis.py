"""Redis stores (``redis://host:port/db``), shared by every gateway process.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Admission is one Lua script (``redis_admit.lua``) that reads and writes every level
atomically with the server's clock. The client uses short timeouts and no retry
back-off, so an outage fails fast into ``failMode``; redis-py reconnects on the
next command once the server is back, and re-sends the script after a restart
(``EVALSHA`` falls back to loading it).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..errors import StoreError
from .base import Admission, BucketRequest, LevelState, QuotaRequest

__all__ = ["RedisCacheStore", "RedisLimitStore", "redis_client_from_url"]

_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def redis_client_from_url(url: str, *, timeout: float = 0.5) -> Redis:
    """A redis-py asyncio client tuned for a request path: short timeouts, one quick retry."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        decode_responses=False,
    )


def _admit_script() -> str:
    return resources.files("gatewright.runtime").joinpath("redis_admit.lua").read_text("utf-8")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLimitStore:
    """Token buckets and quotas in Redis; one atomic script call per admission.

    >>> store = RedisLimitStore(redis_client_from_url("redis://127.0.0.1:6379/0"), prefix="gw:")
    """

    def __init__(self, client: Redis, *, prefix: str = "gw:", owns_client: bool = True) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._script = client.register_script(_admit_script())

    async def admit(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission:
        keys = [f"{self._prefix}tb:{b.key}" for b in buckets]
        keys += [f"{self._prefix}q:{q.key}" for q in quotas]
        args: list[str | int | float] = [len(buckets), len(quotas)]
        for b in buckets:
            args += [repr(float(b.rate)), b.burst]
        for q in quotas:
            args += [q.limit, q.period, q.offset_seconds]
        try:
            raw = await self._script(keys=keys, args=args)
        except _FAILURES as exc:
            raise StoreError(f"redis admission failed: {exc}") from exc
        if not isinstance(raw, list) or len(raw) != 2 + 4 * len(keys):
            raise StoreError(f"redis admission script returned {raw!r}")
        levels = [
            LevelState(
                limit=int(raw[i]),
                remaining=int(raw[i + 1]),
                reset_after=float(_text(raw[i + 2])),
                rejected=bool(int(raw[i + 3])),
            )
            for i in range(2, len(raw), 4)
        ]
        return Admission(
            allowed=bool(int(raw[0])),
            buckets=tuple(levels[: len(buckets)]),
            quotas=tuple(levels[len(buckets) :]),
            retry_after=float(_text(raw[1])),
        )

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


class RedisCacheStore:
    """Response-cache entries as Redis strings with a millisecond TTL.

    >>> store = RedisCacheStore(redis_client_from_url("redis://127.0.0.1:6379/0"), prefix="gw:")
    """

    def __init__(self, client: Redis, *, prefix: str = "gw:", owns_client: bool = True) -> None:
        self._client = client
        self._prefix = prefix + "c:"
        self._owns_client = owns_client

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(self._prefix + key)
        except _FAILURES as exc:
            raise StoreError(f"redis cache get failed: {exc}") from exc
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        milliseconds = int(ttl * 1000)
        if milliseconds <= 0:
            return
        try:
            await self._client.set(self._prefix + key, value, px=milliseconds)
        except _FAILURES as exc:
            raise StoreError(f"redis cache set failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self._prefix + key)
        except _FAILURES as exc:
            raise StoreError(f"redis cache delete failed: {exc}") from exc

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
