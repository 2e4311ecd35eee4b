"""Evaluating OpenAPI security requirements: AND inside a requirement, OR across them.

Layer: runtime. An operation's ``security`` is a list of alternatives; the first
alternative whose every scheme authenticates (and holds the required scopes) wins. An
empty alternative (``{}``) admits anonymous callers; an empty list means no security.

When every alternative fails, the most telling failure is reported: an authorizer or
IdP failure (502) first, then a denial (403), then bad credentials (401), and only
then "no credentials" (401 listing every scheme's challenge).

Each scheme is tried at most once per request, however many alternatives name it.
Scopes follow OpenAPI: every listed scope is required (``scope_match="all"``); AWS's
JWT authorizer accepts any one of them (``scope_match="any"``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from ..context import Principal
from ..errors import GatewayError
from .base import Authenticator, VerifiesBody
from .failures import AccessDenied, AuthenticationFailure

_log = logging.getLogger("gatewright.auth")

__all__ = ["Evaluation", "RequirementsEvaluator", "SecurityRequirement"]

_MAX_REMEMBERED_LISTS = 4096


@dataclass(frozen=True, slots=True)
class SecurityRequirement:
    """One alternative: every ``(scheme, scopes)`` pair must pass."""

    schemes: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def from_openapi(cls, requirement: Mapping[str, Sequence[str]]) -> SecurityRequirement:
        """``{"jwt": ["orders.read"], "apiKey": []}`` -> a requirement (order kept)."""
        return cls(tuple((scheme, tuple(scopes)) for scheme, scopes in requirement.items()))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of a successful evaluation."""

    principal: Principal | None  # None: anonymous access was allowed
    contributions: tuple[tuple[Authenticator, Principal], ...] = ()  # per scheme


def _merge(contributions: Sequence[tuple[Authenticator, Principal]]) -> Principal:
    first = contributions[0][1]
    if len(contributions) == 1:
        return first
    claims: dict[str, object] = {}
    context: dict[str, str | int | float | bool] = {}
    scopes: set[str] = set()
    for _, principal in reversed(contributions):  # earlier schemes win on conflicts
        claims.update(principal.claims)
        context.update(principal.context)
        scopes.update(principal.scopes)
    return dataclasses.replace(
        first,
        scopes=frozenset(scopes),
        claims=claims,
        context=context,
        api_key_id=next((p.api_key_id for _, p in contributions if p.api_key_id), None),
        plan=next((p.plan for _, p in contributions if p.plan), None),
    )


def _rank(failure: GatewayError) -> int:
    if isinstance(failure, AuthenticationFailure):
        return 1 if failure.presented else 0
    if isinstance(failure, AccessDenied):
        return 2
    return 3  # AuthorizerFailure, or anything else that is not the client's fault


class UnverifiableScheme:
    """Stands in for a scheme the gateway has no way to verify: nobody passes it."""

    def __init__(self, scheme: str) -> None:
        self._scheme = scheme

    @property
    def scheme(self) -> str:
        return self._scheme

    async def authenticate(self, request: web.Request) -> Principal | None:
        return None  # treated as missing credentials: 401

    def challenge(
        self,
        *,
        error: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] = (),
    ) -> str | None:
        return 'Bearer realm="gatewright"'


