"""API keys, usage plans, throttles, quotas and caching through a generated gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from gatewright.runtime import key_store_from_url

from .support import generated_gateway


@pytest.fixture(scope="module")
def app_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with generated_gateway("traffic.yaml", tmp_path_factory.mktemp("traffic")) as module:
        yield module


class Upstream:
    def __init__(self) -> None:
        self.calls = 0

    def app(self) -> web.Application:
        app = web.Application()

        async def answer(request: web.Request) -> web.Response:
            self.calls += 1
            headers = {"Set-Cookie": "session=abc"} if request.path == "/session" else {}
            return web.json_response(
                {"path": request.path, "n": self.calls}, headers=headers
            )

        app.router.add_get("/{tail:.*}", answer)
        return app


async def start(
    app_module: ModuleType, tmp_path: Path, stage: str = "prod"
) -> tuple[TestClient[web.Request, web.Application], Upstream, dict[str, str]]:
    upstream = Upstream()
    server = TestServer(upstream.app(), host="127.0.0.1")
    await server.start_server()
    keys_url = f"sqlite:///{tmp_path / 'keys.db'}"
    store = key_store_from_url(keys_url)
    secrets = {}
    secrets["prod"], _ = await store.create(plan="basic", stages=["prod"])
    secrets["test"], _ = await store.create(plan="basic", stages=["test"])
    revoked, record = await store.create(plan="basic")
    await store.revoke(record.id)
    secrets["revoked"] = revoked
    await store.close()
    env = {"UPSTREAM_URL": str(server.make_url("")).rstrip("/"), "KEYS_URL": keys_url}
    client = TestClient(TestServer(app_module.build_app(stage, env=env), host="127.0.0.1"))
    await client.start_server()
    client.upstream_server = server  # type: ignore[attr-defined]  # closed by the test
    return client, upstream, secrets


async def stop(client: TestClient[web.Request, web.Application]) -> None:
    await client.close()
    await client.upstream_server.close()  # type: ignore[attr-defined]


async def test_api_key_required_missing_unknown_revoked_and_other_stage(
    app_module: ModuleType, tmp_path: Path
) -> None:
    client, upstream, secrets = await start(app_module, tmp_path)
    try:
        assert (await client.get("/items")).status == 403
        assert (await client.get("/items", headers={"X-API-Key": "x" * 40})).status == 403
        resp = await client.get("/items", headers={"X-API-Key": secrets["revoked"]})
        assert resp.status == 403
        resp = await client.get("/items", headers={"X-API-Key": secrets["test"]})
        assert resp.status == 403
        assert resp.headers["X-Gateway-Error-Type"] == "ACCESS_DENIED"
        resp = await client.get("/items", headers={"X-API-Key": secrets["prod"]})
        assert resp.status == 200
        assert upstream.calls == 1
    finally:
        await stop(client)


async def test_plan_throttle_answers_429_with_retry_after(
    app_module: ModuleType, tmp_path: Path
) -> None:
    client, _upstream, secrets = await start(app_module, tmp_path)
    try:
        headers = {"X-API-Key": secrets["prod"]}
        statuses = [(await client.get("/items", headers=headers)).status for _ in range(7)]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        resp = await client.get("/items", headers=headers)
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) >= 1
        assert "RateLimit-Limit" in resp.headers
    finally:
        await stop(client)


async def test_quota_admits_exactly_limit(app_module: ModuleType, tmp_path: Path) -> None:
    client, _upstream, secrets = await start(app_module, tmp_path)
    try:
        headers = {"X-API-Key": secrets["prod"]}
        admitted = 0
        for _ in range(12):
            resp = await client.get("/items", headers=headers)
            if resp.status == 200:
                admitted += 1
            elif resp.headers.get("X-Gateway-Error-Type") == "QUOTA_EXCEEDED":
                break
            else:
                await asyncio.sleep(1.05)  # the plan throttle refills one token per second
        assert admitted == 8
        resp = await client.get("/items", headers=headers)
        assert resp.status == 429
        assert resp.headers["X-Gateway-Error-Type"] == "QUOTA_EXCEEDED"
    finally:
        await stop(client)


async def test_operation_throttle_without_key(app_module: ModuleType, tmp_path: Path) -> None:
    client, _upstream, _secrets = await start(app_module, tmp_path)
    try:
        statuses = [(await client.get("/open")).status for _ in range(4)]
        assert statuses[:2] == [200, 200]
        assert 429 in statuses[2:]
    finally:
        await stop(client)


async def test_cache_hit_and_set_cookie_never_cached(
    app_module: ModuleType, tmp_path: Path
) -> None:
    client, upstream, secrets = await start(app_module, tmp_path)
    try:
        headers = {"X-API-Key": secrets["prod"]}
        first = await client.get("/cached", headers=headers)
        assert first.headers["X-Cache"] == "Miss"
        second = await client.get("/cached", headers=headers)
        assert second.headers["X-Cache"] == "Hit"
        assert await second.json() == await first.json()
        assert upstream.calls == 1
        with_cookie = await client.get("/session", headers=headers)
        assert with_cookie.headers.get("Set-Cookie") == "session=abc"
        again = await client.get("/session", headers=headers)
        assert again.headers["X-Cache"] == "Miss"
        assert upstream.calls == 3
    finally:
        await stop(client)
