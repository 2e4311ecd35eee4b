"""Graceful operations of a generated gateway process: SIGTERM under load, the drain
timeout, and a dead worker replaced while traffic keeps flowing.

(tests/gateway/test_gateway_emitter.py covers the quiet cases: exit 0 on SIGTERM and a
worker replaced with no traffic.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from hardening_support import FaultsBuild, GatewayProcess, Upstreams


def start(
    build: FaultsBuild, upstreams: Upstreams, closed_port: int, tmp_path: Path, *extra: str
) -> GatewayProcess:
    gateway = GatewayProcess.module(
        build.package,
        root=build.root,
        env=build.env(upstreams, closed_port),
        log_path=tmp_path / "gateway.log",
        extra=extra,
    )
    gateway.wait_ready()
    return gateway


async def connection_refused(port: int, within: float = 3.0) -> bool:
    """Whether new connections are refused within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return True
        writer.close()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def test_sigterm_under_load_finishes_in_flight_and_refuses_new_connections(
    faults_build: FaultsBuild, upstreams: Upstreams, closed_port: int, tmp_path: Path
) -> None:
    gateway = start(faults_build, upstreams, closed_port, tmp_path, "--drain-timeout", "5")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:

            async def slow() -> int:
                async with session.get(f"{gateway.url}/fault/slow") as resp:  # 1 s upstream
                    await resp.read()
                    return resp.status

            in_flight = [asyncio.ensure_future(slow()) for _ in range(20)]
            await asyncio.sleep(0.4)
            signalled = time.monotonic()
            gateway.process.send_signal(signal.SIGTERM)
            assert await connection_refused(gateway.port)
            assert await asyncio.gather(*in_flight) == [200] * 20
        code = await asyncio.to_thread(gateway.process.wait, 10)
        assert code == 0
        assert time.monotonic() - signalled < 5.0
    finally:
        gateway.stop()


async def test_drain_timeout_bounds_the_exit(
    faults_build: FaultsBuild, upstreams: Upstreams, closed_port: int, tmp_path: Path
) -> None:
    gateway = start(faults_build, upstreams, closed_port, tmp_path, "--drain-timeout", "0.5")
    try:
        async with aiohttp.ClientSession() as session:
            hung = asyncio.ensure_future(session.get(f"{gateway.url}/fault/drip"))  # ~1.5 s, then 504
            await asyncio.sleep(0.3)
            signalled = time.monotonic()
            gateway.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(gateway.process.wait, 10)
            exited_after = time.monotonic() - signalled
            with pytest.raises(aiohttp.ClientError):
                await (await hung).read()
        assert code == 0
        assert exited_after < 0.5 + 2.0
    finally:
        gateway.stop()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


async def test_dead_worker_is_replaced_under_load(
    faults_build: FaultsBuild, upstreams: Upstreams, closed_port: int, tmp_path: Path
) -> None:
    gateway = start(faults_build, upstreams, closed_port, tmp_path, "--workers", "2")
    try:
        deadline = time.monotonic() + 20
        while len(workers := _children(gateway.pid)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(workers) == 2
        statuses: list[int] = []
        failures: list[str] = []
        stop = asyncio.Event()

        async def load(session: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                try:
                    async with session.get(f"{gateway.url}/fault/ok") as resp:
                        await resp.read()
                        statuses.append(resp.status)
                except aiohttp.ClientError as exc:  # requests on the killed worker's connections
                    failures.append(type(exc).__name__)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            loaders = [asyncio.ensure_future(load(session)) for _ in range(4)]
            await asyncio.sleep(0.3)
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            while time.monotonic() < deadline:
                current = _children(gateway.pid)
                if len(current) == 2 and victim not in current:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the dead worker was not replaced")
            served_before = len(statuses)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*loaders)
        assert set(statuses) == {200}
        assert len(statuses) > served_before  # traffic kept flowing after the replacement
        assert len(failures) <= 20, failures  # at most the requests in flight on the dead worker
        assert gateway.healthy()
        gateway.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(gateway.process.wait, 30) == 0
    finally:
        gateway.stop()
