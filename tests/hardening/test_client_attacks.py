"""Hostile clients against a real gateway process: slow headers, oversized requests,
request smuggling, path traversal, header injection, bad encodings and deep JSON.

Malformed traffic goes over raw asyncio sockets (no client library would send it);
the recording upstream proves what did, and did not, reach the backend. Every test
ends by checking that the gateway still answers ``/healthz``.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import unquote

import aiohttp
import pytest
from hardening_support import FaultsBuild, GatewayProcess, Upstreams, free_port

LIMIT_HEADERS = 4096  # maxHeaderBytes in specs/faults.yaml
LIMIT_URL = 1024  # maxUrlLength
LIMIT_BODY = 65536  # maxBodyBytes


async def raw_exchange(port: int, payload: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``payload`` as is and return everything the gateway answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
            except (TimeoutError, ConnectionError):
                break
            if not chunk:
                break
            received += chunk
        return received
    finally:
        writer.transport.abort()


def statuses(answer: bytes) -> list[int]:
    """The status code of every response in ``answer`` (pipelined responses included)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def error_type(answer: bytes) -> str | None:
    for line in answer.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"x-gateway-error-type":
            return value.strip().decode()
    return None


@pytest.fixture
def recorded(upstreams: Upstreams) -> Iterator[Upstreams]:
    upstreams.clear()
    yield upstreams


# --------------------------------------------------------------------------- slow headers


@pytest.fixture(scope="module")
def short_header_timeout_gateway(
    faults_build: FaultsBuild, upstreams: Upstreams, closed_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The faults gateway served by ``gw.serve(..., header_timeout=1.0)``."""
    script = faults_build.root / "serve_short_header_timeout.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import functools, sys
            from gatewright import runtime as gw
            from {faults_build.package}.app import build_app

            gw.configure_logging("warning")
            sys.exit(gw.serve(functools.partial(build_app, "test"), host="127.0.0.1",
                              port=int(sys.argv[1]), header_timeout=1.0))
            """
        )
    )
    port = free_port()
    gateway = GatewayProcess(
        [sys.executable, str(script), str(port)],
        port=port,
        cwd=faults_build.root,
        env=faults_build.env(upstreams, closed_port),
        log_path=tmp_path_factory.mktemp("logs") / "short-timeout.log",
    )
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()


