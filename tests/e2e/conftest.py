"""The petstore sample running for real: its backend and its compiled gateway as processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from .support import PETSTORE, REPO, PetstoreStack, compile_all, free_port, gateway, process

__all__ = ["petstore_stack"]


@pytest.fixture(scope="session")
def petstore_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PetstoreStack]:
    out = tmp_path_factory.mktemp("petstore")
    compile_all(PETSTORE / "openapi.yaml", out)
    key_store_url = f"sqlite:///{out / 'keys.db'}"
    backend_port = free_port()
    backend_url = f"http://127.0.0.1:{backend_port}"
    with (
        process([sys.executable, str(PETSTORE / "backend.py"), "--port", str(backend_port)], REPO, {}, f"{backend_url}/pets"),
        # stage prod takes the backend URL from PETS_URL; the function handler lives in the sample
        gateway(out, "petstore", "prod", {"PETS_URL": backend_url, "GATEWRIGHT_KEY_STORE": key_store_url}, [PETSTORE]) as url,
    ):
        yield PetstoreStack(out=out, base_url=f"{url}/v1", key_store_url=key_store_url)
