"""The exceptions authentication raises, and the statuses they default to.

Layer: runtime. Each failure is a :class:`~gatewright.runtime.errors.GatewayError`, so
the gateway-responses table renders it; the subclasses only let the requirements
evaluator rank failures when several alternatives were tried.

The tree::

    GatewayError
    ├── AuthenticationFailure   401 UNAUTHORIZED (credentials missing or invalid)
    ├── AccessDenied            403 ACCESS_DENIED (authenticated, but not allowed)
    └── AuthorizerFailure       502 AUTHORIZER_FAILURE (authorizer or IdP broke)

``AUTHORIZER_FAILURE`` defaults to **502**, not AWS's 500: the authorizer (or the
identity provider's JWKS endpoint) is an upstream the gateway depends on, so its crash
or timeout is a bad-gateway condition, and a 500 would wrongly say the gateway itself
is broken. The gateway never answers 500 for anything a client sent.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import GatewayError

__all__ = [
    "AUTH_RESPONSE_STATUSES",
    "AccessDenied",
    "AuthenticationFailure",
    "AuthorizerFailure",
]

AUTH_RESPONSE_STATUSES: Mapping[str, int] = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "AUTHORIZER_FAILURE": 502,
}
"""Default status per auth response type, for the gateway-responses table."""


class AuthenticationFailure(GatewayError):
    """401: no usable credentials, or credentials that failed verification.

    ``presented`` is true when the client sent credentials for the scheme (a bad token
    beats a missing one when the evaluator picks which failure to report).
    """

    def __init__(
        self,
        message: str,
        *,
        challenge: str | None = None,
        presented: bool = True,
    ) -> None:
        super().__init__(
            "UNAUTHORIZED",
            message,
            headers={"WWW-Authenticate": challenge} if challenge else None,
        )
        self.presented = presented


class AccessDenied(GatewayError):
    """403: the caller is known, but policy, scopes or source address forbid the call."""

    def __init__(self, message: str, *, challenge: str | None = None) -> None:
        super().__init__(
            "ACCESS_DENIED",
            message,
            headers={"WWW-Authenticate": challenge} if challenge else None,
        )


class AuthorizerFailure(GatewayError):
    """502: an authorizer or identity provider failed, timed out or answered nonsense."""

    def __init__(self, message: str) -> None:
        super().__init__("AUTHORIZER_FAILURE", message)
