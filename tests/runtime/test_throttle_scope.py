"""Which operations the throttle middleware is composed into (``_throttled_operations``).

Leaving it out of an operation it could act on would silently lift a limit, so each
way a limit can reach an operation is checked here; the throttle tests and the
feature tests check the limits themselves.
"""

from __future__ import annotations

from gatewright import runtime as gw
from gatewright.runtime.features import (
    ApiKeyScheme,
    GatewayFeatures,
    JwtScheme,
    SigV4Scheme,
    _throttled_operations,
)

SCHEMES = {
    "key": ApiKeyScheme(source="header:X-API-Key"),
    "signed": SigV4Scheme(),
    "jwt": JwtScheme(jwks_uri="http://127.0.0.1:1/jwks.json"),
}


def test_api_and_account_throttles_reach_every_operation() -> None:
    bucket = gw.TokenBucket(rate=1, burst=1)
    assert _throttled_operations(GatewayFeatures(api_throttle=bucket)) is None
    assert _throttled_operations(GatewayFeatures(account_throttle=bucket)) is None


def test_default_security_accepting_key_store_credentials_reaches_every_operation() -> None:
    for scheme in ("key", "signed"):
        features = GatewayFeatures(schemes=SCHEMES, security=({scheme: []},))
        assert _throttled_operations(features) is None, scheme


def test_otherwise_only_operations_a_limit_can_reach() -> None:
    features = GatewayFeatures(
        schemes=SCHEMES,
        security=({"jwt": []},),
        key_required=frozenset({"keyed"}),
        operation_throttles={"ownLimit": gw.TokenBucket(rate=5, burst=5)},
        operation_security={
            "apiKeyScheme": ({"jwt": []}, {"key": []}),
            "sigv4": ({"signed": []},),
            "jwtOnly": ({"jwt": ["read"]},),
            "open": (),
        },
    )
    assert _throttled_operations(features) == {"keyed", "ownLimit", "apiKeyScheme", "sigv4"}
