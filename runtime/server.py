"""Run a gateway application: one process, or N workers sharing the port.

Layer: runtime (aiohttp, uvloop when installed, stdlib).

- uvloop is used when it is importable.
- ``workers > 1`` forks N processes that each bind the port with ``SO_REUSEPORT``;
  the parent supervises them and replaces a worker that dies, unless workers keep
  dying right after they start (then it gives up and exits 1).
- SIGTERM or SIGINT: ``/readyz`` turns 503, the listener closes, in-flight requests
  get up to ``drain_timeout`` seconds to finish, then the process exits 0.
- Logs are JSON lines on stderr; an access log line per request is optional.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from aiohttp import web

from .app import GATEWAY_STATE

__all__ = ["JsonLogFormatter", "configure_logging", "serve"]

_log = logging.getLogger("gatewright.server")
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_ACCESS_FORMAT = '%a "%r" %s %b %Tf "%{X-Request-Id}o"'


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


async def _serve_one(
    app: web.Application,
    *,
    host: str,
    port: int,
    reuse_port: bool,
    drain_timeout: float,
    access_log: bool,
) -> None:
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("gatewright.access") if access_log else None,
        access_log_format=_ACCESS_FORMAT,
        shutdown_timeout=drain_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_port=reuse_port)
    await site.start()
    _log.info("gateway listening on %s:%d", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        state = app.get(GATEWAY_STATE)
        if state is not None:
            state.draining = True
        _log.info("draining: waiting up to %.1f s for in-flight requests", drain_timeout)
        # cleanup closes the listener, waits for running handlers (shutdown_timeout)
        # and then closes the app (client sessions, stores).
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
) -> None:
    _install_uvloop()
    app = app_factory()
    asyncio.run(
        _serve_one(
            app,
            host=host,
            port=port,
            reuse_port=reuse_port,
            drain_timeout=drain_timeout,
            access_log=access_log,
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
) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code.

    ``app_factory`` is called once per worker (after the fork), so each worker has
    its own event loop, client sessions and store connections. Start-up errors
    (``ConfigurationError``) surface before anything listens: the factory is called
    once in the parent first.
    """
    if workers <= 1:
        _run_single(
            app_factory,
            host=host,
            port=port,
            reuse_port=False,
            drain_timeout=drain_timeout,
            access_log=access_log,
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
    )
