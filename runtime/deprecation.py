"""``Deprecation`` and ``Sunset`` headers for deprecated operations.

Layer: runtime (aiohttp, stdlib). Must not import ``gatewright.compiler`` or any
build-time package.

An operation marked ``deprecated: true`` in the spec, or given an ``x-gateway``
``sunset`` date, answers with:

- ``Deprecation: @<epoch seconds>`` (RFC 9745) when the deprecation date is known,
  else ``Deprecation: true`` (the form of the drafts before RFC 9745, which clients
  in the field still read);
- ``Sunset: <HTTP-date>`` (RFC 8594) when a sunset date is given;
- ``Link: <url>; rel="deprecation"`` when a documentation link is given.

The headers go on every answer of the operation, the gateway's own errors
included, so a client notices whatever it gets back. :func:`deprecation_middleware`
reads ``request[ROUTE_MATCH]`` after the inner middlewares ran, so it may sit
anywhere outside routing (next to the CORS middleware is simplest);
:func:`deprecation_on_response_prepare` goes into ``app.on_response_prepare`` for
answers a handler streams itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from .context import ROUTE_MATCH
from .errors import ConfigurationError

__all__ = [
    "DeprecationNotice",
    "deprecation_middleware",
    "deprecation_on_response_prepare",
]

# SECURITY: the link is pasted between angle brackets; nothing may close them early.
_LINK_TARGET = re.compile(r"[^\s<>\"]+")


def _aware(value: datetime, *, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"{what} {value.isoformat()} has no time zone; give it in UTC")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeprecationNotice:
    """How one operation announces its deprecation.

    >>> DeprecationNotice(sunset=datetime(2026, 1, 1, tzinfo=UTC)).headers
    (('Deprecation', 'true'), ('Sunset', 'Thu, 01 Jan 2026 00:00:00 GMT'))
    """

    deprecated_at: datetime | None = None  # when it was (or will be) deprecated
    sunset: datetime | None = None  # when it stops answering
    link: str | None = None  # human-readable deprecation notice
    headers: tuple[tuple[str, str], ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        headers: list[tuple[str, str]] = []
        if self.deprecated_at is not None:
            when = _aware(self.deprecated_at, what="deprecation date")
            headers.append(("Deprecation", f"@{int(when.timestamp())}"))
        else:
            headers.append(("Deprecation", "true"))
        if self.sunset is not None:
            sunset = _aware(self.sunset, what="sunset date")
            if self.deprecated_at is not None and sunset < _aware(
                self.deprecated_at, what="deprecation date"
            ):
                raise ConfigurationError(
                    f"sunset {sunset.isoformat()} is before the deprecation date "
                    f"{self.deprecated_at.isoformat()}"
                )
            headers.append(("Sunset", format_datetime(sunset, usegmt=True)))
        if self.link is not None:
            if not _LINK_TARGET.fullmatch(self.link):
                raise ConfigurationError(f"deprecation link {self.link!r} is not a plain URL")
            headers.append((hdrs.LINK, f'<{self.link}>; rel="deprecation"'))
        object.__setattr__(self, "headers", tuple(headers))

    def apply(self, headers: CIMultiDict[str]) -> None:
        for name, value in self.headers:
            if name == hdrs.LINK:
                # Link is a list header: keep any links the upstream sent
                if value not in headers.getall(hdrs.LINK, ()):
                    headers.add(name, value)
            else:
                headers[name] = value


@dataclass(frozen=True, slots=True)
class _Notices:
    by_operation: Mapping[str, DeprecationNotice]

    def finish(self, request: web.BaseRequest, headers: CIMultiDict[str]) -> None:
        match = request.get(ROUTE_MATCH)
        if match is None:
            return
        notice = self.by_operation.get(match.operation_id)
        if notice is not None:
            notice.apply(headers)


_NOTICES = web.RequestKey("gatewright_deprecation_notices", _Notices)


def deprecation_middleware(*, operations: Mapping[str, DeprecationNotice]) -> Middleware:
    """Announce deprecation on every answer of the operations in ``operations``."""
    notices = _Notices(dict(operations))

    @web.middleware
    async def deprecation(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not notices.by_operation:
            return await handler(request)
        request[_NOTICES] = notices
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            notices.finish(request, exc.headers)
            raise
        if not response.prepared:
            notices.finish(request, response.headers)
            del request[_NOTICES]  # done: the prepare hook has nothing left to add
        return response

    return deprecation


async def deprecation_on_response_prepare(
    request: web.Request, response: web.StreamResponse
) -> None:
    """``app.on_response_prepare`` hook: the headers on answers handlers stream."""
    notices = request.get(_NOTICES)
    if notices is not None:
        notices.finish(request, response.headers)
