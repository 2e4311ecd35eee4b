"""gatewright.runtime: what generated gateways import (as ``from gatewright import runtime as gw``).

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package
(jinja2, prance, black, openapi-core, openapi-spec-validator, click, ruamel, yaml).
Allowed dependencies: aiohttp, uvloop, redis, PyJWT, the standard library.

Generated code uses only the names in ``__all__`` (plus ``gatewright.runtime.validation``).
"""

from __future__ import annotations

from .app import GATEWAY_STATE, GatewayState, build_gateway_app
from .config import ApiConfig, JSONValue, Limits, ResponseOverride, Segment, Stage
from .context import PRINCIPAL, REQUEST_ID, ROUTE_MATCH, Principal, RouteMatch
from .errors import (
    ConfigurationError,
    GatewayError,
    GatewrightRuntimeError,
    RuntimeVersionError,
    StoreError,
    ValidationFailure,
)
from .function import FunctionSpec, LambdaContext
from .integration import (
    CURRENT_OPERATION,
    EMPTY_QUERY,
    NO_COOKIES,
    Integration,
    IntegrationSpec,
    Route,
    RouteEntry,
    read_body,
)
from .mock import MockSpec
from .proxy import CLIENT_POOL, ClientPool, HttpProxySpec
from .responses import ERROR_TYPE_HEADER, RESPONSE_TYPES, GatewayResponses
from .server import configure_logging, serve
from .templating import EnvVar, RequestValue, StageVar, TemplatePart, Text
from .version import __version__, require_runtime

__all__ = [
    "CLIENT_POOL",
    "CURRENT_OPERATION",
    "EMPTY_QUERY",
    "ERROR_TYPE_HEADER",
    "GATEWAY_STATE",
    "NO_COOKIES",
    "PRINCIPAL",
    "REQUEST_ID",
    "RESPONSE_TYPES",
    "ROUTE_MATCH",
    "ApiConfig",
    "ClientPool",
    "ConfigurationError",
    "EnvVar",
    "FunctionSpec",
    "GatewayError",
    "GatewayResponses",
    "GatewayState",
    "GatewrightRuntimeError",
    "HttpProxySpec",
    "Integration",
    "IntegrationSpec",
    "JSONValue",
    "LambdaContext",
    "Limits",
    "MockSpec",
    "Principal",
    "RequestValue",
    "ResponseOverride",
    "Route",
    "RouteEntry",
    "RouteMatch",
    "RuntimeVersionError",
    "Segment",
    "Stage",
    "StageVar",
    "StoreError",
    "TemplatePart",
    "Text",
    "ValidationFailure",
    "__version__",
    "build_gateway_app",
    "configure_logging",
    "read_body",
    "require_runtime",
    "serve",
]
