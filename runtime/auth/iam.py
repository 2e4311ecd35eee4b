"""IAM-style policy documents returned by custom authorizers, and method ARNs.

Layer: runtime. Only what an ``execute-api`` authorizer policy can say is supported:
``Effect`` Allow/Deny, ``Action`` and ``Resource`` (string or list) with IAM wildcards
(``*`` any run of characters, ``?`` one character). An explicit Deny wins; no matching
Allow means deny.

Statements using ``Condition``, ``NotAction`` or ``NotResource`` cannot be evaluated
here, so they fail closed: such a Deny always applies, such an Allow never does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["ApiArn", "IamPolicy", "PolicyStatement"]

INVOKE_ACTION = "execute-api:Invoke"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiArn:
    """The parts of ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``."""

    region: str = "local"
    account_id: str = "000000000000"
    api_id: str = "gatewright"
    stage: str = "$default"

    def method_arn(self, method: str, path: str) -> str:
        """The ARN of one call, e.g. ``.../prod/GET/pets/42`` for ``GET /pets/42``."""
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}"
            f"/{self.stage}/{method.upper()}/{path.lstrip('/')}"
        )


@lru_cache(maxsize=4096)
def _pattern(glob: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(globs: tuple[str, ...], value: str, *, ignore_case: bool) -> bool:
    return any(_pattern(g, ignore_case=ignore_case).fullmatch(value) for g in globs)


@dataclass(frozen=True, slots=True)
class PolicyStatement:
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    unsupported: bool = False  # has Condition / NotAction / NotResource

    def applies_to(self, action: str, resource: str) -> bool:
        if self.unsupported:
            return self.effect == "Deny"  # SECURITY: fail closed
        return _matches(self.actions, action, ignore_case=True) and _matches(
            self.resources, resource, ignore_case=False
        )


def _strings(value: object, *, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"policy statement {field} must be a string or a non-empty list of strings")


@dataclass(frozen=True, slots=True)
class IamPolicy:
    """A parsed ``policyDocument``.

    Example::

        policy = IamPolicy.parse({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke",
             "Resource": "arn:aws:execute-api:*:*:*/*/GET/pets/*"}]})
        policy.allows("arn:aws:execute-api:local:000000000000:gatewright/$default/GET/pets/1")
    """

    statements: tuple[PolicyStatement, ...]

    @classmethod
    def parse(cls, document: object) -> IamPolicy:
        """Parse a policy document; raises ``ValueError`` when it is malformed."""
        if not isinstance(document, dict):
            raise ValueError("policyDocument must be an object")
        raw_statements = document.get("Statement")
        if isinstance(raw_statements, dict):
            raw_statements = [raw_statements]
        if not isinstance(raw_statements, list):
            raise ValueError("policyDocument.Statement must be an object or a list")
        statements: list[PolicyStatement] = []
        for raw in raw_statements:
            if not isinstance(raw, dict):
                raise ValueError("each policy statement must be an object")
            effect = raw.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise ValueError("policy statement Effect must be Allow or Deny")
            unsupported = any(k in raw for k in ("Condition", "NotAction", "NotResource"))
            statements.append(
                PolicyStatement(
                    effect="Allow" if effect == "Allow" else "Deny",
                    actions=() if unsupported else _strings(raw.get("Action"), field="Action"),
                    resources=()
                    if unsupported
                    else _strings(raw.get("Resource"), field="Resource"),
                    unsupported=unsupported,
                )
            )
        return cls(tuple(statements))

    def decide(self, resource: str, action: str = INVOKE_ACTION) -> bool | None:
        """``False`` on an explicit Deny, ``True`` on an Allow, ``None`` when silent."""
        if any(s.effect == "Deny" and s.applies_to(action, resource) for s in self.statements):
            return False
        if any(s.effect == "Allow" and s.applies_to(action, resource) for s in self.statements):
            return True
        return None

    def allows(self, resource: str, action: str = INVOKE_ACTION) -> bool:
        """Whether ``action`` on ``resource`` (a method ARN) is allowed; silence denies."""
        return self.decide(resource, action) is True
