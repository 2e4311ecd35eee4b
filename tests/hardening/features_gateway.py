"""A gateway process assembled from runtime parts, for faults in features the emitter
does not compile yet: a custom authorizer that raises or hangs, and throttling whose
counters live in redis-server.

Run as ``python features_gateway.py PORT REDIS_URL``. Routes (all mocks answering 200):

- ``GET /auth/raises``   custom authorizer that raises
- ``GET /auth/hangs``    custom authorizer that never answers (0.3 s timeout)
- ``GET /auth/ok``       custom authorizer that allows
- ``GET /throttled``     token bucket (rate 50/s, burst 20) in redis, failMode open
- ``GET /strict``        token bucket in redis, failMode closed
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web
from gatewright import runtime as gw
from gatewright.runtime.auth import AuthorizerSettings, CustomAuthorizer, auth_middleware
from gatewright.runtime.stores import store_from_url
from gatewright.runtime.throttle import Limiter, TokenBucket, throttle_middleware

__all__ = ["build_app"]


def _raises(event: dict[str, object]) -> object:
    raise RuntimeError("the authorizer crashed")


async def _hangs(event: dict[str, object]) -> object:
    await asyncio.sleep(3600)
    return {"isAuthorized": True}


def _allows(event: dict[str, object]) -> object:
    return {"isAuthorized": True, "context": {"tenant": "acme"}}


async def _answer(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    return await integration.invoke(request, None)


def _route(operation_id: str, *path: str) -> gw.Route:
    return gw.Route(
        operation_id=operation_id,
        method="GET",
        path="/" + "/".join(path),
        segments=tuple(("static", part) for part in path),
        handler=_answer,
        integration=gw.MockSpec(status=200, body={"operation": operation_id}, has_body=True),
    )


def build_app(redis_url: str) -> web.Application:
    settings = AuthorizerSettings(timeout_seconds=0.3, result_ttl_seconds=0)
    schemes = {
        "raises": CustomAuthorizer("raises", _raises, settings),
        "hangs": CustomAuthorizer("hangs", _hangs, settings),
        "allows": CustomAuthorizer("allows", _allows, settings),
    }
    auth = auth_middleware(
        schemes=schemes,
        requirements_by_operation={
            "authRaises": [{"raises": []}],
            "authHangs": [{"hangs": []}],
            "authOk": [{"allows": []}],
            "throttled": [],
            "strict": [],
        },
    )
    bucket = TokenBucket(rate=50, burst=20)
    open_limiter = Limiter(store_from_url(redis_url, prefix="open:"), fail_mode="open")
    closed_limiter = Limiter(store_from_url(redis_url, prefix="closed:"), fail_mode="closed")
    routes = [
        _route("authRaises", "auth", "raises"),
        _route("authHangs", "auth", "hangs"),
        _route("authOk", "auth", "ok"),
        _route("throttled", "throttled"),
        _route("strict", "strict"),
    ]
    return gw.build_gateway_app(
        gw.ApiConfig(title="features"),
        routes,
        stage="test",
        env={},
        extra_middlewares=(
            auth,
            throttle_middleware(limiter=open_limiter, operations={"throttled": bucket}),
            throttle_middleware(limiter=closed_limiter, operations={"strict": bucket}),
        ),
    )


if __name__ == "__main__":
    gw.configure_logging("warning")
    port, redis_url = int(sys.argv[1]), sys.argv[2]
    sys.exit(gw.serve(lambda: build_app(redis_url), host="127.0.0.1", port=port))
