"""gzip response compression above a minimum size (``x-gateway.compression``).

Layer: runtime (aiohttp, stdlib). Must not import ``gatewright.compiler`` or any
build-time package.

Off unless :class:`CompressionPolicy` has a ``minimum_size_bytes``. A response is
gzipped only when all of these hold:

- the client accepts ``gzip`` (``Accept-Encoding``, honouring ``q=0``);
- it has no ``Content-Encoding`` yet (an upstream's encoded body passes untouched);
- its media type is not ``text/event-stream``, not one of the API's binary media
  types, and not an already-compressed format (images, audio, video, archives);
- it is not a ``HEAD`` answer, a 1xx/204/206/304, a ranged answer, or marked
  ``Cache-Control: no-transform``;
- its size is at least the minimum (a streamed body of unknown length counts as
  large enough).

Compressible answers carry ``Vary: Accept-Encoding`` whether or not this client got
gzip, and a strong ``ETag`` becomes weak once the body is re-encoded.

Wiring: :func:`compression_middleware` is the outermost middleware (outside CORS
and the error middleware; see ``gatewright.runtime.cors``), so a response cache
further in stores identity bodies. Bodies returned whole are compressed in one go
(aiohttp keeps ``Content-Length``); answers that a handler streams itself
(``StreamResponse.prepare`` inside the handler, as the proxy does for large bodies)
are compressed chunk by chunk by :func:`compression_on_response_prepare`, which goes
into ``app.on_response_prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import HttpVersion11, hdrs, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web import ContentCoding

from .cors import add_vary
from .errors import ConfigurationError

__all__ = [
    "CompressionPolicy",
    "accepts_gzip",
    "compression_middleware",
    "compression_on_response_prepare",
]

_EVENT_STREAM = "text/event-stream"
# Formats that are compressed already: gzip would only cost CPU.
_ALREADY_COMPRESSED = (
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "application/zstd",
    "application/x-7z-compressed",
    "application/x-bzip2",
    "application/x-xz",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "font/woff",
    "font/woff2",
    "audio/*",
    "video/*",
)
_NO_BODY_STATUSES = frozenset({204, 206, 304})


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip (RFC 9110 §12.5.3).

    ``gzip`` or ``x-gzip`` with a non-zero weight, or ``*`` with a non-zero weight
    when gzip is not named at all.
    """
    if not accept_encoding:
        return False
    named: float | None = None
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        if coding in ("gzip", "x-gzip"):
            named = weight if named is None else max(named, weight)
        elif coding == "*":
            wildcard = weight
    if named is not None:
        return named > 0
    return wildcard is not None and wildcard > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CompressionPolicy:
    """``minimum_size_bytes=None`` (the default) means compression is off.

    ``binary_media_types`` are the API's ``binaryMediaTypes`` (``image/*``,
    ``application/octet-stream``): passed through untouched, never compressed.
    """

    minimum_size_bytes: int | None = None
    binary_media_types: tuple[str, ...] = ()
    _never_exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _never_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _never_all: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        size = self.minimum_size_bytes
        if size is not None and not 0 <= size <= 10 * 1024 * 1024:
            raise ConfigurationError(
                f"compression minimum size must be between 0 and 10485760 bytes, got {size!r}"
            )
        never = [_EVENT_STREAM, *_ALREADY_COMPRESSED]
        for entry in self.binary_media_types:
            media = entry.partition(";")[0].strip().lower()
            if media == "*/*":
                # every body is binary: nothing is ever compressed
                never = ["*/*"]
                break
            if "/" not in media:
                raise ConfigurationError(f"binary media type {entry!r} is not type/subtype")
            never.append(media)
        assign = object.__setattr__
        assign(self, "_never_all", never == ["*/*"])
        assign(self, "_never_exact", frozenset(m for m in never if not m.endswith("/*")))
        assign(self, "_never_prefixes", tuple(m[:-1] for m in never if m.endswith("/*")))

    @property
    def enabled(self) -> bool:
        return self.minimum_size_bytes is not None

    def compressible(self, request: web.BaseRequest, response: web.StreamResponse) -> bool:
        """Whether this answer may be gzipped (ignoring what the client accepts)."""
        # cheapest and most common refusals first: this runs on every answer
        if request.method == hdrs.METH_HEAD:
            return False
        status = response.status
        if status < 200 or status in _NO_BODY_STATUSES:
            return False
        length = response.content_length
        if length is not None and length < (self.minimum_size_bytes or 0):
            return False
        if self._never_all:
            return False
        headers = response.headers
        encoding = headers.get(hdrs.CONTENT_ENCODING)
        if encoding is not None and encoding.strip().lower() != "identity":
            return False
        if hdrs.CONTENT_RANGE in headers:
            return False
        if "no-transform" in headers.get(hdrs.CACHE_CONTROL, "").lower():
            return False
        media = response.content_type.lower()
        return media not in self._never_exact and not media.startswith(self._never_prefixes)


def _weaken_etag(response: web.StreamResponse) -> None:
    etag = response.headers.get(hdrs.ETAG)
    if etag is not None and etag.startswith('"'):
        # the gzip bytes differ from the identity bytes the strong validator names
        response.headers[hdrs.ETAG] = "W/" + etag


_COMPRESSION = web.RequestKey("gatewright_compression", CompressionPolicy)


def compression_middleware(*, policy: CompressionPolicy) -> Middleware:
    """gzip for answers returned whole; marks the request for the streaming hook."""

    @web.middleware
    async def compression(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not policy.enabled:
            return await handler(request)
        request[_COMPRESSION] = policy
        response = await handler(request)
        if response.prepared or not policy.compressible(request, response):
            return response
        add_vary(response.headers, "Accept-Encoding")
        if accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING)):
            _weaken_etag(response)
            # aiohttp compresses the whole body when the answer is sent (in an
            # executor for large bodies) and sets the new Content-Length
            response.enable_compression(ContentCoding.gzip)
        return response

    return compression


async def compression_on_response_prepare(
    request: web.Request, response: web.StreamResponse
) -> None:
    """``app.on_response_prepare`` hook: incremental gzip for answers handlers stream.

    It runs after aiohttp decided the framing, so it switches the connection's
    writer to chunked gzip itself. Answers returned whole are left to the middleware.
    """
    policy = request.get(_COMPRESSION)
    if policy is None or isinstance(response, web.Response) or response.status == 101:
        return
    if not policy.compressible(request, response):
        return
    headers = response.headers
    add_vary(headers, "Accept-Encoding")
    if not accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING)):
        return
    writer = request.writer
    if writer.length is not None:
        # A declared length no longer holds once encoded: chunked framing instead.
        if request.version < HttpVersion11:
            return
        headers.popall(hdrs.CONTENT_LENGTH, None)
        writer.length = None
        writer.enable_chunking()
        headers[hdrs.TRANSFER_ENCODING] = "chunked"
    _weaken_etag(response)
    headers[hdrs.CONTENT_ENCODING] = "gzip"
    writer.enable_compression("gzip")
