"""The gateway responses table: every answer the gateway itself produces.

Layer: runtime (aiohttp, stdlib). Each response type has a default status and
message. Every gateway response carries ``X-Gateway-Error-Type: <TYPE>`` and a body
that is ``{"message": ...}`` or ``application/problem+json``. ``gatewayResponses``
overrides (status, headers, body) are prepared once at start-up; a type without its
own override inherits the headers and body of ``DEFAULT_4XX`` / ``DEFAULT_5XX``.

Placeholders in override bodies and headers: ``{error.message}``, ``{error.type}``,
``{error.status}``, ``{error.<detail key>}`` (``{error.pointer}`` for validation
failures), ``{error.detail}`` (the whole detail object), ``{context.requestId}``,
``{context.method}``, ``{context.path}``. A string that is exactly one placeholder
becomes that JSON value; placeholders inside longer strings are substituted as text
and the result is JSON-encoded, so no value can change the body's structure.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

from aiohttp import web
from multidict import CIMultiDict

from .config import JSONValue, ResponseOverride
from .errors import ConfigurationError, GatewayError

__all__ = [
    "ERROR_TYPE_HEADER",
    "RESPONSE_TYPES",
    "GatewayResponses",
    "ResponseType",
]

ERROR_TYPE_HEADER = "X-Gateway-Error-Type"
_log = logging.getLogger("gatewright.gateway")


@dataclass(frozen=True, slots=True)
class ResponseType:
    name: str
    status: int
    message: str


def _table(*rows: tuple[str, int, str]) -> dict[str, ResponseType]:
    return {name: ResponseType(name, status, message) for name, status, message in rows}


RESPONSE_TYPES: Mapping[str, ResponseType] = _table(
    ("ACCESS_DENIED", 403, "Forbidden"),
    ("API_CONFIGURATION_ERROR", 500, "Internal server error"),
    ("AUTHORIZER_CONFIGURATION_ERROR", 500, "Internal server error"),
    ("AUTHORIZER_FAILURE", 502, "Bad gateway"),  # an upstream of the gateway failed (see auth.failures)
    ("BAD_REQUEST_BODY", 400, "Invalid request body"),
    ("BAD_REQUEST_PARAMETERS", 400, "Invalid request parameters"),
    ("DEFAULT_4XX", 400, "Bad request"),
    ("DEFAULT_5XX", 500, "Internal server error"),
    ("EXPIRED_TOKEN", 403, "Forbidden"),
    ("INTEGRATION_FAILURE", 502, "Bad gateway"),
    ("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out"),
    ("INVALID_API_KEY", 403, "Forbidden"),
    ("INVALID_SIGNATURE", 403, "Forbidden"),
    ("METHOD_NOT_ALLOWED", 405, "Method not allowed"),
    ("MISSING_AUTHENTICATION_TOKEN", 403, "Missing authentication token"),
    ("QUOTA_EXCEEDED", 429, "Limit exceeded"),
    ("REQUEST_HEADER_FIELDS_TOO_LARGE", 431, "Request header fields too large"),
    ("REQUEST_TOO_LARGE", 413, "Request too large"),
    ("RESOURCE_NOT_FOUND", 404, "Not found"),
    ("THROTTLED", 429, "Too many requests"),
    ("UNAUTHORIZED", 401, "Unauthorized"),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported media type"),
    ("URI_TOO_LONG", 414, "URI too long"),
    ("WAF_FILTERED", 403, "Forbidden"),
)

_PLACEHOLDER = re.compile(r"\{((?:error|context)\.[A-Za-z_][A-Za-z0-9_.]*)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One response type with its overrides folded in (built at start-up)."""

    type: ResponseType
    status: int
    headers: tuple[tuple[str, str], ...]
    body: JSONValue
    has_body: bool


