"""The authentication middleware generated gateways install after routing.

Layer: runtime. Per request it:

1. applies the resource policy (source-address allow/deny), if any;
2. removes client-sent copies of headers only the gateway may set (JWT claim headers,
   ``X-Gateway-Authorizer-*``), on every route, authenticated or not;
3. evaluates the matched operation's security requirements;
4. stores the caller in ``request[PRINCIPAL]`` and adds the verified identity headers
   for the upstream.

Failures are raised as :class:`~gatewright.runtime.errors.GatewayError` (401
``UNAUTHORIZED`` with ``WWW-Authenticate``, 403 ``ACCESS_DENIED``, 502
``AUTHORIZER_FAILURE``) for the gateway-responses middleware to render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, cast

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from ..context import PRINCIPAL, ROUTE_MATCH, scoped
from ..errors import ConfigurationError
from .base import Authenticator, ForwardsIdentity, VerifiesBody
from .policy import IpPolicy
from .requirements import RequirementsEvaluator, SecurityRequirement

__all__ = ["RequirementSpec", "auth_middleware"]

_MAX_REMEMBERED_HEADER_NAMES = 1024

RequirementSpec = SecurityRequirement | Mapping[str, Sequence[str]]
"""A requirement as a :class:`SecurityRequirement` or as OpenAPI writes it."""


def _normalize(requirements: Sequence[RequirementSpec]) -> tuple[SecurityRequirement, ...]:
    return tuple(
        r if isinstance(r, SecurityRequirement) else SecurityRequirement.from_openapi(r)
        for r in requirements
    )


def auth_middleware(
    *,
    schemes: Mapping[str, Authenticator],
    requirements_by_operation: Mapping[str, Sequence[RequirementSpec]],
    default_requirements: Sequence[RequirementSpec] = (),
    resource_policy: IpPolicy | None = None,
    scope_match: Literal["all", "any"] = "all",
) -> Middleware:
    """Build the auth middleware; raises :class:`ConfigurationError` on bad settings.

    ``requirements_by_operation`` maps an operation id to its security requirements (an
    empty list: no security); operations missing from it get ``default_requirements``
    (the API-level ``security``).

    Example::

        app = web.Application(middlewares=[
            routing_middleware(...),
            auth_middleware(
                schemes={"jwt": jwt_auth, "partner": partner_authorizer},
                requirements_by_operation={
                    "getOrder": [{"jwt": ["orders.read"]}],
                    "deleteOrder": [{"jwt": ["orders.write"]}, {"partner": []}],
                    "health": [],
                },
            ),
        ])
    """
    evaluator = RequirementsEvaluator(schemes, scope_match=scope_match)
    by_operation = {op: _normalize(reqs) for op, reqs in requirements_by_operation.items()}
    default = _normalize(default_requirements)
    evaluator.check(default, where="the API's security")
    for operation_id, requirements in by_operation.items():
        evaluator.check(requirements, where=f"operation {operation_id!r}")
        for requirement in (*requirements, *default):
            reads_body = evaluator.reads_body(requirement)
            forwards = [
                s
                for s, _ in requirement.schemes
                if isinstance(evaluator.schemes[s], ForwardsIdentity)
            ]
            if reads_body and forwards:
                # The body must be read to verify the signature, after which aiohttp
                # cannot clone the request to carry the forwarded identity headers.
                raise ConfigurationError(
                    f"operation {operation_id!r}: a requirement combines a body-signing scheme "
                    f"with {forwards}, which forward identity headers; use separate alternatives"
                )
    forwarders = [s for s in evaluator.schemes.values() if isinstance(s, ForwardsIdentity)]
    if any(isinstance(s, VerifiesBody) and s.verifies_body for s in forwarders):
        raise ConfigurationError(
            "a scheme cannot both verify the body and forward identity headers"
        )
    # only schemes that pass headers as configured need client copies stripped
    forwarders = [s for s in forwarders if s.forwards_headers]

    # Decided once per header name: the reserved-name rules are fixed at start-up.
    # Bounded, because header names are chosen by clients.
    reserved_by_name: dict[str, bool] = {}

    def is_reserved(name: str) -> bool:
        known = reserved_by_name.get(name)
        if known is None:
            known = any(f.is_reserved_header(name) for f in forwarders)
            if len(reserved_by_name) < _MAX_REMEMBERED_HEADER_NAMES:
                reserved_by_name[name] = known
        return known

    # Protocol isinstance checks are slow: decide which schemes forward identity here.
    forwarder_ids = frozenset(id(s) for s in forwarders)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        original = request
        if resource_policy is not None:
            resource_policy.enforce(request)
        if forwarders and any(is_reserved(name) for name in request.headers):
            # SECURITY: the upstream trusts these headers, so only the gateway sets them.
            request = request.clone(
                headers=CIMultiDict(
                    (k, v) for k, v in request.headers.items() if not is_reserved(k)
                )
            )
        match = request.get(ROUTE_MATCH)
        if match is None:
            return await handler(request)  # unrouted: the router's 404/405 answers
        requirements = by_operation.get(match.operation_id, default)
        if not requirements:
            return await handler(request)  # no security on this operation
        outcome = await evaluator.evaluate(request, requirements)
        added: dict[str, str] = {}
        for scheme, principal in outcome.contributions:
            if id(scheme) in forwarder_ids:
                added.update(cast(ForwardsIdentity, scheme).upstream_headers(principal))
        if added:
            headers = CIMultiDict(request.headers)
            for name, value in added.items():
                headers[name] = value
            request = request.clone(headers=headers)
        if outcome.principal is not None:
            request[PRINCIPAL] = outcome.principal
            original[PRINCIPAL] = outcome.principal  # for outer middlewares (access log)
        return await handler(request)

    # Every request is looked at while client copies of identity headers must be
    # stripped, a resource policy applies or the API has default security; otherwise
    # only operations with security requirements are.
    if forwarders or resource_policy is not None or default:
        return authenticate
    return scoped(authenticate, [op for op, requirements in by_operation.items() if requirements])
