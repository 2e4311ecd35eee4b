"""Run a gateway application: one process, or N workers sharing the port.

Layer: runtime (aiohttp, uvloop when installed, stdlib).

- uvloop is used when it is importable.
- ``workers > 1`` forks N processes that each bind the port with ``SO_REUSEPORT``;
  the parent supervises them and replaces a worker that dies, unless workers keep
  dying right after they start (then it gives up and exits 1).
- SIGTERM or SIGINT: ``/readyz`` turns 503, the listener closes, in-flight requests
  get up to ``drain_timeout`` seconds to finish, then the process exits 0.
- A connection that has not sent a complete request head within ``header_timeout``
  seconds of connecting (or of its previous response) is closed, so slow-header
  (slowloris) clients cannot hold connections open; this is also the idle keep-alive
  limit.
- Logs are JSON lines on stderr; an access log line per request is optional.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from .app import GATEWAY_STATE, direct_dispatch
from .errors import GatewayError
from .responses import GatewayResponses

__all__ = ["DEFAULT_HEADER_TIMEOUT", "JsonLogFormatter", "configure_logging", "serve"]

_log = logging.getLogger("gatewright.server")
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_ACCESS_FORMAT = '%a "%r" %s %b %Tf "%{X-Request-Id}o"'
DEFAULT_HEADER_TIMEOUT = 30.0


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (not available on every platform)
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _parser_error_type(exc: BaseException | None) -> str:
    """The gateway response type for a request aiohttp's parser refused."""
    if isinstance(exc, LineTooLong):
        line = exc.args[0] if exc.args else b""
        text = bytes(line) if isinstance(line, bytes | bytearray) else str(line).encode()
        # the request target is the only over-long line that starts like a URL
        if text.startswith((b"/", b"http:", b"https:", b"*")):
            return "URI_TOO_LONG"
        return "REQUEST_HEADER_FIELDS_TOO_LARGE"
    if isinstance(exc, BadHttpMessage) and "Too many headers" in str(exc):
        return "REQUEST_HEADER_FIELDS_TOO_LARGE"
    return "DEFAULT_4XX"


class _GatewayConnection(web.RequestHandler):
    """aiohttp's connection handler, answering requests its parser refuses (a header or
    URL beyond the parser's limits, malformed framing) as gateway responses: 431, 414 or
    400 with ``X-Gateway-Error-Type``, logged as one warning line instead of a traceback."""

    def __init__(
        self, manager: web.Server, *, responses: GatewayResponses, **options: Any
    ) -> None:
        super().__init__(manager, **options)
        self._responses = responses

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        response_type = _parser_error_type(exc)
        _log.warning(
            "refused a malformed request from %s (%s): %s",
            request.remote,
            response_type,
            exc if exc is not None else message,
        )
        response = self._responses.render(GatewayError(response_type))
        response.force_close()
        return response


def _connection_factory(
    server: web.Server, responses: GatewayResponses | None
) -> Callable[[], web.RequestHandler]:
    if responses is None:  # not a gateway app: aiohttp's own handler
        return server
    loop = asyncio.get_running_loop()
    # aiohttp has no public hook for the connection handler class; these are the
    # options it passes its own handler (keep-alive, parser limits, access log).
    options: dict[str, Any] = dict(server._kwargs)

    def connection() -> web.RequestHandler:
        return _GatewayConnection(server, responses=responses, loop=loop, **options)

    return connection


