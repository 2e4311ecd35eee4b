"""Exceptions raised by ``gatewright.runtime``.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

The tree::

    GatewrightRuntimeError
    ├── ConfigurationError      bad settings given to a runtime object (raised at start-up)
    ├── RuntimeVersionError     generated code and installed runtime do not match
    ├── StoreError              a store backend (Redis, SQLite) failed; callers apply failMode
    └── GatewayError            ends a request with a gateway response (404, 429, 502, ...)
        └── ValidationFailure   a request failed validation (400 parameters or body)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = [
    "ConfigurationError",
    "GatewayError",
    "GatewrightRuntimeError",
    "RuntimeVersionError",
    "StoreError",
    "ValidationFailure",
]


class GatewrightRuntimeError(Exception):
    """Base class of every exception the runtime raises on purpose."""


class ConfigurationError(GatewrightRuntimeError):
    """Settings passed to a runtime object are invalid; raised eagerly, at start-up."""


class RuntimeVersionError(GatewrightRuntimeError):
    """Generated code needs a different ``gatewright`` runtime than the one installed."""


class StoreError(GatewrightRuntimeError):
    """A store backend failed (connection refused, timeout, script error)."""


class GatewayError(GatewrightRuntimeError):
    """Ends the current request with the gateway response of ``response_type``.

    ``response_type`` is a key of the gateway responses table (``THROTTLED``,
    ``UNAUTHORIZED``, ``INTEGRATION_TIMEOUT``, ...). ``headers`` are added to the
    response (``Retry-After``, ``WWW-Authenticate``). ``detail`` is safe, structured
    extra information for the body (never schema source or stack traces).
    """

    def __init__(
        self,
        response_type: str,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message or response_type)
        self.response_type = response_type
        self.message = message
        self.headers = dict(headers or {})
        self.detail = dict(detail or {})


class ValidationFailure(GatewayError):
    """A request parameter or body does not match the spec.

    ``pointer`` names the failing field: ``query/limit``, ``path/petId``,
    ``header/X-Trace`` for parameters, a JSON pointer (``/tags/0/name``) for bodies.
    """

    def __init__(
        self, kind: Literal["parameters", "body"], pointer: str, message: str
    ) -> None:
        super().__init__(
            "BAD_REQUEST_PARAMETERS" if kind == "parameters" else "BAD_REQUEST_BODY",
            message,
            detail={"pointer": pointer},
        )
        self.kind = kind
        self.pointer = pointer
