"""Throttle accuracy: rate 50/s, burst 100, saturating load for 10 s.

Runs two measurements and prints the accepted count next to the expected
100 + 50 * 10 = 600:

1. one gateway process on ``memory://``;
2. two gateway processes sharing one real ``redis-server`` (started here on a free
   loopback port, or given with ``--redis-url``), with the load split between them.

Usage::

    .venv/bin/python bench/throttle_accuracy.py [--seconds 10] [--workers 16]

The gateway processes are this script run with ``--serve``: an aiohttp app whose
only middlewares are a fixed route match and ``throttle_middleware``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from gatewright.runtime.context import ROUTE_MATCH, RouteMatch
from gatewright.runtime.errors import GatewayError
from gatewright.runtime.stores import store_from_url
from gatewright.runtime.throttle import Limiter, TokenBucket, throttle_middleware

__all__ = ["main"]

RATE, BURST = 50, 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def serve(port: int, store_url: str) -> None:
    """Run one gateway process: every request is operation ``get``, throttled at the API level."""

    @web.middleware
    async def route(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[ROUTE_MATCH] = RouteMatch(operation_id="get", method=request.method, route="/")
        try:
            return await handler(request)
        except GatewayError as exc:
            return web.Response(status=429, text=exc.response_type, headers=exc.headers)

    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    limiter = Limiter(store_from_url(store_url, prefix="bench:"))
    app = web.Application(
        middlewares=[
            route,
            throttle_middleware(limiter=limiter, api=TokenBucket(rate=RATE, burst=BURST)),
        ]
    )
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def load(ports: Sequence[int], seconds: float, workers: int) -> Counter[int]:
    counts: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(port: int) -> None:
            while time.monotonic() < deadline:
                async with session.get(f"http://127.0.0.1:{port}/") as response:
                    await response.read()
                    counts[response.status] += 1

        await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(workers)))
    return counts


def measure(label: str, store_url: str, processes: int, seconds: float, workers: int) -> None:
    ports = [free_port() for _ in range(processes)]
    gateways = [
        subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--store", store_url])
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port)
        counts = asyncio.run(load(ports, seconds, workers))
    finally:
        for gateway in gateways:
            gateway.terminate()
            gateway.wait(timeout=10)
    expected = BURST + RATE * seconds
    accepted = counts[200]
    print(
        f"{label}: accepted {accepted}, expected {expected:g} ({(accepted - expected) / expected:+.1%}), "
        f"refused {counts[429]}, other {sum(counts.values()) - accepted - counts[429]}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--redis-url", help="use this Redis instead of starting redis-server")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--store", default="memory://", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.store)
        return

    measure("1 process, memory://", "memory://", 1, args.seconds, args.workers)

    redis_process: subprocess.Popen[bytes] | None = None
    redis_url = args.redis_url
    with tempfile.TemporaryDirectory() as workdir:
        if redis_url is None:
            binary = shutil.which("redis-server")
            if binary is None:
                print("2 processes, redis: skipped (redis-server not installed)")
                return
            port = free_port()
            redis_process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    workdir,
                ],
                stdout=subprocess.DEVNULL,
            )
            wait_for_port(port)
            redis_url = f"redis://127.0.0.1:{port}/0"
        try:
            measure("2 processes, shared redis", redis_url, 2, args.seconds, args.workers)
        finally:
            if redis_process is not None:
                redis_process.terminate()
                redis_process.wait(timeout=10)


if __name__ == "__main__":
    main()
