"""AWS Signature Version 4 verification, header form and presigned-URL form.

Layer: runtime. Any AWS SDK (botocore's ``SigV4Auth`` / ``SigV4QueryAuth``) can sign
calls to the gateway. The canonical request is rebuilt exactly as the AWS specification
describes (and as botocore computes it for non-S3 services):

    METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n
    signed headers \\n payload SHA-256

Rules enforced:

- header form: ``X-Amz-Date`` (or ``Date``) within ``clock_skew_seconds`` of now;
- presigned form: not before ``X-Amz-Date`` (minus the skew), not after it plus
  ``X-Amz-Expires`` (at most 7 days), so a replayed URL dies when it expires;
- the credential scope's date, region and service must match; ``host`` must be signed;
- the body is hashed and must match the signature (``UNSIGNED-PAYLOAD`` only when
  ``allow_unsigned_payload``); signatures are compared in constant time;
- an unknown access key and a bad signature get the same answer (no key enumeration).

Credentials are looked up through :class:`CredentialStore`, a one-method async protocol
(every key store of ``gatewright.runtime.keys`` implements it, memory, SQLite and
Redis; :class:`InMemoryCredentialStore` is a standalone one). With ``stage`` set, a
credential bound to other stages is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import quote, unquote

from aiohttp import web

from ..context import Principal
from ..errors import ConfigurationError, StoreError
from .failures import AccessDenied, AuthenticationFailure, AuthorizerFailure

__all__ = [
    "CredentialStore",
    "InMemoryCredentialStore",
    "SigV4Authenticator",
    "SigV4Credential",
    "SigV4Settings",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_MAX_PRESIGN_EXPIRES = 7 * 24 * 3600  # AWS's own ceiling for presigned URLs


@dataclass(frozen=True, slots=True, kw_only=True)
class SigV4Credential:
    """An access key pair and who it belongs to."""

    access_key_id: str
    secret_access_key: str
    principal_id: str
    scopes: frozenset[str] = frozenset()
    api_key_id: str | None = None  # usage-plan identity, when the key belongs to one
    plan: str | None = None
    stages: frozenset[str] = frozenset()  # empty: every stage

    def allows_stage(self, stage: str) -> bool:
        return not self.stages or stage in self.stages


class CredentialStore(Protocol):
    """Where SigV4 access keys live.

    Implementations return ``None`` for an unknown or revoked key and raise
    :class:`~gatewright.runtime.errors.StoreError` when the backend fails.
    """

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None: ...


class InMemoryCredentialStore:
    """A :class:`CredentialStore` held in process memory.

    Example::

        store = InMemoryCredentialStore([SigV4Credential(
            access_key_id="AKIDEXAMPLE", secret_access_key="...", principal_id="ci-bot")])
    """

    def __init__(self, credentials: Iterable[SigV4Credential] = ()) -> None:
        self._credentials = {c.access_key_id: c for c in credentials}

    def add(self, credential: SigV4Credential) -> None:
        self._credentials[credential.access_key_id] = credential

    def revoke(self, access_key_id: str) -> None:
        self._credentials.pop(access_key_id, None)

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        return self._credentials.get(access_key_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class SigV4Settings:
    """The ``x-gateway`` settings of a SigV4 security scheme."""

    service: str = "execute-api"
    region: str = "us-east-1"
    clock_skew_seconds: float = 300.0
    max_presign_expires_seconds: int = _MAX_PRESIGN_EXPIRES
    allow_unsigned_payload: bool = False


@dataclass(frozen=True, slots=True)
class _SignedRequest:
    access_key_id: str
    scope_date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str  # yyyymmddThhmmssZ, as it enters the string to sign
    presigned: bool
    expires: int  # presigned only


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4, plus AWS's collapsing of empty segments (as botocore does)
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    normalized = "/" + "/".join(output)
    if path.endswith("/") and output:
        normalized += "/"
    return normalized


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a non-S3 service: the wire path, normalised, encoded again."""
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def canonical_query(raw_query: str, *, skip_signature: bool) -> str:
    """Query pairs, each re-encoded per RFC 3986, sorted by name then value."""
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if skip_signature and name == "X-Amz-Signature":
            continue
        pairs.append((name, quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class SigV4Authenticator:
    """Verifies AWS SigV4-signed requests.

    Example::

        sigv4 = SigV4Authenticator("sigv4", SigV4Settings(region="eu-west-1"), store)
    """

    verifies_body = True

    def __init__(
        self,
        scheme: str,
        settings: SigV4Settings,
        store: CredentialStore,
        *,
        stage: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.service or not settings.region:
            raise ConfigurationError(
                f"security scheme {scheme!r}: SigV4 needs a service and a region"
            )
        if not 0 < settings.max_presign_expires_seconds <= _MAX_PRESIGN_EXPIRES:
            raise ConfigurationError(
                f"security scheme {scheme!r}: max_presign_expires_seconds must be 1..{_MAX_PRESIGN_EXPIRES}"
            )
        if settings.clock_skew_seconds < 0:
            raise ConfigurationError(f"security scheme {scheme!r}: negative clock skew")
        self._scheme = scheme
        self._settings = settings
        self._store = store
        self._stage = stage
        self._clock = clock

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
        return ALGORITHM

    async def authenticate(self, request: web.Request) -> Principal | None:
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith(ALGORITHM + " "):
            signed = self._parse_header_form(request, authorization)
        elif "X-Amz-Algorithm" in request.query or "X-Amz-Signature" in request.query:
            signed = self._parse_query_form(request)
        else:
            return None
        self._check_scope_and_time(signed)
        try:
            credential = await self._store.get_sigv4_credential(signed.access_key_id)
        except StoreError as exc:
            raise AuthorizerFailure("the credential store is unavailable") from exc
        payload_hash = await self._payload_hash(request)
        if credential is None:
            raise self._reject("the access key or signature is invalid")
        expected = self._signature(request, signed, credential.secret_access_key, payload_hash)
        # SECURITY: constant-time comparison of the hex signatures.
        if not hmac.compare_digest(expected.encode(), signed.signature.encode()):
            raise self._reject("the access key or signature is invalid")
        if self._stage is not None and not credential.allows_stage(self._stage):
            raise AccessDenied("the access key is not valid for this stage")
        return Principal(
            id=credential.principal_id,
            scheme=self._scheme,
            scopes=credential.scopes,
            claims={"accessKeyId": credential.access_key_id},
            api_key_id=credential.api_key_id,
            plan=credential.plan,
        )

    def _reject(self, message: str) -> AuthenticationFailure:
        return AuthenticationFailure(message, challenge=ALGORITHM)

    def _parse_header_form(self, request: web.Request, authorization: str) -> _SignedRequest:
        fields: dict[str, str] = {}
        for part in authorization[len(ALGORITHM) + 1 :].split(","):
            name, sep, value = part.strip().partition("=")
            if sep:
                fields[name] = value.strip()
        amz_date = request.headers.get("X-Amz-Date")
        if amz_date is not None:
            timestamp = amz_date
        elif "Date" in request.headers:
            try:
                parsed = parsedate_to_datetime(request.headers["Date"])
            except (TypeError, ValueError):
                raise self._reject("the Date header is malformed") from None
            timestamp = parsed.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)
        else:
            raise self._reject("the request has no X-Amz-Date or Date header")
        return self._signed_request(
            credential=fields.get("Credential"),
            signed_headers=fields.get("SignedHeaders"),
            signature=fields.get("Signature"),
            timestamp=timestamp,
            presigned=False,
            expires="0",
        )

    def _parse_query_form(self, request: web.Request) -> _SignedRequest:
        query = request.query
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise self._reject(f"X-Amz-Algorithm must be {ALGORITHM}")
        timestamp = query.get("X-Amz-Date")
        if timestamp is None:
            raise self._reject("the presigned URL has no X-Amz-Date")
        return self._signed_request(
            credential=query.get("X-Amz-Credential"),
            signed_headers=query.get("X-Amz-SignedHeaders"),
            signature=query.get("X-Amz-Signature"),
            timestamp=timestamp,
            presigned=True,
            expires=query.get("X-Amz-Expires"),
        )

    def _signed_request(
        self,
        *,
        credential: str | None,
        signed_headers: str | None,
        signature: str | None,
        timestamp: str,
        presigned: bool,
        expires: str | None,
    ) -> _SignedRequest:
        if not credential or not signed_headers or not signature or expires is None:
            raise self._reject("the signature is incomplete")
        scope = credential.split("/")
        if len(scope) != 5 or not scope[0]:
            raise self._reject("the credential scope is malformed")
        headers = tuple(signed_headers.split(";"))
        if "host" not in headers or list(headers) != sorted(set(headers)):
            raise self._reject("SignedHeaders must be sorted, lower case, and include host")
        if not expires.isdigit():
            raise self._reject("X-Amz-Expires must be a number of seconds")
        return _SignedRequest(
            access_key_id=scope[0],
            scope_date=scope[1],
            region=scope[2],
            service=scope[3],
            terminator=scope[4],
            signed_headers=headers,
            signature=signature.lower(),
            timestamp=timestamp,
            presigned=presigned,
            expires=int(expires),
        )

    def _check_scope_and_time(self, signed: _SignedRequest) -> None:
        settings = self._settings
        if (
            signed.region != settings.region
            or signed.service != settings.service
            or signed.terminator != "aws4_request"
        ):
            raise self._reject(
                f"the credential scope must be <date>/{settings.region}/{settings.service}/aws4_request"
            )
        try:
            signed_at = datetime.strptime(signed.timestamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise self._reject("X-Amz-Date must look like 20240101T000000Z") from None
        if signed.scope_date != signed.timestamp[:8]:
            raise self._reject("the credential scope date does not match X-Amz-Date")
        age = self._clock() - signed_at.timestamp()
        skew = settings.clock_skew_seconds
        if signed.presigned:
            if not 0 < signed.expires <= settings.max_presign_expires_seconds:
                raise self._reject(
                    f"X-Amz-Expires must be 1..{settings.max_presign_expires_seconds} seconds"
                )
            if age > signed.expires:
                raise self._reject("the presigned URL has expired")
            if age < -skew:
                raise self._reject("the presigned URL is not valid yet")
        elif abs(age) > skew:
            raise self._reject("the signature has expired (request time too skewed)")

    async def _payload_hash(self, request: web.Request) -> str:
        actual = hashlib.sha256(await request.read()).hexdigest()
        claimed = request.headers.get("X-Amz-Content-Sha256")
        if claimed is None:
            return actual
        if claimed == UNSIGNED_PAYLOAD:
            if not self._settings.allow_unsigned_payload:
                raise self._reject("unsigned payloads are not accepted")
            return claimed
        if not hmac.compare_digest(claimed.lower().encode(), actual.encode()):
            raise self._reject("the body does not match X-Amz-Content-Sha256")
        return actual

    def _signature(
        self, request: web.Request, signed: _SignedRequest, secret: str, payload_hash: str
    ) -> str:
        header_lines = []
        for name in signed.signed_headers:
            values = request.headers.getall(name, [])
            if not values:
                raise self._reject(f"signed header {name!r} is missing")
            header_lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
        canonical_request = "\n".join(
            (
                request.method.upper(),
                canonical_uri(request.rel_url.raw_path),
                canonical_query(request.rel_url.raw_query_string, skip_signature=signed.presigned),
                "".join(header_lines),
                ";".join(signed.signed_headers),
                payload_hash,
            )
        )
        scope = f"{signed.scope_date}/{signed.region}/{signed.service}/aws4_request"
        string_to_sign = "\n".join(
            (
                ALGORITHM,
                signed.timestamp,
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            )
        )
        key = signing_key(secret, signed.scope_date, signed.region, signed.service)
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
