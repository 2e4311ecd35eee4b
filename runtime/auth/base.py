"""The plug points every authentication scheme implements.

Layer: runtime. A scheme (JWT, SigV4, custom authorizer, and the key store's API keys)
is an :class:`Authenticator`. Its contract:

- return ``None`` when the request carries no credentials for this scheme, so the
  requirements evaluator can try the next alternative or answer 401;
- return a :class:`~gatewright.runtime.context.Principal` when the credentials verify;
- raise an :mod:`~gatewright.runtime.auth.failures` exception when credentials were
  presented but are bad (401), forbidden (403), or could not be checked (502).

Two optional capabilities refine what the middleware does around a scheme:
:class:`ForwardsIdentity` (pass verified identity upstream as headers, and strip
client-sent copies of them) and :class:`VerifiesBody` (the scheme reads the body).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web

from ..context import Principal

__all__ = ["Authenticator", "ForwardsIdentity", "VerifiesBody", "quote_auth_param"]


@runtime_checkable
class Authenticator(Protocol):
    """One security scheme, e.g. ``jwt`` or ``partnerAuth``.

    Example (an API-key scheme from the key store plugs in the same way)::

        class StaticKey:
            scheme = "apiKey"
            async def authenticate(self, request):
                key = request.headers.get("X-API-Key")
                return None if key is None else Principal(id=key, scheme="apiKey")
            def challenge(self, *, error=None, description=None, scopes=()):
                return 'ApiKey realm="gatewright"'
    """

    @property
    def scheme(self) -> str:
        """The security scheme key (``components.securitySchemes.<key>``)."""
        ...

    async def authenticate(self, request: web.Request) -> Principal | None: ...

    def challenge(
        self,
        *,
        error: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] = (),
    ) -> str | None:
        """The ``WWW-Authenticate`` value for a failure, or ``None`` when there is none."""
        ...


@runtime_checkable
class ForwardsIdentity(Protocol):
    """A scheme that passes verified identity upstream as request headers."""

    @property
    def forwards_headers(self) -> bool:
        """False when, as configured, it passes no headers (nothing to reserve)."""
        ...

    def is_reserved_header(self, name: str) -> bool:
        """True for headers only the gateway may set; client copies are removed."""
        ...

    def upstream_headers(self, principal: Principal) -> Mapping[str, str]:
        """Headers to add to the upstream request for a principal this scheme produced."""
        ...


@runtime_checkable
class VerifiesBody(Protocol):
    """A scheme that reads the request body (SigV4 signs the payload hash)."""

    verifies_body: bool


def quote_auth_param(value: str) -> str:
    """An RFC 7235 quoted-string: challenges must survive any text in error descriptions."""
    cleaned = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'
