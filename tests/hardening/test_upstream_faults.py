"""Failing upstreams and failing functions, end to end through a real gateway process.

Each test asserts the status, ``X-Gateway-Error-Type``, a generous latency bound, and
that the gateway still answers ``/healthz`` afterwards. The backend timeout of the
``fault`` backend is 1.5 s, of the functions 1 s and 0.5 s (see specs/faults.yaml).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from hardening_support import BULK_BYTES, GatewayProcess

TIMEOUT_S = 1.5  # the fault backend's timeoutMs


async def fetch(gateway: GatewayProcess, path: str) -> tuple[int, str | None, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(gateway.url + path) as resp:
        await resp.read()
        return resp.status, resp.headers.get("X-Gateway-Error-Type"), time.monotonic() - started


@pytest.mark.parametrize(
    "fault",
    ["malformed", "garbage", "reset", "truncated-chunked-early"],
)
async def test_broken_upstream_answers_502_quickly(faults_gateway: GatewayProcess, fault: str) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, f"/fault/{fault}")
    assert (status, error_type) == (502, "INTEGRATION_FAILURE")
    assert elapsed < TIMEOUT_S  # a failure is reported at once, not after the timeout
    assert faults_gateway.healthy()


async def test_refused_connection_answers_502_quickly(faults_gateway: GatewayProcess) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, "/refused")
    assert (status, error_type) == (502, "INTEGRATION_FAILURE")
    assert elapsed < TIMEOUT_S
    assert faults_gateway.healthy()


@pytest.mark.parametrize("fault", ["hang", "drip", "drip-body"])
async def test_silent_or_dripping_upstream_answers_504_at_the_timeout(
    faults_gateway: GatewayProcess, fault: str
) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, f"/fault/{fault}")
    assert (status, error_type) == (504, "INTEGRATION_TIMEOUT")
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 3.0
    assert faults_gateway.healthy()


@pytest.mark.parametrize("fault", ["truncated-chunked", "reset-streaming"])
async def test_upstream_failing_mid_stream_never_looks_complete(
    faults_gateway: GatewayProcess, fault: str
) -> None:
    """Once the status line is out, the gateway cuts the connection: the client sees a
    truncated response, never a short body that looks whole."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(f"{faults_gateway.url}/fault/{fault}") as resp:
        assert resp.status == 200
        assert "X-Request-Id" in resp.headers
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    assert time.monotonic() - started < TIMEOUT_S + 3.0
    assert faults_gateway.healthy()


async def test_100_mb_body_streams_with_bounded_memory(faults_gateway: GatewayProcess) -> None:
    before = faults_gateway.rss_kb()
    peak = before
    received = 0
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(f"{faults_gateway.url}/bulk") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Length"] == str(BULK_BYTES)
        async for chunk in resp.content.iter_chunked(256 * 1024):
            received += len(chunk)
            if received % (8 * 1024 * 1024) < len(chunk):
                peak = max(peak, faults_gateway.rss_kb())
                await asyncio.sleep(0.001)  # a slow-ish reader: the gateway must apply back-pressure
    assert received == BULK_BYTES
    peak = max(peak, faults_gateway.rss_kb())
    assert peak - before < 50 * 1024, f"RSS grew from {before} kB to {peak} kB"
    assert faults_gateway.healthy()


async def test_function_that_raises_answers_502(faults_gateway: GatewayProcess) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, "/fn/raise")
    assert (status, error_type) == (502, "INTEGRATION_FAILURE")
    assert elapsed < 1.0
    assert faults_gateway.healthy()


@pytest.mark.parametrize(
    "kind",
    [
        "not-a-dict",
        "none",
        "bad-status",
        "status-text",
        "bad-headers",
        "crlf-header",
        "bad-body",
        "bad-base64",
        "bad-flag",
        "unserialisable",
    ],
)
async def test_function_returning_a_malformed_dict_answers_502(
    faults_gateway: GatewayProcess, kind: str
) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, f"/fn/malformed/{kind}")
    assert (status, error_type) == (502, "INTEGRATION_FAILURE")
    assert elapsed < 1.0
    assert faults_gateway.healthy()


async def test_slow_function_answers_504_at_its_timeout(faults_gateway: GatewayProcess) -> None:
    status, error_type, elapsed = await fetch(faults_gateway, "/fn/slow")
    assert (status, error_type) == (504, "INTEGRATION_TIMEOUT")
    assert 0.45 <= elapsed < 3.0
    assert faults_gateway.healthy()
