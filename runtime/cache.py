"""Response caching per operation, on memory or Redis.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

The cache key is the method, operation and route template, the path parameters,
the operation's declared query parameters (values sorted and de-duplicated) and
headers (names lower-cased), and the principal id unless the policy is ``shared``.
So one principal never receives another's entry. Only GET and HEAD and only 2xx are
cached by default; entries are at most 1 MiB; a response with ``Set-Cookie`` or
``Cache-Control: private``, ``no-store`` or ``no-cache`` is never stored.

``X-Cache`` says what happened: ``Hit``, ``Miss`` (fetched upstream), ``Refresh``
(the client sent ``Cache-Control: max-age=0`` and may invalidate) or ``Bypass``
(method not cached for this operation, or the store is failing). Concurrent misses
for one key in a process make one upstream call; the others wait and are served
the stored entry (reported as ``Hit``).

Place the middleware after authentication, so ``request[PRINCIPAL]`` is known::

    cache = ResponseCache(cache_store_from_url("memory://", max_bytes=256 * 2**20))
    app = web.Application(middlewares=[
        routing, auth, cache_middleware(cache=cache, policies={
            "getOrder": CachePolicy(ttl_seconds=60, key_query=("expand",),
                                    key_headers=("Accept-Language",))}),
    ])

The handler must return a ``web.Response`` with a bytes body to be cached;
streamed responses pass through uncached.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias, cast

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from .context import PRINCIPAL, ROUTE_MATCH, RouteMatch, scoped
from .errors import ConfigurationError, GatewayError, StoreError
from .stores.base import CacheStore, StoreHealth

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "INVALIDATE_CACHE_PERMISSION",
    "MAX_ENTRY_BYTES",
    "MAX_TTL_SECONDS",
    "CachePolicy",
    "CacheStatus",
    "InvalidationRule",
    "ResponseCache",
    "UnauthorizedInvalidation",
    "cache_key",
    "cache_middleware",
    "principal_may_invalidate",
]

DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 3600
MAX_ENTRY_BYTES = 1024 * 1024
# A principal holding this scope may refresh entries with Cache-Control: max-age=0
# (AWS's execute-api:InvalidateCache permission).
INVALIDATE_CACHE_PERMISSION = "execute-api:InvalidateCache"

CacheStatus: TypeAlias = Literal["Hit", "Miss", "Refresh", "Bypass"]
InvalidationRule: TypeAlias = Literal["authorized", "anyone", "never"]
UnauthorizedInvalidation: TypeAlias = Literal[
    "fail_403", "succeed_with_header", "succeed_without_header"
]

_NOT_STORED_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "x-cache"}
)
_UNCACHEABLE_DIRECTIVES = frozenset({"private", "no-store", "no-cache"})
_META_LENGTH = struct.Struct(">I")
# Decoded entries kept for fast hits, in entry bytes (they share nothing with the store).
_MAX_DECODED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _DecodedEntry:
    entry: bytes  # the stored form it was decoded from
    status: int
    headers: CIMultiDict[str]
    stored: float
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """How one operation is cached.

    ``status_codes`` empty means any 2xx. ``client_max_age0`` decides who may refresh
    an entry with ``Cache-Control: max-age=0``; ``on_unauthorized`` what happens to
    anyone else (as AWS: fail with 403, or serve the cached entry with or without an
    ``X-Cache-Invalidation: denied`` header).

    >>> CachePolicy(ttl_seconds=60, key_query=("page",), key_headers=("Accept-Language",))
    """

    ttl_seconds: int = DEFAULT_TTL_SECONDS
    key_query: tuple[str, ...] = ()
    key_headers: tuple[str, ...] = ()
    shared: bool = False
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    status_codes: frozenset[int] = frozenset()
    max_entry_bytes: int = MAX_ENTRY_BYTES
    client_max_age0: InvalidationRule = "authorized"
    on_unauthorized: UnauthorizedInvalidation = "succeed_with_header"

    def __post_init__(self) -> None:
        if not 0 < self.ttl_seconds <= MAX_TTL_SECONDS:
            raise ConfigurationError(
                f"cache ttl_seconds must be in 1..{MAX_TTL_SECONDS}, got {self.ttl_seconds!r}"
            )
        if not 0 < self.max_entry_bytes <= MAX_ENTRY_BYTES:
            raise ConfigurationError(
                f"cache max_entry_bytes must be in 1..{MAX_ENTRY_BYTES}, got {self.max_entry_bytes!r}"
            )
        if any(m != m.upper() for m in self.methods):
            raise ConfigurationError(f"cache methods must be upper case, got {sorted(self.methods)!r}")

    def caches_status(self, status: int) -> bool:
        return status in self.status_codes if self.status_codes else 200 <= status < 300


def cache_key(request: web.Request, match: RouteMatch, policy: CachePolicy) -> str:
    """The normalised key of ``request`` under ``policy`` (a SHA-256 hex digest)."""
    principal = request.get(PRINCIPAL)
    params = match.path_params
    query: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if policy.key_query:
        query = tuple(
            (name, tuple(sorted(set(request.query.getall(name, [])))))
            for name in sorted(set(policy.key_query))
        )
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if policy.key_headers:
        headers = tuple(
            (name, tuple(v.strip() for v in request.headers.getall(name, [])))
            for name in sorted({name.lower() for name in policy.key_headers})
        )
    material = (
        request.method,
        match.operation_id,
        match.route,
        tuple(sorted(params.items())) if len(params) > 1 else tuple(params.items()),
        query,
        headers,
        # SECURITY: without the principal, one caller could be served another's data.
        None if policy.shared else (principal.id if principal is not None else ""),
    )
    # repr of nested tuples of str and None is unambiguous (strings are quoted and
    # escaped), and far cheaper than a JSON encoding.
    return "resp:" + hashlib.sha256(repr(material).encode()).hexdigest()


def principal_may_invalidate(request: web.Request) -> bool:
    """Default rule: the principal holds the :data:`INVALIDATE_CACHE_PERMISSION` scope."""
    principal = request.get(PRINCIPAL)
    return principal is not None and INVALIDATE_CACHE_PERMISSION in principal.scopes


def _directives(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def _encode_entry(response: web.Response, body: bytes) -> bytes:
    headers = [[k, v] for k, v in response.headers.items() if k.lower() not in _NOT_STORED_HEADERS]
    meta = json.dumps({"status": response.status, "headers": headers, "stored": time.time()}).encode()
    return _META_LENGTH.pack(len(meta)) + meta + body


def _decode_entry(entry: bytes) -> tuple[int, list[tuple[str, str]], float, bytes]:
    (length,) = _META_LENGTH.unpack_from(entry)
    meta = cast(dict[str, object], json.loads(entry[4 : 4 + length]))
    headers = [(name, value) for name, value in cast(list[list[str]], meta["headers"])]
    return int(cast(int, meta["status"])), headers, float(cast(float, meta["stored"])), entry[4 + length :]


class ResponseCache:
    """Looks up, stores and single-flights cached responses.

    A failing store never fails a request: it is counted in ``health`` and the
    request goes upstream (``X-Cache: Bypass``).
    """

    def __init__(
        self,
        store: CacheStore,
        *,
        may_invalidate: Callable[[web.Request], bool] = principal_may_invalidate,
        status_header: bool = True,
        health: StoreHealth | None = None,
    ) -> None:
        self.store = store
        self.may_invalidate = may_invalidate
        self.status_header = status_header
        self.health = health if health is not None else StoreHealth("cache")
        self._in_flight: dict[str, asyncio.Future[bytes | None]] = {}
        # Entries decoded recently, by key: a hit on an unchanged entry (the same bytes,
        # as the memory store returns them) skips decoding and header parsing.
        self._decoded: dict[str, _DecodedEntry] = {}
        self._decoded_bytes = 0

    async def respond(
        self, request: web.Request, handler: Handler, match: RouteMatch, policy: CachePolicy
    ) -> web.StreamResponse:
        """Answer ``request`` from the cache or through ``handler``."""
        if request.method not in policy.methods:
            return self._mark(await handler(request), "Bypass")
        key = cache_key(request, match, policy)
        denied_refresh = False
        control = request.headers.get("Cache-Control")
        if control is not None and "max-age=0" in _directives(control):
            rule = policy.client_max_age0
            if rule == "anyone" or (rule == "authorized" and self.may_invalidate(request)):
                return await self._fetch(request, handler, key, policy, "Refresh")
            if rule == "authorized":
                if policy.on_unauthorized == "fail_403":
                    raise GatewayError("ACCESS_DENIED", "Forbidden")
                denied_refresh = policy.on_unauthorized == "succeed_with_header"
        response = await self._lookup_or_fetch(request, handler, key, policy)
        if denied_refresh:
            response.headers["X-Cache-Invalidation"] = "denied"
        return response

    async def _lookup_or_fetch(
        self, request: web.Request, handler: Handler, key: str, policy: CachePolicy
    ) -> web.StreamResponse:
        try:
            entry = await self.store.get(key)
        except StoreError as exc:
            self.health.record_failure(exc)
            return self._mark(await handler(request), "Bypass")
        self.health.record_success()
        if entry is not None:
            return self._from_entry(entry, "Hit", key)
        leader = self._in_flight.get(key)
        if leader is not None:
            # Another request is already fetching this key: wait for its entry.
            shared = await asyncio.shield(leader)
            if shared is not None:
                return self._from_entry(shared, "Hit", key)
            return self._mark(await handler(request), "Miss")
        return await self._fetch(request, handler, key, policy, "Miss")

    async def _fetch(
        self, request: web.Request, handler: Handler, key: str, policy: CachePolicy, status: CacheStatus
    ) -> web.StreamResponse:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        entry: bytes | None = None
        try:
            response = await handler(request)
            entry = self._entry_for(response, policy)
            if entry is not None:
                try:
                    await self.store.set(key, entry, ttl=policy.ttl_seconds)
                except StoreError as exc:
                    self.health.record_failure(exc)
                    status = "Bypass"
            return self._mark(response, status)
        finally:
            future.set_result(entry)
            if self._in_flight.get(key) is future:
                del self._in_flight[key]

    @staticmethod
    def _entry_for(response: web.StreamResponse, policy: CachePolicy) -> bytes | None:
        if not isinstance(response, web.Response) or response.prepared:
            return None
        body = response.body
        if body is None:
            body = b""
        if not isinstance(body, bytes):
            return None  # a streaming payload (file, async iterator)
        if not policy.caches_status(response.status) or len(body) > policy.max_entry_bytes:
            return None
        # SECURITY: a Set-Cookie must never be replayed to another request.
        if "Set-Cookie" in response.headers:
            return None
        if _directives(",".join(response.headers.getall("Cache-Control", []))) & _UNCACHEABLE_DIRECTIVES:
            return None
        return _encode_entry(response, body)

    def _from_entry(self, entry: bytes, status: CacheStatus, key: str) -> web.Response:
        decoded = self._decoded.get(key)
        if decoded is None or not (decoded.entry is entry or decoded.entry == entry):
            decoded = self._remember(key, entry)
        response = web.Response(status=decoded.status, body=decoded.body, headers=decoded.headers)
        headers = response.headers
        headers["Age"] = str(max(0, int(time.time() - decoded.stored)))
        if self.status_header:
            headers["X-Cache"] = status
        return response

    def _remember(self, key: str, entry: bytes) -> _DecodedEntry:
        code, headers, stored, body = _decode_entry(entry)
        decoded = _DecodedEntry(entry, code, CIMultiDict(headers), stored, body)
        previous = self._decoded.pop(key, None)
        if previous is not None:
            self._decoded_bytes -= len(previous.entry)
        if self._decoded_bytes + len(entry) > _MAX_DECODED_BYTES:
            self._decoded.clear()  # crude bound: the working set is decoded again
            self._decoded_bytes = 0
        self._decoded[key] = decoded
        self._decoded_bytes += len(entry)
        return decoded

    def _mark(self, response: web.StreamResponse, status: CacheStatus) -> web.StreamResponse:
        if self.status_header and not response.prepared:
            response.headers["X-Cache"] = status
        return response


def cache_middleware(*, cache: ResponseCache, policies: Mapping[str, CachePolicy]) -> Middleware:
    """Cache the operations named in ``policies`` (operation id -> policy)."""
    policy_table = dict(policies)

    @web.middleware
    async def response_cache(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.get(ROUTE_MATCH)
        policy = policy_table.get(match.operation_id) if match is not None else None
        if match is None or policy is None:
            return await handler(request)
        return await cache.respond(request, handler, match, policy)

    return scoped(response_cache, policy_table)
