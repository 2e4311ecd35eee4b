"""Generated client runtime against a real aiohttp server on loopback: retries, errors, sessions."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

PET = {"id": 1, "name": "Rex"}


class Upstream:
    """A small server whose answers the test scripts: a queue of (status, headers, body)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            (request.method, request.path_qs, dict(request.headers), await request.read())
        )
        status, headers, body = self.script.pop(0) if self.script else (200, {}, [PET])
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", up.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield up, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def _async_client(sdk: ModuleType, base_url: str, **kw: Any) -> Any:
    return sdk.AsyncClient(base_url=base_url, retry_backoff=0.01, max_retry_delay=0.05, **kw)


async def test_429_with_retry_after_is_retried_then_succeeds(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(429, {"Retry-After": "0"}, {"message": "slow down"}), (200, {}, [PET])]
    async with _async_client(petstore_sdk, url) as client:
        raw = await client.pets.list_pets.raw()
    assert raw.retries == 1 and raw.parse()[0].name == "Rex"
    assert len(up.seen) == 2


async def test_retries_are_bounded_and_raise_the_status_family(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(503, {}, {"code": 1})] * 5
    async with _async_client(petstore_sdk, url, max_retries=2) as client:
        with pytest.raises(petstore_sdk.ServerStatusError) as info:
            await client.pets.list_pets()
    assert info.value.status == 503
    assert len(up.seen) == 3


async def test_post_is_not_retried_without_idempotency(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(503, {}, {}), (200, {}, {"ok": True})]
    async with _async_client(petstore_sdk, url) as client:
        with pytest.raises(petstore_sdk.ServerStatusError):
            await client.quotes.update(quote="q", body={})
    assert len(up.seen) == 1


async def test_idempotent_post_reuses_one_idempotency_key(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(500, {}, {}), (408, {}, {}), (201, {}, PET)]
    async with _async_client(petstore_sdk, url) as client:
        pet = await client.pets.create_pet(body={"name": "Rex"})
    assert pet.name == "Rex"
    keys = {headers.get("Idempotency-Key") for _, _, headers, _ in up.seen}
    assert len(up.seen) == 3 and len(keys) == 1 and None not in keys


async def test_per_call_max_retries_overrides_the_client(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(502, {}, {}), (200, {}, [PET])]
    async with _async_client(petstore_sdk, url) as client:
        with pytest.raises(petstore_sdk.ServerStatusError):
            await client.pets.list_pets(max_retries=0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_error_is_retried_then_raised(petstore_sdk: ModuleType) -> None:
    async with _async_client(
        petstore_sdk, f"http://127.0.0.1:{_closed_port()}", max_retries=1
    ) as client:
        with pytest.raises(petstore_sdk.ApiConnectionError):
            await client.pets.list_pets()


async def test_timeout_raises_timeout_error(petstore_sdk: ModuleType) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/pets", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with _async_client(
            petstore_sdk, f"http://127.0.0.1:{server.port}", max_retries=0
        ) as client:
            with pytest.raises(petstore_sdk.ApiTimeoutError):
                await client.pets.list_pets(timeout=0.2)
    finally:
        await server.close()


async def test_client_closes_its_own_session_but_not_a_passed_one(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    _, url = upstream
    client = _async_client(petstore_sdk, url)
    await client.pets.list_pets()
    session = client._transport._session
    await client.close()
    assert session.closed
    async with aiohttp.ClientSession() as own:
        async with _async_client(petstore_sdk, url, session=own) as client2:
            await client2.pets.list_pets()
        assert not own.closed


async def test_wire_encoding_reaches_the_server(
    petstore_sdk: ModuleType, upstream: tuple[Upstream, str]
) -> None:
    up, url = upstream
    up.script = [(200, {}, {"ok": True})]
    async with _async_client(petstore_sdk, url) as client:
        await client.quotes.update(
            quote="a/b", body={"address": {"line1": "x"}, "preferred_locales": ["en"]}
        )
    method, path_qs, _, content = up.seen[0]
    assert (method, path_qs) == ("POST", "/quotes/a%2Fb")
    assert content == b"address%5Bline1%5D=x&preferred_locales%5B0%5D=en"


@pytest.fixture
def threaded_upstream() -> Iterator[tuple[Upstream, str]]:
    """The server on its own loop thread, for the sync client."""
    up = Upstream()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", up.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        box["server"] = server
        started.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True
    )
    thread.start()
    started.wait(10)
    try:
        yield up, f"http://127.0.0.1:{box['server'].port}"
    finally:
        asyncio.run_coroutine_threadsafe(box["server"].close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_sync_client_retries_and_raises_like_the_async_one(
    petstore_sdk: ModuleType, threaded_upstream: tuple[Upstream, str]
) -> None:
    up, url = threaded_upstream
    up.script = [
        (429, {"Retry-After": "0"}, {}),
        (200, {}, [PET]),
        (404, {"X-Request-Id": "r9"}, {"code": 404}),
    ]
    with petstore_sdk.Client(base_url=url, retry_backoff=0.01) as client:
        assert client.pets.list_pets()[0].name == "Rex"
        with pytest.raises(petstore_sdk.NotFoundError) as info:
            client.pets.get(pet_id=5)
    assert info.value.request_id == "r9" and info.value.body.code == 404
    assert json.loads(json.dumps(up.seen[-1][1])) == "/pets/5"
