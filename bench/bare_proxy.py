"""The reference: a minimal hand-written aiohttp reverse proxy with no gateway features.

One ``aiohttp.web`` server with a catch-all route and one shared ``ClientSession``
(``TCPConnector(limit=256)``, keep-alive, no decompression, no automatic headers,
``ClientTimeout(total=30)``), on uvloop. Bodies are buffered; hop-by-hop headers are
dropped both ways. Usage: ``python bench/bare_proxy.py --port 9002 --upstream URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

__all__ = ["main", "make_app"]

_REQUEST_DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_RESPONSE_DROP = _REQUEST_DROP | {"date", "server"}
SESSION = web.AppKey("session", aiohttp.ClientSession)


def make_app(upstream: str) -> web.Application:
    base = upstream.rstrip("/")

    async def forward(request: web.Request) -> web.Response:
        body = await request.read() if request.body_exists else None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _REQUEST_DROP]
        url = URL(base + request.raw_path, encoded=True)
        async with request.app[SESSION].request(
            request.method, url, headers=headers, data=body, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            out = CIMultiDict(
                (k, v) for k, v in answer.headers.items() if k.lower() not in _RESPONSE_DROP
            )
            return web.Response(status=answer.status, body=payload, headers=out)

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=60),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        yield
        await app[SESSION].close()

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def serve(host: str, port: int, upstream: str) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    print(f"bare proxy listening on {host}:{port} -> {upstream}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--upstream", default="http://127.0.0.1:9001")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, args.upstream))


if __name__ == "__main__":
    main()
