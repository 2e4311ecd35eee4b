"""Fixtures for the auth tests: signing keys, a real JWKS/OIDC server, a gateway factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Middleware
from auth_support import Client, GatewayFactory, IdentityProvider, SigningKeyPair, gateway_app
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@pytest.fixture(scope="session")
def rsa_pair() -> SigningKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKeyPair("rsa-1", key, "RS256")


@pytest.fixture(scope="session")
def second_rsa_pair() -> SigningKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKeyPair("rsa-2", key, "RS256")


@pytest.fixture(scope="session")
def ec_pair() -> SigningKeyPair:
    return SigningKeyPair("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture
async def idp(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    rsa_pair: SigningKeyPair,
    ec_pair: SigningKeyPair,
) -> IdentityProvider:
    provider = IdentityProvider(keys=[rsa_pair.public_jwk(), ec_pair.public_jwk()])
    server = await aiohttp_server(provider.app(), host="127.0.0.1")
    provider.base_url = str(server.make_url("")).rstrip("/")
    return provider


@pytest.fixture
def gateway(aiohttp_client: Callable[..., Awaitable[Client]]) -> GatewayFactory:
    async def build(auth: Middleware) -> Client:
        return await aiohttp_client(gateway_app(auth), server_kwargs={"host": "127.0.0.1"})

    return build
