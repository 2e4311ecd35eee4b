"""Compile a spec with both targets, start the gateway as a process, import the SDK."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compile_all(spec: Path, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "compile", str(spec), "-o", str(out), "--target", "all"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


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
def gateway(out: Path, package: str, stage: str, env: Mapping[str, str], pythonpath: list[Path] = ()) -> Iterator[str]:  # type: ignore[assignment]
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
