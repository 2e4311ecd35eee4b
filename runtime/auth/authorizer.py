"""Custom authorizers of token and request type, with AWS Lambda-authorizer semantics.

Layer: runtime. The handler is a Python callable (``"pkg.module:function"``; a sync one
runs in a thread) or an HTTP URL that receives the event as a JSON POST. It returns
either an AWS policy response (``principalId``, ``policyDocument``, ``context``) or a
simple response (``{"isAuthorized": bool, "context": {...}}``).

Behaviour:

- identity sources (``header.X``, ``query.X``, ``stage.X``, ``context.X``) must all be
  present and non-empty, else 401 without calling the handler; a token authorizer's
  token must also fully match ``identity_validation`` when one is set;
- results are cached for ``result_ttl_seconds`` (default 300, max 3600, 0 off) keyed
  by the authorizer and the identity values;
- the policy is evaluated against the method ARN of *each* request, also when it comes
  from the cache. A cached policy that says nothing about the current operation (it
  named only route A; a common authorizer pattern is to allow exactly ``methodArn``)
  does not deny route B: the authorizer is asked again for B and both policies are
  kept. AWS instead reuses A's policy and locks the caller out of B;
- handler errors, timeouts and malformed responses give ``AUTHORIZER_FAILURE`` (502);
  a Python handler raising :class:`UnauthorizedError`, or a URL answering 401, gives 401; a
  URL answering 403 gives 403;
- the result ``context`` is passed upstream as ``X-Gateway-Authorizer-<key>`` headers
  (the prefix is configurable); client-sent headers with that prefix are removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web

from ..context import REQUEST_ID, ROUTE_MATCH, Principal
from ..errors import ConfigurationError
from ._cache import ExpiringLru
from .base import quote_auth_param
from .failures import AccessDenied, AuthenticationFailure, AuthorizerFailure
from .iam import ApiArn, IamPolicy
from .jwt import header_value

__all__ = [
    "AuthorizerResult",
    "AuthorizerSettings",
    "CustomAuthorizer",
    "UnauthorizedError",
    "resolve_handler",
]

log = logging.getLogger(__name__)

AuthorizerCallable = Callable[[dict[str, object]], object]
ContextValue = str | int | float | bool

_MAX_TTL_SECONDS = 3600
_MAX_POLICIES_PER_IDENTITY = 16  # distinct per-operation policies kept per identity
_HEADER_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_IDENTITY_SOURCE = re.compile(r"(header|query|stage|context)\.(.+)")
_CONTEXT_VALUES = frozenset(
    {"requestId", "sourceIp", "httpMethod", "path", "resourcePath", "stage", "operationId"}
)


class UnauthorizedError(Exception):
    """Raise from a Python authorizer to answer 401 (the caller is not authenticated)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizerSettings:
    """The ``x-gateway`` settings of a ``kind: authorizer`` security scheme."""

    type: Literal["token", "request"] = "token"
    identity_sources: tuple[str, ...] = ("header.Authorization",)
    identity_validation: str | None = None  # regex; token authorizers only
    result_ttl_seconds: int = 300
    timeout_seconds: float = 10.0
    context_header_prefix: str = "X-Gateway-Authorizer-"
    arn: ApiArn = field(default_factory=ApiArn)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    cache_size: int = 10_000


@dataclass(frozen=True, slots=True)
class AuthorizerResult:
    """What an authorizer said about one identity (this is what the cache holds)."""

    principal_id: str
    policy: IamPolicy | None  # None: a simple response, see ``authorized``
    authorized: bool
    context: Mapping[str, ContextValue]

    def decide(self, method_arn: str) -> bool | None:
        """Allow/deny for this operation, or ``None`` when the policy does not mention it."""
        return self.policy.decide(method_arn) if self.policy is not None else self.authorized


