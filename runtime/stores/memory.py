"""In-process stores: the embedded default (``memory://``).

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

State lives in one process, so several gateway processes each enforce their own
limits; use Redis to share them. Every operation runs without awaiting, which makes
it atomic on the event loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError
from .base import Admission, BucketRequest, LevelState, QuotaRequest, quota_window

__all__ = ["MemoryCacheStore", "MemoryLimitStore"]

Clock = Callable[[], float]

# Forget full buckets and finished windows every this many admissions, so memory
# stays proportional to recently active clients.
_SWEEP_EVERY = 4096


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    rate: float
    burst: int


@dataclass(slots=True)
class _Window:
    start: int
    end: int
    used: int


class MemoryLimitStore:
    """Token buckets and quota counters in a dict.

    ``clock`` returns epoch seconds; tests inject a fake one to cross window
    boundaries deterministically.

    >>> store = MemoryLimitStore()
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._windows: dict[str, _Window] = {}
        self._since_sweep = 0

    async def admit(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission:
        now = self._clock()
        self._maybe_sweep(now)
        # Phase one: look at every level without changing anything.
        bucket_tokens = [self._tokens_now(b, now) for b in buckets]
        windows = [self._window_now(q, now) for q in quotas]
        bucket_ok = [tokens >= 1.0 for tokens in bucket_tokens]
        quota_ok = [w.used < q.limit for q, w in zip(quotas, windows, strict=True)]
        allowed = all(bucket_ok) and all(quota_ok)
        # Phase two: consume from every level, only when every level agreed.
        if allowed:
            for b, tokens in zip(buckets, bucket_tokens, strict=True):
                self._buckets[b.key] = _Bucket(tokens - 1.0, now, b.rate, b.burst)
            for q, w in zip(quotas, windows, strict=True):
                w.used += 1
                self._windows[q.key] = w
        retry_after = 0.0
        bucket_states: list[LevelState] = []
        for b, tokens, ok in zip(buckets, bucket_tokens, bucket_ok, strict=True):
            left = tokens - 1.0 if allowed else tokens
            if not ok:
                retry_after = max(retry_after, (1.0 - tokens) / b.rate)
            bucket_states.append(
                LevelState(b.burst, int(left), (b.burst - left) / b.rate, rejected=not ok)
            )
        quota_states: list[LevelState] = []
        for q, w, ok in zip(quotas, windows, quota_ok, strict=True):
            if not ok:
                retry_after = max(retry_after, w.end - now)
            quota_states.append(LevelState(q.limit, max(q.limit - w.used, 0), w.end - now, rejected=not ok))
        return Admission(allowed, tuple(bucket_states), tuple(quota_states), retry_after)

    async def close(self) -> None:
        self._buckets.clear()
        self._windows.clear()

    def _tokens_now(self, bucket: BucketRequest, now: float) -> float:
        state = self._buckets.get(bucket.key)
        if state is None:
            return float(bucket.burst)  # a new bucket starts full
        elapsed = max(now - state.updated, 0.0)
        return min(float(bucket.burst), state.tokens + elapsed * bucket.rate)

    def _window_now(self, quota: QuotaRequest, now: float) -> _Window:
        start, end = quota_window(now, quota.period, quota.offset_seconds)
        state = self._windows.get(quota.key)
        if state is None or state.start != start:
            return _Window(start, end, 0)
        return _Window(state.start, state.end, state.used)

    def _maybe_sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < _SWEEP_EVERY:
            return
        self._since_sweep = 0
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate >= b.burst
        ]
        for key in full:
            del self._buckets[key]
        for key in [k for k, w in self._windows.items() if now >= w.end]:
            del self._windows[key]


class MemoryCacheStore:
    """A byte-bounded LRU cache with per-entry expiry.

    The size of an entry is its key plus its value; the least recently used entries
    are evicted until a new one fits. An entry larger than ``max_bytes`` is not kept.

    >>> store = MemoryCacheStore(max_bytes=64 * 1024 * 1024)
    """

    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024, clock: Clock = time.monotonic) -> None:
        if max_bytes < 1:
            raise ConfigurationError(f"memory cache max_bytes must be >= 1, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes currently held (keys plus values)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock() >= expires:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        self._remove(key)
        size = len(key) + len(value)
        if ttl <= 0 or size > self.max_bytes:
            return
        while self._bytes + size > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
        self._entries[key] = (value, self._clock() + ttl)
        self._bytes += size

    async def delete(self, key: str) -> None:
        self._remove(key)

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(key) + len(entry[0])
