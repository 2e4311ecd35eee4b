"""Token-bucket throttling at every AWS level, checked two-phase in one store call.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Levels, in the order AWS applies them: usage-plan method, usage plan, operation,
API/stage, account ceiling. A bucket starts full with ``burst`` tokens and refills
at ``rate`` per second. All levels (and the usage plan's quota) are admitted in one
atomic :meth:`~gatewright.runtime.stores.LimitStore.admit` call, so a refused request
consumes nothing anywhere.

Usage::

    limiter = Limiter(store_from_url("redis://127.0.0.1:6379/0"), fail_mode="open")
    app = web.Application(middlewares=[
        routing, api_key_middleware(...),
        throttle_middleware(limiter=limiter, plans=PLANS,
                            operations={"getOrder": TokenBucket(rate=200, burst=400)},
                            api=TokenBucket(rate=1000, burst=2000), stage="prod"),
    ])

When the store fails, ``fail_mode="open"`` admits the request and ``"closed"``
refuses it with ``THROTTLED`` (429, ``Retry-After: 1``): a refusal the client
already knows how to retry, never a 5xx. Either way the failure is counted in
``limiter.health`` and logged once per outage; the next call tries the store
again, so recovery needs no restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .context import PRINCIPAL, ROUTE_MATCH
from .errors import ConfigurationError, GatewayError, StoreError
from .stores.base import Admission, BucketRequest, LimitStore, QuotaRequest, StoreHealth

if TYPE_CHECKING:
    from .keys import UsagePlan

__all__ = [
    "FailMode",
    "Limiter",
    "RateLimitHeaders",
    "TokenBucket",
    "plan_levels",
    "refusal_headers",
    "throttle_middleware",
]

# Distinct (plan, API key, operation) level sets remembered by throttle_middleware.
_MAX_REMEMBERED_CALLERS = 65_536

FailMode: TypeAlias = Literal["open", "closed"]
RateLimitHeaders: TypeAlias = Literal["ietf", "legacy", "none"]


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """A throttle: ``burst`` is the bucket's capacity, ``rate`` its refill per second.

    >>> TokenBucket(rate=50, burst=100)
    TokenBucket(rate=50, burst=100)
    """

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigurationError(f"throttle rate must be a number > 0, got {self.rate!r}")
        if self.burst < 1:
            raise ConfigurationError(f"throttle burst must be >= 1, got {self.burst!r}")

    def bucket(self, key: str) -> BucketRequest:
        return BucketRequest(key, float(self.rate), self.burst)


def refusal_headers(admission: Admission, style: RateLimitHeaders) -> dict[str, str]:
    """Response headers for a refused admission (empty when ``style`` is ``none``)."""
    if style == "none":
        return {}
    level = admission.first_rejected
    retry = str(max(1, math.ceil(admission.retry_after)))
    headers = {"Retry-After": retry}
    if level is not None:
        prefix = "RateLimit-" if style == "ietf" else "X-RateLimit-"
        headers[prefix + "Limit"] = str(level.limit)
        headers[prefix + "Remaining"] = str(level.remaining)
        headers[prefix + "Reset"] = retry
    return headers


class Limiter:
    """Admits requests through a :class:`LimitStore` and applies ``failMode``.

    >>> limiter = Limiter(MemoryLimitStore(), fail_mode="closed", headers="ietf")
    """

    def __init__(
        self,
        store: LimitStore,
        *,
        fail_mode: FailMode = "open",
        headers: RateLimitHeaders = "ietf",
        health: StoreHealth | None = None,
    ) -> None:
        if fail_mode not in ("open", "closed"):
            raise ConfigurationError(f"fail_mode must be 'open' or 'closed', got {fail_mode!r}")
        if headers not in ("ietf", "legacy", "none"):
            raise ConfigurationError(f"headers must be ietf, legacy or none, got {headers!r}")
        self.store = store
        self.fail_mode: FailMode = fail_mode
        self.headers: RateLimitHeaders = headers
        self.health = health if health is not None else StoreHealth("limit")

    async def enforce(
        self, buckets: Sequence[BucketRequest], quotas: Sequence[QuotaRequest] = ()
    ) -> Admission | None:
        """The store's decision; a refusal raises ``THROTTLED`` or ``QUOTA_EXCEEDED`` (429).

        When the store fails: None with ``fail_mode`` open, a 429 with it closed.
        """
        try:
            admission = await self.store.admit(buckets, quotas)
        except StoreError as exc:
            self.health.record_failure(exc)
            if self.fail_mode == "open":
                return None
            raise GatewayError("THROTTLED", "Too Many Requests", headers={"Retry-After": "1"}) from exc
        self.health.record_success()
        if admission.allowed:
            return admission
        headers = refusal_headers(admission, self.headers)
        if admission.quota_exceeded:
            raise GatewayError("QUOTA_EXCEEDED", "Limit Exceeded", headers=headers)
        raise GatewayError("THROTTLED", "Too Many Requests", headers=headers)


def plan_levels(
    plan: UsagePlan, plan_name: str, api_key_id: str, operation_id: str
) -> tuple[list[BucketRequest], list[QuotaRequest]]:
    """The usage plan's buckets (method, then plan) and quota for one API key.

    Plan limits are per key and shared across the plan's stages, as in AWS.
    """
    buckets: list[BucketRequest] = []
    method = plan.methods.get(operation_id)
    if method is not None:
        buckets.append(method.bucket(f"plan:{plan_name}:{api_key_id}:op:{operation_id}"))
    if plan.throttle is not None:
        buckets.append(plan.throttle.bucket(f"plan:{plan_name}:{api_key_id}"))
    quotas: list[QuotaRequest] = []
    if plan.quota is not None:
        quotas.append(plan.quota.request(f"plan:{plan_name}:{api_key_id}"))
    return buckets, quotas


def throttle_middleware(
    *,
    limiter: Limiter,
    plans: Mapping[str, UsagePlan] | None = None,
    operations: Mapping[str, TokenBucket] | None = None,
    api: TokenBucket | None = None,
    account: TokenBucket | None = None,
    stage: str = "default",
    quotas: bool = True,
) -> Middleware:
    """Throttle (and apply usage-plan quotas to) every routed request.

    ``plans`` apply when ``request[PRINCIPAL]`` carries an API key and a plan (set by
    :func:`~gatewright.runtime.keys.api_key_middleware`); operations that do not
    require a key bypass plan limits, as in AWS. ``operations`` maps operation ids to
    per-operation throttles; ``api`` is the API/stage throttle and ``account`` the
    ceiling over everything using this store. ``quotas=False`` leaves plan quotas to
    :func:`~gatewright.runtime.quota.quota_middleware`.
    """
    plan_table = dict(plans or {})
    stage_levels: list[BucketRequest] = []
    if api is not None:
        stage_levels.append(api.bucket(f"api:{stage}"))
    if account is not None:
        stage_levels.append(account.bucket("account"))
    # The levels that do not depend on the caller are built once, at start-up.
    static_levels: dict[str, tuple[BucketRequest, ...]] = {
        op_id: (bucket.bucket(f"op:{stage}:{op_id}"), *stage_levels)
        for op_id, bucket in (operations or {}).items()
    }
    default_levels = tuple(stage_levels)
    # A caller's levels depend only on (plan, key, operation): built on first use and
    # reused, so a request allocates no bucket or quota descriptions. Bounded, because
    # the number of keys is not.
    caller_levels: dict[
        tuple[str, str, str], tuple[tuple[BucketRequest, ...], tuple[QuotaRequest, ...]]
    ] = {}

    def levels_for(
        plan_name: str, api_key_id: str, operation_id: str
    ) -> tuple[tuple[BucketRequest, ...], tuple[QuotaRequest, ...]]:
        memo_key = (plan_name, api_key_id, operation_id)
        levels = caller_levels.get(memo_key)
        if levels is not None:
            return levels
        buckets: list[BucketRequest] = []
        quota_requests: list[QuotaRequest] = []
        plan = plan_table.get(plan_name)
        if plan is not None:
            buckets, quota_requests = plan_levels(plan, plan_name, api_key_id, operation_id)
            if not quotas:
                quota_requests = []
        buckets.extend(static_levels.get(operation_id, default_levels))
        levels = (tuple(buckets), tuple(quota_requests))
        if len(caller_levels) >= _MAX_REMEMBERED_CALLERS:
            caller_levels.clear()
        caller_levels[memo_key] = levels
        return levels

    @web.middleware
    async def throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.get(ROUTE_MATCH)
        if match is None:
            return await handler(request)
        principal = request.get(PRINCIPAL)
        if principal is not None and principal.api_key_id and principal.plan:
            buckets, quota_requests = levels_for(
                principal.plan, principal.api_key_id, match.operation_id
            )
        else:
            buckets, quota_requests = static_levels.get(match.operation_id, default_levels), ()
        if buckets or quota_requests:
            await limiter.enforce(buckets, quota_requests)
        return await handler(request)

    return throttle
