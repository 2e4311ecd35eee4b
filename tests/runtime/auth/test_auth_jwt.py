"""JWT bearer authentication through a real gateway app and a real JWKS endpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import pytest
from auth_support import AUDIENCE, ISSUER, Client, GatewayFactory, IdentityProvider, SigningKeyPair
from cryptography.hazmat.primitives import serialization
from gatewright.runtime.auth import (
    JwksClient,
    JwtAuthenticator,
    JwtSettings,
    TokenLocation,
    auth_middleware,
)
from gatewright.runtime.errors import ConfigurationError

SETTINGS = JwtSettings(
    issuer=ISSUER,
    audiences=(AUDIENCE,),
    leeway_seconds=0,
    claims_to_headers={"sub": "X-Gateway-User", "tenant": "X-Gateway-Tenant"},
)
REQUIREMENTS = {
    "getOrder": [{"jwt": ["orders.read"]}],
    "deleteOrder": [{"jwt": ["orders.write"]}],
    "health": [],
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], payload: dict[str, object], key: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{_b64(signature)}"


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **extra}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def jwt_auth(idp: IdentityProvider) -> AsyncIterator[JwtAuthenticator]:
    keys = JwksClient(jwks_uri=idp.jwks_uri, min_refresh_interval=30)
    yield JwtAuthenticator("jwt", SETTINGS, keys)
    await keys.close()


@pytest.fixture
async def client(gateway: GatewayFactory, jwt_auth: JwtAuthenticator) -> Client:
    return await gateway(
        auth_middleware(schemes={"jwt": jwt_auth}, requirements_by_operation=REQUIREMENTS)
    )


async def test_valid_token_reaches_upstream_with_claim_headers(
    client: Client, rsa_pair: SigningKeyPair
) -> None:
    token = rsa_pair.token(scope="orders.read orders.write", tenant="acme")
    response = await client.get("/orders/1", headers=_bearer(token))
    assert response.status == 200
    body = await response.json()
    assert body["principal"] == "user-1"
    assert body["scopes"] == ["orders.read", "orders.write"]
    assert body["headers"]["x-gateway-user"] == "user-1"
    assert body["headers"]["x-gateway-tenant"] == "acme"


async def test_client_supplied_claim_headers_are_stripped(
    client: Client, rsa_pair: SigningKeyPair
) -> None:
    token = rsa_pair.token(scope="orders.read")  # no tenant claim
    headers = {**_bearer(token), "X-Gateway-Tenant": "evil", "X-Gateway-User": "admin"}
    body = await (await client.get("/orders/1", headers=headers)).json()
    assert "x-gateway-tenant" not in body["headers"]
    assert body["headers"]["x-gateway-user"] == "user-1"
    # also on operations without security
    body = await (await client.get("/health", headers={"X-Gateway-User": "admin"})).json()
    assert "x-gateway-user" not in body["headers"]


async def test_ec_token_is_accepted(client: Client, ec_pair: SigningKeyPair) -> None:
    response = await client.get("/orders/1", headers=_bearer(ec_pair.token(scp=["orders.read"])))
    assert response.status == 200


async def test_missing_token_gets_401_with_bearer_challenge(client: Client) -> None:
    response = await client.get("/orders/1")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gatewright"'


async def test_alg_none_is_rejected(client: Client) -> None:
    token = _forge(
        {"alg": "none", "typ": "JWT", "kid": "rsa-1"}, _claims(scope="orders.read"), None
    )
    response = await client.get("/orders/1", headers=_bearer(token))
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_hs256_signed_with_the_rsa_public_key_is_rejected(
    client: Client, rsa_pair: SigningKeyPair
) -> None:
    public_pem = rsa_pair.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key in (public_pem, json.dumps(rsa_pair.public_jwk()).encode()):
        token = _forge(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(scope="orders.read"), key
        )
        response = await client.get("/orders/1", headers=_bearer(token))
        assert response.status == 401


async def test_hs256_with_the_public_key_fails_even_if_hs256_were_requested(
    idp: IdentityProvider,
) -> None:
    keys = JwksClient(jwks_uri=idp.jwks_uri)
    with pytest.raises(ConfigurationError, match="HS256"):
        JwtAuthenticator("jwt", JwtSettings(algorithms=("RS256", "HS256")), keys)
    with pytest.raises(ConfigurationError, match="none"):
        JwtAuthenticator("jwt", JwtSettings(algorithms=("none",)), keys)
    await keys.close()


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 10}, "token expired"),
        ({"nbf": int(time.time()) + 600}, "token not yet valid"),
        ({"iss": "https://evil.test"}, "wrong issuer"),
        ({"aud": "another-api"}, "wrong audience"),
        ({"exp": None}, "missing claim 'exp'"),
        ({"sub": None}, "token has no subject"),
    ],
)
async def test_invalid_claims_are_rejected(
    client: Client, rsa_pair: SigningKeyPair, claims: dict[str, object], reason: str
) -> None:
    token = rsa_pair.token(scope="orders.read", **claims)
    response = await client.get("/orders/1", headers=_bearer(token))
    assert response.status == 401
    assert reason in response.headers["WWW-Authenticate"]


async def test_bad_signature_is_rejected(
    client: Client, rsa_pair: SigningKeyPair, second_rsa_pair: SigningKeyPair
) -> None:
    impostor = SigningKeyPair(
        rsa_pair.kid, second_rsa_pair.private_key, "RS256"
    )  # right kid, wrong key
    response = await client.get("/orders/1", headers=_bearer(impostor.token(scope="orders.read")))
    assert response.status == 401
    assert "bad signature" in response.headers["WWW-Authenticate"]
    header, _payload, signature = rsa_pair.token(scope="orders.read").split(".")
    tampered = _b64(json.dumps(_claims(scope="orders.read orders.admin")).encode())
    response = await client.get("/orders/1", headers=_bearer(f"{header}.{tampered}.{signature}"))
    assert response.status == 401


async def test_algorithm_must_fit_the_key_type(client: Client, ec_pair: SigningKeyPair) -> None:
    mislabelled = SigningKeyPair(
        "rsa-1", ec_pair.private_key, "ES256"
    )  # EC token naming the RSA kid
    response = await client.get(
        "/orders/1", headers=_bearer(mislabelled.token(scope="orders.read"))
    )
    assert response.status == 401
    assert "does not match the signing key" in response.headers["WWW-Authenticate"]


async def test_missing_scope_gets_403_insufficient_scope(
    client: Client, rsa_pair: SigningKeyPair
) -> None:
    token = rsa_pair.token(scope="orders.read")
    response = await client.delete("/orders/1", headers=_bearer(token))
    assert response.status == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="orders.write"' in challenge


async def test_unknown_kid_is_rejected_and_refetches_are_rate_limited(
    client: Client,
    idp: IdentityProvider,
    second_rsa_pair: SigningKeyPair,
    rsa_pair: SigningKeyPair,
) -> None:
    assert (
        await client.get("/orders/1", headers=_bearer(rsa_pair.token(scope="orders.read")))
    ).status == 200
    hits_before = idp.jwks_hits
    for n in range(5):
        forged = SigningKeyPair(f"unknown-{n}", second_rsa_pair.private_key, "RS256")
        response = await client.get("/orders/1", headers=_bearer(forged.token(scope="orders.read")))
        assert response.status == 401
        assert "unknown signing key" in response.headers["WWW-Authenticate"]
    assert idp.jwks_hits - hits_before <= 1


async def test_key_rotation_finds_the_new_kid_after_refresh(
    gateway: GatewayFactory,
    idp: IdentityProvider,
    rsa_pair: SigningKeyPair,
    second_rsa_pair: SigningKeyPair,
) -> None:
    keys = JwksClient(jwks_uri=idp.jwks_uri, min_refresh_interval=0)
    client = await gateway(
        auth_middleware(
            schemes={"jwt": JwtAuthenticator("jwt", SETTINGS, keys)},
            requirements_by_operation=REQUIREMENTS,
        )
    )
    assert (
        await client.get("/orders/1", headers=_bearer(rsa_pair.token(scope="orders.read")))
    ).status == 200
    idp.keys = [second_rsa_pair.public_jwk()]  # the IdP rotates
    response = await client.get(
        "/orders/1", headers=_bearer(second_rsa_pair.token(scope="orders.read"))
    )
    assert response.status == 200
    await keys.close()


async def test_oidc_discovery_supplies_jwks_uri_and_issuer(
    gateway: GatewayFactory, idp: IdentityProvider, rsa_pair: SigningKeyPair
) -> None:
    keys = JwksClient(discovery_url=idp.discovery_url)
    settings = JwtSettings(audiences=(AUDIENCE,))  # issuer comes from discovery
    client = await gateway(
        auth_middleware(
            schemes={"jwt": JwtAuthenticator("jwt", settings, keys)},
            requirements_by_operation=REQUIREMENTS,
        )
    )
    assert (
        await client.get("/orders/1", headers=_bearer(rsa_pair.token(scope="orders.read")))
    ).status == 200
    wrong_issuer = rsa_pair.token(scope="orders.read", iss="https://evil.test")
    assert (await client.get("/orders/1", headers=_bearer(wrong_issuer))).status == 401
    assert idp.discovery_hits == 1
    await keys.close()


async def test_unreachable_idp_gives_502_not_401(
    gateway: GatewayFactory, idp: IdentityProvider, rsa_pair: SigningKeyPair
) -> None:
    idp.available = False
    keys = JwksClient(jwks_uri=idp.jwks_uri)
    client = await gateway(
        auth_middleware(
            schemes={"jwt": JwtAuthenticator("jwt", SETTINGS, keys)},
            requirements_by_operation=REQUIREMENTS,
        )
    )
    response = await client.get("/orders/1", headers=_bearer(rsa_pair.token(scope="orders.read")))
    assert response.status == 502
    assert (await response.json())["type"] == "AUTHORIZER_FAILURE"
    await keys.close()


async def test_warm_cache_skips_verification_until_the_token_expires(
    client: Client,
    idp: IdentityProvider,
    rsa_pair: SigningKeyPair,
) -> None:
    token = rsa_pair.token(scope="orders.read", exp=int(time.time()) + 1)
    assert (await client.get("/orders/1", headers=_bearer(token))).status == 200
    idp.keys = []  # were the signature checked again, it would fail now
    assert (await client.get("/orders/1", headers=_bearer(token))).status == 200
    await asyncio.sleep(2.1)  # past exp: the cached entry must be gone, and the token refused
    assert (await client.get("/orders/1", headers=_bearer(token))).status == 401


async def test_query_token_location(
    gateway: GatewayFactory, idp: IdentityProvider, rsa_pair: SigningKeyPair
) -> None:
    keys = JwksClient(jwks_uri=idp.jwks_uri)
    settings = JwtSettings(
        issuer=ISSUER, audiences=(AUDIENCE,), locations=(TokenLocation("query", "access_token"),)
    )
    client = await gateway(
        auth_middleware(
            schemes={"jwt": JwtAuthenticator("jwt", settings, keys)},
            requirements_by_operation=REQUIREMENTS,
        )
    )
    token = rsa_pair.token(scope="orders.read")
    assert (await client.get("/orders/1", params={"access_token": token})).status == 200
    assert (await client.get("/orders/1", headers=_bearer(token))).status == 401
    await keys.close()