async def drip_headers(port: int, *, interval: float, limit: float) -> float:
    """Send a request head one header every ``interval`` s; return when the server hangs up."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /headers HTTP/1.1\r\nHost: slow\r\n")
        index = 0
        while time.monotonic() - started < limit:
            try:
                writer.write(f"X-Slow-{index}: x\r\n".encode())
                await writer.drain()
                data = await asyncio.wait_for(reader.read(1024), interval)
            except TimeoutError:
                index += 1
                continue
            except ConnectionError:
                return time.monotonic() - started
            if not data:
                return time.monotonic() - started
            raise AssertionError(f"the gateway answered an incomplete request head: {data!r}")
        raise AssertionError(f"the connection was still open after {limit} s")
    finally:
        writer.transport.abort()


async def test_slowloris_connection_is_closed_after_the_header_timeout(
    short_header_timeout_gateway: GatewayProcess,
) -> None:
    elapsed = await drip_headers(short_header_timeout_gateway.port, interval=0.2, limit=8.0)
    assert 0.8 <= elapsed < 4.0
    assert short_header_timeout_gateway.healthy()


async def test_slowloris_connections_do_not_starve_other_clients(faults_gateway: GatewayProcess) -> None:
    slow = [
        asyncio.ensure_future(drip_headers(faults_gateway.port, interval=0.2, limit=60.0))
        for _ in range(50)
    ]
    await asyncio.sleep(0.5)
    try:
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            for _ in range(5):
                async with session.get(f"{faults_gateway.url}/healthz") as resp:
                    assert resp.status == 200
        assert time.monotonic() - started < 3.0
    finally:
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
    assert faults_gateway.healthy()


# --------------------------------------------------------------------------- oversized requests


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({f"X-Big-{i}": "v" * 1000 for i in range(5)}, id="over-the-total"),
        pytest.param({"X-Huge": "v" * 20_000}, id="one-header-beyond-the-parser-limit"),
    ],
)
async def test_oversized_headers_answer_431(
    faults_gateway: GatewayProcess, recorded: Upstreams, headers: dict[str, str]
) -> None:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(f"{faults_gateway.url}/headers", headers=headers) as resp:
        assert resp.status == 431
        assert resp.headers.get("X-Gateway-Error-Type") == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert time.monotonic() - started < 2.0
    assert not recorded.recorded
    assert faults_gateway.healthy()


async def test_too_many_headers_answer_431(faults_gateway: GatewayProcess, recorded: Upstreams) -> None:
    head = "".join(f"X-H{i}: v\r\n" for i in range(300))
    answer = await raw_exchange(
        faults_gateway.port, f"GET /headers HTTP/1.1\r\nHost: x\r\n{head}Connection: close\r\n\r\n".encode()
    )
    assert statuses(answer) == [431]
    assert error_type(answer) == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert not recorded.recorded
    assert faults_gateway.healthy()


@pytest.mark.parametrize("length", [LIMIT_URL + 100, 20_000], ids=["over-the-limit", "beyond-the-parser-limit"])
async def test_long_url_answers_414(faults_gateway: GatewayProcess, recorded: Upstreams, length: int) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{faults_gateway.url}/files/{'a' * length}") as resp:
        assert resp.status == 414
        assert resp.headers.get("X-Gateway-Error-Type") == "URI_TOO_LONG"
    assert not recorded.recorded
    assert faults_gateway.healthy()


async def test_body_over_the_limit_answers_413(faults_gateway: GatewayProcess, recorded: Upstreams) -> None:
    body = b'{"a": "' + b"x" * LIMIT_BODY + b'"}'
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{faults_gateway.url}/echo", data=body, headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 413
            assert resp.headers.get("X-Gateway-Error-Type") == "REQUEST_TOO_LARGE"

        async def chunks() -> object:
            for start in range(0, len(body), 8192):
                yield body[start : start + 8192]

        async with session.post(
            f"{faults_gateway.url}/echo", data=chunks(), headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 413
            assert resp.headers.get("X-Gateway-Error-Type") == "REQUEST_TOO_LARGE"
    assert not recorded.recorded
    assert faults_gateway.healthy()


# --------------------------------------------------------------------------- smuggling

SMUGGLED = b"GET /files/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


def _post(headers: str, body: bytes) -> bytes:
    return f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n".encode() + body


SMUGGLING_FORMS = {
    "cl-te": _post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    "te-cl": _post("Transfer-Encoding: chunked\r\nContent-Length: 60\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-chunked-identity": _post("Transfer-Encoding: chunked, identity\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-identity": _post("Transfer-Encoding: identity\r\n", b"{}" + SMUGGLED),
    "te-obfuscated-space": _post("Transfer-Encoding : chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-obfuscated-tab": _post("Transfer-Encoding:\tchunked\r\nContent-Length: 3\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-obfuscated-value": _post("Transfer-Encoding: xchunked\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-twice": _post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "te-vertical-tab": _post("Transfer-Encoding:\x0bchunked\r\n", b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "cl-twice": _post("Content-Length: 2\r\nContent-Length: 60\r\n", b"{}" + SMUGGLED),
    "cl-plus-sign": _post("Content-Length: +2\r\n", b"{}" + SMUGGLED),
    "cl-comma-list": _post("Content-Length: 2, 60\r\n", b"{}" + SMUGGLED),
    "chunk-size-with-junk": _post("Transfer-Encoding: chunked\r\n", b"2;\x00\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "chunk-size-overflow": _post("Transfer-Encoding: chunked\r\n", b"10000000000000002\r\n{}\r\n0\r\n\r\n" + SMUGGLED),
    "bare-lf-chunk": _post("Transfer-Encoding: chunked\r\n", b"2\n{}\n0\n\n" + SMUGGLED),
}


@pytest.mark.parametrize("form", sorted(SMUGGLING_FORMS))
async def test_smuggling_forms_are_rejected_and_never_forwarded(
    faults_gateway: GatewayProcess, recorded: Upstreams, form: str
) -> None:
    answer = await raw_exchange(faults_gateway.port, SMUGGLING_FORMS[form], timeout=3.0)
    codes = statuses(answer)
    assert codes, "the gateway sent no response at all"
    assert codes[0] == 400, answer[:300]
    # Nothing ambiguous reached the backend: no smuggled request, no request that
    # carried both framings, and nothing after the rejected one on that connection.
    assert all("smuggled" not in r.raw_path for r in recorded.recorded)
    assert not recorded.recorded, [r.raw_path for r in recorded.recorded]
    assert faults_gateway.healthy()


async def test_content_length_shorter_than_the_body_frames_two_requests(
    faults_gateway: GatewayProcess, recorded: Upstreams
) -> None:
    """The bytes after Content-Length are a second, separate request, never part of the first."""
    payload = _post("Content-Length: 2\r\n", b"{}" + SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    answer = await raw_exchange(faults_gateway.port, payload)
    assert statuses(answer) == [200, 200]
    assert [(r.raw_path, r.body) for r in recorded.recorded] == [
        ("/base/echo", b"{}"),
        ("/base/files/smuggled", b""),
    ]
    for request in recorded.recorded:
        names = [name.lower() for name, _ in request.headers]
        assert "transfer-encoding" not in names or "content-length" not in names
    assert faults_gateway.healthy()


async def test_content_length_longer_than_the_body_never_reaches_the_upstream(
    faults_gateway: GatewayProcess, recorded: Upstreams
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", faults_gateway.port)
    try:
        writer.write(_post("Content-Length: 100\r\n", b'{"short": true}'))
        await writer.drain()
        writer.write_eof()  # the client promised 100 bytes and sent 15
        answer = await asyncio.wait_for(reader.read(), 5.0)
    finally:
        writer.transport.abort()
    assert statuses(answer) in ([], [400])
    assert not recorded.recorded
    assert faults_gateway.healthy()


# --------------------------------------------------------------------------- traversal and injection


@pytest.mark.parametrize(
    "raw_value",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e",
        "%2e%2e%2f%2e%2e%2fadmin",
        "..%5C..%5Cwindows",
        "a%00b",
        "%00",
        "%252e%252e%252f",
        "..%c0%af..%c0%afetc",
    ],
)
async def test_encoded_traversal_in_a_path_parameter_stays_under_the_base_path(
    faults_gateway: GatewayProcess, recorded: Upstreams, raw_value: str
) -> None:
    answer = await raw_exchange(
        faults_gateway.port, f"GET /files/{raw_value} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    codes = statuses(answer)
    if unquote(raw_value) in (".", ".."):
        # no encoding of a dot segment is safe upstream: it never matches a parameter
        assert codes == [404] and error_type(answer) == "RESOURCE_NOT_FOUND"
        assert not recorded.recorded
    else:
        assert codes == [200], answer[:300]
        [request] = recorded.recorded
        assert request.raw_path.startswith("/base/files/"), request.raw_path
        rest = request.raw_path[len("/base/files/") :]
        # exactly one segment, which decodes to exactly what the client sent
        assert ("/" not in rest and "\\" not in unquote(rest)) or "%5C" in rest.upper()
        assert unquote(rest) == unquote(raw_value)
        assert posixpath.normpath(request.raw_path) == request.raw_path
    assert faults_gateway.healthy()


@pytest.mark.parametrize(
    "raw_path",
    ["/files/../../etc/passwd", "/files/./../headers", "/files/..", "/../base/files/x"],
)
async def test_literal_dot_segments_never_escape_the_base_path(
    faults_gateway: GatewayProcess, recorded: Upstreams, raw_path: str
) -> None:
    answer = await raw_exchange(
        faults_gateway.port, f"GET {raw_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    codes = statuses(answer)
    assert codes and codes[0] < 500, answer[:300]
    for request in recorded.recorded:
        assert request.raw_path.startswith("/base/"), request.raw_path
        assert "/../" not in request.raw_path + "/" and "/./" not in request.raw_path + "/"
    assert faults_gateway.healthy()


@pytest.mark.parametrize(
    "header_block",
    [
        b"X-Note: a\rInjected: yes\r\n",
        b"X-Note: a\nInjected: yes\r\n",
        b"X-Note: a\r\n Injected: yes\r\n",
        b"X-Note: a\r\n\tInjected: yes\r\n",
        b"X-Note: a\x00Injected: yes\r\n",
    ],
    ids=["bare-cr", "bare-lf", "obs-fold-space", "obs-fold-tab", "nul"],
)
async def test_line_breaks_in_header_values_never_reach_the_upstream(
    faults_gateway: GatewayProcess, recorded: Upstreams, header_block: bytes
) -> None:
    answer = await raw_exchange(
        faults_gateway.port,
        b"GET /headers HTTP/1.1\r\nHost: x\r\n" + header_block + b"Connection: close\r\n\r\n",
    )
    codes = statuses(answer)
    assert codes and codes[0] < 500, answer[:300]
    for request in recorded.recorded:
        for name, value in request.headers:
            assert "\r" not in value and "\n" not in value and "\x00" not in value
            assert name.lower() != "injected" or value != "yes" or codes[0] == 200
    for raw in recorded.raw:
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
        assert b"\x00" not in head
    assert faults_gateway.healthy()


# --------------------------------------------------------------------------- encodings and nesting


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"name": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"name": "\xed\xa0\x80"}', id="utf8-surrogate"),
        pytest.param(b'{"name": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="deep-arrays"),
        pytest.param(b'{"a":' * 3000 + b"1" + b"}" * 3000, id="deep-objects"),
        pytest.param(b"[" * 200_00, id="deep-unclosed"),
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": 1e999999}', id="huge-number"),
        pytest.param(b"\xef\xbb\xbf{}", id="bom"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_bad_json_bodies_answer_400_never_500(
    faults_gateway: GatewayProcess, recorded: Upstreams, body: bytes
) -> None:
    async with aiohttp.ClientSession() as session, session.post(
        f"{faults_gateway.url}/echo", data=body, headers={"Content-Type": "application/json"}
    ) as resp:
        status = resp.status
        kind = resp.headers.get("X-Gateway-Error-Type")
    if status == 200:  # only syntactically valid JSON may pass (RFC 8259 allows both)
        assert body in (b'{"name": "\\ud800"}', b'{"a": 1e999999}')
        assert [r.body for r in recorded.recorded] == [body]
    else:
        assert (status, kind) == (400, "BAD_REQUEST_BODY")
        assert not recorded.recorded
    assert faults_gateway.healthy()


async def test_invalid_utf8_in_the_path_and_query_never_answers_500(
    faults_gateway: GatewayProcess, recorded: Upstreams
) -> None:
    for target in (b"/files/%ff%fe", b"/files/\xff\xfe", b"/headers?q=%ff", b"/headers?\xff=1"):
        answer = await raw_exchange(
            faults_gateway.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        codes = statuses(answer)
        assert codes and codes[0] < 500, (target, answer[:300])
    assert faults_gateway.healthy()




async def test_encoded_newline_in_a_path_parameter_is_handled_by_the_gateway(
    faults_gateway: GatewayProcess, recorded: Upstreams
) -> None:
    answer = await raw_exchange(
        faults_gateway.port, b"GET /files/a%0Ab HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert statuses(answer) == [200], answer[:300]
    assert [r.raw_path for r in recorded.recorded] == ["/base/files/a%0Ab"]
