"""Compile specs, start gateways and backends as processes, import generated SDKs, make API keys."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from gatewright.runtime import key_store_from_url

__all__ = [
    "PETSTORE",
    "REPO",
    "PetstoreStack",
    "compile_all",
    "compile_spec",
    "create_api_key",
    "free_port",
    "gateway",
    "import_sdk",
    "imported_sdk",
    "process",
    "wait_ready",
]

REPO = Path(__file__).resolve().parents[2]
PETSTORE = REPO / "samples" / "petstore"


@dataclass
class PetstoreStack:
    """The gateway compiled from ``samples/petstore/openapi.yaml``, in front of the sample backend."""

    out: Path  # the compiler's output: gateway/ and sdk/
    base_url: str  # the gateway's URL with the API's basePath
    key_store_url: str
    _key_numbers: Iterator[int] = field(default_factory=itertools.count)

    def new_api_key(self) -> str:
        """A fresh key on the ``demo`` usage plan: its own throttle buckets and quota."""
        return create_api_key(self.key_store_url, "demo", f"e2e-{next(self._key_numbers)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compile_spec(spec: Path, out: Path, *options: str) -> None:
    """``gatewright compile SPEC -o OUT [options]`` through the real CLI; it must exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "compile", str(spec), "-o", str(out), *options],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def compile_all(spec: Path, out: Path) -> None:
    compile_spec(spec, out, "--target", "all")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''!r}"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise AssertionError(f"{url} never became ready")


@contextmanager
def process(cmd: list[str], cwd: Path, env: Mapping[str, str], ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@contextmanager
def gateway(out: Path, package: str, stage: str, env: Mapping[str, str], pythonpath: Sequence[Path] = ()) -> Iterator[str]:
    port = free_port()
    paths = [str(out / "gateway"), *(str(p) for p in pythonpath), os.environ.get("PYTHONPATH", "")]
    with process(
        [sys.executable, "-m", f"{package}_gateway", "--stage", stage, "--host", "127.0.0.1", "--port", str(port)],
        out / "gateway",
        {**env, "PYTHONPATH": os.pathsep.join(paths)},
        f"http://127.0.0.1:{port}/healthz",
    ):
        yield f"http://127.0.0.1:{port}"


def import_sdk(out: Path, package: str) -> ModuleType:
    sys.path.insert(0, str(out / "sdk"))
    try:
        return importlib.import_module(f"{package}_client")
    finally:
        sys.path.remove(str(out / "sdk"))


@contextmanager
def imported_sdk(directory: Path, package: str) -> Iterator[ModuleType]:
    """Import the SDK package ``package`` from ``directory``; forget it again on exit.

    Two SDKs generated from one API may share a package name, so each test module
    gets its own fresh import instead of whatever ``sys.modules`` already holds.
    """
    def forget() -> None:
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(package)
    finally:
        sys.path.remove(str(directory))
    try:
        yield module
    finally:
        forget()


def create_api_key(store_url: str, plan: str, name: str) -> str:
    """A new key on ``plan`` in the key store at ``store_url``; returns its secret."""

    async def create() -> str:
        store = key_store_from_url(store_url)
        try:
            secret, _record = await store.create(plan=plan, name=name)
        finally:
            await store.close()
        return secret

    return asyncio.run(create())
