"""Faults in the features around the integration: a custom authorizer that raises or
hangs, and redis-server killed and restarted under load while it holds the throttle
counters.

Redis runs under a compiled gateway (``specs/redis_throttle.yaml``: a throttle whose
store is redis, failMode open) and under ``features_gateway.py``, a gateway process
assembled from runtime parts for what the emitter does not compile yet (custom
authorizers, and a failMode closed store beside an open one).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from gatewright import runtime as gw
from gatewright.runtime.auth.failures import AUTH_RESPONSE_STATUSES
from hardening_support import GatewayProcess, compile_gateway, free_port

_RUNTIME_TESTS = Path(__file__).resolve().parents[1] / "runtime"
if str(_RUNTIME_TESTS) not in sys.path:
    sys.path.insert(0, str(_RUNTIME_TESTS))
from redis_support import REDIS_BINARY, RedisServer  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not Path(REDIS_BINARY).exists():
        pytest.skip(f"redis-server not found at {REDIS_BINARY}; `make test` installs it")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def features_gateway(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    port = free_port()
    gateway = GatewayProcess(
        [sys.executable, str(HERE / "features_gateway.py"), str(port), redis.url],
        port=port,
        cwd=HERE,
        env={"PATH": "/usr/bin:/bin"},
        log_path=tmp_path_factory.mktemp("logs") / "features.log",
    )
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def throttled_gateway(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("throttled")
    package = compile_gateway(HERE / "specs" / "redis_throttle.yaml", root)
    gateway = GatewayProcess.module(
        package,
        root=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "REDIS_URL": redis.url},
        log_path=root / "gateway.log",
    )
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str | None, float]:
    started = time.monotonic()
    async with session.get(url) as resp:
        await resp.read()
        return resp.status, resp.headers.get("X-Gateway-Error-Type"), time.monotonic() - started


def test_authorizer_failure_has_the_status_the_auth_runtime_documents() -> None:
    """Regression: the responses table said 500 while auth documents (and tests) 502."""
    for name, status in AUTH_RESPONSE_STATUSES.items():
        assert gw.RESPONSE_TYPES[name].status == status, name


@pytest.mark.parametrize(("path", "bound"), [("/auth/raises", 1.0), ("/auth/hangs", 2.5)])
async def test_failing_authorizer_answers_502(features_gateway: GatewayProcess, path: str, bound: float) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": "token"}) as session:
        status, kind, elapsed = await get(session, features_gateway.url + path)
        assert (status, kind) == (502, "AUTHORIZER_FAILURE")
        assert elapsed < bound
        if path == "/auth/hangs":
            assert elapsed >= 0.25  # the authorizer timeout is 0.3 s
        # the other authorizers of the same gateway are unaffected
        assert (await get(session, f"{features_gateway.url}/auth/ok"))[0] == 200
    assert features_gateway.healthy()


async def test_redis_killed_and_restarted_under_load(
    features_gateway: GatewayProcess, redis: RedisServer
) -> None:
    seen: dict[str, list[tuple[float, int, float]]] = {"/throttled": [], "/strict": []}
    stop = asyncio.Event()
    started = time.monotonic()

    async def load(session: aiohttp.ClientSession, path: str) -> None:
        while not stop.is_set():
            status, _, elapsed = await get(session, features_gateway.url + path)
            seen[path].append((time.monotonic() - started, status, elapsed))

    async with aiohttp.ClientSession() as session:
        workers = [asyncio.ensure_future(load(session, path)) for path in seen for _ in range(3)]
        await asyncio.sleep(0.5)
        killed_at = time.monotonic() - started
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(0.8)
        await asyncio.to_thread(redis.start)
        restarted_at = time.monotonic() - started
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)

    for path, results in seen.items():
        statuses = {status for _, status, _ in results}
        assert statuses <= {200, 429}, (path, statuses)
        assert max(elapsed for _, _, elapsed in results) < 2.5  # the store timeout is 0.5 s
        assert any(status == 200 for at, status, _ in results if at > restarted_at + 0.2), path
    # fail-open admits during the outage; fail-closed refuses with 429
    outage = [(p, s) for p, r in seen.items() for at, s, _ in r if killed_at + 0.1 < at < restarted_at - 0.1]
    assert any(p == "/throttled" and s == 200 for p, s in outage)
    assert all(s == 429 for p, s in outage if p == "/strict")
    assert features_gateway.healthy()


async def test_compiled_gateway_survives_redis_killed_and_restarted_under_load(
    throttled_gateway: GatewayProcess, redis: RedisServer
) -> None:
    url = f"{throttled_gateway.url}/limited"
    seen: list[tuple[float, int, str | None, float]] = []
    stop = asyncio.Event()
    started = time.monotonic()

    async def load(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            status, kind, elapsed = await get(session, url)
            seen.append((time.monotonic() - started, status, kind, elapsed))

    async with aiohttp.ClientSession() as session:
        workers = [asyncio.ensure_future(load(session)) for _ in range(4)]
        await asyncio.sleep(0.5)
        killed_at = time.monotonic() - started
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(0.8)
        await asyncio.to_thread(redis.start)
        restarted_at = time.monotonic() - started
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)
        # the bucket (burst 20, 50/s) is enforced again once redis is back
        burst = [(await get(session, url))[:2] for _ in range(60)]

    assert {status for _, status, _, _ in seen} <= {200, 429}
    assert all(kind in (None, "THROTTLED") for _, _, kind, _ in seen)
    assert max(elapsed for *_, elapsed in seen) < 2.5
    before = [s for at, s, _, _ in seen if at < killed_at]
    outage = [s for at, s, _, _ in seen if killed_at + 0.1 < at < restarted_at - 0.1]
    assert 429 in before  # four loops at full speed exceed 50/s
    assert outage and set(outage) == {200}  # failMode open admits while redis is down
    assert (429, "THROTTLED") in burst
    assert throttled_gateway.healthy()


def test_store_url_may_name_a_stage_variable(redis: RedisServer, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(
        (HERE / "specs" / "redis_throttle.yaml")
        .read_text()
        .replace("name: throttled", "name: stagestore")
        .replace("test: {}", "test: {variables: {redisUrl: '${env.REDIS_URL}'}}")
        .replace("url: ${env.REDIS_URL}", "url: ${stage.redisUrl}")
    )
    package = compile_gateway(spec, tmp_path / "out")
    result = subprocess.run(
        [sys.executable, "-c", f"from {package}.app import build_app; build_app('test')"],
        cwd=tmp_path / "out",
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "out"), "REDIS_URL": redis.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
