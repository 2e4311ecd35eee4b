"""Assemble a gateway application: stage selection, routes, middlewares, health endpoints.

Layer: runtime (aiohttp, stdlib). Generated ``app.py`` calls :func:`build_gateway_app`.

Per request, in this order (one aiohttp handler, see :func:`gateway_handler`)::

    (outer_middlewares    compression, deprecation: aiohttp app middlewares around all of this)
    CORS preflight        answered here when CORS is on; nothing below runs for it
    request id            X-Request-Id propagated when well-formed, else generated
    gateway checks        /healthz, /readyz, URL and header limits (414, 431), the
                          public OpenAPI document (GET/HEAD <basePath>/openapi.json), route
                          match (404, 405), body size (413), content type (415); sets
                          request[REQUEST_ID], request[ROUTE_MATCH], request[CURRENT_OPERATION]
    *extra_middlewares    feature middlewares (auth, throttling, caching), in order:
                          plain ``@web.middleware`` functions that raise GatewayError
    operation handler     generated: validation, then the integration

A :class:`GatewayError` raised at any step (feature middlewares included) becomes a
gateway response; anything unexpected is logged and answers ``DEFAULT_5XX``. CORS
headers are added by the gateway handler to every answer it returns, and by the proxy
to an answer it streams, just before streaming it (:data:`~.context.STREAM_HEAD`).

A gateway process serves through :func:`direct_dispatch`, which skips aiohttp's
per-request URL dispatch: the app has one catch-all route.

Everything that can be decided at start-up is: missing stages, stage variables and
environment variables, unimportable functions and bad backend URLs are reported
together as one :class:`ConfigurationError` before the gateway listens.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from itertools import chain

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_urldispatcher import AbstractRoute, UrlMappingMatchInfo

from .config import ApiConfig
from .context import REQUEST_ID, ROUTE_MATCH, STREAM_HEAD, RouteMatch, operation_scope
from .cors import Cors
from .errors import ConfigurationError, GatewayError
from .features import GatewayFeatures, build_features, resources_context
from .integration import CURRENT_OPERATION, Route, RouteEntry, StartupContext
from .responses import GatewayResponses
from .router import MethodNotAllowed, Router
from .templating import resolve_env_references

__all__ = [
    "GATEWAY_STATE",
    "GatewayState",
    "build_gateway_app",
    "direct_dispatch",
    "feature_chain",
    "gateway_handler",
    "operation_chains",
    "request_id_of",
]

_log = logging.getLogger("gatewright.gateway")

# SECURITY: a propagated request id is echoed in headers and logs, so only a short
# token of safe characters is accepted; anything else is replaced.
_REQUEST_ID_SYNTAX = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
_HEALTH_BODY = b'{"status":"ok"}'
_DRAINING_BODY = b'{"status":"draining"}'


class GatewayState:
    """Per-app state shared by the middlewares and the server (``app[GATEWAY_STATE]``)."""

    __slots__ = (
        "api",
        "base_path",
        "draining",
        "limits",
        "openapi_body",
        "openapi_path",
        "responses",
        "route",
        "router",
        "stage",
    )

    def __init__(
        self,
        *,
        api: ApiConfig,
        stage: str,
        router: Router[RouteEntry],
        responses: GatewayResponses,
    ) -> None:
        self.api = api
        self.stage = stage
        self.router = router
        self.responses = responses
        self.limits = api.limits
        self.base_path = api.base_path.rstrip("/")
        self.draining = False  # set on SIGTERM: /readyz answers 503
        self.route: AbstractRoute | None = None  # the app's one aiohttp route
        # the public OpenAPI document: full request path (with basePath) and body
        self.openapi_path: str | None = None
        self.openapi_body = b""

    def locate(self, method: str, raw_path: str) -> RouteEntry | None:
        """The operation ``method raw_path`` would reach (``raw_path`` includes basePath).

        For middlewares outside routing, such as CORS preflights, which need to know
        the operation another method would reach. ``None`` for 404 and 405.
        """
        base_path = self.base_path
        if base_path:
            if raw_path == base_path:
                raw_path = "/"
            elif raw_path.startswith(base_path + "/"):
                raw_path = raw_path[len(base_path) :]
            else:
                return None
        found = self.router.match(method, raw_path)
        if found is None or isinstance(found, MethodNotAllowed):
            return None
        return found[0]


GATEWAY_STATE = web.AppKey("gatewright_gateway_state", GatewayState)


# Request ids: a random per-process prefix and a counter, unique without a syscall
# per request (os.urandom costs more than the rest of the id handling together).
_REQUEST_ID_PREFIX = os.urandom(8).hex()
_request_counter = itertools.count(1)


def request_id_of(request: web.BaseRequest) -> str:
    """The request's id: its ``X-Request-Id`` when well-formed, else a new one."""
    request_id = request.headers.get("X-Request-Id")
    if request_id is None or not _REQUEST_ID_SYNTAX.fullmatch(request_id):
        request_id = f"{_REQUEST_ID_PREFIX}{next(_request_counter):012x}"
    return request_id


