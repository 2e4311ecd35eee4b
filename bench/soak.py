"""Soak test: minutes of mixed traffic through the full-feature petstore gateway.

    SOAK_SECONDS=300 .venv/bin/python bench/soak.py [--concurrency 16] [--warmup 20]

The petstore sample (API keys on a usage plan, a cached operation, CORS, a function
route, a mock and a proxied backend) is compiled and started as a process in front of
its backend. Traffic mixes cache hits and misses, throttled requests (the usage plan's
``getInventory`` method throttle), validation errors, unknown routes, requests without
a key, function calls and writes. The report gives requests, answers by status and
error type, RSS and open file descriptors of the gateway after the warm-up and at the
end. Passes (exit 0) when RSS grew by less than 10 %, descriptors did not leak, and no
answer was an unexpected 5xx. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "hardening"), str(REPO / "tests" / "fuzz")]

from hardening_support import GatewayProcess, compile_gateway, free_port  # noqa: E402 - test helpers, found through the path above
from schemathesis_support import (  # noqa: E402
    PETSTORE,
    CountingBackend,
    create_api_key,
    generous_plan_limits,
    petstore_spec,
)

FD_SLACK = 8  # pooled upstream connections and the like may differ a little between samples


class Traffic:
    """One request of the mix per call; answers are tallied by status and error type."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self.answers: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.unexpected: Counter[str] = Counter()
        self.transport_errors = 0
        self.rng = random.Random(7)

    async def one(self, session: aiohttp.ClientSession) -> None:
        headers = {"X-API-Key": self.key}
        roll = self.rng.random()
        kind: str
        if roll < 0.30:
            kind, method, path, body = "cache-hit", "GET", "/v1/pets/1", None
        elif roll < 0.45:
            kind, method, path, body = "cache-miss", "GET", f"/v1/pets/{self.rng.randrange(2, 10**9)}", None
        elif roll < 0.60:
            kind, method, path, body = "list", "GET", f"/v1/pets?limit={self.rng.randrange(1, 100)}", None
        elif roll < 0.70:
            kind, method, path, body = "throttled", "GET", "/v1/store/inventory", None
        elif roll < 0.78:
            kind, method, path, body = "invalid", "POST", "/v1/pets", {"name": "", "species": "unicorn"}
        elif roll < 0.83:
            kind, method, path, body = "not-found", "GET", "/v1/unicorns", None
        elif roll < 0.88:
            kind, method, path, body = "no-key", "GET", "/v1/pets", None
            headers = {}
        elif roll < 0.94:
            kind, method, path, body = "function", "POST", "/v1/pets/1/adopt", {"adopter": "Ada"}
        else:
            kind, method, path, body = "create", "POST", "/v1/pets", {"name": "Mia", "species": "cat"}
        self.kinds[kind] += 1
        try:
            created = await self._send(session, kind, method, path, body, headers)
            if isinstance(created, dict) and isinstance(created.get("id"), int):
                # keep the backend's store (and so the list answers) from growing
                await self._send(session, "delete", "DELETE", f"/v1/pets/{created['id']}", None, headers)
        except (TimeoutError, aiohttp.ClientError):
            self.transport_errors += 1

    async def _send(
        self,
        session: aiohttp.ClientSession,
        kind: str,
        method: str,
        path: str,
        body: object,
        headers: dict[str, str],
    ) -> object:
        async with session.request(method, self.base + path, json=body, headers=headers) as resp:
            payload = await resp.read()
            error_type = resp.headers.get("X-Gateway-Error-Type")
            label = f"{resp.status} {error_type}" if error_type else str(resp.status)
            self.answers[label] += 1
            if resp.status >= 500 and resp.status not in (502, 504):
                self.unexpected[f"{kind}: {label}"] += 1
            if resp.status == 201:
                return json.loads(payload)
            return None


async def run_traffic(traffic: Traffic, *, seconds: float, concurrency: int) -> int:
    stop = time.monotonic() + seconds
    sent = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while time.monotonic() < stop:
            await traffic.one(session)
            sent += 1

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "300")))
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gw-soak-") as tmp:
        workdir = Path(tmp)
        backend = CountingBackend()
        backend.start()
        key_store = f"sqlite:///{workdir / 'keys.db'}"
        out = workdir / "gateway"
        package = compile_gateway(petstore_spec(workdir, generous_plan_limits), out)
        env = dict(os.environ, PETS_URL=backend.url, GATEWRIGHT_KEY_STORE=key_store)
        env["PYTHONPATH"] = os.pathsep.join([str(PETSTORE), env.get("PYTHONPATH", "")])
        port = free_port()
        gateway = GatewayProcess(
            [sys.executable, "-m", package, "--stage", "prod", "--port", str(port), "--log-level", "error"],
            port=port,
            cwd=out,
            env=env,
            log_path=workdir / "gateway.log",
        )
        try:
            gateway.wait_ready()
            traffic = Traffic(gateway.url, create_api_key(key_store))
            print(f"warm-up: {args.warmup:.0f} s at concurrency {args.concurrency}", flush=True)
            asyncio.run(run_traffic(traffic, seconds=args.warmup, concurrency=args.concurrency))
            rss_start, fds_start = gateway.rss_kb(), gateway.fd_count()
            traffic.answers.clear()
            traffic.kinds.clear()
            print(f"soak: {args.seconds:.0f} s; RSS {rss_start} kB, {fds_start} fds after warm-up", flush=True)
            started = time.monotonic()
            sent = asyncio.run(run_traffic(traffic, seconds=args.seconds, concurrency=args.concurrency))
            elapsed = time.monotonic() - started
            time.sleep(1.0)  # let closed connections settle before counting descriptors
            rss_end, fds_end = gateway.rss_kb(), gateway.fd_count()
            healthy = gateway.healthy()
        finally:
            gateway.stop()
            backend.stop()

    growth = (rss_end - rss_start) / rss_start * 100
    print(f"\nrequests: {sent} in {elapsed:.0f} s ({sent / elapsed:.0f}/s), backend saw {backend.requests}")
    print("traffic mix: " + ", ".join(f"{k} {v}" for k, v in traffic.kinds.most_common()))
    print("answers by status and error type:")
    for label, count in traffic.answers.most_common():
        print(f"  {count:>9}  {label}")
    print(f"transport errors: {traffic.transport_errors}")
    print(f"unexpected 5xx: {sum(traffic.unexpected.values())} {dict(traffic.unexpected)}")
    print(f"RSS: {rss_start} kB after warm-up -> {rss_end} kB at the end ({growth:+.1f} %)")
    print(f"open fds: {fds_start} after warm-up -> {fds_end} at the end")
    ok = growth < 10 and fds_end <= fds_start + FD_SLACK and not traffic.unexpected and healthy
    ok = ok and traffic.transport_errors == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