class GatewayResponses:
    """Renders a :class:`GatewayError` through the table and the API's overrides.

    ``GatewayResponses("message", ()).render(GatewayError("THROTTLED"), request_id="r1")``
    answers 429 ``{"message": "Too many requests"}`` with ``X-Gateway-Error-Type: THROTTLED``.
    """

    __slots__ = ("_content_type", "_format", "_prepared")

    def __init__(
        self,
        error_format: Literal["message", "problem+json"],
        overrides: tuple[ResponseOverride, ...] = (),
    ) -> None:
        by_type: dict[str, ResponseOverride] = {}
        for override in overrides:
            if override.type not in RESPONSE_TYPES:
                known = ", ".join(sorted(RESPONSE_TYPES))
                raise ConfigurationError(
                    f"gateway response override for unknown type {override.type!r}; known: {known}"
                )
            if override.status is not None and not 100 <= override.status <= 599:
                raise ConfigurationError(
                    f"gateway response {override.type}: status {override.status} is not an HTTP status"
                )
            for name, value in override.headers.items():
                if not _HEADER_NAME.match(name) or "\r" in value or "\n" in value:
                    raise ConfigurationError(
                        f"gateway response {override.type}: invalid header {name!r}"
                    )
            by_type[override.type] = override
        self._format = error_format
        self._content_type = (
            "application/problem+json" if error_format == "problem+json" else "application/json"
        )
        self._prepared = {
            name: self._prepare(rtype, by_type) for name, rtype in RESPONSE_TYPES.items()
        }

    @staticmethod
    def _prepare(rtype: ResponseType, by_type: Mapping[str, ResponseOverride]) -> _Prepared:
        own = by_type.get(rtype.name)
        family = by_type.get("DEFAULT_5XX" if rtype.status >= 500 else "DEFAULT_4XX")
        status = own.status if own is not None and own.status is not None else rtype.status
        headers: dict[str, str] = {}
        if family is not None:
            headers.update(family.headers)
        if own is not None:
            headers.update(own.headers)
        source = own if own is not None and own.has_body else family
        has_body = source is not None and source.has_body
        return _Prepared(
            type=rtype,
            status=status,
            headers=tuple(headers.items()),
            body=source.body if source is not None and has_body else None,
            has_body=has_body,
        )

    def status_of(self, response_type: str) -> int:
        prepared = self._prepared.get(response_type)
        return prepared.status if prepared is not None else 500

    def render(
        self,
        error: GatewayError,
        *,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> web.Response:
        prepared = self._prepared.get(error.response_type)
        if prepared is None:
            _log.error(
                "unknown gateway response type %r; answering DEFAULT_5XX", error.response_type
            )
            prepared = self._prepared["DEFAULT_5XX"]
        rtype = prepared.type
        message = error.message or rtype.message
        values: dict[str, JSONValue] = {
            "error.message": message,
            "error.type": rtype.name,
            "error.status": prepared.status,
            "error.detail": _json_safe(error.detail),
            "context.requestId": request_id,
            "context.method": method,
            "context.path": path,
        }
        for key, value in error.detail.items():
            values.setdefault(f"error.{key}", _json_safe(value))

        if prepared.has_body:
            body = _fill(prepared.body, values)
        elif self._format == "problem+json":
            problem: dict[str, JSONValue] = {
                "type": "about:blank",
                "title": _reason(prepared.status),
                "status": prepared.status,
                "detail": message,
                "errorType": rtype.name,
            }
            if request_id is not None:
                problem["requestId"] = request_id
            for key, value in error.detail.items():
                problem.setdefault(key, _json_safe(value))
            body = problem
        else:
            plain: dict[str, JSONValue] = {"message": message}
            for key, value in error.detail.items():
                plain.setdefault(key, _json_safe(value))
            body = plain

        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in prepared.headers:
            headers[name] = _header_text(_fill_text(value, values))
        for name, value in error.headers.items():
            headers[name] = _header_text(value)
        headers[ERROR_TYPE_HEADER] = rtype.name
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        headers["Content-Type"] = self._content_type
        return web.Response(
            status=prepared.status,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            headers=headers,
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_safe(value: object) -> JSONValue:
    """Detail values come from other middlewares; anything not JSON becomes its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


def _as_text(value: JSONValue) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def _fill_text(text: str, values: Mapping[str, JSONValue]) -> str:
    # An unknown placeholder is left as written rather than guessed at.
    return _PLACEHOLDER.sub(
        lambda m: _as_text(values[m.group(1)]) if m.group(1) in values else m.group(0), text
    )


def _fill(template: JSONValue, values: Mapping[str, JSONValue]) -> JSONValue:
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole is not None and whole.group(1) in values:
            return values[whole.group(1)]
        return _fill_text(template, values)
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    return template


def _header_text(value: str) -> str:
    # SECURITY: a substituted value must never split the header block.
    return value.replace("\r", " ").replace("\n", " ")
