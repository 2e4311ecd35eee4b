"""Micro-benchmark: JWT verification per second, verified-token cache cold vs warm.

Runs a real JWKS endpoint on 127.0.0.1, then times ``JwtAuthenticator.authenticate``
on distinct tokens (cold: every call checks an RS256 signature) and on one token (warm:
answered from the cache). Prints both rates and their ratio.

    .venv/bin/python bench/jwt_bench.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import jwt
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from cryptography.hazmat.primitives.asymmetric import rsa
from gatewright.runtime.auth import JwksClient, JwtAuthenticator, JwtSettings

__all__ = ["main"]

ISSUER = "https://idp.bench"


async def _run(requests: int) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(key.public_key()))
    jwk.update(kid="bench", use="sig")

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    keys = JwksClient(jwks_uri=f"http://127.0.0.1:{port}/jwks.json")
    auth = JwtAuthenticator(
        "jwt", JwtSettings(issuer=ISSUER, audiences=("bench",), cache_size=requests + 10), keys
    )
    now = int(time.time())

    def token(n: int) -> str:
        claims = {"sub": f"user-{n}", "iss": ISSUER, "aud": "bench", "exp": now + 600}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})

    def request(t: str) -> web.Request:
        return make_mocked_request("GET", "/", headers={"Authorization": f"Bearer {t}"})

    await auth.authenticate(request(token(-1)))  # fetch the key set once
    cold = [request(token(n)) for n in range(requests)]
    warm = [request(token(-1))] * requests

    started = time.perf_counter()
    for r in cold:
        await auth.authenticate(r)
    cold_rate = requests / (time.perf_counter() - started)
    started = time.perf_counter()
    for r in warm:
        await auth.authenticate(r)
    warm_rate = requests / (time.perf_counter() - started)

    print(f"JWT verification, {requests} requests each (RS256, 2048-bit key)")
    print(f"  cold cache: {cold_rate:10.0f} verifications/s")
    print(f"  warm cache: {warm_rate:10.0f} verifications/s")
    print(f"  warm/cold ratio: {warm_rate / cold_rate:.1f}x")
    await keys.close()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(_run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
