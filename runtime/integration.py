"""What routes, integrations and operation handlers share.

Layer: runtime. A generated ``routes.py`` declares one :class:`Route` per operation:
its path segments, its operation handler (validation, then the integration) and an
integration *spec* (``HttpProxySpec``, ``MockSpec``, ``FunctionSpec``). When the
gateway starts, each spec is built into an :class:`Integration` for the chosen stage,
and the router hands it to the operation handler on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

from .config import ApiConfig, Segment
from .context import RouteMatch
from .errors import GatewayError

__all__ = [
    "CURRENT_OPERATION",
    "EMPTY_QUERY",
    "NO_COOKIES",
    "Integration",
    "IntegrationSpec",
    "OperationHandler",
    "Route",
    "RouteEntry",
    "StartupContext",
    "read_body",
]


class Integration(Protocol):
    """Answers one operation: ``body`` is the already-read (and validated) body, or
    ``None`` when the integration should read or stream it itself."""

    async def invoke(self, request: web.Request, body: bytes | None) -> web.StreamResponse: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StartupContext:
    """What an integration spec may use to build itself for one stage."""

    api: ApiConfig
    stage: str
    stage_variables: Mapping[str, str]
    env: Mapping[str, str]
    app: web.Application


class IntegrationSpec(Protocol):
    def build(self, context: StartupContext, route: Route) -> Integration: ...


OperationHandler = Callable[[web.Request, Integration], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One operation as the generated code declares it."""

    operation_id: str
    method: str  # upper case, or "ANY"
    path: str  # the OpenAPI path template, without basePath
    segments: tuple[Segment, ...]
    handler: OperationHandler
    integration: IntegrationSpec
    # media types the operation declares for its body; None: no request body declared
    content_types: tuple[str, ...] | None = None
    max_body_bytes: int | None = None  # None: the API limit

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(value for kind, value in self.segments if kind != "static")

    @property
    def greedy_params(self) -> frozenset[str]:
        return frozenset(value for kind, value in self.segments if kind == "greedy")


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteEntry:
    """A route ready to serve: built once at start-up, looked up per request."""

    route: Route
    integration: Integration
    param_names: tuple[str, ...]
    max_body_bytes: int
    static_match: RouteMatch | None = None  # shared by every request when there are no params
    accepts_any_type: bool = True
    exact_types: frozenset[str] = field(default_factory=frozenset)
    type_prefixes: tuple[str, ...] = ()  # "image/" for a declared "image/*"

    # content type header -> verdict; clients send few distinct values, so parsing
    # each once is enough (bounded so that hostile values cannot grow it)
    _verdicts: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def accepts(self, content_type: str | None) -> bool:
        if self.accepts_any_type:
            return True
        if not content_type:
            return False
        verdict = self._verdicts.get(content_type)
        if verdict is None:
            media = content_type.partition(";")[0].strip().lower()
            verdict = media in self.exact_types or media.startswith(self.type_prefixes)
            if len(self._verdicts) < 64:
                self._verdicts[content_type] = verdict
        return verdict


CURRENT_OPERATION = web.RequestKey("gatewright_current_operation", RouteEntry)

# Passed to parameter checks instead of request.query / request.cookies when the
# operation declares no such parameters: both cost a parse per request.
EMPTY_QUERY: MultiMapping[str] = MultiDictProxy(MultiDict())
NO_COOKIES: Mapping[str, str] = MappingProxyType({})


async def read_body(request: web.Request) -> bytes:
    """The whole request body, within the operation's size limit (413 beyond it).

    Operation handlers call this when validation needs the body; the bytes are then
    passed to the integration, so the body is read once.
    """
    limit = request[CURRENT_OPERATION].max_body_bytes
    if request.content_length is not None:
        # the declared length was already checked against the limit by routing
        return await request.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise GatewayError(
                "REQUEST_TOO_LARGE", f"request body exceeds {limit} bytes", detail={"limit": limit}
            )
        chunks.append(chunk)
    return b"".join(chunks)