_HTTP_STATUS_TYPES = {
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
}


def _from_http_exception(exc: web.HTTPException) -> GatewayError:
    status = exc.status
    response_type = _HTTP_STATUS_TYPES.get(status)
    if response_type is None:
        response_type = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    return GatewayError(response_type, exc.reason if status < 500 else None)


def feature_chain(middlewares: Sequence[Middleware], innermost: Handler) -> Handler:
    """Compose ``@web.middleware`` functions around ``innermost`` once, at start-up.

    The first middleware is the outermost, as in ``web.Application(middlewares=...)``.
    """
    handler = innermost
    for middleware in reversed(middlewares):
        handler = functools.partial(middleware, handler=handler)
    return handler


def operation_chains(
    middlewares: Sequence[Middleware], entries: Iterable[RouteEntry]
) -> dict[str, Handler | None]:
    """Each operation's feature chain, without the middlewares scoped to other operations.

    The innermost handler is the operation's own, bound to its integration. ``None``
    for an operation no middleware acts on: the gateway calls its handler directly.
    See :func:`gatewright.runtime.context.scoped`.
    """
    chains: dict[str, Handler | None] = {}
    for entry in entries:
        operation_id = entry.route.operation_id
        acting = [
            m
            for m in middlewares
            if (scope := operation_scope(m)) is None or operation_id in scope
        ]
        if not acting:
            chains[operation_id] = None
            continue
        operation = functools.partial(entry.route.handler, integration=entry.integration)
        chains[operation_id] = feature_chain(acting, operation)
    return chains


