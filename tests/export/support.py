"""Helpers for the export tests: compile a spec text to its exported document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.export import export_document
from gatewright.compiler.ir.build import build_api
from gatewright.compiler.ir.nodes import Api
from gatewright.compiler.pipeline import load_and_validate
from gatewright.compiler.source.loading import LoadedSpec
from openapi_spec_validator.validation.validators import (
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)

__all__ = ["build", "dumps", "export_text", "gateway_keys", "validation_errors"]


def build(path: Path) -> tuple[LoadedSpec, Api]:
    diags = Diagnostics()
    spec = load_and_validate(path, diags)
    assert spec is not None, [d.message for d in diags.errors()]
    api = build_api(spec, diags)
    assert api is not None, [d.message for d in diags.errors()]
    return spec, api


def export_text(tmp_path: Path, text: str, *, stage: str | None = None, server_url: str | None = None) -> dict[str, Any]:
    """Write ``text`` as a spec, export it, and check the result is valid OpenAPI."""
    path = tmp_path / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    spec, api = build(path)
    document: dict[str, Any] = export_document(spec, api, stage=stage, server_url=server_url)
    errors = validation_errors(document)
    assert not errors, errors
    return document


def validation_errors(document: dict[str, Any]) -> list[str]:
    version = str(document.get("openapi", ""))
    cls = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    return [f"{list(getattr(e, 'absolute_path', []))}: {str(e).splitlines()[0]}" for e in cls(document).iter_errors()]


def gateway_keys(node: Any, path: str = "") -> list[str]:
    """Where ``x-gateway`` or ``x-amazon-apigateway-*`` keys remain (JSON paths)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            if key == "x-gateway" or key.startswith("x-amazon-apigateway-"):
                found.append(here)
            found.extend(gateway_keys(value, here))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(gateway_keys(item, f"{path}/{i}"))
    return found


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=False)
