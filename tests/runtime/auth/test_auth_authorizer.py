"""Custom authorizers (Python callables and an HTTP authorizer) through a real gateway app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from auth_support import GatewayFactory
from gatewright.runtime.auth import (
    AuthorizerSettings,
    CustomAuthorizer,
    UnauthorizedError,
    auth_middleware,
    resolve_handler,
)
from gatewright.runtime.errors import ConfigurationError

REQUIREMENTS: dict[str, list[dict[str, list[str]]]] = {
    "getOrder": [{"partner": []}],
    "getReport": [{"partner": []}],
    "deleteOrder": [{"partner": []}],
}
ARN_PREFIX = "arn:aws:execute-api:local:000000000000:gatewright/$default"


def allow_exactly_the_method_arn(event: dict[str, object]) -> dict[str, object]:
    """The common authorizer pattern that AWS's result cache turns into a lockout."""
    return {
        "principalId": "partner-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event["methodArn"]},
                {"Effect": "Deny", "Action": "execute-api:*", "Resource": f"{ARN_PREFIX}/DELETE/*"},
            ],
        },
        "context": {"tenant": "acme", "tier": 2, "beta": True},
    }


class Counting:
    def __init__(self, handler: Callable[[dict[str, object]], object]) -> None:
        self.handler = handler
        self.events: list[dict[str, object]] = []

    def __call__(self, event: dict[str, object]) -> object:
        self.events.append(event)
        return self.handler(event)


async def test_cached_policy_for_route_a_does_not_lock_out_route_b(gateway: GatewayFactory) -> None:
    handler = Counting(allow_exactly_the_method_arn)
    authorizer = CustomAuthorizer(
        "partner",
        handler,
        AuthorizerSettings(type="request", identity_sources=("header.X-Partner",)),
    )
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    partner = {"X-Partner": "p-7"}
    assert (await client.get("/orders/1", headers=partner)).status == 200
    assert (await client.get("/reports/daily", headers=partner)).status == 200  # not locked out
    assert len(handler.events) == 2
    assert handler.events[1]["methodArn"] == f"{ARN_PREFIX}/GET/reports/daily"
    assert (await client.get("/orders/1", headers=partner)).status == 200
    assert (await client.get("/reports/daily", headers=partner)).status == 200
    assert len(handler.events) == 2  # both answered from the cache
    # an explicit Deny in a cached policy is honoured without asking again
    assert (await client.delete("/orders/1", headers=partner)).status == 403
    assert len(handler.events) == 2
    assert authorizer.calls == 2


async def test_missing_identity_gets_401_without_calling_the_authorizer(
    gateway: GatewayFactory,
) -> None:
    handler = Counting(allow_exactly_the_method_arn)
    authorizer = CustomAuthorizer(
        "partner",
        handler,
        AuthorizerSettings(type="request", identity_sources=("header.X-Partner", "query.tenant")),
    )
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    assert (await client.get("/orders/1", headers={"X-Partner": "p-7"})).status == 401
    assert (await client.get("/orders/1", params={"tenant": "acme"})).status == 401
    assert (
        await client.get("/orders/1", headers={"X-Partner": ""}, params={"tenant": "a"})
    ).status == 401
    assert handler.events == []
    assert (
        await client.get("/orders/1", headers={"X-Partner": "p"}, params={"tenant": "a"})
    ).status == 200
    assert len(handler.events) == 1


async def test_token_failing_validation_regex_gets_401_without_a_call(
    gateway: GatewayFactory,
) -> None:
    handler = Counting(lambda event: {"isAuthorized": True})
    settings = AuthorizerSettings(identity_validation=r"Bearer [A-Za-z0-9]+")
    authorizer = CustomAuthorizer("partner", handler, settings)
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    assert (await client.get("/orders/1", headers={"Authorization": "Bearer a.b"})).status == 401
    assert handler.events == []
    assert (await client.get("/orders/1", headers={"Authorization": "Bearer ab1"})).status == 200
    assert handler.events[0]["type"] == "TOKEN"
    assert handler.events[0]["authorizationToken"] == "Bearer ab1"


