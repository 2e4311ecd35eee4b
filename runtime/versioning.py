"""One gateway serving several API versions, each compiled from its own spec.

Layer: runtime (aiohttp, stdlib). Must not import ``gatewright.compiler`` or any
build-time package.

Each version is a complete gateway application (:func:`build_gateway_app`: its own
routes, throttles, keys, CORS, deprecation notices, ``/openapi.json``), mounted as
an aiohttp sub-application. One resource in front picks the version of a request,
then the version's own router and middlewares run unchanged. Selection, in order:

1. the version header, then the version query parameter (when the gateway declares
   them): the value names a version by its label. An unknown label answers 400
   listing the versions, or goes to the default version with ``fallback_to_default``;
2. otherwise the request path: the versions with the longest ``basePath`` that
   contains the path; one of them answers, or the default version when it is among
   them, else 400 asking the client to select a version;
3. a path under no version's ``basePath`` answers 404 listing the versions.

``/healthz`` and ``/readyz`` are answered once, by the primary version (the default,
else the first), whose state is also the app's ``GATEWAY_STATE``.

Single-spec gateways never use this module: they pay nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractMatchInfo
from aiohttp.web_urldispatcher import AbstractRuleMatching, MatchedSubAppResource

from .app import GATEWAY_STATE, GatewayState, request_id_of
from .config import ApiConfig
from .errors import ConfigurationError, GatewayError
from .integration import Route

__all__ = [
    "ApiVersion",
    "VersionSelection",
    "build_versioned_app",
]

_HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiVersion:
    """One version of the API: its label and the generated modules of its gateway.

    ``api`` and ``routes`` are the version's ``config.API`` and ``routes.ROUTES``
    (their limits size the shared HTTP parser); ``build_app`` is its ``app.build_app``.
    """

    label: str
    api: ApiConfig
    routes: Sequence[Route]
    build_app: Callable[..., web.Application]


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionSelection:
    """How a request names its version (all optional; ``basePath`` always applies).

    >>> VersionSelection(header="Api-Version", query="api-version", default="v2")
    VersionSelection(header='Api-Version', query='api-version', default='v2', fallback_to_default=False)
    """

    header: str | None = None
    query: str | None = None
    default: str | None = None  # the label answering requests that select no version
    fallback_to_default: bool = False  # an unknown label goes to the default version


@dataclass(frozen=True, slots=True)
class _Mounted:
    label: str
    base_path: str  # "" or "/v1", no trailing slash
    app: web.Application
    state: GatewayState


_SELECTION_ERROR = web.RequestKey("gatewright_version_selection_error", GatewayError)


class _Selector:
    """Picks the mounted version of a request, or the error to answer it with."""

    def __init__(self, mounted: Sequence[_Mounted], selection: VersionSelection) -> None:
        self.header = selection.header
        self.query = selection.query
        self.by_label = {m.label: m for m in mounted}
        self.default = self.by_label.get(selection.default) if selection.default else None
        self.fallback = self.default if selection.fallback_to_default else None
        self.labels = [m.label for m in mounted]
        # basePath groups, longest first, so the most specific mount wins
        groups: dict[str, list[_Mounted]] = {}
        for m in mounted:
            groups.setdefault(m.base_path, []).append(m)
        self.groups = sorted(groups.items(), key=lambda kv: -len(kv[0]))

    def select(self, request: web.Request) -> _Mounted | GatewayError:
        label = request.headers.get(self.header) if self.header else None
        if label is None and self.query:
            label = request.rel_url.query.get(self.query)
        if label is not None:
            chosen = self.by_label.get(label)
            if chosen is not None:
                return chosen
            if self.fallback is not None:
                return self.fallback
            return GatewayError(
                "BAD_REQUEST_PARAMETERS",
                f"unknown API version {label[:64]!r}; this API serves: {', '.join(self.labels)}",
                detail={"versions": list(self.labels)},
            )
        raw_path = request.rel_url.raw_path
        for base_path, members in self.groups:
            if base_path and raw_path != base_path and not raw_path.startswith(base_path + "/"):
                continue
            if len(members) == 1:
                return members[0]
            if self.default is not None and self.default in members:
                return self.default
            ways = " or ".join(
                f"{kind} {name!r}" for kind, name in (("header", self.header), ("query parameter", self.query)) if name
            )
            names = [m.label for m in members]
            return GatewayError(
                "BAD_REQUEST_PARAMETERS",
                f"select an API version with the {ways}; this path is served by: {', '.join(names)}",
                detail={"versions": names},
            )
        return GatewayError(
            "RESOURCE_NOT_FOUND",
            "no API version is served at this path; versions: "
            + ", ".join(f"{m.label} ({m.base_path or '/'})" for _, ms in self.groups for m in ms),
            detail={"versions": list(self.labels)},
        )


class _EverythingRule(AbstractRuleMatching):
    """The rule of the dispatching resource: it takes every request."""

    async def match(self, request: web.Request) -> bool:
        return True

    def get_info(self) -> dict[str, object]:  # type: ignore[override]  # aiohttp's _InfoDict is private
        return {"rule": "gatewright API versions"}

    @property
    def canonical(self) -> str:
        return "/"


class _VersionResource(MatchedSubAppResource):
    """Resolves a request inside the sub-application of its selected version.

    aiohttp consults rule-matched sub-app resources before any other, so this one
    sees every request; the version's own router then resolves it as usual.
    """

    def __init__(self, selector: _Selector, primary: _Mounted, errors: web.Application) -> None:
        super().__init__(_EverythingRule(), primary.app)
        self._selector = selector
        self._primary = primary
        self._errors = errors

    async def resolve(self, request: web.Request) -> tuple[AbstractMatchInfo | None, set[str]]:  # type: ignore[override]  # aiohttp's _Resolve is private
        if request.rel_url.raw_path in _HEALTH_PATHS:
            chosen: _Mounted | GatewayError = self._primary
        else:
            chosen = self._selector.select(request)
        if isinstance(chosen, GatewayError):
            request[_SELECTION_ERROR] = chosen
            app = self._errors
        else:
            app = chosen.app
        match_info = await app.router.resolve(request)
        match_info.add_app(app)
        return match_info, set()


def _errors_app(state: GatewayState) -> web.Application:
    """Answers selection errors through the primary version's gateway responses."""
    responses = state.responses

    async def selection_error(request: web.Request) -> web.StreamResponse:
        request_id = request_id_of(request)
        error = request.get(_SELECTION_ERROR) or GatewayError("RESOURCE_NOT_FOUND")
        return responses.render(error, request_id=request_id, method=request.method, path=request.path)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", selection_error)
    return app


