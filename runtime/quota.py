"""Request quotas: at most ``limit`` requests per UTC day, week or month, per API key.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Windows are UTC days, weeks starting Monday 00:00, or calendar months, each shifted
later by ``offset_seconds`` (an offset of one day makes months run from the 2nd to
the 2nd). Exactly ``limit`` requests are admitted per window; the next one is refused
with ``QUOTA_EXCEEDED`` (429) and ``Retry-After`` set to the end of the window.

Usage-plan quotas are normally applied by
:func:`~gatewright.runtime.throttle.throttle_middleware` together with the throttles,
in one atomic store call. :func:`quota_middleware` applies them alone, and
:class:`QuotaCounter` is the component for any other counting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .context import PRINCIPAL, ROUTE_MATCH
from .stores.base import Admission, QuotaPeriod, QuotaRequest, quota_window
from .throttle import Limiter

if TYPE_CHECKING:
    from .keys import UsagePlan

__all__ = ["QuotaCounter", "QuotaPeriod", "QuotaPolicy", "quota_middleware", "quota_window"]


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """``limit`` requests per ``period``, windows shifted by ``offset_seconds``.

    >>> QuotaPolicy(limit=10_000, period="month")
    QuotaPolicy(limit=10000, period='month', offset_seconds=0)
    """

    limit: int
    period: QuotaPeriod
    offset_seconds: int = 0

    def __post_init__(self) -> None:
        self.request("validate")  # QuotaRequest raises ConfigurationError on bad values

    def request(self, key: str) -> QuotaRequest:
        return QuotaRequest(key, self.limit, self.period, self.offset_seconds)


class QuotaCounter:
    """Counts admissions against a quota through a :class:`Limiter` (and its failMode).

    >>> counter = QuotaCounter(Limiter(MemoryLimitStore()))
    >>> await counter.consume("tenant-42", QuotaPolicy(limit=100, period="day"))
    """

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def consume(self, key: str, policy: QuotaPolicy) -> Admission | None:
        """Admit one request or raise ``QUOTA_EXCEEDED``; None when the store failed open."""
        return await self.limiter.enforce((), (policy.request(f"quota:{key}"),))


def quota_middleware(*, limiter: Limiter, plans: Mapping[str, UsagePlan]) -> Middleware:
    """Apply usage-plan quotas only (use with ``throttle_middleware(quotas=False)``)."""
    plan_table = dict(plans)

    @web.middleware
    async def quota(request: web.Request, handler: Handler) -> web.StreamResponse:
        principal = request.get(PRINCIPAL)
        if request.get(ROUTE_MATCH) is not None and principal is not None:
            plan = plan_table.get(principal.plan or "")
            if plan is not None and plan.quota is not None and principal.api_key_id:
                key = f"plan:{principal.plan}:{principal.api_key_id}"
                await limiter.enforce((), (plan.quota.request(key),))
        return await handler(request)

    return quota