def resolve_handler(reference: str) -> AuthorizerCallable:
    """Import ``"pkg.module:function"``; raises :class:`ConfigurationError` when it fails."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(
            f"authorizer handler {reference!r} must look like 'pkg.module:function' or be a URL"
        )
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"authorizer handler {reference!r} cannot be imported: {exc}"
        ) from exc
    if not callable(target):
        raise ConfigurationError(f"authorizer handler {reference!r} is not callable")
    return target


def _parse_result(raw: object, *, fallback_principal: str) -> AuthorizerResult:
    if not isinstance(raw, dict):
        raise ValueError("the authorizer response must be a JSON object")
    context_raw = raw.get("context") or {}
    if not isinstance(context_raw, dict):
        raise ValueError("context must be an object")
    context: dict[str, ContextValue] = {}
    for key, value in context_raw.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise ValueError("context values must be strings, numbers or booleans")
        if isinstance(value, str) and header_value(value) is None:
            raise ValueError(f"context value {key!r} contains control characters")
        context[key] = value
    principal_id = raw.get("principalId")
    if "isAuthorized" in raw:
        authorized = raw["isAuthorized"]
        if not isinstance(authorized, bool):
            raise ValueError("isAuthorized must be a boolean")
        if principal_id is not None and not isinstance(principal_id, str):
            raise ValueError("principalId must be a string")
        return AuthorizerResult(principal_id or fallback_principal, None, authorized, context)
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError("principalId must be a non-empty string")
    return AuthorizerResult(
        principal_id, IamPolicy.parse(raw.get("policyDocument")), False, context
    )


def _concrete_path(route: str, params: Mapping[str, str]) -> str:
    """``/pets/{petId}`` + ``{petId: 7}`` -> ``/pets/7`` (also ``{proxy+}``)."""
    return re.sub(r"\{([^{}+]+)\+?\}", lambda m: params.get(m.group(1), m.group(0)), route)


class CustomAuthorizer:
    """A token or request authorizer.

    Example::

        partner = CustomAuthorizer(
            "partnerAuth",
            "orders.auth:partner_authorizer",
            AuthorizerSettings(type="request",
                               identity_sources=("header.Authorization", "header.X-Partner-Id")),
        )
    """

    def __init__(
        self,
        scheme: str,
        handler: str | AuthorizerCallable,
        settings: AuthorizerSettings,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        where = f"security scheme {scheme!r}"
        if not 0 <= settings.result_ttl_seconds <= _MAX_TTL_SECONDS:
            raise ConfigurationError(f"{where}: resultTtlSeconds must be 0..{_MAX_TTL_SECONDS}")
        if settings.timeout_seconds <= 0:
            raise ConfigurationError(f"{where}: the authorizer timeout must be positive")
        if not settings.identity_sources:
            raise ConfigurationError(f"{where}: an authorizer needs at least one identity source")
        if settings.type == "token" and len(settings.identity_sources) != 1:
            raise ConfigurationError(f"{where}: a token authorizer has exactly one identity source")
        if not _HEADER_TOKEN.fullmatch(settings.context_header_prefix):
            raise ConfigurationError(f"{where}: the context header prefix is not a header name")
        self._sources: list[tuple[str, str]] = []
        for source in settings.identity_sources:
            matched = _IDENTITY_SOURCE.fullmatch(source)
            if matched is None:
                raise ConfigurationError(
                    f"{where}: identity source {source!r} must be header.X, query.X, stage.X or context.X"
                )
            kind, name = matched.group(1), matched.group(2)
            if kind == "context" and name not in _CONTEXT_VALUES:
                raise ConfigurationError(
                    f"{where}: identity source {source!r}: known context values are {sorted(_CONTEXT_VALUES)}"
                )
            self._sources.append((kind, name))
        try:
            self._validation = (
                re.compile(settings.identity_validation) if settings.identity_validation else None
            )
        except re.error as exc:
            raise ConfigurationError(
                f"{where}: identityValidation is not a valid regex: {exc}"
            ) from exc
        self._url: str | None = None
        self._callable: AuthorizerCallable | None = None
        if isinstance(handler, str) and handler.startswith(("http://", "https://")):
            self._url = handler
        elif isinstance(handler, str):
            self._callable = resolve_handler(handler)
        else:
            self._callable = handler
        self._scheme = scheme
        self._settings = settings
        self._session = session
        self._owns_session = session is None
        # identity -> ((monotonic deadline, result), ...): each result keeps its own TTL
        self._cache: ExpiringLru[bytes, tuple[tuple[float, AuthorizerResult], ...]] = ExpiringLru(
            settings.cache_size
        )
        self._prefix = settings.context_header_prefix.lower()
        self.calls = 0  # how often the handler ran; observable for tests and metrics

    @property
    def scheme(self) -> str:
        return self._scheme

    def challenge(
        self,
        *,
        error: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] = (),
    ) -> str:
        return f"Custom realm={quote_auth_param(self._scheme)}"

    @property
    def forwards_headers(self) -> bool:
        return True  # the context it passes is open-ended

    def is_reserved_header(self, name: str) -> bool:
        return name.lower().startswith(self._prefix)

    def upstream_headers(self, principal: Principal) -> Mapping[str, str]:
        headers: dict[str, str] = {}
        for key, value in principal.context.items():
            text = header_value(value)
            if _HEADER_TOKEN.fullmatch(key) and text is not None:
                headers[self._settings.context_header_prefix + key] = text
        return headers

    async def authenticate(self, request: web.Request) -> Principal | None:
        identity = self._identity(request)
        if identity is None:
            return None  # AWS: a missing identity is a 401 without calling the authorizer
        if self._validation is not None and not self._validation.fullmatch(identity[0]):
            raise AuthenticationFailure(
                "the identity does not match the authorizer's validation expression",
                challenge=self.challenge(),
            )
        cache_key = hashlib.sha256("\0".join(identity).encode()).digest()
        method_arn = self._method_arn(request)
        now = time.monotonic()
        cached = tuple(e for e in self._cache.get(cache_key) or () if e[0] > now)
        result, verdict = next(
            ((r, v) for _, r in cached if (v := r.decide(method_arn)) is not None), (None, None)
        )
        if result is None:
            result = await self._invoke(request, identity, method_arn, cache_key.hex()[:16])
            verdict = result.decide(method_arn)
            ttl = self._settings.result_ttl_seconds
            kept = (*cached, (now + ttl, result))[-_MAX_POLICIES_PER_IDENTITY:]
            self._cache.put(cache_key, kept, ttl=max(deadline for deadline, _ in kept) - now)
        if verdict is not True:
            raise AccessDenied("the authorizer denied access to this operation")
        return Principal(id=result.principal_id, scheme=self._scheme, context=result.context)

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _identity(self, request: web.Request) -> list[str] | None:
        values: list[str] = []
        for kind, name in self._sources:
            if kind == "header":
                value = request.headers.get(name)
            elif kind == "query":
                value = request.query.get(name)
            elif kind == "stage":
                value = self._settings.stage_variables.get(name)
            else:
                value = self._context_value(request, name)
            if not value:
                return None
            values.append(value)
        return values

    def _context_value(self, request: web.Request, name: str) -> str | None:
        match = request.get(ROUTE_MATCH)
        values = {
            "requestId": request.get(REQUEST_ID),
            "sourceIp": request.remote,
            "httpMethod": request.method,
            "path": request.path,
            "resourcePath": match.route if match else None,
            "stage": self._settings.arn.stage,
            "operationId": match.operation_id if match else None,
        }
        return values.get(name)

    def _method_arn(self, request: web.Request) -> str:
        match = request.get(ROUTE_MATCH)
        path = _concrete_path(match.route, match.path_params) if match else request.path
        return self._settings.arn.method_arn(request.method, path)

    def _event(
        self, request: web.Request, identity: list[str], method_arn: str
    ) -> dict[str, object]:
        if self._settings.type == "token":
            return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
        match = request.get(ROUTE_MATCH)
        return {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": match.route if match else request.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": dict(request.headers),
            "queryStringParameters": dict(request.query),
            "pathParameters": dict(match.path_params) if match else {},
            "stageVariables": dict(self._settings.stage_variables),
            "requestContext": {
                "requestId": request.get(REQUEST_ID),
                "stage": self._settings.arn.stage,
                "httpMethod": request.method,
                "resourcePath": match.route if match else request.path,
                "identity": {"sourceIp": request.remote},
            },
        }

    async def _invoke(
        self, request: web.Request, identity: list[str], method_arn: str, identity_hash: str
    ) -> AuthorizerResult:
        event = self._event(request, identity, method_arn)
        self.calls += 1
        try:
            async with asyncio.timeout(self._settings.timeout_seconds):
                raw = await (self._call_url(event) if self._url else self._call_python(event))
        except UnauthorizedError:
            raise AuthenticationFailure(
                "the authorizer did not authenticate the caller", challenge=self.challenge()
            ) from None
        except (AuthenticationFailure, AccessDenied, AuthorizerFailure):
            raise
        except TimeoutError:
            log.warning(
                "authorizer %r timed out after %ss", self._scheme, self._settings.timeout_seconds
            )
            raise AuthorizerFailure("the authorizer timed out") from None
        except Exception:
            # Any failure of user code or of the authorizer service is an upstream failure.
            log.exception("authorizer %r failed", self._scheme)
            raise AuthorizerFailure("the authorizer failed") from None
        try:
            return _parse_result(raw, fallback_principal=f"{self._scheme}:{identity_hash}")
        except ValueError as exc:
            log.warning("authorizer %r returned an invalid response: %s", self._scheme, exc)
            raise AuthorizerFailure("the authorizer returned an invalid response") from None

    async def _call_python(self, event: dict[str, object]) -> object:
        handler = self._callable
        if handler is None:
            raise ConfigurationError(f"security scheme {self._scheme!r} has no handler")
        if inspect.iscoroutinefunction(handler):
            result: object = await handler(event)
        else:
            result = await asyncio.to_thread(handler, event)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _call_url(self, event: dict[str, object]) -> object:
        if self._url is None:
            raise ConfigurationError(f"security scheme {self._scheme!r} has no URL")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self._url, json=event) as response:
            if response.status == 401:
                raise UnauthorizedError
            if response.status == 403:
                raise AccessDenied("the authorizer denied access")
            if response.status != 200:
                raise AuthorizerFailure(f"the authorizer answered HTTP {response.status}")
            return await response.json(content_type=None)
