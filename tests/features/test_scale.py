"""Scale-out: two generated gateway processes sharing one real redis-server.

The gateways run as ``python -m scale_gateway`` processes (compiled from
``specs/scale.yaml``) on loopback; the upstream runs in the test's event loop. The
processes share one combined throttle and quota, the response cache and the API keys.
The fault test stops redis-server under load and starts it again on the same port.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from gatewright.compiler.pipeline import compile_to_tree
from gatewright.runtime import key_store_from_url

from .support import SPECS

_RUNTIME_TESTS = Path(__file__).resolve().parents[1] / "runtime"
if str(_RUNTIME_TESTS) not in sys.path:
    sys.path.insert(0, str(_RUNTIME_TESTS))
from redis_support import REDIS_BINARY, RedisServer, free_port  # noqa: E402

pytestmark = pytest.mark.redis


def _compile(root: Path, fail_mode: str) -> Path:
    text = (SPECS / "scale.yaml").read_text().replace("failMode: open", f"failMode: {fail_mode}")
    spec = root / f"scale-{fail_mode}.yaml"
    spec.write_text(text)
    result = compile_to_tree(spec, ["gateway"], format_code=False)
    assert result.api is not None, [d.message for d in result.diags]
    out = root / fail_mode
    for rel, body in result.tree.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    return out


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scale")
    return {mode: _compile(root, mode) for mode in ("open", "closed")}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not Path(REDIS_BINARY).exists():
        pytest.skip(f"redis-server not found at {REDIS_BINARY}; `make test` installs it")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Cluster:
    urls: list[str]
    upstream_calls: list[int]
    session: aiohttp.ClientSession


@pytest.fixture
async def cluster_factory(
    packages: dict[str, Path], redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[object]:
    upstream_calls = [0]

    async def answer(request: web.Request) -> web.Response:
        upstream_calls[0] += 1
        return web.json_response({"path": request.path, "n": upstream_calls[0]})

    upstream_app = web.Application()
    upstream_app.router.add_get("/{tail:.*}", answer)
    upstream = TestServer(upstream_app, host="127.0.0.1")
    await upstream.start_server()
    processes: list[subprocess.Popen[bytes]] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def start(fail_mode: str, count: int = 2) -> Cluster:
        env = {
            **os.environ,
            "PYTHONPATH": str(packages[fail_mode]),
            "UPSTREAM_URL": str(upstream.make_url("")).rstrip("/"),
            "STORE_URL": redis_server.url,
        }
        urls = []
        for index in range(count):
            port = free_port()
            log = (tmp_path / f"gateway-{index}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "scale_gateway", "--stage", "prod", "--port", str(port)],
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes[-count:], strict=True):
            await _wait_ready(session, url, process)
        return Cluster(urls, upstream_calls, session)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        await session.close()
        await upstream.close()


async def _wait_ready(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the gateway at {url} exited with {process.returncode}"
        try:
            async with session.get(f"{url}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"the gateway at {url} did not become ready")


async def _load(
    cluster: Cluster, path: str, seconds: float, *, workers: int = 16, headers: dict[str, str] | None = None
) -> tuple[Counter[int], float]:
    """Requests from ``workers`` loops, alternating between the gateways, for ``seconds``."""
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    stop = started + seconds

    async def worker(index: int) -> None:
        turn = index
        while time.monotonic() < stop:
            url = cluster.urls[turn % len(cluster.urls)] + path
            turn += 1
            try:
                async with cluster.session.get(url, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1
            except (aiohttp.ClientError, TimeoutError):
                statuses[0] += 1

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return statuses, time.monotonic() - started


async def test_two_processes_enforce_one_combined_throttle(cluster_factory: object) -> None:
    cluster = await cluster_factory("open")  # type: ignore[operator]
    statuses, elapsed = await _load(cluster, "/limited", seconds=3.0)
    expected = 100 + 50 * elapsed
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[429] > statuses[200], "the load did not saturate the throttle"
    # generous: a shared, noisy machine; one process alone would admit about twice this
    assert 0.8 * expected <= statuses[200] <= 1.15 * expected, (statuses, elapsed)


async def test_quota_cache_and_keys_are_shared(cluster_factory: object, redis_server: RedisServer) -> None:
    cluster = await cluster_factory("open")  # type: ignore[operator]
    store = key_store_from_url(redis_server.url)
    try:
        # created after both gateways started: each finds it in the shared store
        value, _record = await store.create(plan="metered")
    finally:
        await store.close()
    headers = {"X-API-Key": value}
    session = cluster.session

    first = await session.get(f"{cluster.urls[0]}/cached", headers=headers)
    second = await session.get(f"{cluster.urls[1]}/cached", headers=headers)
    assert (first.status, second.status) == (200, 200)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("Miss", "Hit")
    assert await second.json() == await first.json()
    unknown = await session.get(f"{cluster.urls[1]}/cached", headers={"X-API-Key": "u" * 43})
    assert unknown.status == 403

    statuses, _ = await _load(cluster, "/metered", seconds=1.0, workers=8, headers=headers)
    # the plan's quota is 30 a day across both processes; the two /cached calls
    # above were checked against it too (the quota comes before the cache)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] == 30 - 2, statuses
    refused = await session.get(f"{cluster.urls[0]}/metered", headers=headers)
    assert refused.headers["X-Gateway-Error-Type"] == "QUOTA_EXCEEDED"


@pytest.mark.parametrize("fail_mode", ["open", "closed"])
async def test_redis_outage_follows_fail_mode_and_recovers(
    cluster_factory: object, redis_server: RedisServer, fail_mode: str
) -> None:
    cluster = await cluster_factory(fail_mode)  # type: ignore[operator]
    before, _ = await _load(cluster, "/roomy", seconds=0.5, workers=4)
    assert set(before) == {200}, before

    load = asyncio.create_task(_load(cluster, "/roomy", seconds=4.0, workers=4))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(redis_server.stop)
    await asyncio.sleep(1.5)
    outage, _ = await _load(cluster, "/roomy", seconds=0.5, workers=4)
    await asyncio.to_thread(redis_server.start)  # the same port
    during, _ = await load
    assert 500 not in during and 0 not in during, during
    if fail_mode == "open":
        assert set(outage) == {200}, outage
    else:
        assert 200 not in outage and set(outage) <= {429, 503}, outage

    deadline = time.monotonic() + 10
    after: Counter[int] = Counter()
    while time.monotonic() < deadline:
        after, _ = await _load(cluster, "/roomy", seconds=0.3, workers=4)
        if set(after) == {200}:
            break
        await asyncio.sleep(0.2)
    assert set(after) == {200}, f"the gateways did not recover after redis came back: {after}"
