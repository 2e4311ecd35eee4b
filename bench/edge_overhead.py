"""What the edge middlewares cost: the same proxying gateway with and without them.

In one run: start the bench upstream (``upstream.py``) and two gateways built with
``build_gateway_app`` (one ``http_proxy`` route, ``GET /pets/{id}``): ``plain`` has no
edge middlewares, ``edge`` has CORS (credentials, a wildcard origin pattern, exposed
headers) and the deprecation middleware wired as documented in
``gatewright.runtime.cors``, plus compression on with a threshold above the 207-byte
body (so the decision runs but nothing is gzipped). wrk sends a cross-origin ``GET``
with ``Origin`` to both, alternating, and the script prints req/s, CPU µs per
request and the ratio edge / plain.

Knobs (environment): ``BENCH_EDGE`` (features of the edge gateway, default
``compression,cors,deprecation``; empty measures the noise), ``BENCH_SECONDS`` (default 10), ``BENCH_ROUNDS`` (default 3,
median reported), ``BENCH_CONNECTIONS`` (default 32).
Usage: ``.venv/bin/python bench/edge_overhead.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

__all__ = ["build_app", "main"]

BENCH = Path(__file__).resolve().parent
ORIGIN = "https://app.tenants.example.com"
GET_LUA = f'wrk.method = "GET"\nwrk.headers["Origin"] = "{ORIGIN}"\n'


def build_app(kind: str, upstream: str) -> web.Application:
    from gatewright import runtime as gw
    from gatewright.runtime.compression import (
        CompressionPolicy,
        compression_middleware,
        compression_on_response_prepare,
    )
    from gatewright.runtime.cors import (
        CorsPolicy,
        cors_middleware,
        cors_on_response_prepare,
        operation_locator,
    )
    from gatewright.runtime.deprecation import (
        DeprecationNotice,
        deprecation_middleware,
        deprecation_on_response_prepare,
    )

    async def proxy(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
        return await integration.invoke(request, None)

    routes = [
        gw.Route(
            operation_id="getPet",
            method="GET",
            path="/pets/{id}",
            segments=(("static", "pets"), ("param", "id")),
            handler=proxy,
            integration=gw.HttpProxySpec(
                url=(gw.Text(upstream + "/pets/"), gw.RequestValue("path", "id"))
            ),
        )
    ]
    app = gw.build_gateway_app(gw.ApiConfig(title="edge bench"), routes, stage="bench", env={})
    features = set(os.environ.get("BENCH_EDGE", "compression,cors,deprecation").split(","))
    if kind == "edge":
        state = app[gw.GATEWAY_STATE]
        cors = CorsPolicy(
            allow_origins=("https://app.example.com", "https://*.tenants.example.com"),
            allow_headers=("Authorization", "Content-Type", "X-Trace"),
            expose_headers=("X-Request-Id",),
            allow_credentials=True,
            max_age_seconds=600,
        )
        outer = []
        if "compression" in features:
            outer.append(compression_middleware(policy=CompressionPolicy(minimum_size_bytes=1024)))
            app.on_response_prepare.append(compression_on_response_prepare)
        if "cors" in features:
            outer.append(cors_middleware(policy=cors, locate=operation_locator(state.router)))
            app.on_response_prepare.append(cors_on_response_prepare)
        if "deprecation" in features:
            sunset = datetime(2030, 1, 1, tzinfo=UTC)
            outer.append(
                deprecation_middleware(operations={"getPet": DeprecationNotice(sunset=sunset)})
            )
            app.on_response_prepare.append(deprecation_on_response_prepare)
        for middleware in reversed(outer):
            app.middlewares.insert(0, middleware)
    return app


def serve(kind: str, port: int, upstream: str) -> None:
    import uvloop

    uvloop.install()
    web.run_app(
        build_app(kind, upstream), host="127.0.0.1", port=port, access_log=None, print=None
    )


def main() -> int:
    from proxy_bench import WRK, Result, free_port, run_wrk, wait_for

    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    if not Path(WRK).exists():
        raise SystemExit(f"wrk is not installed at {WRK}")
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, list[Result]] = {"plain": [], "edge": []}
    with tempfile.TemporaryDirectory(prefix="gatewright-edge-bench-") as tmp:
        script = Path(tmp) / "get.lua"
        script.write_text(GET_LUA)
        up_port, plain_port, edge_port = free_port(), free_port(), free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        servers = {
            "upstream": ([sys.executable, str(BENCH / "upstream.py"), "--port", str(up_port)], up_port),
            "plain": (
                [sys.executable, __file__, "--serve", "plain", "--port", str(plain_port),
                 "--upstream", upstream],
                plain_port,
            ),
            "edge": (
                [sys.executable, __file__, "--serve", "edge", "--port", str(edge_port),
                 "--upstream", upstream],
                edge_port,
            ),
        }
        try:
            pids: dict[str, int] = {}
            for name, (command, port) in servers.items():
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
                processes.append(process)
                wait_for(port, process, name)
                pids[name] = process.pid
            ports = {"plain": plain_port, "edge": edge_port}
            for kind, port in ports.items():
                run_wrk(f"http://127.0.0.1:{port}/pets/123", script, 1, connections, pids[kind])
            for _ in range(rounds):
                for kind, port in ports.items():
                    results[kind].append(
                        run_wrk(
                            f"http://127.0.0.1:{port}/pets/123",
                            script,
                            seconds,
                            connections,
                            pids[kind],
                        )
                    )
        finally:
            # gateways first, so none of them proxies to an upstream that is gone
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    print(f"wrk -t1 -c{connections} -d{seconds}s, {rounds} round(s), median shown")
    print(f"{'gateway':<10}{'req/s':>10}{'cpu us/req':>12}{'errors':>8}")
    rates: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for kind, runs in results.items():
        rates[kind] = statistics.median(r.requests_per_second for r in runs)
        cpus[kind] = statistics.median(r.cpu_us_per_request for r in runs)
        errors = sum(r.errors for r in runs)
        print(f"{kind:<10}{rates[kind]:>10.0f}{cpus[kind]:>12.0f}{errors:>8}")
    print(f"{'ratio':<10}{rates['edge'] / rates['plain']:>10.3f}   req/s edge / plain")
    print(f"{'cpu ratio':<10}{cpus['edge'] / cpus['plain']:>10.3f}   CPU per request edge / plain")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=("plain", "edge"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", default="")
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.port, arguments.upstream)
        raise SystemExit(0)
    raise SystemExit(main())
