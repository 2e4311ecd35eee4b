"""Issue 4 acceptance 4: gateway features against the bare proxy of ``proxy_bench.py``.

In one run: compile the spec below into a temporary folder, start the upstream
(``upstream.py``), the bare proxy (``bare_proxy.py``), a redis-server on a free
loopback port, a static JWKS server, and two generated gateways (store ``memory://``
and ``redis://``), then run ``wrk -t1 -c32 GET`` against each case:

- (a) API key + plan throttle + quota + validation + proxy on ``memory://`` (>= 0.9x)
- (b) the same on ``redis://`` (keys in Redis too)                      (>= 0.6x)
- (c) a cache hit (memory)                                                (>= 2x)
- (d) JWT (RS256) with the verified-token cache warm, + validation + proxy (>= 0.9x)

Before measuring, checks that the warm cache really answers ``X-Cache: Hit``.
Prints req/s, CPU µs per request of the process under test, and ratios to the bare
proxy. The machines are shared, so cases run in rounds (the order rotates between
rounds), each ratio is taken against the bare proxy of the same round, and the median
over rounds is reported. Then every case is measured side by side with the bare
proxy, both loaded at once and alone on CPU 0, so that any outside load slows both
alike (see ``run_wrk_together`` in ``proxy_bench.py``), with fresh processes
each round; the cache hit is left out
there, since its gain is the upstream work it saves, in another process. Not part
of CI. Knobs: ``BENCH_SECONDS`` (default 10),
``BENCH_ROUNDS`` (default 3), ``BENCH_CONNECTIONS`` (default 32). Usage: ``.venv/bin/python bench/features_bench.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_bench import (
    WRK,
    Result,
    bare_command,
    free_port,
    pin_server,
    run_wrk,
    run_wrk_together,
    side_by_side,
    stop,
    upstream_command,
    wait_for,
)

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
REDIS = "/usr/bin/redis-server"
API_KEY = "bench-key-0000000000000000000001"
SPEC = """
openapi: 3.0.3
info: {title: Features bench, version: "1.0.0"}
x-gateway:
  version: 1
  name: features-bench
  stages:
    bench: {variables: {}}
  backends:
    pets: {url: "${env.BENCH_UPSTREAM_URL}", timeoutMs: 30000}
  store: {url: "${env.BENCH_STORE_URL}", failMode: open}
  apiKeys: {sources: ["header:X-API-Key"], store: "${env.BENCH_KEYS_URL}"}
  usagePlans:
    bench:
      throttle: {rate: 1000000, burst: 1000000}
      quota: {limit: 1000000000, period: day}
  defaults:
    integration: {type: http_proxy, backend: pets}
    validation: {parameters: true, body: true}
components:
  parameters:
    id: {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
  securitySchemes:
    jwt:
      type: http
      scheme: bearer
      x-gateway:
        kind: jwt
        issuer: https://idp.bench
        jwksUri: "http://127.0.0.1:JWKS_PORT/jwks.json"
        audiences: [bench]
        algorithms: [RS256]
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{$ref: "#/components/parameters/id"}]
      x-gateway: {apiKeyRequired: true}
      responses: {"200": {description: ok}}
  /cached/pets/{id}:
    get:
      operationId: getCachedPet
      parameters: [{$ref: "#/components/parameters/id"}]
      x-gateway:
        apiKeyRequired: true
        cache: {ttlSeconds: 300}
        integration: {type: http_proxy, backend: pets, path: "/pets/{path.id}"}
      responses: {"200": {description: ok}}
  /jwt/pets/{id}:
    get:
      operationId: getJwtPet
      parameters: [{$ref: "#/components/parameters/id"}]
      security: [{jwt: []}]
      x-gateway:
        integration: {type: http_proxy, backend: pets, path: "/pets/{path.id}"}
      responses: {"200": {description: ok}}
