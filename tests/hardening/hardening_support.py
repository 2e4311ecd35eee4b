"""Helpers for the hardening suite: compile a spec, run its gateway as a process, and
misbehaving upstreams on 127.0.0.1.

- :func:`compile_gateway` runs the in-process pipeline and writes the gateway package.
- :class:`GatewayProcess` starts ``python -m <pkg>_gateway`` (or a script) on a free
  loopback port, waits for ``/healthz``, and reads the process's RSS and open fds.
- :class:`Upstreams` runs, on its own event loop in a background thread, a *fault*
  upstream (raw sockets: it hangs, resets, truncates, drips and sends broken HTTP on
  purpose) and a *recording* upstream (aiohttp) that keeps every request it received,
  with the raw bytes of its connections, so tests can prove what reached a backend.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from gatewright.compiler.pipeline import compile_to_tree

__all__ = [
    "BULK_BYTES",
    "FAULT_HANDLERS",
    "FaultsBuild",
    "GatewayProcess",
    "RecordedRequest",
    "Upstreams",
    "compile_gateway",
    "free_port",
    "refused_port",
]

T = TypeVar("T")

BULK_BYTES = 100 * 1024 * 1024
_BULK_CHUNK = b"x" * (1024 * 1024)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_port() -> socket.socket:
    """A bound socket that never listens: connecting to its port is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def compile_gateway(spec: Path, out: Path) -> str:
    """Compile ``spec`` (gateway target) into ``out``; returns the gateway package name."""
    result = compile_to_tree(spec, ("gateway",))
    errors = [f"{d.code} {d.origin}: {d.message}" for d in result.diags.errors()]
    if errors or not result.tree:
        raise AssertionError(f"{spec} does not compile: {errors}")
    package = ""
    for rel, text in result.tree.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if rel.name == "__main__.py":
            package = rel.parent.name
    return package


# --------------------------------------------------------------------------- gateway process


