"""Regression tests for defects the compiler fuzzer found, one per root cause."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.pipeline import compile_to_tree


def compile_doc(tmp_path: Path, doc: dict[str, Any]) -> Any:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(doc))
    return compile_to_tree(spec, ("gateway", "sdk"))


def minimal(paths: dict[str, Any], openapi: str = "3.0.3") -> dict[str, Any]:
    return {"openapi": openapi, "info": {"title": "t", "version": "1"}, "paths": paths}


def test_malformed_31_schema_keyword_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    """openapi-spec-validator does not check 3.1 Schema Objects against the meta-schema;
    ``required: [{}]`` used to reach the IR builder and crash it (TypeError)."""
    schema = {"type": "object", "required": [{"a": 1}], "properties": {"x": {"type": 3}}}
    doc = minimal(
        {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}}}},
        "3.1.0",
    )
    result = compile_doc(tmp_path, doc)
    assert not result.tree
    messages = [(d.code, d.origin.pointer) for d in result.diags.errors()]
    pointer = "/paths/~1a/get/responses/200/content/application~1json/schema"
    assert ("GW200", pointer + "/required/0") in messages
    assert ("GW200", pointer + "/properties/x/type") in messages


@pytest.mark.parametrize("value", ["", {}, 3])
def test_errors_found_before_the_validator_crashes_still_count(tmp_path: Path, value: object) -> None:
    """The validator's semantic checks crash on ``parameters: ""`` after its schema check
    already refused it; the refusal used to be dropped with the crash, and the export
    then failed (AttributeError) on the accepted document."""
    doc = minimal({"/a/{x}": {"post": {"parameters": value, "responses": {"200": {"description": "ok"}}}}})
    result = compile_doc(tmp_path, doc)
    assert not result.tree
    assert any(d.code == "GW200" and d.origin.pointer == "/paths/~1a~1{x}/post/parameters" for d in result.diags.errors())


def test_schema_reaching_itself_through_all_of_compiles(tmp_path: Path) -> None:
    """``A: {allOf: [$ref: A]}`` sent the validation planner into endless recursion."""
    doc = minimal(
        {
            "/a": {
                "get": {
                    "parameters": [{"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/A"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    doc["components"] = {"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}}}
    result = compile_doc(tmp_path, doc)
    assert not result.diags.has_errors, [d.message for d in result.diags.errors()]
    for rel, text in result.tree.items():
        if rel.suffix == ".py":
            ast.parse(text)


def test_missing_required_field_is_worded_the_same_whatever_the_validator_quotes(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": {"responses": {"200": {"description": "ok"}}}}})
    del doc["info"]
    result = compile_doc(tmp_path, doc)
    assert "missing field: 'info' is a required property" in [d.message for d in result.diags.errors()]


def test_long_operation_id_with_a_structured_mock_body_imports(tmp_path: Path) -> None:
    op_id = "operation_" + "x" * 90
    doc = minimal(
        {
            "/a": {
                "get": {
                    "operationId": op_id,
                    "x-gateway": {"integration": {"type": "mock", "body": {"ok": True}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    result = compile_doc(tmp_path, doc)
    routes = next(text for rel, text in result.tree.items() if rel.name == "routes.py")
    tree = ast.parse(routes)
    keys = [
        node.slice
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "MOCK_BODIES"
    ]
    assert keys and all(isinstance(key, ast.Constant) for key in keys)


@pytest.mark.parametrize("openapi", ["3.0.3", "3.1.0"])
def test_any_method_operation_is_validated_like_an_operation(tmp_path: Path, openapi: str) -> None:
    """AWS ``x-amazon-apigateway-any-method`` is routed as an operation but skipped by the
    OpenAPI validator as a vendor extension; ``parameters: {...}`` there crashed the export."""
    doc = minimal({"/{proxy+}": {"x-amazon-apigateway-any-method": {"parameters": {"a": {"b": 1}}}}}, openapi)
    result = compile_doc(tmp_path, doc)
    assert not result.tree
    pointer = "/paths/~1{proxy+}/x-amazon-apigateway-any-method/parameters"
    assert any(d.code == "GW200" and d.origin.pointer == pointer for d in result.diags.errors())


def test_any_method_operation_without_responses_is_accepted_as_aws_does(tmp_path: Path) -> None:
    proxy = {"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}
    doc = minimal({"/{proxy+}": {"x-amazon-apigateway-any-method": {"parameters": [proxy]}}})
    result = compile_doc(tmp_path, doc)
    assert not result.diags.has_errors, [d.message for d in result.diags.errors()]
