"""A real gateway (``build_gateway_app``) with the edge middlewares wired as documented.

``edge_gateway`` builds the app exactly as a generated gateway will: the project's
error and routing middlewares, real feature middlewares in ``extra``, and the edge
middlewares put outside them (compression, CORS, deprecation), with their
``on_response_prepare`` hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Middleware
from gatewright import runtime as gw
from gatewright.runtime.compression import (
    CompressionPolicy,
    compression_middleware,
    compression_on_response_prepare,
)
from gatewright.runtime.cors import (
    CorsPolicy,
    cors_for,
    operation_locator,
)
from gatewright.runtime.deprecation import (
    DeprecationNotice,
    deprecation_middleware,
    deprecation_on_response_prepare,
)
from gatewright.runtime.integration import IntegrationSpec, OperationHandler

__all__ = ["DISPATCH_PATHS", "ClientFactory", "ServerFactory", "dispatch_through", "edge_gateway", "route"]

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


# A gateway process serves through direct_dispatch (gatewright.runtime.server); tests
# run both it and aiohttp's own Application dispatch, which test servers use.
DISPATCH_PATHS = ("aiohttp", "direct")


def dispatch_through(
    client: TestClient[web.Request, web.Application], path: str
) -> TestClient[web.Request, web.Application]:
    """Make ``client``'s server dispatch as a gateway process does when ``path`` is "direct".

    Call before the first request: a connection reads the server's handler when it opens.
    """
    if path == "direct":
        runner = client.server.runner
        assert runner is not None and runner.server is not None
        dispatch = gw.direct_dispatch(client.server.app)
        assert dispatch is not None
        runner.server.request_handler = dispatch
    return client


def route(
    operation_id: str,
    method: str,
    path: str,
    integration: IntegrationSpec,
    handler: OperationHandler | None = None,
) -> gw.Route:
    """A route for ``path`` ("/pets/{id}"), answered by ``handler`` or by the integration."""
    segments: list[gw.Segment] = []
    for part in path.strip("/").split("/"):
        if part.startswith("{") and part.endswith("+}"):
            segments.append(("greedy", part[1:-2]))
        elif part.startswith("{"):
            segments.append(("param", part[1:-1]))
        elif part:
            segments.append(("static", part))

    async def invoke(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
        return await integration.invoke(request, None)

    return gw.Route(
        operation_id=operation_id,
        method=method,
        path=path,
        segments=tuple(segments),
        handler=handler or invoke,
        integration=integration,
    )


def edge_gateway(
    routes: Sequence[gw.Route],
    *,
    cors: CorsPolicy | None = None,
    cors_operations: Mapping[str, CorsPolicy | None] | None = None,
    compression: CompressionPolicy | None = None,
    deprecations: Mapping[str, DeprecationNotice] | None = None,
    extra: Sequence[Middleware] = (),
    base_path: str = "",
) -> web.Application:
    app = gw.build_gateway_app(
        gw.ApiConfig(title="edge", base_path=base_path),
        routes,
        stage="dev",
        env={},
        extra_middlewares=extra,
    )
    state = app[gw.GATEWAY_STATE]
    outer: list[Middleware] = []
    if compression is not None:
        outer.append(compression_middleware(policy=compression))
        app.on_response_prepare.append(compression_on_response_prepare)
    wired = cors_for(
        policy=cors,
        operations=cors_operations,
        locate=operation_locator(state.router, base_path=state.base_path),
    )
    if wired is not None:
        # a hand-assembled app: preflights through the middleware form
        outer.append(wired.middleware())
        app.on_response_prepare.append(wired.on_response_prepare)
    if deprecations:
        outer.append(deprecation_middleware(operations=deprecations))
        app.on_response_prepare.append(deprecation_on_response_prepare)
    # the edge middlewares wrap the error middleware, so its answers get their headers
    for middleware in reversed(outer):
        app.middlewares.insert(0, middleware)
    return app