class GatewayProcess:
    """A gateway running as its own process on 127.0.0.1."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT
        )

    @classmethod
    def module(
        cls, package: str, *, root: Path, env: Mapping[str, str], log_path: Path, extra: Sequence[str] = ()
    ) -> GatewayProcess:
        port = free_port()
        argv = [sys.executable, "-m", package, "--stage", "test", "--host", "127.0.0.1"]
        argv += ["--port", str(port), *extra]
        return cls(argv, port=port, cwd=root, env=env, log_path=log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited with {self.process.returncode}:\n{self.log()}")
            if self.healthy(timeout=0.5):
                return
            time.sleep(0.05)
        raise AssertionError(f"gateway did not become healthy:\n{self.log()}")

    def healthy(self, timeout: float = 5.0) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=timeout) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


# --------------------------------------------------------------------------- upstreams


@dataclass(slots=True)
class RecordedRequest:
    method: str
    raw_path: str
    headers: list[tuple[str, str]]
    body: bytes


class _Tap(asyncio.Protocol):
    """Sits in front of aiohttp's request handler and keeps the raw bytes it is fed."""

    def __init__(self, inner: asyncio.Protocol, sink: list[bytearray]) -> None:
        self.inner = inner
        self.sink = sink
        self.seen = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sink.append(self.seen)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.seen += data
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class Upstreams:
    """The fault upstream and the recording upstream, served from a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="upstreams", daemon=True)
        self.recorded: list[RecordedRequest] = []
        self.raw: list[bytearray] = []  # the bytes of every connection to the recording upstream
        self.fault_port = 0
        self.record_port = 0
        self._servers: list[asyncio.AbstractServer] = []
        self._runner: web.AppRunner | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def fault_url(self) -> str:
        return f"http://127.0.0.1:{self.fault_port}"

    @property
    def record_url(self) -> str:
        return f"http://127.0.0.1:{self.record_port}"

    def call(self, factory: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_as_coroutine(factory), self.loop)
        return future.result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start)

    def stop(self) -> None:
        self.call(self._stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def clear(self) -> None:
        self.recorded.clear()
        self.raw.clear()

    async def _start(self) -> None:
        fault = await asyncio.start_server(self._fault, "127.0.0.1", 0)
        self.fault_port = fault.sockets[0].getsockname()[1]
        self._servers.append(fault)

        app = web.Application(client_max_size=1024 * 1024)
        # DOTALL: a path with a decoded newline (%0A) is recorded too, not answered 404
        app.router.add_route("*", "/{tail:(?s:.*)}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        raw = self.raw
        record = await asyncio.get_running_loop().create_server(
            lambda: _Tap(server(), raw), "127.0.0.1", 0
        )
        self.record_port = record.sockets[0].getsockname()[1]
        self._servers.append(record)

    async def _stop(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        for server in self._servers:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.recorded.append(
            RecordedRequest(
                method=request.method,
                raw_path=request.raw_path,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
                body=body,
            )
        )
        return web.json_response({"path": request.raw_path, "size": len(body)})

    async def _fault(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answers ``GET /fault/<name>`` with the misbehaviour ``<name>`` names."""
        self._open.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode("latin-1")
            name = target.rsplit("/", 1)[-1].partition("?")[0]
            await _FAULTS.get(name, _fault_ok)(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._open.discard(writer)
            if not writer.transport.is_closing():
                writer.transport.abort()


async def _as_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def _abort_with_reset(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0: closing sends a TCP RST instead of an orderly FIN
    sock: Any = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


async def _fault_ok(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    await writer.drain()


async def _fault_hang(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def _fault_reset(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    await writer.drain()
    await asyncio.sleep(0.05)
    _abort_with_reset(writer)


async def _fault_reset_streaming(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"a" * 300_000)
    await writer.drain()
    await asyncio.sleep(0.05)
    _abort_with_reset(writer)


async def _fault_truncated_chunked(writer: asyncio.StreamWriter) -> None:
    # one whole chunk, then half of the next one, then the connection ends
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n400\r\nonly part of it"
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()


async def _fault_truncated_chunked_early(writer: asyncio.StreamWriter) -> None:
    # the connection ends after the chunk-size line of the first chunk: no body byte was sent
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()


async def _fault_malformed(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 2OO Fine\r\nthis is not a header\r\n\r\n{}")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()


async def _fault_garbage(writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\xfe garbage, not HTTP at all\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()


async def _fault_drip(writer: asyncio.StreamWriter) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)


async def _fault_drip_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        writer.write(b"z")
        await writer.drain()
        await asyncio.sleep(1.0)


async def _fault_slow(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(1.0)
    await _fault_ok(writer)


async def _fault_bulk(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + f"Content-Length: {BULK_BYTES}\r\nConnection: close\r\n\r\n".encode()
    )
    for _ in range(BULK_BYTES // len(_BULK_CHUNK)):
        writer.write(_BULK_CHUNK)
        await writer.drain()


_FAULTS: dict[str, Callable[[asyncio.StreamWriter], Awaitable[None]]] = {
    "ok": _fault_ok,
    "hang": _fault_hang,
    "reset": _fault_reset,
    "reset-streaming": _fault_reset_streaming,
    "truncated-chunked": _fault_truncated_chunked,
    "truncated-chunked-early": _fault_truncated_chunked_early,
    "malformed": _fault_malformed,
    "garbage": _fault_garbage,
    "drip": _fault_drip,
    "drip-body": _fault_drip_body,
    "bulk": _fault_bulk,
    "slow": _fault_slow,
}


# --------------------------------------------------------------------------- the faults gateway

FAULT_HANDLERS = textwrap.dedent(
    '''
    """Function integrations that fail in every way a handler can."""
    import asyncio


    def raise_error(event, context):
        raise RuntimeError("the handler failed")


    MALFORMED = {
        "not-a-dict": "just a string",
        "none": None,
        "bad-status": {"statusCode": 999},
        "status-text": {"statusCode": "teapot"},
        "bad-headers": {"statusCode": 200, "headers": ["X-A", "b"]},
        "crlf-header": {"statusCode": 200, "headers": {"X-A": "a\\r\\nInjected: yes"}},
        "bad-body": {"statusCode": 200, "body": {"an": "object"}},
        "bad-base64": {"statusCode": 200, "body": "!!!", "isBase64Encoded": True},
        "bad-flag": {"statusCode": 200, "body": "x", "isBase64Encoded": "yes"},
        "unserialisable": {"statusCode": 200, "body": object()},
    }


    def malformed(event, context):
        return MALFORMED[event["pathParameters"]["kind"]]


    async def slow(event, context):
        await asyncio.sleep(30)
        return {"statusCode": 200}
    '''
)


@dataclass(frozen=True, slots=True)
class FaultsBuild:
    root: Path  # the folder holding the generated package and the handlers module
    package: str

    def env(self, upstreams: Upstreams, closed_port: int) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")])
        env["FAULT_URL"] = upstreams.fault_url
        env["RECORD_URL"] = upstreams.record_url
        env["CLOSED_URL"] = f"http://127.0.0.1:{closed_port}"
        return env
