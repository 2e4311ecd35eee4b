"""Authentication and authorization for generated gateways.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

Schemes are :class:`Authenticator` objects (JWT, SigV4, custom authorizers here; API
keys in the key store); :func:`auth_middleware` evaluates an operation's OpenAPI
security requirements with them and records the caller in ``request[PRINCIPAL]``.
"""

from __future__ import annotations

from .authorizer import (
    AuthorizerResult,
    AuthorizerSettings,
    CustomAuthorizer,
    UnauthorizedError,
    resolve_handler,
)
from .base import Authenticator, ForwardsIdentity, VerifiesBody
from .failures import AUTH_RESPONSE_STATUSES, AccessDenied, AuthenticationFailure, AuthorizerFailure
from .iam import ApiArn, IamPolicy, PolicyStatement
from .jwks import JwksClient, SigningKey
from .jwt import JwtAuthenticator, JwtSettings, TokenLocation
from .middleware import RequirementSpec, auth_middleware
from .policy import IpPolicy, client_address, ip_policy_middleware
from .requirements import Evaluation, RequirementsEvaluator, SecurityRequirement
from .sigv4 import (
    CredentialStore,
    InMemoryCredentialStore,
    SigV4Authenticator,
    SigV4Credential,
    SigV4Settings,
)

__all__ = [
    "AUTH_RESPONSE_STATUSES",
    "AccessDenied",
    "ApiArn",
    "AuthenticationFailure",
    "Authenticator",
    "AuthorizerFailure",
    "AuthorizerResult",
    "AuthorizerSettings",
    "CredentialStore",
    "CustomAuthorizer",
    "Evaluation",
    "ForwardsIdentity",
    "IamPolicy",
    "InMemoryCredentialStore",
    "IpPolicy",
    "JwksClient",
    "JwtAuthenticator",
    "JwtSettings",
    "PolicyStatement",
    "RequirementSpec",
    "RequirementsEvaluator",
    "SecurityRequirement",
    "SigV4Authenticator",
    "SigV4Credential",
    "SigV4Settings",
    "SigningKey",
    "TokenLocation",
    "UnauthorizedError",
    "VerifiesBody",
    "auth_middleware",
    "client_address",
    "ip_policy_middleware",
    "resolve_handler",
]