class RequirementsEvaluator:
    """Authenticates a request against a list of security requirements.

    Example::

        evaluator = RequirementsEvaluator({"jwt": jwt_auth, "sigv4": sigv4_auth})
        outcome = await evaluator.evaluate(request, [
            SecurityRequirement.from_openapi({"jwt": ["orders.read"]}),
            SecurityRequirement.from_openapi({"sigv4": []}),
        ])
    """

    def __init__(
        self,
        schemes: Mapping[str, Authenticator],
        *,
        scope_match: Literal["all", "any"] = "all",
    ) -> None:
        self._schemes = dict(schemes)
        self._scope_match = scope_match
        # Per requirement list (by identity, the list kept alive with its entry): the
        # alternatives in evaluation order, computed once instead of per request.
        self._ordered: dict[
            int, tuple[Sequence[SecurityRequirement], tuple[SecurityRequirement, ...]]
        ] = {}

    @property
    def schemes(self) -> Mapping[str, Authenticator]:
        return self._schemes

    def check(self, requirements: Sequence[SecurityRequirement], *, where: str) -> None:
        """Make requirements on schemes the gateway cannot verify fail closed.

        A scheme with no verification settings (a bearer scheme without a JWKS, an
        OAuth2 flow the gateway cannot check) is not a reason to refuse to start: every
        request that needs it is refused with 401, and the start-up log says why.
        """
        for requirement in requirements:
            for scheme, _ in requirement.schemes:
                if scheme not in self._schemes:
                    _log.warning(
                        "%s: security scheme %r has no verification settings in x-gateway; "
                        "requests that need it are refused with 401",
                        where,
                        scheme,
                    )
                    self._schemes[scheme] = UnverifiableScheme(scheme)

    def reads_body(self, requirement: SecurityRequirement) -> bool:
        return any(
            isinstance(auth := self._schemes[s], VerifiesBody) and auth.verifies_body
            for s, _ in requirement.schemes
        )

    async def evaluate(
        self, request: web.Request, requirements: Sequence[SecurityRequirement]
    ) -> Evaluation:
        """The winning alternative's principal; raises the most telling failure otherwise."""
        if not requirements:
            return Evaluation(None)
        attempts: dict[str, Principal | GatewayError | None] = {}
        failures: list[GatewayError] = []
        for requirement in self._in_order(requirements):
            if not requirement.schemes:
                return Evaluation(None)
            try:
                contributions = [
                    (self._schemes[scheme], await self._attempt(request, scheme, scopes, attempts))
                    for scheme, scopes in requirement.schemes
                ]
            except GatewayError as failure:
                failures.append(failure)
                continue
            return Evaluation(_merge(contributions), tuple(contributions))
        raise self._most_telling(failures, requirements)

    def _in_order(
        self, requirements: Sequence[SecurityRequirement]
    ) -> tuple[SecurityRequirement, ...]:
        remembered = self._ordered.get(id(requirements))
        if remembered is not None and remembered[0] is requirements:
            return remembered[1]
        # Body-verifying alternatives last: once the body is read, the request can no
        # longer be cloned to carry identity headers upstream.
        ordered = tuple(sorted(requirements, key=self.reads_body))
        if len(self._ordered) >= _MAX_REMEMBERED_LISTS:
            self._ordered.clear()  # callers passing fresh lists each time: stay bounded
        self._ordered[id(requirements)] = (requirements, ordered)
        return ordered

    async def _attempt(
        self,
        request: web.Request,
        scheme: str,
        scopes: tuple[str, ...],
        attempts: dict[str, Principal | GatewayError | None],
    ) -> Principal:
        auth = self._schemes[scheme]
        if scheme not in attempts:
            try:
                attempts[scheme] = await auth.authenticate(request)
            except GatewayError as failure:
                attempts[scheme] = failure
        outcome = attempts[scheme]
        if isinstance(outcome, GatewayError):
            raise outcome
        if outcome is None:
            raise AuthenticationFailure(
                f"missing credentials for {scheme}", challenge=auth.challenge(), presented=False
            )
        if scopes and not self._has_scopes(outcome.scopes, scopes):
            raise AccessDenied(
                f"the credentials lack the required scopes: {' '.join(scopes)}",
                challenge=auth.challenge(error="insufficient_scope", scopes=scopes),
            )
        return outcome

    def _has_scopes(self, granted: frozenset[str], required: tuple[str, ...]) -> bool:
        if self._scope_match == "any":
            return any(scope in granted for scope in required)
        return all(scope in granted for scope in required)

    def _most_telling(
        self, failures: Sequence[GatewayError], requirements: Sequence[SecurityRequirement]
    ) -> GatewayError:
        worst = max(failures, key=_rank)
        if _rank(worst) > 0:
            return worst
        challenges: list[str] = []
        for requirement in requirements:
            for scheme, _ in requirement.schemes:
                text = self._schemes[scheme].challenge()
                if text and text not in challenges:
                    challenges.append(text)
        return AuthenticationFailure(
            "authentication required", challenge=", ".join(challenges) or None, presented=False
        )
