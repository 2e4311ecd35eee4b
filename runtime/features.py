"""Traffic, auth and edge features of a generated gateway, wired in one place.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

The generated ``config.py`` declares one :class:`GatewayFeatures` value (plain typed
literals: plans, throttles, cache policies, security schemes, CORS, ...);
:func:`~gatewright.runtime.app.build_gateway_app` turns it into middlewares, in the
order the gateway applies them::

    compression -> deprecation                      (outer: around gateway errors too)
    [CORS preflights, request id, limits, routing: gateway_handler]
    auth (resource policy, OpenAPI security) -> API key -> throttle/quota -> cache
    operation handler

CORS preflights are answered first thing in the gateway handler, so they never
reach auth or throttling; the CORS headers of every other answer, gateway errors
included, are added by the gateway handler as it returns it (or by the proxy just
before it streams one). Stores, key
stores and JWKS clients are closed through ``cleanup_ctx``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from aiohttp import web
from aiohttp.typedefs import Middleware

from .auth.authorizer import AuthorizerSettings, CustomAuthorizer
from .auth.base import Authenticator
from .auth.failures import AccessDenied
from .auth.jwks import JwksClient
from .auth.jwt import JwtAuthenticator, JwtSettings
from .auth.middleware import auth_middleware
from .auth.policy import IpPolicy, ip_policy_middleware
from .auth.sigv4 import CredentialStore, SigV4Authenticator, SigV4Credential, SigV4Settings
from .cache import CachePolicy, ResponseCache, cache_middleware
from .compression import CompressionPolicy, compression_middleware, compression_on_response_prepare
from .config import OpenApiDocument
from .context import Principal, scoped
from .cors import Cors, CorsPolicy, cors_for
from .deprecation import DeprecationNotice, deprecation_middleware, deprecation_on_response_prepare
from .errors import ConfigurationError, GatewayError
from .keys import ApiKeyAuthenticator, KeyStore, UsagePlan, api_key_middleware, key_store_from_url
from .stores import cache_store_from_url, store_from_url
from .templating import resolve_start_references
from .throttle import Limiter, RateLimitHeaders, TokenBucket, throttle_middleware

__all__ = [
    "DEFAULT_KEY_STORE_URL",
    "ApiKeyScheme",
    "AuthorizerScheme",
    "FeatureMiddlewares",
    "GatewayFeatures",
    "JwtScheme",
    "KeyStoreAuthenticator",
    "SchemeSpec",
    "SigV4Scheme",
    "StoreSpec",
    "build_features",
    "close_all",
    "resources_context",
]

# The embedded default key store, relative to the working directory; the
# GATEWRIGHT_KEY_STORE environment variable overrides it for every gateway.
DEFAULT_KEY_STORE_URL = "sqlite:///gateway-keys.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSpec:
    """Where throttle, quota and cache state lives (``url`` may hold ``${env.NAME}`` and
    ``${stage.NAME}``, resolved when the gateway starts)."""

    url: str = "memory://"
    prefix: str = "gw:"
    fail_mode: Literal["open", "closed"] = "open"


@dataclass(frozen=True, slots=True, kw_only=True)
class JwtScheme:
    """An http bearer / oauth2 / openIdConnect scheme verified as JWTs."""

    settings: JwtSettings = field(default_factory=JwtSettings)
    jwks_uri: str | None = None
    discovery_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SigV4Scheme:
    """A SigV4 scheme; credentials come from the API key store."""

    settings: SigV4Settings = field(default_factory=SigV4Settings)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizerScheme:
    """A custom authorizer: ``handler`` is ``"module:function"`` or an HTTP URL."""

    handler: str
    settings: AuthorizerSettings = field(default_factory=AuthorizerSettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyScheme:
    """An OpenAPI ``apiKey`` scheme, enforced by the API key store."""

    source: str  # "header:X-API-Key" or "query:api_key"


SchemeSpec: TypeAlias = JwtScheme | SigV4Scheme | AuthorizerScheme | ApiKeyScheme
Requirements: TypeAlias = tuple[Mapping[str, Sequence[str]], ...]
PrepareHook: TypeAlias = Callable[[web.Request, web.StreamResponse], Awaitable[None]]
Closer: TypeAlias = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayFeatures:
    """Everything beyond routing and integrations that one API declares."""

    store: StoreSpec = field(default_factory=StoreSpec)
    rate_limit_headers: RateLimitHeaders = "ietf"
    api_throttle: TokenBucket | None = None
    account_throttle: TokenBucket | None = None
    operation_throttles: Mapping[str, TokenBucket] = field(default_factory=dict)
    usage_plans: Mapping[str, UsagePlan] = field(default_factory=dict)
    key_sources: tuple[str, ...] = ("header:X-API-Key",)
    key_store_url: str | None = None  # None: $GATEWRIGHT_KEY_STORE or the SQLite default
    key_required: frozenset[str] = frozenset()
    cache_policies: Mapping[str, CachePolicy] = field(default_factory=dict)
    cache_capacity_bytes: int = 64 * 1024 * 1024
    schemes: Mapping[str, SchemeSpec] = field(default_factory=dict)
    security: Requirements = ()
    operation_security: Mapping[str, Requirements] = field(default_factory=dict)
    resource_policy: IpPolicy | None = None
    cors: CorsPolicy | None = None
    operation_cors: Mapping[str, CorsPolicy | None] = field(default_factory=dict)
    compression: CompressionPolicy | None = None
    deprecations: Mapping[str, DeprecationNotice] = field(default_factory=dict)
    openapi: OpenApiDocument | None = None  # served by the gateway itself, not a middleware

    @property
    def needs_key_store(self) -> bool:
        return bool(
            self.key_required
            or any(isinstance(s, ApiKeyScheme | SigV4Scheme) for s in self.schemes.values())
        )


class KeyStoreAuthenticator:
    """An OpenAPI ``apiKey`` security scheme backed by the key store.

    No key on the request: ``None`` (the evaluator tries other alternatives or
    answers 401); an unknown, revoked or other-stage key: 403.
    """

    def __init__(self, scheme: str, keys: ApiKeyAuthenticator) -> None:
        self._scheme = scheme
        self._keys = keys

    @property
    def scheme(self) -> str:
        return self._scheme

    def challenge(
        self, *, error: str | None = None, description: str | None = None, scopes: Sequence[str] = ()
    ) -> str | None:
        return None

    async def authenticate(self, request: web.Request) -> Principal | None:
        if self._keys.extract(request) is None:
            return None
        try:
            key = await self._keys.authenticate(request)
        except GatewayError as exc:
            if exc.response_type in ("INVALID_API_KEY", "ACCESS_DENIED"):
                raise AccessDenied("Forbidden") from exc
            raise
        return Principal(id=key.id, scheme=self._scheme, api_key_id=key.id, plan=key.plan)


class _KeyStoreCredentials:
    """SigV4 credentials from the key store, when it keeps them."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        lookup: Callable[[str], Awaitable[SigV4Credential | None]] | None = getattr(
            self._store, "get_sigv4_credential", None
        )
        if lookup is None:
            return None  # this backend keeps no SigV4 credentials
        return await lookup(access_key_id)


