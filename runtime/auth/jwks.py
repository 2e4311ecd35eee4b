"""JSON Web Key Sets fetched from an identity provider, cached, refreshed on rotation.

Layer: runtime. Keys come from a JWKS URL or from OpenID Connect discovery
(``/.well-known/openid-configuration`` -> ``jwks_uri``), fetched with aiohttp.

Refresh rules:

- an unknown ``kid`` triggers a refetch (the IdP rotated its keys), but at most once per
  ``min_refresh_interval`` so a stream of forged kids cannot hammer the IdP;
- keys older than ``max_key_age`` are refetched on next use; if that fetch fails the old
  keys stay in use (the IdP being briefly down must not log everybody out);
- concurrent refreshes collapse into one fetch.

Only asymmetric signing keys are loaded. ``oct`` (shared-secret) keys are ignored, so a
JWKS can never turn an HMAC algorithm into a usable verifier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from jwt import PyJWK, PyJWTError

from ..errors import ConfigurationError
from .failures import AuthorizerFailure

__all__ = ["ALGORITHMS_BY_KEY_TYPE", "JwksClient", "SigningKey"]

log = logging.getLogger(__name__)

ALGORITHMS_BY_KEY_TYPE: Mapping[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512", "ES256K"}),
    "OKP": frozenset({"EdDSA"}),
}
"""Which JWS algorithms each asymmetric JWK key type may verify."""

_ALGORITHM_BY_CURVE: Mapping[str, str] = {
    "P-256": "ES256",
    "P-384": "ES384",
    "P-521": "ES512",
    "secp256k1": "ES256K",
}
_MAX_DOCUMENT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One verification key from the set."""

    kid: str | None
    key_type: str  # JWK "kty": RSA, EC or OKP
    algorithm: str | None  # JWK "alg", when the IdP pinned one
    curve: str | None  # JWK "crv" for EC and OKP keys
    jwk: PyJWK

    def accepts(self, algorithm: str) -> bool:
        """Whether a token signed with ``algorithm`` may be checked with this key."""
        if self.algorithm is not None and self.algorithm != algorithm:
            return False
        if algorithm not in ALGORITHMS_BY_KEY_TYPE.get(self.key_type, frozenset()):
            return False
        if self.key_type == "EC":
            # SECURITY: a curve/hash mismatch is a downgrade; ES256 only with P-256, etc.
            return _ALGORITHM_BY_CURVE.get(self.curve or "") == algorithm
        return True


def _load_keys(document: object) -> dict[str | None, SigningKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set: expected an object with a 'keys' array")
    keys: dict[str | None, SigningKey] = {}
    for raw in document["keys"]:
        if not isinstance(raw, dict):
            continue
        key_type = raw.get("kty")
        if not isinstance(key_type, str) or key_type not in ALGORITHMS_BY_KEY_TYPE:
            continue  # SECURITY: never load "oct" (HMAC) keys from a key set
        if raw.get("use", "sig") != "sig":
            continue
        kid = raw.get("kid")
        algorithm = raw.get("alg")
        curve = raw.get("crv")
        try:
            jwk = PyJWK(raw)
        except PyJWTError:
            log.warning("skipping unusable JWK kid=%r", kid)
            continue
        keys[kid if isinstance(kid, str) else None] = SigningKey(
            kid=kid if isinstance(kid, str) else None,
            key_type=key_type,
            algorithm=algorithm if isinstance(algorithm, str) else None,
            curve=curve if isinstance(curve, str) else None,
            jwk=jwk,
        )
    return keys


class JwksClient:
    """Fetches and caches the signing keys of one identity provider.

    Example::

        keys = JwksClient(discovery_url="https://idp.example/.well-known/openid-configuration")
        key = await keys.get_key("2024-rotation")   # None: unknown even after refresh
        await keys.close()
    """

    def __init__(
        self,
        *,
        jwks_uri: str | None = None,
        discovery_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        fetch_timeout: float = 1.5,
        min_refresh_interval: float = 30.0,
        max_key_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (jwks_uri is None) == (discovery_url is None):
            raise ConfigurationError("JwksClient needs exactly one of jwks_uri or discovery_url")
        if fetch_timeout <= 0 or min_refresh_interval < 0 or max_key_age <= 0:
            raise ConfigurationError("JwksClient timings must be positive")
        self._jwks_uri = jwks_uri
        self._discovery_url = discovery_url
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=fetch_timeout)
        self._min_refresh_interval = min_refresh_interval
        self._max_key_age = max_key_age
        self._clock = clock
        self._keys: dict[str | None, SigningKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._discovered_issuer: str | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0  # observable for tests and metrics

    @property
    def discovered_issuer(self) -> str | None:
        """The ``issuer`` of the discovery document (known after the first :meth:`get_key`)."""
        return self._discovered_issuer

    async def get_key(self, kid: str | None) -> SigningKey | None:
        """The key for ``kid``; refetches the set when the kid is unknown or keys are old.

        A token without ``kid`` gets the only key of the set, or ``None`` when there are
        several. Raises :class:`AuthorizerFailure` when no key set could ever be fetched.
        """
        if self._needs_refresh(kid):
            await self._refresh(kid)
        if not self._keys and self._fetched_at is None:
            raise AuthorizerFailure("the identity provider's signing keys are unavailable")
        if kid is None:
            only = list(self._keys.values())
            return only[0] if len(only) == 1 else None
        return self._keys.get(kid)

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _needs_refresh(self, kid: str | None) -> bool:
        now = self._clock()
        if self._fetched_at is None:
            return self._attempted_at is None or self._refresh_allowed(now)
        stale = now - self._fetched_at >= self._max_key_age
        unknown = kid is not None and kid not in self._keys
        return (stale or unknown) and self._refresh_allowed(now)

    def _refresh_allowed(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_refresh_interval

    async def _refresh(self, kid: str | None) -> None:
        attempted_before = self._attempted_at
        async with self._lock:
            if self._attempted_at != attempted_before:
                return  # another request refreshed while this one waited
            self._attempted_at = self._clock()
            try:
                jwks_uri = await self._resolve_jwks_uri()
                keys = _load_keys(await self._fetch_json(jwks_uri))
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("JWKS refresh failed (kid=%r): %s", kid, exc)
                return
            self._keys = keys
            self._fetched_at = self._clock()

    async def _resolve_jwks_uri(self) -> str:
        if self._jwks_uri is not None:
            return self._jwks_uri
        if self._discovery_url is None:
            raise ConfigurationError("JwksClient needs exactly one of jwks_uri or discovery_url")
        document = await self._fetch_json(self._discovery_url)
        if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
            raise ValueError("OIDC discovery document has no 'jwks_uri'")
        issuer = document.get("issuer")
        self._discovered_issuer = issuer if isinstance(issuer, str) else None
        self._jwks_uri = document["jwks_uri"]
        return self._jwks_uri

    async def _fetch_json(self, url: str) -> object:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self.fetch_count += 1
        async with self._session.get(url, timeout=self._timeout) as response:
            if response.status != 200:
                raise ValueError(f"GET {url} answered {response.status}")
            body = await response.content.read(_MAX_DOCUMENT_BYTES + 1)
            if len(body) > _MAX_DOCUMENT_BYTES:
                raise ValueError(f"GET {url}: document larger than {_MAX_DOCUMENT_BYTES} bytes")
            return json.loads(body)
