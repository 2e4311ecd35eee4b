"""JWT bearer authentication (http bearer, oauth2 and openIdConnect schemes).

Layer: runtime. Tokens are verified with PyJWT only; this module chooses the key, the
allowed algorithm and the claims to require, and maps PyJWT's verdicts to 401s.

Defences, each tested:

- the algorithm allow-list never contains ``none`` or an HMAC algorithm (refused at
  start-up), and the token's ``alg`` must be in it and must fit the JWK's key type,
  so an "HS256 signed with the RSA public key" token never verifies;
- keys come only from the IdP's JWKS (asymmetric keys only, see :mod:`.jwks`);
- ``exp`` is required, and ``iss``/``aud`` whenever an issuer/audiences are configured;
- a verified token is cached (keyed by the token text itself) until
  ``min(exp, cache ttl)``, so a warm cache does no hashing, decoding or signature
  check, without ever outliving the token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import jwt
from aiohttp import web

from ..context import Principal
from ..errors import ConfigurationError
from ._cache import ExpiringLru
from .base import quote_auth_param
from .failures import AuthenticationFailure
from .jwks import ALGORITHMS_BY_KEY_TYPE, JwksClient

__all__ = ["JwtAuthenticator", "JwtSettings", "TokenLocation", "header_value"]

_ASYMMETRIC_ALGORITHMS = frozenset().union(*ALGORITHMS_BY_KEY_TYPE.values())


@dataclass(frozen=True, slots=True)
class TokenLocation:
    """Where to look for the token: ``header`` (with an optional prefix) or ``query``."""

    source: Literal["header", "query"]
    name: str
    prefix: str = ""  # matched case-insensitively, e.g. "Bearer "


@dataclass(frozen=True, slots=True, kw_only=True)
class JwtSettings:
    """The ``x-gateway`` settings of one JWT security scheme."""

    issuer: str | None = None  # None with discovery: the discovery document's issuer
    audiences: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: float = 60.0
    locations: tuple[TokenLocation, ...] = (TokenLocation("header", "Authorization", "Bearer "),)
    scopes_claim: Literal["scope", "scp"] | None = None  # None: read both
    claims_to_headers: Mapping[str, str] = field(default_factory=dict)  # claim -> header
    required_claims: tuple[str, ...] = ("exp",)
    realm: str = "gatewright"
    cache_size: int = 10_000
    cache_ttl_seconds: float = 300.0


def header_value(value: object) -> str | None:
    """A claim or context value as header text; ``None`` when it cannot be one safely."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    # SECURITY: control characters would split or smuggle headers.
    if any(ch < " " or ch == "\x7f" for ch in text):
        return None
    return text