@dataclass(slots=True)
class FeatureMiddlewares:
    """What :func:`build_features` returns to the app builder."""

    inner: list[Middleware]
    outer: list[Middleware]
    prepare_hooks: list[PrepareHook]
    cleanup: list[Closer]
    # answers CORS preflights before anything else runs, and adds CORS headers to
    # every other answer the gateway handler returns (None: CORS is off)
    cors: Cors | None = None


def _resolve(
    text: str, env: Mapping[str, str], what: str, *, stage: str, stage_variables: Mapping[str, str]
) -> str:
    return resolve_start_references(
        text, stage_name=stage, stage_variables=stage_variables, env=env, what=what
    )


def build_features(
    features: GatewayFeatures,
    *,
    stage: str,
    env: Mapping[str, str],
    locate: Callable[[str, str], str | None],
    stage_variables: Mapping[str, str],
) -> FeatureMiddlewares:
    """Build the feature middlewares for one stage; raises ConfigurationError."""
    inner: list[Middleware] = []
    outer: list[Middleware] = []
    hooks: list[PrepareHook] = []
    closers: list[Closer] = []

    # -- edge (outer): compression -> deprecation; CORS
    if features.compression is not None and features.compression.minimum_size_bytes is not None:
        outer.append(compression_middleware(policy=features.compression))
        hooks.append(compression_on_response_prepare)
    # preflights are answered first thing in the gateway handler, which also adds the
    # CORS headers of every other answer (see app.py): no middleware, no prepare hook
    cors = cors_for(policy=features.cors, locate=locate, operations=features.operation_cors)
    if features.deprecations:
        outer.append(deprecation_middleware(operations=features.deprecations))
        hooks.append(deprecation_on_response_prepare)

    # -- key store: apiKeyRequired, apiKey schemes, SigV4 credentials
    keys: ApiKeyAuthenticator | None = None
    key_store: KeyStore | None = None
    if features.needs_key_store:
        url = features.key_store_url or env.get("GATEWRIGHT_KEY_STORE") or DEFAULT_KEY_STORE_URL
        url = _resolve(
            url, env, "the API key store URL", stage=stage, stage_variables=stage_variables
        )
        key_store = key_store_from_url(url, prefix=features.store.prefix)
        closers.append(key_store.close)
        keys = ApiKeyAuthenticator(
            key_store,
            plans=features.usage_plans,
            stage=stage,
            sources=features.key_sources,
            fail_mode=features.store.fail_mode,
        )

    # -- auth: resource policy and OpenAPI security
    authenticators: dict[str, Authenticator] = {}
    for name, spec in features.schemes.items():
        if isinstance(spec, JwtScheme):
            # URLs of the identity provider may differ per stage or come from the
            # environment, like backend URLs
            jwks = JwksClient(
                jwks_uri=None
                if spec.jwks_uri is None
                else _resolve(
                    spec.jwks_uri,
                    env,
                    f"the JWKS URL of scheme {name!r}",
                    stage=stage,
                    stage_variables=stage_variables,
                ),
                discovery_url=None
                if spec.discovery_url is None
                else _resolve(
                    spec.discovery_url,
                    env,
                    f"the discovery URL of scheme {name!r}",
                    stage=stage,
                    stage_variables=stage_variables,
                ),
            )
            closers.append(jwks.close)
            authenticators[name] = JwtAuthenticator(name, spec.settings, jwks)
        elif isinstance(spec, SigV4Scheme):
            if key_store is None:  # pragma: no cover - needs_key_store covers it
                raise ConfigurationError(f"security scheme {name!r} needs the key store")
            credentials: CredentialStore = _KeyStoreCredentials(key_store)
            authenticators[name] = SigV4Authenticator(
                name, spec.settings, credentials, stage=stage
            )
        elif isinstance(spec, AuthorizerScheme):
            settings = spec.settings
            if not settings.stage_variables and stage_variables:
                settings = replace(settings, stage_variables=dict(stage_variables))
            authorizer = CustomAuthorizer(name, spec.handler, settings)
            closers.append(authorizer.close)
            authenticators[name] = authorizer
        else:
            if keys is None:  # pragma: no cover - needs_key_store covers it
                raise ConfigurationError(f"security scheme {name!r} needs the key store")
            source_keys = ApiKeyAuthenticator(
                keys.store,
                plans=features.usage_plans,
                stage=stage,
                sources=(spec.source,),
                fail_mode=features.store.fail_mode,
            )
            authenticators[name] = KeyStoreAuthenticator(name, source_keys)
    if authenticators or features.security or features.operation_security:
        inner.append(
            auth_middleware(
                schemes=authenticators,
                requirements_by_operation=features.operation_security,
                default_requirements=features.security,
                resource_policy=features.resource_policy,
            )
        )
    elif features.resource_policy is not None:
        inner.append(ip_policy_middleware(policy=features.resource_policy))

    if keys is not None and features.key_required:
        inner.append(api_key_middleware(authenticator=keys, required=features.key_required))

    # -- throttles and quotas: plan method -> plan -> operation -> API/stage -> account
    limited = (
        features.usage_plans
        or features.operation_throttles
        or features.api_throttle is not None
        or features.account_throttle is not None
    )
    store_url = _resolve(
        features.store.url, env, "the store URL", stage=stage, stage_variables=stage_variables
    )
    if limited:
        limit_store = store_from_url(store_url, prefix=features.store.prefix)
        closers.append(limit_store.close)
        limiter = Limiter(
            limit_store, fail_mode=features.store.fail_mode, headers=features.rate_limit_headers
        )
        throttle = throttle_middleware(
            limiter=limiter,
            plans=features.usage_plans,
            operations=features.operation_throttles,
            api=features.api_throttle,
            account=features.account_throttle,
            stage=stage,
        )
        inner.append(scoped(throttle, _throttled_operations(features)))

    # -- response cache, after auth so the principal is part of the key
    if features.cache_policies:
        cache_store = cache_store_from_url(
            store_url, prefix=features.store.prefix, max_bytes=features.cache_capacity_bytes
        )
        closers.append(cache_store.close)
        inner.append(
            cache_middleware(cache=ResponseCache(cache_store), policies=features.cache_policies)
        )
    return FeatureMiddlewares(
        inner=inner, outer=outer, prepare_hooks=hooks, cleanup=closers, cors=cors
    )


