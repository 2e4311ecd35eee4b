"""The petstore sample's backend: a tiny in-memory aiohttp service.

Run: python samples/petstore/backend.py --port 8081
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging

from aiohttp import web

__all__ = ["main", "make_app"]

PETS = web.AppKey("pets", dict)
IDS = web.AppKey("ids", itertools.count)


async def list_pets(request: web.Request) -> web.Response:
    limit = int(request.query.get("limit", "20"))
    status = request.query.get("status")
    pets = [p for p in request.app[PETS].values() if status is None or p.get("status") == status]
    return web.json_response(pets[:limit])


async def create_pet(request: web.Request) -> web.Response:
    body = await request.json()
    pet = {"id": next(request.app[IDS]), **body}
    request.app[PETS][pet["id"]] = pet
    return web.json_response(pet, status=201)


async def get_pet(request: web.Request) -> web.Response:
    pet = request.app[PETS].get(int(request.match_info["petId"]))
    if pet is None:
        return web.json_response({"message": "no such pet"}, status=404)
    return web.json_response(pet)


async def delete_pet(request: web.Request) -> web.Response:
    request.app[PETS].pop(int(request.match_info["petId"]), None)
    return web.Response(status=204)


def make_app() -> web.Application:
    app = web.Application()
    app[PETS] = {1: {"id": 1, "name": "Rex", "species": "dog", "status": "available"}}
    app[IDS] = itertools.count(2)
    app.router.add_get("/pets", list_pets)
    app.router.add_post("/pets", create_pet)
    app.router.add_get("/pets/{petId}", get_pet)
    app.router.add_delete("/pets/{petId}", delete_pet)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
    _ = json