class JwtAuthenticator:
    """Verifies bearer JWTs against an IdP's keys.

    Example::

        keys = JwksClient(jwks_uri="https://idp.example/.well-known/jwks.json")
        jwt_auth = JwtAuthenticator("jwt", JwtSettings(issuer="https://idp.example",
                                                      audiences=("orders-api",)), keys)
    """

    def __init__(
        self,
        scheme: str,
        settings: JwtSettings,
        keys: JwksClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        refused = [a for a in settings.algorithms if a not in _ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ConfigurationError(
                f"security scheme {scheme!r}: algorithms {refused} are not allowed; "
                f"JWT schemes accept only asymmetric algorithms ({sorted(_ASYMMETRIC_ALGORITHMS)})"
            )
        if not settings.algorithms:
            raise ConfigurationError(f"security scheme {scheme!r}: the algorithm list is empty")
        if not settings.locations:
            raise ConfigurationError(f"security scheme {scheme!r}: no token location")
        if settings.leeway_seconds < 0 or settings.cache_ttl_seconds < 0:
            raise ConfigurationError(f"security scheme {scheme!r}: negative leeway or cache ttl")
        self._scheme = scheme
        self._settings = settings
        self._keys = keys
        self._clock = clock
        self._cache: ExpiringLru[str, Principal] = ExpiringLru(settings.cache_size)
        self._reserved = frozenset(h.lower() for h in settings.claims_to_headers.values())

    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def keys(self) -> JwksClient:
        return self._keys

    async def authenticate(self, request: web.Request) -> Principal | None:
        token = self._find_token(request)
        if token is None:
            return None
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        principal, expires_at = await self._verify(token)
        self._cache.put(
            token,
            principal,
            ttl=min(expires_at - self._clock(), self._settings.cache_ttl_seconds),
        )
        return principal

    def challenge(
        self,
        *,
        error: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] = (),
    ) -> str:
        # RFC 6750 §3: Bearer realm=..., error=..., error_description=..., scope=...
        params = [f"realm={quote_auth_param(self._settings.realm)}"]
        if error:
            params.append(f"error={quote_auth_param(error)}")
        if description:
            params.append(f"error_description={quote_auth_param(description)}")
        if scopes:
            params.append(f"scope={quote_auth_param(' '.join(scopes))}")
        return "Bearer " + ", ".join(params)

    @property
    def forwards_headers(self) -> bool:
        return bool(self._reserved)

    def is_reserved_header(self, name: str) -> bool:
        return name.lower() in self._reserved

    def upstream_headers(self, principal: Principal) -> Mapping[str, str]:
        headers: dict[str, str] = {}
        for claim, header in self._settings.claims_to_headers.items():
            if claim in principal.claims:
                text = header_value(principal.claims[claim])
                if text is not None:
                    headers[header] = text
        return headers

    def _find_token(self, request: web.Request) -> str | None:
        for location in self._settings.locations:
            if location.source == "header":
                value = request.headers.get(location.name)
            else:
                value = request.query.get(location.name)
            if value is None:
                continue
            prefix = location.prefix
            if prefix:
                if value[: len(prefix)].lower() != prefix.lower():
                    continue  # another scheme's credentials (e.g. "AWS4-HMAC-SHA256 ...")
                value = value[len(prefix) :]
            value = value.strip()
            if value:
                return value
        return None

    def _reject(self, description: str) -> AuthenticationFailure:
        return AuthenticationFailure(
            f"invalid token: {description}",
            challenge=self.challenge(error="invalid_token", description=description),
        )

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise self._reject("malformed token") from None
        algorithm = header.get("alg")
        kid = header.get("kid")
        # SECURITY: checked before any key lookup; rejects "none" and HS* outright.
        if not isinstance(algorithm, str) or algorithm not in self._settings.algorithms:
            raise self._reject(f"algorithm {algorithm!r} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise self._reject("malformed key id")
        key = await self._keys.get_key(kid)
        if key is None:
            raise self._reject("unknown signing key")
        if not key.accepts(algorithm):
            raise self._reject(f"algorithm {algorithm!r} does not match the signing key")
        settings = self._settings
        issuer = settings.issuer or self._keys.discovered_issuer
        required = list(settings.required_claims)
        if issuer is not None:
            required.append("iss")
        if settings.audiences:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key=key.jwk.key,
                algorithms=[algorithm],
                audience=list(settings.audiences) or None,
                issuer=issuer,
                leeway=settings.leeway_seconds,
                options={"require": required, "verify_aud": bool(settings.audiences)},
            )
        except jwt.ExpiredSignatureError:
            raise self._reject("token expired") from None
        except jwt.ImmatureSignatureError:
            raise self._reject("token not yet valid") from None
        except jwt.InvalidIssuerError:
            raise self._reject("wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise self._reject("wrong audience") from None
        except jwt.MissingRequiredClaimError as exc:
            raise self._reject(f"missing claim {exc.claim!r}") from None
        except jwt.InvalidSignatureError:
            raise self._reject("bad signature") from None
        except jwt.PyJWTError:
            raise self._reject("token rejected") from None
        subject = next(
            (claims[c] for c in ("sub", "client_id", "azp") if isinstance(claims.get(c), str)),
            None,
        )
        if not subject:
            # Without a subject, callers would share one identity in caches and quotas.
            raise self._reject("token has no subject")
        exp = claims.get("exp")
        expires_at = (
            float(exp)
            if isinstance(exp, int | float)
            else self._clock() + settings.cache_ttl_seconds
        )
        principal = Principal(
            id=subject,
            scheme=self._scheme,
            scopes=self._scopes(claims),
            claims=claims,
        )
        return principal, expires_at

    def _scopes(self, claims: Mapping[str, object]) -> frozenset[str]:
        names = (
            ("scope", "scp")
            if self._settings.scopes_claim is None
            else (self._settings.scopes_claim,)
        )
        scopes: set[str] = set()
        for name in names:
            value = claims.get(name)
            if isinstance(value, str):
                scopes.update(value.split())
            elif isinstance(value, list):
                scopes.update(v for v in value if isinstance(v, str))
        return frozenset(scopes)
