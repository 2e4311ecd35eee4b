"""Fixtures for the hardening suite: the faults gateway, compiled once and run as a process.

``upstreams`` serves the fault and recording upstreams for the session; ``faults_build``
compiles ``specs/faults.yaml`` with the function handlers beside it; ``faults_gateway``
runs it (``python -m faults_gateway --stage test``) in front of those upstreams.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_support import (
    FAULT_HANDLERS,
    FaultsBuild,
    GatewayProcess,
    Upstreams,
    compile_gateway,
    refused_port,
)

HERE = Path(__file__).resolve().parent

@pytest.fixture(scope="session")
def upstreams() -> Iterator[Upstreams]:
    servers = Upstreams()
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def closed_port() -> Iterator[int]:
    sock: socket.socket = refused_port()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.fixture(scope="session")
def faults_build(tmp_path_factory: pytest.TempPathFactory) -> FaultsBuild:
    root = tmp_path_factory.mktemp("faults")
    package = compile_gateway(HERE / "specs" / "faults.yaml", root)
    (root / "fault_handlers.py").write_text(FAULT_HANDLERS)
    return FaultsBuild(root=root, package=package)


@pytest.fixture(scope="session")
def faults_gateway(
    faults_build: FaultsBuild,
    upstreams: Upstreams,
    closed_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess.module(
        faults_build.package,
        root=faults_build.root,
        env=faults_build.env(upstreams, closed_port),
        log_path=tmp_path_factory.mktemp("logs") / "faults-gateway.log",
    )
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()
