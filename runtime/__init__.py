"""gatewright.runtime: what generated gateways import (as ``from gatewright import runtime as gw``).

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package
(jinja2, prance, black, openapi-core, openapi-spec-validator, click, ruamel, yaml).
Allowed dependencies: aiohttp, uvloop, redis, PyJWT, the standard library.

Generated code uses only the names in ``__all__`` (plus ``gatewright.runtime.validation``).
"""

from __future__ import annotations

from .app import GATEWAY_STATE, GatewayState, build_gateway_app, direct_dispatch
from .auth import (
    AuthorizerSettings,
    CustomAuthorizer,
    IpPolicy,
    JwksClient,
    JwtAuthenticator,
    JwtSettings,
    SigV4Authenticator,
    SigV4Credential,
    SigV4Settings,
    TokenLocation,
    auth_middleware,
)
from .cache import CachePolicy, ResponseCache, cache_middleware
from .compression import CompressionPolicy, compression_middleware, compression_on_response_prepare
from .config import (
    ApiConfig,
    JSONValue,
    Limits,
    OpenApiDocument,
    ResponseOverride,
    Segment,
    Stage,
)
from .context import PRINCIPAL, REQUEST_ID, ROUTE_MATCH, Principal, RouteMatch
from .cors import Cors, CorsPolicy, cors_for, operation_locator
from .deprecation import DeprecationNotice, deprecation_middleware, deprecation_on_response_prepare
from .errors import (
    ConfigurationError,
    GatewayError,
    GatewrightRuntimeError,
    RuntimeVersionError,
    StoreError,
    ValidationFailure,
)
from .features import (
    ApiKeyScheme,
    AuthorizerScheme,
    GatewayFeatures,
    JwtScheme,
    KeyStoreAuthenticator,
    SigV4Scheme,
    StoreSpec,
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
    RouteTable,
    package_json,
    parameters,
    path_segments,
    read_body,
)
from .keys import (
    ApiKey,
    ApiKeyAuthenticator,
    KeyStore,
    UsagePlan,
    api_key_middleware,
    key_store_from_url,
    plans_from_mapping,
)
from .mock import MockSpec
from .proxy import CLIENT_POOL, ClientPool, HttpProxySpec
from .quota import QuotaPolicy, quota_middleware
from .responses import ERROR_TYPE_HEADER, RESPONSE_TYPES, GatewayResponses
from .server import configure_logging, serve
from .stores import StoreHealth, cache_store_from_url, store_from_url
from .templating import EnvVar, RequestValue, StageVar, TemplatePart, Text
from .throttle import Limiter, TokenBucket, throttle_middleware
from .transform import (
    STREAMED_RESPONSE_HOOK,
    BodyOps,
    FieldOps,
    OverridableIntegration,
    RequestTransform,
    ResponseTransform,
    Transformed,
    ValueRef,
)
from .version import __version__, require_runtime
from .versioning import ApiVersion, VersionSelection, build_versioned_app

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
    "STREAMED_RESPONSE_HOOK",
    "ApiConfig",
    "ApiKey",
    "ApiKeyAuthenticator",
    "ApiKeyScheme",
    "ApiVersion",
    "AuthorizerScheme",
    "AuthorizerSettings",
    "BodyOps",
    "CachePolicy",
    "ClientPool",
    "CompressionPolicy",
    "ConfigurationError",
    "Cors",
    "CorsPolicy",
    "CustomAuthorizer",
    "DeprecationNotice",
    "EnvVar",
    "FieldOps",
    "FunctionSpec",
    "GatewayError",
    "GatewayFeatures",
    "GatewayResponses",
    "GatewayState",
    "GatewrightRuntimeError",
    "HttpProxySpec",
    "Integration",
    "IntegrationSpec",
    "IpPolicy",
    "JSONValue",
    "JwksClient",
    "JwtAuthenticator",
    "JwtScheme",
    "JwtSettings",
    "KeyStore",
    "KeyStoreAuthenticator",
    "LambdaContext",
    "Limiter",
    "Limits",
    "MockSpec",
    "OpenApiDocument",
    "OverridableIntegration",
    "Principal",
    "QuotaPolicy",
    "RequestTransform",
    "RequestValue",
    "ResponseCache",
    "ResponseOverride",
    "ResponseTransform",
    "Route",
    "RouteEntry",
    "RouteMatch",
    "RouteTable",
    "RuntimeVersionError",
    "Segment",
    "SigV4Authenticator",
    "SigV4Credential",
    "SigV4Scheme",
    "SigV4Settings",
    "Stage",
    "StageVar",
    "StoreError",
    "StoreHealth",
    "StoreSpec",
    "TemplatePart",
    "Text",
    "TokenBucket",
    "TokenLocation",
    "Transformed",
    "UsagePlan",
    "ValidationFailure",
    "ValueRef",
    "VersionSelection",
    "__version__",
    "api_key_middleware",
    "auth_middleware",
    "build_gateway_app",
    "build_versioned_app",
    "cache_middleware",
    "cache_store_from_url",
    "compression_middleware",
    "compression_on_response_prepare",
    "configure_logging",
    "cors_for",
    "deprecation_middleware",
    "deprecation_on_response_prepare",
    "direct_dispatch",
    "key_store_from_url",
    "operation_locator",
    "package_json",
    "parameters",
    "path_segments",
    "plans_from_mapping",
    "quota_middleware",
    "read_body",
    "require_runtime",
    "serve",
    "store_from_url",
    "throttle_middleware",
]