def _client_max_size(versions: Iterable[ApiVersion]) -> int:
    # as build_gateway_app sizes one gateway: every route enforces its own limit
    return max(
        max([v.api.limits.max_body_bytes, *(r.max_body_bytes or 0 for r in v.routes)]) for v in versions
    )


def build_versioned_app(
    versions: Sequence[ApiVersion],
    *,
    selection: VersionSelection,
    stage: str,
    env: Mapping[str, str] | None = None,
) -> web.Application:
    """Build one application serving every version in ``versions`` for ``stage``.

    Each version's ``build_app(stage, env=env)`` builds its gateway; start-up
    problems of all versions are reported together as one :class:`ConfigurationError`.
    """
    if not versions:
        raise ConfigurationError("a versioned gateway needs at least one version")
    labels = [v.label for v in versions]
    if len(set(labels)) != len(labels):
        raise ConfigurationError(f"version labels must be unique: {', '.join(labels)}")
    if selection.default is not None and selection.default not in labels:
        raise ConfigurationError(f"default version {selection.default!r} is not one of {', '.join(labels)}")
    mounted: list[_Mounted] = []
    problems: list[str] = []
    for version in versions:
        try:
            app = version.build_app(stage, env=env)
        except ConfigurationError as exc:
            problems.append(f"version {version.label}: {exc}")
            continue
        state = app[GATEWAY_STATE]
        mounted.append(_Mounted(version.label, state.base_path, app, state))
    if problems:
        raise ConfigurationError("\n".join(problems))
    primary = next((m for m in mounted if m.label == selection.default), mounted[0])
    top = web.Application(
        client_max_size=_client_max_size(versions),
        handler_args={
            # the limits of the most permissive version; each version checks its own
            "max_line_size": max(8190, *(2 * v.api.limits.max_url_length for v in versions)),
            "max_field_size": max(8190, *(2 * v.api.limits.max_header_bytes for v in versions)),
        },
    )
    # the server drains and renders connection errors through this state
    top[GATEWAY_STATE] = primary.state
    errors = _errors_app(primary.state)
    # The dispatcher is registered first, and aiohttp asks rule-matched resources in
    # order before any other, so it sees every request. Each sub-app is also added
    # under a reserved, unresolvable domain: that is what wires its start-up,
    # clean-up and middlewares into the parent (a path prefix would rewrite its
    # routes); the dispatcher answers every request, so those rules never run.
    top.router.register_resource(_VersionResource(_Selector(mounted, selection), primary, errors))
    for index, m in enumerate(mounted):
        top.add_domain(f"version-{index}.gatewright.invalid", m.app)
    top.add_domain("errors.gatewright.invalid", errors)
    return top
