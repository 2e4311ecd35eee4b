"""What routes, integrations and operation handlers share.

Layer: runtime. A generated ``routes.py`` declares one :class:`Route` per operation:
its path segments, its operation handler (validation, then the integration) and an
integration *spec* (``HttpProxySpec``, ``MockSpec``, ``FunctionSpec``). When the
gateway starts, each spec is built into an :class:`Integration` for the chosen stage,
and the router hands it to the operation handler on every request.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

from .config import ApiConfig, JSONValue, Segment
from .context import ROUTE_MATCH, RouteMatch
from .errors import ConfigurationError, GatewayError

__all__ = [
    "CURRENT_OPERATION",
    "EMPTY_QUERY",
    "NO_COOKIES",
    "Integration",
    "IntegrationSpec",
    "OperationHandler",
    "Route",
    "RouteEntry",
    "RouteTable",
    "StartupContext",
    "package_json",
    "parameters",
    "path_segments",
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


class OperationHandler(Protocol):
    """A generated operation handler: validation, then ``integration``. The gateway may
    pass ``integration`` by keyword (it binds it once per route), so the name is fixed."""

    def __call__(
        self, request: web.Request, integration: Integration
    ) -> Awaitable[web.StreamResponse]: ...


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


class RouteTable(Sequence[Route]):
    """The routes of a generated ``routes.py``, each declared right after its handler.

    A generated module is then a run of self-contained top-level blocks (handler and
    route together), cheap to format in parallel and easy to read::

        ROUTES = gw.RouteTable()


        async def list_pets(request: web.Request, integration: gw.Integration) -> ...:
            return await integration.invoke(request, None)


        ROUTES.add(list_pets, operation_id="listPets", method="GET", path="/pets",
                   segments=(("static", "pets"),), integration=gw.MockSpec())
    """

    __slots__ = ("_routes",)

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(
        self,
        handler: OperationHandler,
        method: str,
        path: str,
        operation_id: str,
        integration: IntegrationSpec,
        *,
        segments: tuple[Segment, ...] | None = None,
        content_types: tuple[str, ...] | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        """Declare ``handler`` as the handler of one operation.

        ``segments`` defaults to :func:`path_segments` of ``path``; the compiler
        passes them explicitly whenever that would differ from its own reading.
        """
        self._routes.append(
            Route(
                operation_id=operation_id,
                method=method,
                path=path,
                segments=path_segments(path) if segments is None else segments,
                handler=handler,
                integration=integration,
                content_types=content_types,
                max_body_bytes=max_body_bytes,
            )
        )

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def __getitem__(self, index: int) -> Route:  # type: ignore[override]  # slices not needed
        return self._routes[index]


def path_segments(path: str) -> tuple[Segment, ...]:
    """The plain reading of a path template: ``{name}`` a parameter, ``{name+}`` greedy.

    >>> path_segments("/files/{name}/{rest+}")
    (('static', 'files'), ('param', 'name'), ('greedy', 'rest'))
    """
    segments: list[Segment] = []
    for part in path.strip("/").split("/"):
        if not part:
            continue
        if part.startswith("{") and part.endswith("+}"):
            segments.append(("greedy", part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(("param", part[1:-1]))
        else:
            segments.append(("static", part))
    return tuple(segments)


def parameters(
    request: web.Request, *, query: bool = False, cookies: bool = False
) -> tuple[Mapping[str, str], MultiMapping[str], Mapping[str, str], Mapping[str, str]]:
    """The arguments of a generated parameter check: path, query, headers, cookies.

    ``query``/``cookies`` False pass empty constants instead: parsing either costs
    time on every request, so only operations that declare such parameters pay it.
    """
    return (
        request[ROUTE_MATCH].path_params,
        request.query if query else EMPTY_QUERY,
        request.headers,
        request.cookies if cookies else NO_COOKIES,
    )


def package_json(package: str, name: str) -> dict[str, JSONValue]:
    """A JSON object shipped as data next to a generated module (mock bodies).

    Big examples as nested Python literals cost the formatter and the type checker
    far more than one document parsed once when the gateway is imported.
    """
    text = importlib.resources.files(package).joinpath(name).read_text("utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ConfigurationError(f"{package}/{name} must hold a JSON object")
    return value


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