async def _serve_one(
    app: web.Application,
    *,
    host: str,
    port: int,
    reuse_port: bool,
    drain_timeout: float,
    access_log: bool,
    header_timeout: float,
) -> None:
    runner = web.AppRunner(
        app,
        handle_signals=False,
        # SECURITY: aiohttp closes a connection whose request head is still incomplete
        # when its keep-alive timer fires; that timer starts when the connection opens.
        keepalive_timeout=header_timeout,
        access_log=logging.getLogger("gatewright.access") if access_log else None,
        access_log_format=_ACCESS_FORMAT,
        shutdown_timeout=drain_timeout,
    )
    await runner.setup()
    server = runner.server
    if server is None:  # setup() always creates it; this keeps the type checker honest
        raise RuntimeError("the aiohttp runner has no server after setup")
    dispatch = direct_dispatch(app)
    if dispatch is not None:  # read by each connection handler as it is created
        server.request_handler = dispatch
    state = app.get(GATEWAY_STATE)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        _connection_factory(server, state.responses if state is not None else None),
        host,
        port,
        backlog=1024,
        reuse_port=reuse_port,
    )
    _log.info("gateway listening on %s:%d", host, port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        if state is not None:
            state.draining = True
        _log.info("draining: waiting up to %.1f s for in-flight requests", drain_timeout)
        # new connections are refused from here; cleanup waits for running handlers
        # (shutdown_timeout) and then closes the app (client sessions, stores).
        listener.close()
        await runner.cleanup()
        _log.info("gateway stopped")


def _run_single(
    app_factory: Callable[[], web.Application],
    *,
    host: str,
    port: int,
    reuse_port: bool,
    drain_timeout: float,
    access_log: bool,
    header_timeout: float,
) -> None:
    _install_uvloop()
    app = app_factory()
    # Everything built so far (modules, routes, validators) lives as long as the
    # process: moving it out of the collector's generations keeps each collection
    # that request garbage triggers from walking those objects again.
    gc.collect()
    gc.freeze()
    asyncio.run(
        _serve_one(
            app,
            host=host,
            port=port,
            reuse_port=reuse_port,
            drain_timeout=drain_timeout,
            access_log=access_log,
            header_timeout=header_timeout,
        )
    )


def _supervise(
    app_factory: Callable[[], web.Application],
    *,
    host: str,
    port: int,
    workers: int,
    drain_timeout: float,
    access_log: bool,
    header_timeout: float,
) -> int:
    stopping = False
    children: dict[int, float] = {}  # pid -> start time
    quick_deaths = 0

    def spawn() -> None:
        # Signals stay blocked across fork so that a child can never run the
        # supervisor's handler (which would signal its siblings) before resetting it.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            code = 0
            try:
                _run_single(
                    app_factory,
                    host=host,
                    port=port,
                    reuse_port=True,
                    drain_timeout=drain_timeout,
                    access_log=access_log,
                    header_timeout=header_timeout,
                )
            except BaseException:
                _log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = time.monotonic()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for _ in range(workers):
        spawn()
    _log.info("supervisor %d started %d workers on %s:%d", os.getpid(), workers, host, port)
    exit_code = 0
    while children:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if started is None or stopping:
            continue
        _log.error("worker %d exited (status %d); starting a replacement", pid, status)
        quick_deaths = quick_deaths + 1 if time.monotonic() - started < 2.0 else 0
        if quick_deaths >= 5:
            _log.error("workers keep dying at start-up; stopping")
            forward(signal.SIGTERM, None)
            exit_code = 1
            continue
        spawn()
    return exit_code


def serve(
    app_factory: Callable[[], web.Application],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    drain_timeout: float = 30.0,
    access_log: bool = False,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code.

    ``app_factory`` is called once per worker (after the fork), so each worker has
    its own event loop, client sessions and store connections. Start-up errors
    (``ConfigurationError``) surface before anything listens: the factory is called
    once in the parent first. ``header_timeout`` bounds how long a connection may take
    to deliver a request head (and how long an idle keep-alive connection stays open).
    """
    if header_timeout <= 0:
        raise ValueError(f"header_timeout must be positive, got {header_timeout!r}")
    if workers <= 1:
        _run_single(
            app_factory,
            host=host,
            port=port,
            reuse_port=False,
            drain_timeout=drain_timeout,
            access_log=access_log,
            header_timeout=header_timeout,
        )
        return 0
    app_factory()  # fail fast in the parent on configuration errors
    return _supervise(
        app_factory,
        host=host,
        port=port,
        workers=workers,
        drain_timeout=drain_timeout,
        access_log=access_log,
        header_timeout=header_timeout,
    )