"""


def _compile(spec_text: str, out: Path) -> str:
    from gatewright.compiler.pipeline import compile_to_tree

    spec = out.parent / "features-bench.yaml"
    spec.write_text(spec_text)
    result = compile_to_tree(spec, ["gateway"])
    if result.api is None:
        for diagnostic in result.diags:
            print(diagnostic, file=sys.stderr)
        raise SystemExit("the features bench spec did not compile")
    for rel, text in result.tree.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return f"{result.api.package}_gateway"


async def _create_key(url: str) -> None:
    from gatewright.runtime import key_store_from_url

    store = key_store_from_url(url)
    try:
        await store.create(plan="bench", value=API_KEY)
    finally:
        await store.close()


def _cache_status(url: str) -> str | None:
    request = urllib.request.Request(url, headers={"X-API-Key": API_KEY})
    with urllib.request.urlopen(request, timeout=5) as response:
        status: str | None = response.headers.get("X-Cache")
        return status


def _lua(headers: dict[str, str]) -> str:
    lines = ['wrk.method = "GET"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    for binary in (WRK, REDIS):
        if not Path(binary).exists():
            raise SystemExit(f"{binary} is not installed")
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, list[Result]] = {}
    at_once: dict[str, list[tuple[Result, Result]]] = {}  # (case, bare proxy) side by side
    with tempfile.TemporaryDirectory(prefix="gatewright-features-bench-") as tmp:
        work = Path(tmp)
        ports = {
            name: free_port() for name in ("upstream", "bare", "redis", "jwks", "memory", "redisgw")
        }
        package = _compile(SPEC.replace("JWKS_PORT", str(ports["jwks"])), work / "gateway")

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "alg": "RS256"}
        (work / "jwks").mkdir()
        (work / "jwks" / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
        now = int(time.time())
        token = jwt.encode(
            {
                "iss": "https://idp.bench",
                "aud": "bench",
                "sub": "bench",
                "iat": now,
                "exp": now + 3600,
            },
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )

        upstream_url = f"http://127.0.0.1:{ports['upstream']}"
        redis_url = f"redis://127.0.0.1:{ports['redis']}/0"
        sqlite_url = f"sqlite:///{work / 'keys.db'}"
        base_env = dict(os.environ, BENCH_UPSTREAM_URL=upstream_url)
        base_env["PYTHONPATH"] = os.pathsep.join(
            [str(work / "gateway"), base_env.get("PYTHONPATH", "")]
        )
        gateway = [
            sys.executable,
            "-m",
            package,
            "--stage",
            "bench",
            "--log-level",
            "warning",
            "--port",
        ]
        servers: dict[str, tuple[list[str], dict[str, str]]] = {
            "upstream": (upstream_command(ports["upstream"]), base_env),
            "bare": (bare_command(ports["bare"], upstream_url), base_env),
            "redis": (
                [
                    REDIS,
                    "--port",
                    str(ports["redis"]),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                base_env,
            ),
            "jwks": (
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    str(ports["jwks"]),
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                    str(work / "jwks"),
                ],
                base_env,
            ),
            "memory": (
                [*gateway, str(ports["memory"])],
                base_env | {"BENCH_STORE_URL": "memory://", "BENCH_KEYS_URL": sqlite_url},
            ),
            "redisgw": (
                [*gateway, str(ports["redisgw"])],
                base_env | {"BENCH_STORE_URL": redis_url, "BENCH_KEYS_URL": redis_url},
            ),
        }
        pids: dict[str, int] = {}

        def start(name: str) -> subprocess.Popen[bytes]:
            command, env = servers[name]
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work
            )
            processes.append(process)
            wait_for(ports[name], process, name)
            pids[name] = process.pid
            pin_server(process.pid)  # servers on CPU 0, wrk on CPU 1 (see proxy_bench)
            return process

        try:
            started: dict[str, subprocess.Popen[bytes]] = {}
            for name in servers:
                if name == "memory":  # keys exist before the gateways start
                    asyncio.run(_create_key(sqlite_url))
                    asyncio.run(_create_key(redis_url))
                started[name] = start(name)

            key_lua, jwt_lua, bare_lua = work / "key.lua", work / "jwt.lua", work / "bare.lua"
            key_lua.write_text(_lua({"X-API-Key": API_KEY}))
            jwt_lua.write_text(_lua({"Authorization": f"Bearer {token}"}))
            bare_lua.write_text(_lua({"X-API-Key": API_KEY}))
            cases = {
                "bare proxy": ("bare", "/pets/123", bare_lua),
                "(a) key+plan+quota memory": ("memory", "/pets/123", key_lua),
                "(b) key+plan+quota redis": ("redisgw", "/pets/123", key_lua),
                "(c) cache hit": ("memory", "/cached/pets/123", key_lua),
                "(d) JWT warm cache": ("memory", "/jwt/pets/123", jwt_lua),
            }
            for target, path, script in cases.values():
                # warm-up: connection pools, key and token caches, the cache entry
                run_wrk(
                    f"http://127.0.0.1:{ports[target]}{path}", script, 1, connections, pids[target]
                )
            cache_status = _cache_status(f"http://127.0.0.1:{ports['memory']}/cached/pets/123")
            if cache_status != "Hit":  # otherwise case (c) would measure misses
                raise SystemExit(f"the warm cache answered X-Cache: {cache_status}, not Hit")
            names = list(cases)
            for round_number in range(rounds):
                shift = round_number % len(names)
                for case in names[shift:] + names[:shift]:
                    target, path, script = cases[case]
                    url = f"http://127.0.0.1:{ports[target]}{path}"
                    results.setdefault(case, []).append(
                        run_wrk(url, script, seconds, connections, pids[target])
                    )
            if side_by_side([pids["upstream"], pids["redis"], pids["jwks"]]):
                # Side by side, a ratio compares the two processes' own CPU per request.
                # A cache hit's gain is mostly the upstream work it saves, which lives
                # in another process, so (c) is only measured back to back.
                compared = [case for case in names[1:] if case != "(c) cache hit"]
                proxies = ("bare", "memory", "redisgw")
                stop([started[name] for name in proxies])
                _, bare_path, bare_script = cases["bare proxy"]
                bare_url = f"http://127.0.0.1:{ports['bare']}{bare_path}"
                for _round in range(rounds):
                    # fresh processes each round (see proxy_bench): the same code runs
                    # a few percent apart from one process to the next
                    fresh = [start(name) for name in proxies]
                    bare_load = (bare_url, bare_script, pids["bare"])
                    for case in compared:
                        target, path, script = cases[case]
                        url = f"http://127.0.0.1:{ports[target]}{path}"
                        loads = [(url, script, pids[target]), bare_load]
                        run_wrk_together(loads, 1, connections)  # warm-up: key and token caches
                        measured, bare_run = run_wrk_together(loads, seconds, connections)
                        at_once.setdefault(case, []).append((measured, bare_run))
                    stop(fresh)
        finally:
            stop(processes)

    targets = {"(a)": 0.9, "(b)": 0.6, "(c)": 2.0, "(d)": 0.9}
    bare = results["bare proxy"]
    print(
        f"wrk -t1 -c{connections} -d{seconds}s GET, {rounds} round(s); CPU is the process under test"
    )
    print("medians; ratios are to the bare proxy of the same round, median over rounds")
    print(
        f"{'case':<28}{'req/s':>9}{'cpu us/req':>12}{'errors':>8}{'ratio':>8}{'cpu ratio':>11}  target"
    )
    for case, runs in results.items():
        ratio = statistics.median(
            r.requests_per_second / b.requests_per_second for r, b in zip(runs, bare, strict=True)
        )
        cpu_ratio = statistics.median(
            b.cpu_us_per_request / max(r.cpu_us_per_request, 1e-9)
            for r, b in zip(runs, bare, strict=True)
        )
        target = targets.get(case[:3])
        verdict = "" if target is None else f">= {target}x {'ok' if ratio >= target else 'MISSED'}"
        print(
            f"{case:<28}{statistics.median(r.requests_per_second for r in runs):>9.0f}"
            f"{statistics.median(r.cpu_us_per_request for r in runs):>12.0f}"
            f"{sum(r.errors for r in runs):>8}{ratio:>8.3f}{cpu_ratio:>11.3f}  {verdict}"
        )
    if at_once:
        print(
            f"\nside by side: each case and the bare proxy loaded at once for {seconds}s, "
            f"{rounds} round(s); the two alone on CPU 0 (upstream, redis, JWKS and wrk on CPU 1)"
        )
        print(f"{'case':<28}{'req/s':>9}{'bare req/s':>12}{'errors':>8}{'ratio':>8}  target")
        for case, pairs in at_once.items():
            ratio = statistics.median(
                r.requests_per_second / b.requests_per_second for r, b in pairs
            )
            target = targets[case[:3]]
            print(
                f"{case:<28}{statistics.median(r.requests_per_second for r, _ in pairs):>9.0f}"
                f"{statistics.median(b.requests_per_second for _, b in pairs):>12.0f}"
                f"{sum(r.errors + b.errors for r, b in pairs):>8}{ratio:>8.3f}"
                f"  >= {target}x {'ok' if ratio >= target else 'MISSED'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