def _throttled_operations(features: GatewayFeatures) -> frozenset[str] | None:
    """The operations the throttle middleware can act on; ``None`` for every one.

    Every one under an API or account throttle. Otherwise those with their own
    throttle, and those whose callers can carry a usage plan: the plan comes with an
    API key (``apiKeyRequired``) or a key-store credential (apiKey and SigV4 schemes)
    that a security requirement accepts.
    """
    if features.api_throttle is not None or features.account_throttle is not None:
        return None
    key_schemes = {
        name
        for name, spec in features.schemes.items()
        if isinstance(spec, ApiKeyScheme | SigV4Scheme)
    }

    def accepts_keys(requirements: Requirements) -> bool:
        return any(name in key_schemes for requirement in requirements for name in requirement)

    if accepts_keys(features.security):
        return None  # operations without their own security inherit it
    return frozenset(
        {
            *features.key_required,
            *features.operation_throttles,
            *(op for op, reqs in features.operation_security.items() if accepts_keys(reqs)),
        }
    )


async def close_all(closers: Sequence[Closer]) -> None:
    """Close every resource, the last opened first; one failure does not stop the rest."""
    for close in reversed(closers):
        with contextlib.suppress(Exception):  # closing is best effort at shutdown
            await close()


def resources_context(closers: Sequence[Closer]) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that closes the feature resources when the app stops."""

    async def resources(app: web.Application) -> AsyncIterator[None]:
        yield
        await close_all(closers)

    return resources