async def test_http_authorizer_context_goes_upstream_and_spoofed_copies_do_not(
    gateway: GatewayFactory, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    calls: list[dict[str, object]] = []

    async def authorize(request: web.Request) -> web.Response:
        event = await request.json()
        calls.append(event)
        if event["authorizationToken"] == "let-me-in":
            return web.json_response(
                {"isAuthorized": True, "context": {"tenant": "acme", "tier": 2}}
            )
        if event["authorizationToken"] == "who-are-you":
            return web.Response(status=401)
        return web.json_response({"isAuthorized": False})

    app = web.Application()
    app.router.add_post("/authorize", authorize)
    server = await aiohttp_server(app, host="127.0.0.1")
    authorizer = CustomAuthorizer(
        "partner", str(server.make_url("/authorize")), AuthorizerSettings()
    )
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    response = await client.get(
        "/orders/1", headers={"Authorization": "let-me-in", "X-Gateway-Authorizer-Admin": "true"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["headers"]["x-gateway-authorizer-tenant"] == "acme"
    assert body["headers"]["x-gateway-authorizer-tier"] == "2"
    assert "x-gateway-authorizer-admin" not in body["headers"]
    assert (await client.get("/orders/1", headers={"Authorization": "keep-out"})).status == 403
    assert (await client.get("/orders/1", headers={"Authorization": "who-are-you"})).status == 401
    await authorizer.close()


def _raises(event: dict[str, object]) -> object:
    raise RuntimeError("authorizer bug")


def _unauthorized(event: dict[str, object]) -> object:
    raise UnauthorizedError


async def _slow(event: dict[str, object]) -> object:
    await asyncio.sleep(5)
    return {"isAuthorized": True}


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (_raises, 502),
        (_slow, 502),
        (lambda event: {"principalId": "x"}, 502),  # no policyDocument
        (lambda event: {"isAuthorized": True, "context": {"nested": {"no": 1}}}, 502),
        (lambda event: ["not", "an", "object"], 502),
        (_unauthorized, 401),
    ],
)
async def test_authorizer_failures(
    gateway: GatewayFactory, handler: Callable[[dict[str, object]], object], status: int
) -> None:
    authorizer = CustomAuthorizer("partner", handler, AuthorizerSettings(timeout_seconds=0.2))
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    response = await client.get("/orders/1", headers={"Authorization": "t"})
    assert response.status == status
    if status == 502:
        assert (await response.json())["type"] == "AUTHORIZER_FAILURE"


async def test_ttl_zero_disables_the_cache(gateway: GatewayFactory) -> None:
    handler = Counting(lambda event: {"isAuthorized": True})
    authorizer = CustomAuthorizer("partner", handler, AuthorizerSettings(result_ttl_seconds=0))
    client = await gateway(
        auth_middleware(schemes={"partner": authorizer}, requirements_by_operation=REQUIREMENTS)
    )
    for _ in range(3):
        assert (await client.get("/orders/1", headers={"Authorization": "t"})).status == 200
    assert len(handler.events) == 3


def test_configuration_is_validated_eagerly() -> None:
    assert resolve_handler("json:dumps")({}) == "{}"
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        resolve_handler("json:no_such_function")
    with pytest.raises(ConfigurationError, match=r"pkg\.module:function"):
        CustomAuthorizer("partner", "not-a-reference", AuthorizerSettings())
    with pytest.raises(ConfigurationError, match="resultTtlSeconds"):
        CustomAuthorizer("partner", "json:loads", AuthorizerSettings(result_ttl_seconds=3601))
    with pytest.raises(ConfigurationError, match="identity source"):
        CustomAuthorizer(
            "partner", "json:loads", AuthorizerSettings(identity_sources=("cookie.x",))
        )
