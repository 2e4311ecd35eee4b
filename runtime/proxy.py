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
import inspect
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.client_proto import ResponseHandler
from aiohttp.helpers import TimerNoop
from multidict import CIMultiDict
from yarl import URL

from .context import REQUEST_ID, ROUTE_MATCH, STREAM_HEAD
from .deadlines import Deadlines
from .errors import ConfigurationError, GatewayError
from .integration import Route, StartupContext, read_body
from .templating import RequestTemplate, TemplatePart, compile_template
from .transform import STREAMED_RESPONSE_HOOK, UpstreamOverrides

__all__ = [
    "CLIENT_POOL",
    "DIRECT_SEND",
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
    """The app's one pooled upstream client, opened and closed with the app.

    :meth:`send` takes aiohttp's own pieces (connector, ``ClientRequest``,
    ``ClientResponse``) directly instead of going through ``ClientSession.request``,
    whose per-call machinery (redirects, cookies, auth, proxies, tracing, client
    middlewares, timers) the proxy never uses and which costs more CPU than the
    gateway's own work on a proxied request. Those pieces are not all public API, so
    the direct path is used only when this aiohttp offers them exactly as expected
    (:data:`DIRECT_SEND`, checked at import); otherwise every call goes through
    ``ClientSession.request``, with the same behaviour.
    """

    __slots__ = ("_connector", "_loop", "_session", "connection_limit", "deadlines", "direct")

    def __init__(self, *, connection_limit: int = 256, direct: bool | None = None) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._connector: aiohttp.BaseConnector | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connection_limit = connection_limit
        self.deadlines = Deadlines()
        self.direct = DIRECT_SEND if direct is None else direct and DIRECT_SEND

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise ConfigurationError("the client pool is used before the app has started")
        return self._session

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """An ``app.cleanup_ctx`` entry."""
        self._connector = aiohttp.TCPConnector(limit=self.connection_limit, keepalive_timeout=60)
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=self._connector,
            # SECURITY: a shared session must never store upstream cookies.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        try:
            async with contextlib.asynccontextmanager(self.deadlines.context)(app):
                yield
        finally:
            await self._session.close()
            self._session = None
            self._connector = None

    async def send(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        data: bytes | aiohttp.StreamReader | None,
    ) -> aiohttp.ClientResponse:
        """Send one request upstream (no redirects followed); the caller releases the answer.

        As ``ClientSession.request`` does (RFC 9112 §9.3.1), an idempotent request
        that fails on a kept-alive connection the upstream has meanwhile closed is
        sent once more on a new connection, unless its body is a stream.
        """
        if not self.direct:
            return await self.session.request(
                method, url, headers=headers, data=_payload(data), allow_redirects=False
            )
        try:
            try:
                return await self._send_direct(method, url, headers, data)
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                if method not in _IDEMPOTENT or isinstance(data, aiohttp.StreamReader):
                    raise
                return await self._send_direct(method, url, headers, data)
        except aiohttp.ClientError:
            raise
        except OSError as exc:  # from either attempt, as ClientSession.request reports it
            raise aiohttp.ClientOSError(*exc.args) from exc

    async def _send_direct(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        data: bytes | aiohttp.StreamReader | None,
    ) -> aiohttp.ClientResponse:
        session = self.session
        connector = self._connector
        if connector is None or session.closed:
            raise ConfigurationError("the client pool is used after the app has stopped")
        if url.scheme not in ("http", "https") or not url.host:
            raise aiohttp.InvalidURL(url)  # what ClientSession.request refuses too
        request = aiohttp.ClientRequest(
            method,
            url,
            headers=headers,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            data=_payload(data),
            loop=self._loop,
            timer=_NO_TIMER,
            session=session,
        )
        try:
            connection = await connector.connect(request, [], _CONNECT_TIMEOUT)
        except TimeoutError as exc:
            raise aiohttp.ConnectionTimeoutError(f"connection timeout to {url.host}") from exc
        protocol = connection.protocol
        if protocol is None:  # connect() always returns an open connection
            connection.close()
            raise aiohttp.ServerDisconnectedError()
        # as ClientSession.request sets them: a body with neither a length nor chunked
        # framing ends when the upstream closes the connection
        protocol.set_response_params(
            timer=_NO_TIMER, skip_payload=method == "HEAD", read_until_eof=True, auto_decompress=False
        )
        try:
            response = await request.send(connection)
            try:
                await response.start(connection)
            except BaseException:
                response.close()
                raise
        except BaseException:
            connection.close()
            raise
        return response


def _payload(data: bytes | aiohttp.StreamReader | None) -> object:
    # large buffered bodies go through a file-like payload, which aiohttp writes in
    # chunks instead of one blocking write
    if isinstance(data, bytes) and len(data) > _BUFFER_LIMIT:
        return io.BytesIO(data)
    return data


def _direct_send_supported() -> bool:
    """Whether this aiohttp has the pieces :meth:`ClientPool.send` uses, as it uses them."""
    try:
        request_options = inspect.signature(aiohttp.ClientRequest).parameters
        response_options = inspect.signature(ResponseHandler.set_response_params).parameters
        connect_options = inspect.signature(aiohttp.BaseConnector.connect).parameters
    except (TypeError, ValueError):
        return False
    return (
        {"headers", "skip_auto_headers", "data", "loop", "timer", "session"} <= request_options.keys()
        and {"timer", "skip_payload", "read_until_eof", "auto_decompress"}
        <= response_options.keys()
        and list(connect_options) == ["self", "req", "traces", "timeout"]
        and callable(getattr(aiohttp.ClientRequest, "send", None))
        and callable(getattr(aiohttp.ClientResponse, "start", None))
    )


DIRECT_SEND = _direct_send_supported()
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding")
_NO_TIMER = TimerNoop()
# connecting is bounded by the operation's deadline (see Deadlines), not by aiohttp
_CONNECT_TIMEOUT = aiohttp.ClientTimeout(total=None)


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

    # Transforms hand it their changes as UpstreamOverrides instead of a cloned
    # request, or, when they only set fixed headers, have it send those itself (it is
    # a gatewright.runtime.transform.OverridableIntegration).

    __slots__ = (
        "_drop",
        "_fixed_headers",
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
        self._drop: frozenset[str] = _REQUEST_DROP  # request headers never copied upstream
        self._fixed_headers: tuple[tuple[str, str], ...] = ()  # sent with every request

    def with_fixed_headers(
        self, remove: frozenset[str], add: tuple[tuple[str, str], ...]
    ) -> HttpProxy | None:
        """This proxy also dropping ``remove`` (lowercased names) and sending ``add``;
        ``None`` where that would differ from transforming the request's headers: for
        headers the proxy sets itself, or headers its URL template reads."""
        names = remove | {name.lower() for name, _ in add}
        if names & _REQUEST_DROP or names & self._template.header_names:
            return None
        proxy = HttpProxy(
            pool=self._pool,
            template=self._template,
            method=self._method,
            timeout_ms=int(self._timeout * 1000),
            retries=self._retries,
            pass_query=self._pass_query,
        )
        proxy._drop = self._drop | remove
        proxy._fixed_headers = self._fixed_headers + add
        return proxy

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
        drop = self._drop
        connection = incoming.get("Connection")
        if connection is not None:
            drop = drop | {token.strip().lower() for token in connection.split(",")}
        headers = [(k, v) for k, v in incoming.items() if k.lower() not in drop]
        headers.extend(self._fixed_headers)
        remote = request.remote or ""
        prior = incoming.get("X-Forwarded-For")
        headers.append(("X-Forwarded-For", f"{prior}, {remote}" if prior else remote))
        headers.append(("X-Forwarded-Proto", request.scheme))
        host = incoming.get("Host")
        if host is not None:
            headers.append(("X-Forwarded-Host", host))
        headers.append(("X-Request-Id", request[REQUEST_ID]))
        return headers

    async def invoke(
        self,
        request: web.Request,
        body: bytes | None,
        overrides: UpstreamOverrides | None = None,
    ) -> web.StreamResponse:
        method = self._method or request.method
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
            try:  # here rather than in a helper: one coroutine less per request
                upstream = await self._pool.send(method, url, headers, data)
            except aiohttp.ClientError as failed:
                upstream = await self._retry(method, url, headers, data, failed)
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

    async def _retry(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        data: bytes | aiohttp.StreamReader | None,
        first: aiohttp.ClientError,
    ) -> aiohttp.ClientResponse:
        """After a failure: a connection failure retries idempotent requests whose body
        can be resent; anything else, and the last failure, answers 502."""
        replayable = not isinstance(data, aiohttp.StreamReader)
        retryable = isinstance(first, aiohttp.ClientConnectionError) and replayable
        attempts = 1 + (self._retries if retryable and method in _IDEMPOTENT else 0)
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
                return await self._pool.send(method, url, headers, data)
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
            [(k, v) for k, v in upstream.headers.items() if k.lower() not in drop]
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
        gateway_head = request.config_dict.get(STREAM_HEAD)
        if gateway_head is not None:  # after the transform: the gateway's CORS answer wins
            gateway_head(request, response)
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
