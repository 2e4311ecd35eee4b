"""The petstore sample's exported public document, and an SDK generated from it alone.

``gatewright export`` must give a valid OpenAPI document with no ``x-gateway`` in it;
an SDK compiled from that document (what an API's clients would do) must then drive
the real gateway, compiled from the original spec, through every operation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator
from ruamel.yaml import YAML

from .petstore_scenario import ClientKind, spec_operations, walk_every_operation
from .support import PETSTORE, REPO, PetstoreStack, compile_spec, imported_sdk

# a name of its own, so it never shadows the SDK compiled from the original spec
PACKAGE = "petstore_public"


def _gateway_keys(node: Any, here: str = "") -> list[str]:
    """JSON pointers of every ``x-gateway*`` key under ``node``."""
    if isinstance(node, dict):
        found = [f"{here}/{k}" for k in node if str(k).startswith("x-gateway")]
        return found + [p for k, v in node.items() for p in _gateway_keys(v, f"{here}/{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _gateway_keys(v, f"{here}/{i}")]
    return []


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "exported.json"
    result = subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "export", str(PETSTORE / "openapi.yaml"), "--stage", "dev", "-o", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def document(exported: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(exported.read_text("utf-8"))
    return loaded


@pytest.fixture(scope="module")
def sdk_project(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export-sdk")
    compile_spec(exported, out, "--target", "sdk", "--name", PACKAGE)
    return out


@pytest.fixture(scope="module")
def sdk(sdk_project: Path) -> Iterator[ModuleType]:
    with imported_sdk(sdk_project, f"{PACKAGE}_client") as module:
        yield module


def test_exported_document_is_valid_openapi(document: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_exported_document_has_no_x_gateway(document: dict[str, Any], exported: Path) -> None:
    assert _gateway_keys(document) == []
    assert "x-gateway" not in exported.read_text("utf-8")


def test_exported_document_keeps_every_operation(document: dict[str, Any]) -> None:
    source: Any = YAML(typ="safe").load(PETSTORE / "openapi.yaml")
    assert spec_operations(document) == spec_operations(source)


def test_exported_document_tells_clients_about_429_and_retry_after(document: dict[str, Any]) -> None:
    # every petstore operation needs an API key on the demo usage plan, which throttles
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            response = op["responses"].get("429")
            assert response is not None, f"{method.upper()} {path} does not document 429"
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            assert "Retry-After" in response.get("headers", {}), f"{method.upper()} {path}: 429 without Retry-After"


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_sdk_from_the_export_drives_every_operation(
    kind: ClientKind, sdk: ModuleType, document: dict[str, Any], petstore_stack: PetstoreStack
) -> None:
    operations = spec_operations(document)
    called = walk_every_operation(sdk, kind, petstore_stack.base_url, petstore_stack.new_api_key(), operations)
    assert called == set(operations), f"operations the walk does not call: {sorted(set(operations) - called)}"


def test_sdk_from_the_export_is_clean_under_mypy_strict(sdk_project: Path) -> None:
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "-p", f"{PACKAGE}_client"]
    result = subprocess.run(command, cwd=sdk_project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]
