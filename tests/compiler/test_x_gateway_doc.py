"""``docs/x-gateway.md`` keeps up with the code: every diagnostic code, every root
and operation key of the schema, and every gateway response type appears in it, and
its worked example compiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gatewright.compiler.codes import CODES
from gatewright.compiler.ir.build import KNOWN_RESPONSE_TYPES
from gatewright.compiler.pipeline import build_ir
from gatewright.compiler.validate.x_gateway import load_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "x-gateway.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text("utf-8")


def test_every_code_is_in_the_table(doc: str) -> None:
    rows = dict(re.findall(r"^\| (GW\d{3}) \| (error|warning|info) \|", doc, re.M))
    assert sorted(set(CODES) - set(rows)) == []
    assert sorted(set(rows) - set(CODES)) == []
    assert {code: info.severity_name for code, info in CODES.items()} == rows


@pytest.mark.parametrize("definition", ["root", "operationSettings", "components", "gatewayResponse", "operationLimits"])
def test_every_schema_key_is_documented(doc: str, definition: str) -> None:
    keys = load_schema()["$defs"][definition]["properties"]
    assert sorted(k for k in keys if f"`{k}`" not in doc) == []


def test_every_integration_field_is_documented(doc: str) -> None:
    for branch in load_schema()["$defs"]["integration"]["oneOf"][1:]:
        assert sorted(k for k in branch["properties"] if f"`{k}`" not in doc) == []


def test_every_gateway_response_type_is_listed(doc: str) -> None:
    assert sorted(t for t in KNOWN_RESPONSE_TYPES if f"`{t}`" not in doc) == []


def test_worked_example_compiles(doc: str, tmp_path: Path) -> None:
    (example,) = re.findall(r"```yaml\n(openapi: 3\.0\.3\n.*?)```", doc, re.S)
    spec = tmp_path / "openapi.yaml"
    spec.write_text(example, encoding="utf-8")
    api, diags = build_ir(spec)
    assert api is not None, [d.message for d in diags]
    assert not diags.warnings()
    assert [(o.method, o.path, o.integration.kind) for o in api.operations] == [
        ("GET", "/pets", "http_proxy"),
        ("GET", "/pets/{id}", "http_proxy"),
        ("GET", "/status", "mock"),
        ("POST", "/pets/{id}/adopt", "function"),
    ]
