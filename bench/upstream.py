"""Benchmark upstream: ``GET /pets/{id}`` answers a 207-byte JSON pet, ``POST /pets`` echoes (201).

Usage: ``python bench/upstream.py --port 9001``. Runs on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvloop
from aiohttp import web

__all__ = ["PET_TEMPLATE", "main", "make_app"]

# 207 bytes with a three-digit id
PET_TEMPLATE = (
    '{"id":%s,"name":"pet-%s","tag":"dog","status":"available",'
    '"category":{"id":1,"name":"dogs"},"photoUrls":["https://img.example/p/%s.jpg"],'
    '"owner":{"id":42,"name":"alice"},"vaccinated":true,"weightKg":12.5}'
)


async def get_pet(request: web.Request) -> web.Response:
    pet_id = request.match_info["id"]
    body = (PET_TEMPLATE % (pet_id, pet_id, pet_id)).encode()
    return web.Response(body=body, content_type="application/json")


async def create_pet(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), status=201, content_type="application/json")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/pets/{id}", get_pet)
    app.router.add_post("/pets", create_pet)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    print(f"upstream listening on {host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