def gateway_handler(
    state: GatewayState,
    features: Mapping[str, Handler | None],
    cors: Cors | None = None,
) -> Handler:
    """The one aiohttp handler of a gateway app: errors, routing, checks, then ``features``.

    In order: a CORS preflight answered by ``cors`` (when it answers, nothing else
    runs: no auth, no throttling); request id (propagated when well-formed, else generated); ``/healthz``
    and ``/readyz``; URL (414) and header (431) limits; the route match (404, 405 with
    ``Allow``), which sets ``request[ROUTE_MATCH]`` and ``request[CURRENT_OPERATION]``;
    body size (413) and content type (415); then the operation's feature middlewares
    (``features``, by operation id, from :func:`operation_chains`; ``None`` or absent
    where none acts) and the operation handler. A :class:`GatewayError` from anywhere is rendered through the
    gateway responses table, an aiohttp HTTP exception keeps its 4xx/5xx meaning, and
    anything else is logged with the request id and answers ``DEFAULT_5XX``. Every
    answer but a preflight's gets its CORS headers from ``cors`` on the way out.

    Everything runs in one coroutine rather than as aiohttp middlewares: each
    middleware layer costs a coroutine and a wrapper per request.
    """
    responses = state.responses
    router = state.router
    base_path = state.base_path
    base_prefix = base_path + "/"
    max_url = state.limits.max_url_length
    max_headers = state.limits.max_header_bytes
    openapi_path = state.openapi_path
    openapi_body = state.openapi_body

    def finished(
        request: web.Request, response: web.StreamResponse, operation_id: str | None
    ) -> web.StreamResponse:
        """``response`` with its CORS headers: for the answers off the proxied path."""
        if cors is not None:
            cors.decorate(request, response, operation_id)
        return response

    async def gateway(request: web.Request) -> web.StreamResponse:
        if cors is not None and request.method == "OPTIONS":
            answer = cors.preflight(request)
            if answer is not None:
                return answer
        request_id = request_id_of(request)
        request[REQUEST_ID] = request_id
        operation_id: str | None = None  # known once routed: its CORS policy applies
        try:
            raw_path = request.rel_url.raw_path
            if raw_path == "/healthz" or raw_path == "/readyz":
                return finished(request, _health(raw_path, state), None)
            if len(request.raw_path) > max_url:
                raise GatewayError("URI_TOO_LONG", detail={"limit": max_url})
            if sum(map(len, chain.from_iterable(request.raw_headers))) > max_headers:
                raise GatewayError("REQUEST_HEADER_FIELDS_TOO_LARGE", detail={"limit": max_headers})
            if raw_path == openapi_path and request.method in ("GET", "HEAD"):
                return finished(request, _openapi_response(openapi_body, request_id), None)
            if base_path:
                if raw_path == base_path:
                    raw_path = "/"
                elif raw_path.startswith(base_prefix):
                    raw_path = raw_path[len(base_path) :]
                else:
                    raise GatewayError("RESOURCE_NOT_FOUND")
            found = router.match(request.method, raw_path)
            if found is None:
                raise GatewayError("RESOURCE_NOT_FOUND")
            if isinstance(found, MethodNotAllowed):
                raise GatewayError("METHOD_NOT_ALLOWED", headers={"Allow": found.allow})
            entry, values = found
            match = entry.static_match
            if match is None:
                route = entry.route
                names = entry.param_names
                params = (
                    {names[0]: values[0]}
                    if len(names) == 1
                    else dict(zip(names, values, strict=True))
                )
                match = RouteMatch(route.operation_id, route.method, route.path, params)
            request[ROUTE_MATCH] = match
            request[CURRENT_OPERATION] = entry
            operation_id = match.operation_id
            length = request.content_length
            if length is not None and length > entry.max_body_bytes:
                raise GatewayError(
                    "REQUEST_TOO_LARGE",
                    f"request body exceeds {entry.max_body_bytes} bytes",
                    detail={"limit": entry.max_body_bytes},
                )
            if not entry.accepts_any_type and request.body_exists:
                content_type = request.headers.get("Content-Type")
                if not entry.accepts(content_type):
                    raise GatewayError(
                        "UNSUPPORTED_MEDIA_TYPE",
                        f"content type {content_type or '(none)'} is not accepted here",
                    )
            operation_chain = features.get(operation_id)
            if operation_chain is None:
                response = await entry.route.handler(request, entry.integration)
            else:
                response = await operation_chain(request)
                # a feature middleware may answer by itself (a cache hit): tag it too
                if not response.prepared and "X-Request-Id" not in response.headers:
                    response.headers["X-Request-Id"] = request_id
            # a streamed answer (prepared already) got its CORS headers from STREAM_HEAD
            if cors is not None and not response.prepared:
                cors.decorate(request, response, operation_id)
            return response
        except GatewayError as exc:
            error = exc
        except web.HTTPException as exc:
            if exc.status < 400:  # a redirect or similar raised on purpose: not an error
                redirect = web.Response(status=exc.status, headers=exc.headers, body=exc.body)
                return finished(request, redirect, operation_id)
            error = _from_http_exception(exc)
        except Exception:
            _log.exception(
                "unhandled error in %s %s (request %s)", request.method, request.path, request_id
            )
            error = GatewayError("DEFAULT_5XX")
        rendered = responses.render(
            error, request_id=request_id, method=request.method, path=request.path
        )
        return finished(request, rendered, operation_id)

    return gateway


