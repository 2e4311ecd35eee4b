"""The ``http_proxy`` integration: forward a request to a backend and stream the answer back.

Layer: runtime (aiohttp, stdlib). One pooled :class:`aiohttp.ClientSession` per app
(:class:`ClientPool`), with a dummy cookie jar so an upstream ``Set-Cookie`` is never
replayed for another client, and no automatic decompression (bytes pass through).

Per request: hop-by-hop headers are dropped both ways (plus any header named in
``Connection``), ``X-Forwarded-For/Proto/Host`` and ``X-Request-Id`` are set, the query
passes through, the operation timeout bounds the whole exchange (504
``INTEGRATION_TIMEOUT``), a connection failure answers 502 ``INTEGRATION_FAILURE`` and
is retried for idempotent methods when the body can be sent again. Small bodies with a
known length are buffered (cheaper than streaming them); others stream both ways.

Timeouts are enforced by the pool's :class:`~.deadlines.Deadlines` (one sweeper per
app) rather than ``aiohttp.ClientTimeout``, whose per-request timers cost more than
the rest of the gateway's own work on a proxied request.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from .context import REQUEST_ID, ROUTE_MATCH
from .deadlines import Deadlines
from .errors import ConfigurationError, GatewayError
from .integration import Route, StartupContext, read_body
from .templating import RequestTemplate, TemplatePart, compile_template
from .transform import STREAMED_RESPONSE_HOOK, UPSTREAM, UpstreamOverrides

__all__ = [
    "CLIENT_POOL",
    "HOP_BY_HOP_HEADERS",
    "ClientPool",
    "HttpProxy",
    "HttpProxySpec",
]

_log = logging.getLogger("gatewright.gateway")

HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Request headers the proxy rewrites or aiohttp computes for the upstream request.
_REQUEST_DROP = HOP_BY_HOP_HEADERS | {
    "host",
    "content-length",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-request-id",
}
# Response headers aiohttp.web sets itself (as nginx hides upstream Date and Server).
_RESPONSE_DROP = HOP_BY_HOP_HEADERS | {"content-length", "date", "server", "x-request-id"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Bodies up to this size with a known length are read whole instead of streamed.
_BUFFER_LIMIT = 256 * 1024
_STREAM_CHUNK = 64 * 1024


class ClientPool:
    """The app's one pooled client session, opened and closed with the app."""

    __slots__ = ("_session", "connection_limit", "deadlines")

    def __init__(self, *, connection_limit: int = 256) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.connection_limit = connection_limit
        self.deadlines = Deadlines()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise ConfigurationError("the client pool is used before the app has started")
        return self._session

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """An ``app.cleanup_ctx`` entry."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connection_limit, keepalive_timeout=60),
            # SECURITY: a shared session must never store upstream cookies.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        try:
            async with contextlib.asynccontextmanager(self.deadlines.context)(app):
                yield
        finally:
            await self._session.close()
            self._session = None


CLIENT_POOL = web.AppKey("gatewright_client_pool", ClientPool)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProxySpec:
    """An ``http_proxy`` integration as declared: the upstream URL template and its policy."""

    url: tuple[TemplatePart, ...]
    method: str | None = None  # None: the request's method
    timeout_ms: int = 29_000
    retries: int = 0
    pass_query: bool = True

    def build(self, context: StartupContext, route: Route) -> HttpProxy:
        template = compile_template(
            self.url,
            stage_name=context.stage,
            stage_variables=context.stage_variables,
            env=context.env,
            greedy_params=route.greedy_params,
            what=f"the backend URL of operation {route.operation_id}",
        )
        if template.static is not None:
            try:
                parsed = URL(template.static)
            except ValueError as exc:
                raise ConfigurationError(
                    f"operation {route.operation_id}: backend URL {template.static!r} is invalid: {exc}"
                ) from exc
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ConfigurationError(
                    f"operation {route.operation_id}: backend URL {template.static!r} "
                    "must be an absolute http(s) URL"
                )
        pool = context.app.get(CLIENT_POOL)
        if pool is None:
            pool = context.app[CLIENT_POOL] = ClientPool()
            context.app.cleanup_ctx.append(pool.context)
        return HttpProxy(
            pool=pool,
            template=template,
            method=self.method.upper() if self.method else None,
            timeout_ms=self.timeout_ms,
            retries=max(0, self.retries),
            pass_query=self.pass_query,
        )


class HttpProxy:
    """A built ``http_proxy`` integration (see the module docstring for the behaviour)."""

    # transforms hand it their request headers and query as request state instead
    # of a cloned request (see gatewright.runtime.transform)
    takes_upstream_overrides: ClassVar[bool] = True

    __slots__ = (
        "_method",
        "_pass_query",
        "_pool",
        "_retries",
        "_static_url",
        "_template",
        "_timeout",
    )

    def __init__(
        self,
        *,
        pool: ClientPool,
        template: RequestTemplate,
        method: str | None,
        timeout_ms: int,
        retries: int,
        pass_query: bool,
    ) -> None:
        self._pool = pool
        self._template = template
        self._static_url = template.static
        self._method = method
        self._timeout = timeout_ms / 1000
        self._retries = retries
        self._pass_query = pass_query

    def _url(self, request: web.Request, overrides: UpstreamOverrides | None) -> URL:
        url = self._static_url
        request_url = request.rel_url
        if overrides is not None and overrides.url is not None:
            request_url = overrides.url
        if url is None:
            headers = None if overrides is None else overrides.headers
            url = self._template.render(
                request[ROUTE_MATCH].path_params,
                request_url.query,
                request.headers if headers is None else headers,
            )
        if overrides is not None and overrides.path is not None:
            # a transform replaces the whole upstream path
            url = str(URL(url, encoded=True).with_path(overrides.path, encoded=True))
        if self._pass_query:
            query = request_url.raw_query_string
            if query:
                url = f"{url}&{query}" if "?" in url else f"{url}?{query}"
        return URL(url, encoded=True)

    def _request_headers(
        self, request: web.Request, overrides: UpstreamOverrides | None
    ) -> list[tuple[str, str]]:
        transformed = None if overrides is None else overrides.headers
        incoming = request.headers if transformed is None else transformed
        drop: frozenset[str] | set[str] = _REQUEST_DROP
        connection = incoming.get("Connection")
        if connection is not None:
            drop = _REQUEST_DROP | {token.strip().lower() for token in connection.split(",")}
        headers = [(k, v) for k, v in incoming.items() if k.lower() not in drop]
        remote = request.remote or ""
        prior = incoming.get("X-Forwarded-For")
        headers.append(("X-Forwarded-For", f"{prior}, {remote}" if prior else remote))
        headers.append(("X-Forwarded-Proto", request.scheme))
        host = incoming.get("Host")
        if host is not None:
            headers.append(("X-Forwarded-Host", host))
        headers.append(("X-Request-Id", request[REQUEST_ID]))
        return headers

    async def invoke(self, request: web.Request, body: bytes | None) -> web.StreamResponse:
        method = self._method or request.method
        overrides = request.get(UPSTREAM)
        url = self._url(request, overrides)
        headers = self._request_headers(request, overrides)
        data: bytes | aiohttp.StreamReader | None = body
        if body is None and request.body_exists:
            length = request.content_length
            if length is None or length <= _BUFFER_LIMIT:
                # chunked bodies are read within the limit; small ones are cheaper whole
                data = await read_body(request)
            else:
                data = request.content
                headers.append(("Content-Length", str(length)))
        deadlines = self._pool.deadlines
        task = deadlines.start(asyncio.get_running_loop().time() + self._timeout)
        try:
            upstream = await self._open(method, url, headers, data)
            try:
                out = self._response_headers(request, upstream)
                length = upstream.content_length
                status = upstream.status
                if (
                    (length is not None and length <= _BUFFER_LIMIT)
                    or method == "HEAD"
                    or status in (204, 304)
                ):
                    try:
                        payload = await upstream.read()
                    except aiohttp.ClientError as exc:
                        _log.warning("integration failure reading the upstream body: %s", exc)
                        raise GatewayError("INTEGRATION_FAILURE") from None
                    return web.Response(status=status, body=payload or None, headers=out)
                return await self._stream(request, upstream, out, task)
            finally:
                upstream.release()
        except asyncio.CancelledError:
            if deadlines.expired(task):
                raise GatewayError("INTEGRATION_TIMEOUT") from None
            raise
        finally:
            deadlines.finish(task)

    async def _open(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        data: bytes | aiohttp.StreamReader | None,
    ) -> aiohttp.ClientResponse:
        try:
            return await self._pool.session.request(
                method,
                url,
                headers=headers,
                # large buffered bodies go through a file-like payload, which aiohttp
                # writes in chunks instead of one blocking write
                data=io.BytesIO(data)
                if isinstance(data, bytes) and len(data) > _BUFFER_LIMIT
                else data,
                allow_redirects=False,
            )
        except aiohttp.ClientConnectionError as refused:
            return await self._retry(method, url, headers, data, refused)
        except aiohttp.ClientError as failed:
            _log.warning("integration failure for %s %s: %s", method, url.with_query(None), failed)
            raise GatewayError("INTEGRATION_FAILURE") from None

    async def _retry(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        data: bytes | aiohttp.StreamReader | None,
        first: aiohttp.ClientConnectionError,
    ) -> aiohttp.ClientResponse:
        """After a connection failure: retry idempotent requests whose body can be resent."""
        replayable = not isinstance(data, aiohttp.StreamReader)
        attempts = 1 + (self._retries if replayable and method in _IDEMPOTENT else 0)
        failure: aiohttp.ClientError = first
        for attempt in range(2, attempts + 1):
            _log.info(
                "retrying %s %s after connection failure (%s), attempt %d of %d",
                method,
                url.with_query(None),
                failure,
                attempt,
                attempts,
            )
            try:
                return await self._pool.session.request(
                    method,
                    url,
                    headers=headers,
                    data=io.BytesIO(data) if isinstance(data, bytes) else data,
                    allow_redirects=False,
                )
            except aiohttp.ClientError as exc:
                failure = exc
                if not isinstance(exc, aiohttp.ClientConnectionError):
                    break
        _log.warning("integration failure for %s %s: %s", method, url.with_query(None), failure)
        raise GatewayError("INTEGRATION_FAILURE") from None

    def _response_headers(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> CIMultiDict[str]:
        drop: frozenset[str] | set[str] = _RESPONSE_DROP
        connection = upstream.headers.get("Connection")
        if connection is not None:
            drop = _RESPONSE_DROP | {token.strip().lower() for token in connection.split(",")}
        headers: CIMultiDict[str] = CIMultiDict(
            (k, v) for k, v in upstream.headers.items() if k.lower() not in drop
        )
        headers.add("X-Request-Id", request[REQUEST_ID])  # upstream's own was dropped
        return headers

    async def _stream(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        headers: CIMultiDict[str],
        task: asyncio.Task[object],
    ) -> web.StreamResponse:
        length = upstream.content_length
        if length is not None:
            headers["Content-Length"] = str(length)
        # The first chunk is read before the status line goes out, so an upstream that
        # fails before sending any body still gets a clean 502 (or 504) answer.
        try:
            first = await upstream.content.read(_STREAM_CHUNK)
        except aiohttp.ClientError as exc:
            _log.warning("integration failure reading the upstream body: %s", exc)
            raise GatewayError("INTEGRATION_FAILURE") from None
        response = web.StreamResponse(status=upstream.status, headers=headers)
        transform_head = request.get(STREAMED_RESPONSE_HOOK)
        if transform_head is not None:  # status and headers can change only before prepare
            transform_head(response)
        await response.prepare(request)
        try:
            if first:
                await response.write(first)
            async for chunk in upstream.content.iter_chunked(_STREAM_CHUNK):
                await response.write(chunk)
        except (asyncio.CancelledError, aiohttp.ClientError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not self._pool.deadlines.expired(task):
                raise
            # The status line is already sent: cut the connection so the client sees
            # a truncated response rather than a complete-looking one.
            reason = exc if isinstance(exc, aiohttp.ClientError) else "timeout"
            _log.warning("upstream body failed mid-stream: %s", reason)
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response
