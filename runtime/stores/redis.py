"""Redis stores (``redis://host:port/db``), shared by every gateway process.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Admission is one Lua script (``redis_admit.lua``) that reads and writes every level
atomically with the server's clock. The client uses short timeouts and no retry
back-off, so an outage fails fast into ``failMode``; redis-py reconnects on the
next command once the server is back, and re-sends the script after a restart
(``EVALSHA`` falls back to loading it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import TypeAlias

from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError

from ..errors import StoreError
from .base import Admission, BucketRequest, LevelState, QuotaRequest

__all__ = ["RedisCacheStore", "RedisLimitStore", "redis_client_from_url"]

_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
# Distinct level sets whose script arguments RedisLimitStore keeps ready.
_MAX_REMEMBERED_ARGUMENTS = 65_536

_Call: TypeAlias = "tuple[tuple[str | int, ...], asyncio.Future[object]]"


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


class RedisLimitStore:
    """Token buckets and quotas in Redis; one atomic script call per admission.

    Admissions made in the same event-loop turn are sent together, pipelined on one
    connection in one write, each still its own atomic script call; the encoded
    command of each level set is kept, so a request costs one small reply to parse.

    >>> store = RedisLimitStore(redis_client_from_url("redis://127.0.0.1:6379/0"), prefix="gw:")
    """

    def __init__(self, client: Redis, *, prefix: str = "gw:", owns_client: bool = True) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._script = _admit_script()
        self._sha = hashlib.sha1(self._script.encode("utf-8")).hexdigest()
        # (buckets, quotas) -> the script's KEYS and ARGV, built once per distinct set
        self._arguments: dict[
            tuple[tuple[BucketRequest, ...], tuple[QuotaRequest, ...]], tuple[str | int, ...]
        ] = {}
        self._commands: dict[tuple[str | int, ...], bytes] = {}
        self._pending: list[_Call] = []
        self._flushes: set[asyncio.Task[None]] = set()

    async def admit(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission:
        arguments = self._arguments_for(tuple(buckets), tuple(quotas))
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[object] = loop.create_future()
        self._pending.append((arguments, reply))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        raw = await reply
        return _parse_admission(raw, len(buckets), len(quotas))

    def _arguments_for(
        self, buckets: tuple[BucketRequest, ...], quotas: tuple[QuotaRequest, ...]
    ) -> tuple[str | int, ...]:
        memo_key = (buckets, quotas)
        known = self._arguments.get(memo_key)
        if known is not None:
            return known
        keys = [f"{self._prefix}tb:{b.key}" for b in buckets]
        keys += [f"{self._prefix}q:{q.key}" for q in quotas]
        args: list[str | int] = [len(buckets), len(quotas)]
        for b in buckets:
            args += [repr(float(b.rate)), b.burst]
        for q in quotas:
            args += [q.limit, q.period, q.offset_seconds]
        arguments = (len(keys), *keys, *args)
        if len(self._arguments) >= _MAX_REMEMBERED_ARGUMENTS:
            self._arguments.clear()
        self._arguments[memo_key] = arguments
        return arguments

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._flushes.add(task)  # a strong reference until it is done
        task.add_done_callback(self._flushes.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies = await self._evaluate([arguments for arguments, _ in batch])
        except _FAILURES as exc:
            failure = StoreError(f"redis admission failed: {exc}")
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(failure)
            return
        except BaseException as exc:  # cancelled at shutdown, or a bug: never strand callers
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(StoreError(f"redis admission failed: {exc!r}"))
            raise
        for (_, reply), value in zip(batch, replies, strict=True):
            if reply.done():
                continue  # the caller went away (cancelled)
            if isinstance(value, BaseException):
                reply.set_exception(StoreError(f"redis admission failed: {value}"))
            else:
                reply.set_result(value)

    async def _evaluate(self, calls: list[tuple[str | int, ...]]) -> list[object]:
        try:
            return await self._evaluate_once(calls)
        except (RedisConnectionError, OSError):
            # One quick retry: a pooled connection may predate a server restart.
            return await self._evaluate_once(calls)

    async def _evaluate_once(self, calls: list[tuple[str | int, ...]]) -> list[object]:
        pool = self._client.connection_pool
        # redis-py leaves get_connection unannotated; this is its documented return type
        get_connection: Callable[[], Awaitable[Connection]] = pool.get_connection
        connection = await get_connection()
        try:
            commands = [self._packed(connection, arguments) for arguments in calls]
            replies = await self._exchange(connection, commands)
            missing = [i for i, value in enumerate(replies) if isinstance(value, NoScriptError)]
            if missing:
                # A restarted (or flushed) server forgot the script: send it with the
                # calls that need it; EVAL caches it again for the next EVALSHA.
                again = await self._exchange(
                    connection,
                    [
                        b"".join(connection.pack_command("EVAL", self._script, *calls[i]))
                        for i in missing
                    ],
                )
                for i, value in zip(missing, again, strict=True):
                    replies[i] = value
            return replies
        finally:
            await pool.release(connection)

    def _packed(self, connection: Connection, arguments: tuple[str | int, ...]) -> bytes:
        # The same level set always sends the same bytes: encode them once.
        packed = self._commands.get(arguments)
        if packed is None:
            packed = b"".join(connection.pack_command("EVALSHA", self._sha, *arguments))
            if len(self._commands) >= _MAX_REMEMBERED_ARGUMENTS:
                self._commands.clear()
            self._commands[arguments] = packed
        return packed

    @staticmethod
    async def _exchange(connection: Connection, commands: list[bytes]) -> list[object]:
        """Send ``commands`` in one write and read one reply each (errors as values)."""
        await connection.send_packed_command(b"".join(commands))
        replies: list[object] = []
        for _ in commands:
            try:
                replies.append(await connection.read_response())
            except ResponseError as error:  # one script call failed; the rest still stand
                replies.append(error)
        return replies

    async def close(self) -> None:
        for task in list(self._flushes):
            with contextlib.suppress(BaseException):
                await task
        if self._owns_client:
            await self._client.aclose()


def _parse_admission(raw: object, bucket_count: int, quota_count: int) -> Admission:
    if not isinstance(raw, bytes):
        raise StoreError(f"redis admission script returned {raw!r}")
    fields = raw.split()
    if len(fields) != 2 + 4 * (bucket_count + quota_count):
        raise StoreError(f"redis admission script returned {raw!r}")
    try:
        levels = [
            LevelState(
                limit=int(fields[i]),
                remaining=int(fields[i + 1]),
                reset_after=float(fields[i + 2]),
                rejected=fields[i + 3] == b"1",
            )
            for i in range(2, len(fields), 4)
        ]
        retry_after = float(fields[1])
    except ValueError as exc:
        raise StoreError(f"redis admission script returned {raw!r}") from exc
    return Admission(
        allowed=fields[0] == b"1",
        buckets=tuple(levels[:bucket_count]),
        quotas=tuple(levels[bucket_count:]),
        retry_after=retry_after,
    )


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