def _openapi_response(body: bytes, request_id: str) -> web.Response:
    # no-cache: clients revalidate, so a redeployed gateway's document is seen at once
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"Cache-Control": "no-cache", "X-Request-Id": request_id},
    )


def _health(raw_path: str, state: GatewayState) -> web.Response:
    if raw_path == "/readyz" and state.draining:
        return web.Response(status=503, body=_DRAINING_BODY, content_type="application/json")
    return web.Response(status=200, body=_HEALTH_BODY, content_type="application/json")


def _select_stage(api: ApiConfig, stage: str, env: Mapping[str, str]) -> dict[str, str]:
    if not api.stages:
        return {}  # an API without stages runs under any stage name, with no variables
    for candidate in api.stages:
        if candidate.name == stage:
            return {
                name: resolve_env_references(
                    value, env, what=f"stage variable {name!r} of stage {stage!r}"
                )
                for name, value in candidate.variables.items()
            }
    known = ", ".join(repr(s.name) for s in api.stages)
    raise ConfigurationError(f"unknown stage {stage!r}; this API defines: {known}")


def _entry_for(route: Route, integration_limit: int, context: StartupContext) -> RouteEntry:
    integration = route.integration.build(context, route)
    limit = route.max_body_bytes if route.max_body_bytes is not None else integration_limit
    # RouteMatch is immutable: a route without parameters shares one for every request
    static_match = (
        None if route.param_names else RouteMatch(route.operation_id, route.method, route.path, {})
    )
    declared = route.content_types
    if declared is None or not declared or any(t.strip() == "*/*" for t in declared):
        return RouteEntry(
            route=route,
            integration=integration,
            param_names=route.param_names,
            max_body_bytes=limit,
            static_match=static_match,
        )
    exact = frozenset(t.partition(";")[0].strip().lower() for t in declared if not t.endswith("/*"))
    prefixes = tuple(sorted(t[:-1].strip().lower() for t in declared if t.endswith("/*")))
    return RouteEntry(
        route=route,
        integration=integration,
        param_names=route.param_names,
        max_body_bytes=limit,
        static_match=static_match,
        accepts_any_type=False,
        exact_types=exact,
        type_prefixes=prefixes,
    )


