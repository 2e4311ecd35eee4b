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
        self._current_windows: dict[tuple[str, int], tuple[int, int]] = {}
        self._since_sweep = 0

    async def admit(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission:
        # Runs on every throttled request: plain locals and loops, no helper calls.
        now = self._clock()
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        # Phase one: look at every level without changing anything.
        allowed = True
        bucket_states = self._buckets
        bucket_views: list[tuple[BucketRequest, _Bucket | None, float]] = []
        for b in buckets:
            state = bucket_states.get(b.key)
            if state is None:
                tokens = float(b.burst)  # a new bucket starts full
            else:
                elapsed = now - state.updated
                tokens = state.tokens + elapsed * b.rate if elapsed > 0.0 else state.tokens
                if tokens > b.burst:
                    tokens = float(b.burst)
            if tokens < 1.0:
                allowed = False
            bucket_views.append((b, state, tokens))
        window_states = self._windows
        current_windows = self._current_windows
        quota_views: list[tuple[QuotaRequest, _Window | None, int, int, int]] = []
        for q in quotas:
            # The window for (period, offset) changes at most once a day: remember
            # the current one instead of recomputing calendar arithmetic per request.
            memo_key = (q.period, q.offset_seconds)
            bounds = current_windows.get(memo_key)
            if bounds is None or not bounds[0] <= now < bounds[1]:
                bounds = current_windows[memo_key] = quota_window(now, q.period, q.offset_seconds)
            start, end = bounds
            window = window_states.get(q.key)
            used = window.used if window is not None and window.start == start else 0
            if used >= q.limit:
                allowed = False
            quota_views.append((q, window, start, end, used))
        # Phase two: consume from every level, only when every level agreed; state
        # objects are updated in place.
        retry_after = 0.0
        levels: list[LevelState] = []
        for b, state, tokens in bucket_views:
            left = tokens
            if allowed:
                left = tokens - 1.0
                if state is None:
                    bucket_states[b.key] = _Bucket(left, now, b.rate, b.burst)
                else:
                    state.tokens, state.updated, state.rate, state.burst = left, now, b.rate, b.burst
            elif tokens < 1.0:
                wait = (1.0 - tokens) / b.rate
                if wait > retry_after:
                    retry_after = wait
            levels.append(LevelState(b.burst, int(left), (b.burst - left) / b.rate, tokens < 1.0))
        quota_levels: list[LevelState] = []
        for q, window, start, end, used in quota_views:
            refused = used >= q.limit
            if allowed:
                used += 1
                if window is None:
                    window_states[q.key] = _Window(start, end, used)
                else:
                    window.start, window.end, window.used = start, end, used
            elif refused and end - now > retry_after:
                retry_after = end - now
            remaining = q.limit - used
            quota_levels.append(LevelState(q.limit, remaining if remaining > 0 else 0, end - now, refused))
        return Admission(allowed, tuple(levels), tuple(quota_levels), retry_after)

    async def close(self) -> None:
        self._buckets.clear()
        self._windows.clear()

    def _sweep(self, now: float) -> None:
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
