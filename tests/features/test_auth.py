"""Security acceptance through a generated gateway: JWT, SigV4, API keys and the cache.

Every refusal below is a real request to a gateway compiled from ``specs/auth.yaml``,
with a real JWKS endpoint and upstream on loopback, tokens from PyJWT and keys from
``cryptography``, and SigV4 signatures from botocore. SigV4 credentials are created
with ``gatewright keys create --sigv4`` against the gateway's SQLite key store.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.auth
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gatewright.compiler.keys_cli import keys
from gatewright.runtime import key_store_from_url
from jwt.algorithms import RSAAlgorithm

from .support import SPECS, generated_gateway

ISSUER = "https://idp.test"
AUDIENCE = "orders"
REGION = "us-east-1"
SERVICE = "execute-api"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Compiled:
    module: ModuleType
    jwks_port: int


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiled]:
    # jwksUri is ${env.JWKS_URL}: the gateway resolves it at start-up (see ``stack``)
    root = tmp_path_factory.mktemp("auth")
    port = _free_port()
    spec = root / "auth.yaml"
    spec.write_text((SPECS / "auth.yaml").read_text())
    with generated_gateway(str(spec), root / "out") as module:
        yield Compiled(module, port)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Upstream:
    """Counts calls; ``/session`` sets a cookie on its first call only."""

    def __init__(self) -> None:
        self.calls = 0

    def app(self) -> web.Application:
        app = web.Application()

        async def answer(request: web.Request) -> web.Response:
            self.calls += 1
            headers = {"Set-Cookie": "session=first"} if request.path == "/session" and self.calls == 1 else {}
            return web.json_response({"path": request.path, "n": self.calls}, headers=headers)

        app.router.add_route("*", "/{tail:.*}", answer)
        return app


@dataclass
class Stack:
    client: TestClient[web.Request, web.Application]
    upstream: Upstream
    keys_url: str
    api_keys: dict[str, str]
    jwks_hits: list[str]


@pytest.fixture
async def stack(
    compiled: Compiled, signing_key: rsa.RSAPrivateKey, tmp_path: Path
) -> AsyncIterator[Stack]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    jwk.update(kid="k1", alg="RS256", use="sig")
    jwks_hits: list[str] = []

    async def jwks(request: web.Request) -> web.Response:
        jwks_hits.append(request.path)
        return web.json_response({"keys": [jwk]})

    jwks_app = web.Application()
    jwks_app.router.add_get("/jwks.json", jwks)
    jwks_server = TestServer(jwks_app, host="127.0.0.1", port=compiled.jwks_port)
    await jwks_server.start_server()
    upstream = Upstream()
    upstream_server = TestServer(upstream.app(), host="127.0.0.1")
    await upstream_server.start_server()

    keys_url = f"sqlite:///{tmp_path / 'keys.db'}"
    store = key_store_from_url(keys_url)
    api_keys: dict[str, str] = {}
    api_keys["alice"], _ = await store.create(plan="basic", stages=["prod"])
    api_keys["bob"], _ = await store.create(plan="basic", stages=["prod"])
    api_keys["test-stage"], _ = await store.create(plan="basic", stages=["test"])
    api_keys["revoked"], record = await store.create(plan="basic", stages=["prod"])
    await store.revoke(record.id)
    await store.close()

    env = {
        "UPSTREAM_URL": str(upstream_server.make_url("")).rstrip("/"),
        "KEYS_URL": keys_url,
        "JWKS_URL": f"http://127.0.0.1:{compiled.jwks_port}/jwks.json",
    }
    client = TestClient(TestServer(compiled.module.build_app("prod", env=env), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Stack(client, upstream, keys_url, api_keys, jwks_hits)
    finally:
        await client.close()
        await upstream_server.close()
        await jwks_server.close()


# --------------------------------------------------------------------------- JWT


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 600,
        "scope": "orders:read",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key: rsa.RSAPrivateKey, *, kid: str = "k1", **overrides: object) -> str:
    return jwt.encode(_claims(**overrides), key, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(key: rsa.RSAPrivateKey) -> str:
    # The key-confusion attack: PyJWT refuses to make this token, so it is built here.
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


async def _bearer(stack: Stack, token: str, path: str = "/orders") -> int:
    response = await stack.client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status


async def test_valid_jwt_reaches_the_upstream(stack: Stack, signing_key: rsa.RSAPrivateKey) -> None:
    assert await _bearer(stack, _token(signing_key)) == 200
    assert stack.upstream.calls == 1


async def test_forged_and_invalid_jwts_are_refused(
    stack: Stack, signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    refused = {
        "alg none": jwt.encode(_claims(), None, algorithm="none", headers={"kid": "k1"}),
        "HS256 with the RSA public key": _hs256_with_public_key(signing_key),
        "expired": _token(signing_key, iat=now - 7200, exp=now - 3600),
        "not yet valid": _token(signing_key, nbf=now + 3600),
        "wrong issuer": _token(signing_key, iss="https://evil.test"),
        "wrong audience": _token(signing_key, aud="billing"),
        "bad signature": _token(other_key),
        "unknown kid": _token(other_key, kid="k9"),
    }
    statuses = {name: await _bearer(stack, token) for name, token in refused.items()}
    assert statuses == {name: 401 for name in refused}
    assert stack.upstream.calls == 0
    assert stack.jwks_hits  # the keys really came from the JWKS endpoint


async def test_missing_scope_is_forbidden(stack: Stack, signing_key: rsa.RSAPrivateKey) -> None:
    response = await stack.client.get(
        "/orders", headers={"Authorization": f"Bearer {_token(signing_key, scope='orders:write')}"}
    )
    assert response.status == 403
    assert stack.upstream.calls == 0


async def test_missing_token_gets_a_bearer_challenge(stack: Stack) -> None:
    response = await stack.client.get("/orders")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --------------------------------------------------------------------------- SigV4


async def _cli(*args: str) -> Result:
    # the CLI runs its own event loop, so it runs on a thread beside the test's
    return await asyncio.to_thread(CliRunner().invoke, keys, list(args))


async def _create_sigv4(keys_url: str, *extra: str) -> tuple[str, str]:
    result = await _cli("create", "--sigv4", "--store", keys_url, *extra)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" = ", 1) for line in result.stdout.splitlines())
    return lines["aws_access_key_id"], lines["aws_secret_access_key"]


def _signed_headers(
    url: str, credentials: Credentials, method: str = "GET", body: bytes = b""
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
    return dict(request.headers.items())


def _presigned(url: str, credentials: Credentials, expires: int) -> str:
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(credentials, SERVICE, REGION, expires=expires).add_auth(request)
    return str(request.url)


def _signing_clock(monkeypatch: pytest.MonkeyPatch, seconds_ago: float) -> None:
    # botocore stamps signatures with this clock; moving it back signs "in the past".
    then = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=seconds_ago)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: then)


async def test_sigv4_signed_requests_succeed(stack: Stack) -> None:
    access_key_id, secret = await _create_sigv4(stack.keys_url, "--plan", "basic", "--stage", "prod")
    credentials = Credentials(access_key_id, secret)
    url = str(stack.client.make_url("/signed?b=2&a=1"))
    response = await stack.client.session.get(url, headers=_signed_headers(url, credentials))
    assert response.status == 200, await response.text()
    body = b'{"order": 1}'
    post_url = str(stack.client.make_url("/signed"))
    headers = _signed_headers(post_url, credentials, "POST", body)
    response = await stack.client.session.post(post_url, data=body, headers=headers)
    assert response.status == 200, await response.text()
    presigned = _presigned(str(stack.client.make_url("/signed")), credentials, expires=60)
    assert (await stack.client.session.get(presigned)).status == 200
    assert stack.upstream.calls == 3


async def test_sigv4_bad_signature_expired_date_and_expired_presign(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    access_key_id, secret = await _create_sigv4(stack.keys_url)
    url = str(stack.client.make_url("/signed"))
    session = stack.client.session

    wrong_secret = Credentials(access_key_id, secret[::-1])
    assert (await session.get(url, headers=_signed_headers(url, wrong_secret))).status == 401

    # a signed body that the client then changes
    headers = _signed_headers(url, Credentials(access_key_id, secret), "POST", b"signed")
    assert (await session.post(url, data=b"tampered", headers=headers)).status == 401

    _signing_clock(monkeypatch, seconds_ago=3600)
    old_headers = _signed_headers(url, Credentials(access_key_id, secret))
    expired_url = _presigned(url, Credentials(access_key_id, secret), expires=60)
    monkeypatch.undo()
    assert (await session.get(url, headers=old_headers)).status == 401
    response = await session.get(expired_url)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "AWS4-HMAC-SHA256"
    assert stack.upstream.calls == 0


async def test_sigv4_revoked_credential_is_refused(stack: Stack) -> None:
    access_key_id, secret = await _create_sigv4(stack.keys_url)
    url = str(stack.client.make_url("/signed"))
    credentials = Credentials(access_key_id, secret)
    assert (await stack.client.session.get(url, headers=_signed_headers(url, credentials))).status == 200
    revoked = await _cli("revoke", access_key_id, "--store", stack.keys_url)
    assert revoked.exit_code == 0, revoked.output
    listed = await _cli("list", "--format", "json", "--store", stack.keys_url)
    row = next(r for r in json.loads(listed.stdout) if r["id"] == access_key_id)
    assert row == row | {"kind": "sigv4", "enabled": False}
    assert secret not in listed.stdout
    assert (await stack.client.session.get(url, headers=_signed_headers(url, credentials))).status == 401


async def test_sigv4_credential_for_another_stage_is_refused(stack: Stack) -> None:
    access_key_id, secret = await _create_sigv4(stack.keys_url, "--plan", "basic", "--stage", "test")
    url = str(stack.client.make_url("/signed"))
    credentials = Credentials(access_key_id, secret)
    response = await stack.client.session.get(url, headers=_signed_headers(url, credentials))
    assert response.status == 403, await response.text()
    assert stack.upstream.calls == 0


# --------------------------------------------------------------------------- API keys and cache


async def test_revoked_and_other_stage_api_keys_are_refused(stack: Stack) -> None:
    for name in ("revoked", "test-stage"):
        response = await stack.client.get("/items", headers={"X-API-Key": stack.api_keys[name]})
        assert response.status in (401, 403), name
    assert stack.upstream.calls == 0


async def test_cache_is_per_principal(stack: Stack, signing_key: rsa.RSAPrivateKey) -> None:
    async def item_for(who: str) -> tuple[str, int]:
        response = await stack.client.get("/items", headers={"X-API-Key": stack.api_keys[who]})
        assert response.status == 200
        return response.headers["X-Cache"], int((await response.json())["n"])

    assert await item_for("alice") == ("Miss", 1)
    assert await item_for("bob") == ("Miss", 2)
    assert await item_for("alice") == ("Hit", 1)
    assert await item_for("bob") == ("Hit", 2)

    async def me_as(subject: str) -> tuple[str, int]:
        token = _token(signing_key, sub=subject)
        response = await stack.client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        return response.headers["X-Cache"], int((await response.json())["n"])

    assert await me_as("carol") == ("Miss", 3)
    assert await me_as("dave") == ("Miss", 4)
    assert await me_as("carol") == ("Hit", 3)


async def test_set_cookie_is_never_cached_or_replayed(stack: Stack) -> None:
    headers = {"X-API-Key": stack.api_keys["alice"]}
    first = await stack.client.get("/session", headers=headers)
    assert first.headers.get("Set-Cookie") == "session=first"
    assert first.headers["X-Cache"] == "Miss"
    # the cookie response was not stored: this goes upstream, which sends no cookie now
    second = await stack.client.get("/session", headers=headers)
    assert second.headers["X-Cache"] == "Miss"
    assert "Set-Cookie" not in second.headers
    third = await stack.client.get("/session", headers=headers)
    assert third.headers["X-Cache"] == "Hit"
    assert "Set-Cookie" not in third.headers
    assert stack.upstream.calls == 2