def build_gateway_app(
    api: ApiConfig,
    routes: Sequence[Route],
    *,
    stage: str,
    env: Mapping[str, str] | None = None,
    extra_middlewares: Sequence[Middleware] = (),
    outer_middlewares: Sequence[Middleware] = (),
    features: GatewayFeatures | None = None,
) -> web.Application:
    """Build the aiohttp application of a gateway for one stage.

    ``env`` defaults to ``os.environ``. ``extra_middlewares`` (auth, throttling,
    caching) run after routing, in order, so ``request[ROUTE_MATCH]`` and
    ``request[REQUEST_ID]`` are set for them, and what they raise is rendered as a
    gateway response. ``outer_middlewares`` (compression, deprecation) wrap everything,
    gateway responses included, as ordinary aiohttp app middlewares; they can find
    the operation of any method and path with ``app[GATEWAY_STATE].locate(...)``.
    ``features`` (the generated ``config.FEATURES``) adds API keys, usage plans,
    throttles, quotas, caching, auth and the edge features in their fixed order
    (see :mod:`gatewright.runtime.features`): edge middlewares go outside
    ``outer_middlewares``, traffic and auth middlewares before ``extra_middlewares``.
    Raises :class:`ConfigurationError` listing every start-up problem found.
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    stage_variables = _select_stage(api, stage, environment)
    responses = GatewayResponses(api.error_format, api.gateway_responses)
    router: Router[RouteEntry] = Router()
    # client_max_size bounds aiohttp's own reads; each route enforces its own limit
    max_body = max([api.limits.max_body_bytes, *(r.max_body_bytes or 0 for r in routes)])
    app = web.Application(
        middlewares=tuple(outer_middlewares),
        client_max_size=max_body,
        handler_args={
            # aiohttp's parser limits sit above the gateway's so that the gateway
            # answers 414/431 itself for moderately oversized requests
            "max_line_size": max(8190, 2 * api.limits.max_url_length),
            "max_field_size": max(8190, 2 * api.limits.max_header_bytes),
        },
    )
    context = StartupContext(
        api=api, stage=stage, stage_variables=stage_variables, env=environment, app=app
    )
    problems: list[str] = []
    entries: list[RouteEntry] = []
    for route in routes:
        try:
            entry = _entry_for(route, api.limits.max_body_bytes, context)
            router.add(route.method, route.segments, entry, label=f"operation {route.operation_id}")
            entries.append(entry)
        except ConfigurationError as exc:
            if str(exc) not in problems:
                problems.append(str(exc))
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ConfigurationError(
            f"the gateway for {api.title!r} cannot start as stage {stage!r}:\n{listing}"
        )
    router.freeze()
    state = GatewayState(api=api, stage=stage, router=router, responses=responses)
    app[GATEWAY_STATE] = state
    if features is not None and features.openapi is not None:
        try:
            state.openapi_body = features.openapi.load()
        except (OSError, ModuleNotFoundError) as exc:
            raise ConfigurationError(
                f"the public OpenAPI document {features.openapi.resource!r} of package "
                f"{features.openapi.package!r} cannot be read: {exc}"
            ) from exc
        state.openapi_path = state.base_path + features.openapi.path
    # without feature middlewares the operation handler is called directly (one
    # coroutine less per request)
    inner = list(extra_middlewares)
    cors: Cors | None = None
    if features is not None:

        def locate(method: str, raw_path: str) -> str | None:
            entry = state.locate(method.upper(), raw_path)
            return None if entry is None else entry.route.operation_id

        wired = build_features(
            features, stage=stage, env=environment, locate=locate, stage_variables=stage_variables
        )
        inner = [*wired.inner, *inner]
        cors = wired.cors
        if cors is not None:
            app[STREAM_HEAD] = cors.decorate_routed
        app.middlewares[0:0] = wired.outer
        for hook in wired.prepare_hooks:
            app.on_response_prepare.append(hook)
        if wired.cleanup:
            app.cleanup_ctx.append(resources_context(wired.cleanup))
    chains = operation_chains(inner, entries)
    handler = gateway_handler(state, chains, cors)
    # DOTALL: a decoded %0A in the path must reach the gateway's router, not aiohttp's 404
    state.route = app.router.add_route("*", "/{tail:(?s:.*)}", handler)
    return app


def direct_dispatch(
    app: web.Application,
) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] | None:
    """A request handler for ``app``'s server that skips aiohttp's per-request dispatch.

    A gateway app has one catch-all route, so resolving it through the URL dispatcher
    and building a match info for every request finds the same answer each time. This
    handler attaches one frozen match info (it carries the app, which
    ``request.app`` and the ``on_response_prepare`` hooks read) and calls the app's
    middlewares and the gateway handler, composed once. Call it after the app is
    frozen (``AppRunner.setup``); ``None`` for apps that are not a single gateway.
    Requests that carry ``Expect`` (100-continue) keep aiohttp's own path.
    """
    state = app.get(GATEWAY_STATE)
    if state is None or state.route is None or not app.frozen:
        return None
    route = state.route
    match_info = UrlMappingMatchInfo({}, route)
    match_info.add_app(app)
    match_info.freeze()
    handler: Handler = route.handler
    for middleware in reversed(app.middlewares):
        handler = functools.partial(middleware, handler=handler)
    standard = app._handle

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        if hdrs.EXPECT in request.headers:
            return await standard(request)  # type: ignore[arg-type]  # the server's requests are app Requests
        # aiohttp's Application._handle sets this same attribute
        request._match_info = match_info  # type: ignore[attr-defined]
        return await handler(request)  # type: ignore[arg-type]

    return dispatch
