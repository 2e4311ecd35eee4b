"""SigV4 verification: requests signed by botocore, sent with aiohttp to a real app."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from auth_support import Client, GatewayFactory
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gatewright.runtime.auth import (
    InMemoryCredentialStore,
    SigV4Authenticator,
    SigV4Credential,
    SigV4Settings,
    auth_middleware,
)
from yarl import URL

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REQUIREMENTS: dict[str, list[dict[str, list[str]]]] = {
    "getOrder": [{"sigv4": []}],
    "createOrder": [{"sigv4": []}],
    "health": [],
}
Build = Callable[..., Awaitable[Client]]


@pytest.fixture
def store() -> InMemoryCredentialStore:
    return InMemoryCredentialStore(
        [SigV4Credential(access_key_id=ACCESS_KEY, secret_access_key=SECRET, principal_id="ci-bot")]
    )


@pytest.fixture
def build(gateway: GatewayFactory, store: InMemoryCredentialStore) -> Build:
    async def make(clock_offset: float = 0.0) -> Client:
        sigv4 = SigV4Authenticator(
            "sigv4", SigV4Settings(), store, clock=lambda: time.time() + clock_offset
        )
        return await gateway(
            auth_middleware(schemes={"sigv4": sigv4}, requirements_by_operation=REQUIREMENTS)
        )

    return make


def _signed(
    client: Client,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    secret: str = SECRET,
    key: str = ACCESS_KEY,
    region: str = "us-east-1",
    presign_expires: int | None = None,
) -> tuple[str, dict[str, str]]:
    url = str(client.make_url("/")).rstrip("/") + path  # unnormalised, as written
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = Credentials(key, secret)
    if presign_expires is None:
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
    else:
        SigV4QueryAuth(credentials, "execute-api", region, expires=presign_expires).add_auth(
            request
        )
    prepared = request.prepare()
    return prepared.url, dict(prepared.headers.items())


async def _send(
    client: Client, method: str, url: str, headers: dict[str, str], body: bytes = b""
) -> aiohttp.ClientResponse:
    # encoded=True: send exactly the bytes botocore signed
    return await client.session.request(method, URL(url, encoded=True), headers=headers, data=body)


async def test_header_signed_get_with_query_and_odd_path_is_accepted(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/a%20b~c?z=1&a=x%2Fy&a=b&empty=")
    response = await _send(client, "GET", url, headers)
    assert response.status == 200, await response.text()
    assert (await response.json())["principal"] == "ci-bot"


async def test_header_signed_post_body_reaches_upstream(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "POST", "/orders", body=b'{"sku":"A1","qty":2}')
    response = await _send(client, "POST", url, headers, b'{"sku":"A1","qty":2}')
    assert response.status == 200
    assert (await response.json())["body"] == '{"sku":"A1","qty":2}'


async def test_tampered_body_is_rejected(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "POST", "/orders", body=b'{"qty":2}')
    response = await _send(client, "POST", url, headers, b'{"qty":200}')
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "AWS4-HMAC-SHA256"


async def test_bad_signature_is_rejected(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1", secret="not-the-secret")
    assert (await _send(client, "GET", url, headers)).status == 401


async def test_tampered_query_is_rejected(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1?limit=1")
    assert (await _send(client, "GET", url.replace("limit=1", "limit=1000"), headers)).status == 401


async def test_unknown_and_revoked_keys_are_rejected(
    build: Build, store: InMemoryCredentialStore
) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1", key="AKIDUNKNOWN")
    unknown = await _send(client, "GET", url, headers)
    assert unknown.status == 401
    store.revoke(ACCESS_KEY)
    url, headers = _signed(client, "GET", "/orders/1")
    revoked = await _send(client, "GET", url, headers)
    assert revoked.status == 401
    assert (await unknown.json())["message"] == (await revoked.json())["message"]


async def test_wrong_region_is_rejected(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1", region="eu-west-1")
    assert (await _send(client, "GET", url, headers)).status == 401


@pytest.mark.parametrize("offset", [360.0, -360.0])
async def test_expired_or_future_date_is_rejected(build: Build, offset: float) -> None:
    client = await build(clock_offset=offset)  # the gateway's clock is 6 minutes away
    url, headers = _signed(client, "GET", "/orders/1")
    response = await _send(client, "GET", url, headers)
    assert response.status == 401
    assert "expired" in (await response.json())["message"]


async def test_date_within_skew_is_accepted(build: Build) -> None:
    client = await build(clock_offset=240.0)
    url, headers = _signed(client, "GET", "/orders/1")
    assert (await _send(client, "GET", url, headers)).status == 200


async def test_presigned_url_is_accepted_and_replayable_until_expiry(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1?expand=items", presign_expires=60)
    assert "X-Amz-Signature=" in url and "Authorization" not in headers
    for _ in range(2):
        assert (await _send(client, "GET", url, headers)).status == 200


async def test_presigned_url_replayed_past_expiry_is_rejected(build: Build) -> None:
    client = await build(clock_offset=120.0)  # two minutes after a 60 s presign
    url, headers = _signed(client, "GET", "/orders/1", presign_expires=60)
    response = await _send(client, "GET", url, headers)
    assert response.status == 401
    assert "expired" in (await response.json())["message"]


async def test_presigned_url_with_altered_signature_is_rejected(build: Build) -> None:
    client = await build()
    url, headers = _signed(client, "GET", "/orders/1", presign_expires=60)
    flipped = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert (await _send(client, "GET", flipped, headers)).status == 401


async def test_missing_signature_gets_401_with_sigv4_challenge(build: Build) -> None:
    client = await build()
    response = await client.get("/orders/1")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "AWS4-HMAC-SHA256"
