"""Store protocols and the values that cross them.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Each need has its own tiny async protocol, so a backend implements only what it
can do (the ``limits`` library's split):

- :class:`LimitStore` admits a request against token buckets and quota counters in
  one atomic step (two-phase: check every level, then consume from every level).
- :class:`CacheStore` keeps opaque response entries with a TTL.

Backends raise :class:`~gatewright.runtime.errors.StoreError` for every failure of
the underlying service, so callers catch one type and apply ``failMode``.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple, Protocol, TypeAlias

from ..errors import ConfigurationError

__all__ = [
    "Admission",
    "BucketRequest",
    "CacheStore",
    "LevelState",
    "LimitStore",
    "QuotaPeriod",
    "QuotaRequest",
    "StoreHealth",
    "quota_window",
]

QuotaPeriod: TypeAlias = Literal["day", "week", "month"]

_DAY = 86_400
_PERIOD_MIN_SECONDS: dict[str, int] = {"day": _DAY, "week": 7 * _DAY, "month": 28 * _DAY}
# 1970-01-01 was a Thursday; weeks start on Monday 00:00 UTC (ISO 8601).
_EPOCH_WEEKDAY = 3


@dataclass(frozen=True, slots=True)
class BucketRequest:
    """One token bucket to take a token from: full at ``burst``, refilling at ``rate``/s."""

    key: str
    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigurationError(f"bucket {self.key!r}: rate must be > 0, got {self.rate!r}")
        if self.burst < 1:
            raise ConfigurationError(f"bucket {self.key!r}: burst must be >= 1, got {self.burst!r}")


@dataclass(frozen=True, slots=True)
class QuotaRequest:
    """One quota counter: at most ``limit`` admissions per UTC window shifted by ``offset_seconds``."""

    key: str
    limit: int
    period: QuotaPeriod
    offset_seconds: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ConfigurationError(f"quota {self.key!r}: limit must be >= 0, got {self.limit!r}")
        if self.period not in _PERIOD_MIN_SECONDS:
            raise ConfigurationError(
                f"quota {self.key!r}: period must be day, week or month, got {self.period!r}"
            )
        bound = _PERIOD_MIN_SECONDS[self.period]
        if not 0 <= self.offset_seconds < bound:
            raise ConfigurationError(
                f"quota {self.key!r}: offset_seconds must be in [0, {bound}) for a "
                f"{self.period} period, got {self.offset_seconds!r}"
            )


class LevelState(NamedTuple):
    """What one level looks like after the admission decision.

    ``remaining`` is whole tokens (bucket) or requests (quota) left; ``reset_after``
    is seconds until the next token (bucket) or until the window ends (quota).
    ``limit`` is the bucket's burst or the quota's limit. Named tuples (immutable)
    rather than frozen dataclasses, which cost twice as much to build, here once per
    level of every throttled request.
    """

    limit: int
    remaining: int
    reset_after: float
    rejected: bool


class Admission(NamedTuple):
    """The outcome of :meth:`LimitStore.admit`.

    ``buckets`` and ``quotas`` are in the order they were passed. When the request
    is refused nothing was consumed anywhere; ``retry_after`` is then the seconds
    until every refusing level would accept.
    """

    allowed: bool
    buckets: tuple[LevelState, ...] = ()
    quotas: tuple[LevelState, ...] = ()
    retry_after: float = 0.0

    @property
    def quota_exceeded(self) -> bool:
        return any(q.rejected for q in self.quotas)

    @property
    def first_rejected(self) -> LevelState | None:
        """The level to report: a refusing quota beats a refusing bucket (it lasts longer)."""
        for level in (*self.quotas, *self.buckets):
            if level.rejected:
                return level
        return None


class LimitStore(Protocol):
    """Atomic admission against token buckets and quota counters.

    A rejected request consumes nothing at any level. Redis implements this as one
    Lua script using the server clock; memory as one synchronous step.
    """

    async def admit(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission: ...

    async def close(self) -> None: ...


class CacheStore(Protocol):
    """Opaque byte entries with a TTL, for the response cache."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class StoreHealth:
    """Counts store failures and logs state changes, for ``failMode`` handling.

    The app can expose ``failures`` and ``healthy`` as metrics. Only transitions are
    logged (healthy -> failing -> recovered) so an outage does not flood the log.

    >>> health = StoreHealth("throttle")
    >>> health.record_failure(OSError("refused"))
    >>> health.failures, health.healthy
    (1, False)
    """

    name: str
    failures: int = 0
    healthy: bool = True
    last_error: str | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("gatewright.runtime.stores"))

    def record_failure(self, error: BaseException) -> None:
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        if self.healthy:
            self.healthy = False
            self.logger.warning("%s store failing: %s", self.name, self.last_error)

    def record_success(self) -> None:
        if not self.healthy:
            self.healthy = True
            self.logger.warning("%s store recovered after %d failures", self.name, self.failures)


def quota_window(now: float, period: QuotaPeriod, offset_seconds: int = 0) -> tuple[int, int]:
    """Return ``(start, end)`` epoch seconds of the quota window that contains ``now``.

    Windows are UTC days, weeks (Monday 00:00) or calendar months, each shifted
    later by ``offset_seconds``. The Redis Lua script mirrors this function.

    >>> quota_window(86_400 * 1.5, "day")
    (86400, 172800)
    """
    shifted = math.floor(now) - offset_seconds
    day = shifted // _DAY
    if period == "day":
        start_day, end_day = day, day + 1
    elif period == "week":
        start_day = day - (day + _EPOCH_WEEKDAY) % 7
        end_day = start_day + 7
    else:
        civil = datetime.fromtimestamp(day * _DAY, tz=UTC)
        start_day = calendar.timegm((civil.year, civil.month, 1, 0, 0, 0)) // _DAY
        next_year, next_month = (civil.year + 1, 1) if civil.month == 12 else (civil.year, civil.month + 1)
        end_day = calendar.timegm((next_year, next_month, 1, 0, 0, 0)) // _DAY
    return start_day * _DAY + offset_seconds, end_day * _DAY + offset_seconds
