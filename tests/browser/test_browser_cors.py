"""CORS in a real browser: Debian's headless chromium, driven by playwright-core from Node.

A page served from one loopback origin calls the gateway on another origin with
``fetch()``, a custom header and ``credentials: 'include'``. The browser itself runs
the CORS protocol (preflight, credentials check, exposed headers); the gateway is
the project's real ``build_gateway_app`` with the CORS middleware form wrapped around it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler
from gatewright import runtime as gw
from gatewright.runtime.cors import (
    CorsPolicy,
    cors_for,
    operation_locator,
)

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PLAYWRIGHT = HERE / "node_modules" / "playwright-core" / "package.json"
SCRIPT = HERE / "cors_check.mjs"

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
SEEN = web.AppKey("seen", list[str])
HANDLED = web.AppKey("handled", list[dict[str, str | None]])


def _missing() -> list[str]:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium ({CHROMIUM})")
    if shutil.which("node") is None:
        missing.append("node")
    if not PLAYWRIGHT.exists():
        missing.append(f"playwright-core ({PLAYWRIGHT.parent})")
    return missing


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Installs chromium and playwright-core when absent; skips only if that fails."""
    if not _missing():
        return
    try:
        done = subprocess.run(
            ["sh", str(HERE / "ensure_browser.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = (done.stdout + done.stderr).strip()[-2000:]
    except (OSError, subprocess.TimeoutExpired) as exc:
        output = str(exc)
    still = _missing()
    if still:
        pytest.skip(
            f"the browser test needs {', '.join(still)}, and tests/browser/ensure_browser.sh "
            f"could not install it: {output}"
        )


PAGE = b"<!doctype html><title>cross-origin caller</title><p>caller page</p>"


def page_app() -> web.Application:
    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(body=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    return app


async def whoami(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    body = await gw.read_body(request)
    seen = {
        "cookie": request.headers.get("Cookie"),
        "trace": request.headers.get("X-Trace"),
        "origin": request.headers.get("Origin"),
        "body": body.decode(),
    }
    request.app[HANDLED].append(seen)
    return web.json_response(
        seen, headers={"X-Request-Id": request[gw.REQUEST_ID], "X-Not-Exposed": "hidden"}
    )


async def unauthorized(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    raise gw.GatewayError("UNAUTHORIZED")


def gateway_app(allowed_origin: str) -> web.Application:
    mock = gw.MockSpec(body={"ok": True}, has_body=True)
    routes = [
        gw.Route(
            operation_id="whoami",
            method="PUT",
            path="/whoami",
            segments=(("static", "whoami"),),
            handler=whoami,
            integration=mock,
        ),
        gw.Route(
            operation_id="secret",
            method="GET",
            path="/secret",
            segments=(("static", "secret"),),
            handler=unauthorized,
            integration=mock,
        ),
    ]
    app = gw.build_gateway_app(gw.ApiConfig(title="browser"), routes, stage="dev", env={})
    app[SEEN] = []
    app[HANDLED] = []
    state = app[gw.GATEWAY_STATE]
    policy = CorsPolicy(
        allow_origins=(allowed_origin,),
        allow_methods=("GET", "PUT"),
        allow_headers=("X-Trace", "Content-Type"),
        expose_headers=("X-Request-Id",),
        allow_credentials=True,
        max_age_seconds=0,  # every call in this test makes its own preflight
    )

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        request.app[SEEN].append(f"{request.method} {request.path} {request.headers.get('Origin')}")
        return await handler(request)

    cors = cors_for(policy=policy, locate=operation_locator(state.router))
    assert cors is not None
    app.middlewares.insert(0, cors.middleware())
    app.middlewares.insert(0, record)
    app.on_response_prepare.append(cors.on_response_prepare)
    return app


async def run_in_browser(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # asyncio's subprocess keeps this loop (and so the servers) running meanwhile
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        json.dumps({"calls": calls}),
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("the browser run did not finish in 120 s") from None
    assert process.returncode == 0, f"browser run failed ({process.returncode}): {err.decode()}"
    results: list[dict[str, Any]] = json.loads(out)["results"]
    return results


async def test_browser_enforces_the_gateways_cors_answers(
    browser_ready: None, aiohttp_server: ServerFactory
) -> None:
    allowed_page = await aiohttp_server(page_app())
    other_page = await aiohttp_server(page_app())
    allowed_origin = str(allowed_page.make_url("")).rstrip("/")
    other_origin = str(other_page.make_url("")).rstrip("/")
    gateway = await aiohttp_server(gateway_app(allowed_origin))
    api = str(gateway.make_url("")).rstrip("/")
    assert len({allowed_origin, other_origin, api}) == 3  # three distinct origins

    credentialed_put = {
        "url": f"{api}/whoami",
        "method": "PUT",
        "headers": {"X-Trace": "trace-7", "Content-Type": "application/json"},
        "body": '{"n": 1}',
        "cookie": {"name": "session", "value": "s3cret", "url": api},
    }
    results = await run_in_browser(
        [
            {**credentialed_put, "page": f"{allowed_origin}/"},
            {**credentialed_put, "page": f"{other_origin}/"},
            {
                "page": f"{allowed_origin}/",
                "url": f"{api}/secret",
                "method": "GET",
                "headers": {"X-Trace": "t"},
            },
            {
                **credentialed_put,
                "page": f"{allowed_origin}/",
                "headers": {"X-Trace": "t", "X-Not-Allowed": "1"},
            },
        ]
    )
    allowed, disallowed, error_answer, extra_header = results

    assert allowed["ok"], allowed
    assert allowed["status"] == 200
    echoed = json.loads(allowed["body"])
    assert echoed == {
        "cookie": "session=s3cret",  # credentials: 'include' sent the cookie
        "trace": "trace-7",
        "origin": allowed_origin,
        "body": '{"n": 1}',
    }
    assert allowed["headers"]["x-request-id"]  # readable because it is exposed
    assert "x-not-exposed" not in allowed["headers"]  # and this one is not

    assert not disallowed["ok"], disallowed
    assert "Failed to fetch" in disallowed["error"]

    # the gateway's own 401 is readable by the allowed page
    assert error_answer["ok"], error_answer
    assert error_answer["status"] == 401
    assert json.loads(error_answer["body"]) == {"message": "Unauthorized"}

    assert not extra_header["ok"], extra_header

    seen = gateway.app[SEEN]
    # the browser really preflighted, and the refused origin never got its PUT through
    assert f"OPTIONS /whoami {allowed_origin}" in seen
    assert f"OPTIONS /whoami {other_origin}" in seen
    assert f"PUT /whoami {other_origin}" not in seen
    assert [h["origin"] for h in gateway.app[HANDLED]] == [allowed_origin]
