"""Parameter parsing and checks: styles, coercion, presence, empty values, policies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from vsupport import Compiled, Request, compile_spec, operation, spec_with

VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "parameters.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())["vectors"]


def _vector_operation(index: int, vector: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # ``enum: [value]`` makes acceptance prove the parser produced exactly ``value``
    schema = copy.deepcopy(vector["schema"])
    schema["enum"] = [vector["value"]]
    param = {
        "name": "color",
        "in": vector["location"],
        "required": True,
        "style": vector["style"],
        "explode": vector["explode"],
        "schema": schema,
    }
    path = f"/v{index}/{{color}}" if vector["location"] == "path" else f"/v{index}"
    return path, {"get": operation(operation_id=f"v{index}", parameters=[param])}


def _vector_request(vector: dict[str, Any], encoded: str | None = None) -> Request:
    wire = vector["encoded"] if encoded is None else encoded
    location = vector["location"]
    if location == "path":
        return Request(path={"color": unquote(wire)})
    if location == "query":
        return Request(query=parse_qsl(wire, keep_blank_values=True))
    if location == "header":
        return Request(headers={"color": wire})
    return Request(cookies={"color": wire})


@pytest.fixture(scope="module")
def vectors_module(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    paths = dict(_vector_operation(i, v) for i, v in enumerate(VECTORS))
    return compile_spec(spec_with(paths), tmp_path_factory.mktemp("vectors"))


def test_vectors_file_documents_its_format() -> None:
    document = json.loads(VECTORS_FILE.read_text())
    assert "$comment" in document
    styles = {(v["location"], v["style"]) for v in VECTORS}
    assert styles >= {
        ("path", "simple"),
        ("path", "label"),
        ("path", "matrix"),
        ("query", "form"),
        ("query", "spaceDelimited"),
        ("query", "pipeDelimited"),
        ("query", "deepObject"),
        ("header", "simple"),
        ("cookie", "form"),
    }
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("index", range(len(VECTORS)), ids=[v["name"] for v in VECTORS])
def test_vector_parses_to_its_value(vectors_module: Compiled, index: int) -> None:
    failure = vectors_module.failure(f"v{index}", _vector_request(VECTORS[index]))
    assert failure is None, failure.message if failure else ""


def test_vectors_compile_without_unsupported_warnings(vectors_module: Compiled) -> None:
    assert [d.code for d in vectors_module.diagnostics if d.code.startswith("GW40")] == []


# --------------------------------------------------------------------------- checks


def _param(name: str, location: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": location, "schema": schema, **extra}


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    integer = {"type": "integer", "minimum": 1, "maximum": 100}
    paths: dict[str, Any] = {
        "/items/{id}": {
            "get": operation(
                operation_id="typed",
                parameters=[
                    _param("id", "path", integer, required=True),
                    _param("limit", "query", integer),
                    _param("flag", "query", {"type": "boolean"}),
                    _param("X-Trace", "header", {"type": "string", "pattern": "^[a-f0-9]+$"}),
                    _param("session", "cookie", {"type": "string", "minLength": 3}),
                    _param("ids", "query", {"type": "array", "items": integer, "maxItems": 3}),
                    _param("Accept", "header", {"type": "integer"}, required=True),
                ],
            )
        },
        "/required": {
            "get": operation(
                operation_id="required",
                parameters=[
                    _param("q", "query", {"type": "string"}, required=True),
                    _param("X-Key", "header", {"type": "string"}, required=True),
                ],
            )
        },
        "/empty": {
            "get": operation(
                operation_id="empty",
                parameters=[
                    _param("a", "query", {"type": "integer"}, allowEmptyValue=True),
                    _param("b", "query", {"type": "string"}),
                ],
            )
        },
        "/content": {
            "get": operation(
                operation_id="content",
                parameters=[
                    {
                        "name": "where",
                        "in": "query",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["x"],
                                    "properties": {"x": {"type": "integer"}},
                                }
                            }
                        },
                    }
                ],
            )
        },
        "/strict": {
            "get": operation(
                operation_id="strict",
                parameters=[
                    _param("page", "query", {"type": "integer"}),
                    _param(
                        "f",
                        "query",
                        {"type": "object", "properties": {"a": {"type": "string"}}},
                        style="deepObject",
                        explode=True,
                    ),
                ],
                x_gateway={"validation": {"unknownQuery": "reject"}},
            )
        },
        "/off": {
            "get": operation(
                operation_id="off",
                parameters=[_param("n", "query", {"type": "integer"}, required=True)],
                x_gateway={"validation": {"parameters": False}},
            )
        },
        "/unsupported": {
            "get": operation(
                operation_id="unsupported",
                parameters=[
                    _param(
                        "deep",
                        "query",
                        {"type": "array", "items": {"type": "string"}},
                        style="deepObject",
                        explode=True,
                    ),
                    _param(
                        "nested",
                        "query",
                        {"type": "array", "items": {"type": "array", "items": {}}},
                    ),
                ],
            )
        },
    }
    return compile_spec(spec_with(paths), tmp_path_factory.mktemp("checks"))


def test_path_parameter_is_coerced_and_checked(checks: Compiled) -> None:
    assert checks.accepts("typed", Request(path={"id": "7"}))
    failure = checks.failure("typed", Request(path={"id": "seven"}))
    assert failure is not None
    assert failure.pointer == "path/id"
    assert failure.message == '"path/id": expected integer'
    failure = checks.failure("typed", Request(path={"id": "0"}))
    assert failure is not None and failure.message == '"path/id": expected a number >= 1'


def test_query_integer_bounds(checks: Compiled) -> None:
    ok = {"id": "1"}
    assert checks.accepts("typed", Request(path=ok, query=[("limit", "100")]))
    assert not checks.accepts("typed", Request(path=ok, query=[("limit", "101")]))
    assert not checks.accepts("typed", Request(path=ok, query=[("limit", "1.5")]))


def test_boolean_accepts_only_true_and_false(checks: Compiled) -> None:
    ok = {"id": "1"}
    assert checks.accepts("typed", Request(path=ok, query=[("flag", "false")]))
    failure = checks.failure("typed", Request(path=ok, query=[("flag", "yes")]))
    assert failure is not None and failure.pointer == "query/flag"


def test_header_lookup_is_case_insensitive_and_pattern_is_not_echoed(checks: Compiled) -> None:
    ok = {"id": "1"}
    assert checks.accepts("typed", Request(path=ok, headers={"x-trace": "abc123"}))
    failure = checks.failure("typed", Request(path=ok, headers={"X-TRACE": "xyz"}))
    assert failure is not None
    assert failure.pointer == "header/X-Trace"
    assert "a-f0-9" not in failure.message


def test_accept_content_type_and_authorization_header_parameters_are_ignored(
    checks: Compiled,
) -> None:
    # OpenAPI: such header parameter definitions are ignored (required + integer here)
    assert checks.accepts("typed", Request(path={"id": "1"}))


def test_cookie_parameter(checks: Compiled) -> None:
    ok = {"id": "1"}
    assert checks.accepts("typed", Request(path=ok, cookies={"session": "abcd"}))
    failure = checks.failure("typed", Request(path=ok, cookies={"session": "ab"}))
    assert failure is not None and failure.pointer == "cookie/session"


def test_exploded_array_items_are_coerced_and_bounded(checks: Compiled) -> None:
    ok = {"id": "1"}
    assert checks.accepts("typed", Request(path=ok, query=[("ids", "1"), ("ids", "2")]))
    assert not checks.accepts("typed", Request(path=ok, query=[("ids", "1"), ("ids", "x")]))
    four = [("ids", str(i)) for i in range(1, 5)]
    failure = checks.failure("typed", Request(path=ok, query=four))
    assert failure is not None and failure.message == '"query/ids": expected at most 3 items'
    failure = checks.failure("typed", Request(path=ok, query=[("ids", "5"), ("ids", "500")]))
    assert failure is not None and failure.pointer == "query/ids/1"


def test_required_parameters_must_be_present(checks: Compiled) -> None:
    assert checks.accepts("required", Request(query=[("q", "x")], headers={"X-Key": "k"}))
    failure = checks.failure("required", Request(headers={"X-Key": "k"}))
    assert failure is not None
    assert failure.response_type == "BAD_REQUEST_PARAMETERS"
    assert failure.message == '"query/q": required parameter is missing'
    failure = checks.failure("required", Request(query=[("q", "x")]))
    assert failure is not None and failure.pointer == "header/X-Key"


def test_required_empty_query_value_is_rejected_without_allow_empty_value(
    checks: Compiled,
) -> None:
    assert not checks.accepts("empty", Request(query=[("b", "")]))
    assert checks.accepts("empty", Request(query=[("b", "x")]))


def test_allow_empty_value_accepts_an_empty_value_of_any_type(checks: Compiled) -> None:
    assert checks.accepts("empty", Request(query=[("a", "")]))
    assert not checks.accepts("empty", Request(query=[("a", "x")]))


def test_content_encoded_json_parameter(checks: Compiled) -> None:
    assert checks.accepts("content", Request(query=[("where", '{"x": 1}')]))
    failure = checks.failure("content", Request(query=[("where", '{"x": "1"}')]))
    assert failure is not None and failure.pointer == "query/where/x"
    failure = checks.failure("content", Request(query=[("where", "{x")]))
    assert failure is not None and failure.message == '"query/where": expected a valid JSON value'


def test_unknown_query_parameters_are_rejected_when_the_policy_says_so(checks: Compiled) -> None:
    assert checks.accepts("strict", Request(query=[("page", "1"), ("f[a]", "x")]))
    failure = checks.failure("strict", Request(query=[("page", "1"), ("pag", "2")]))
    assert failure is not None
    assert failure.message == '"query/pag": unknown query parameter'


def test_parameter_validation_can_be_switched_off(checks: Compiled) -> None:
    assert checks.plan.for_operation("off").params_function is None
    assert checks.accepts("off", Request())


def test_unsupported_serialisations_warn_and_pass_through(checks: Compiled) -> None:
    warnings = [d for d in checks.diagnostics if d.code == "GW402"]
    assert {d.origin.pointer for d in warnings} == {
        "/paths/~1unsupported/get/parameters/0",
        "/paths/~1unsupported/get/parameters/1",
    }
    assert checks.accepts("unsupported", Request(query=[("deep[x]", "1"), ("nested", "a")]))


@pytest.mark.parametrize(
    ("location", "style", "explode", "wire"),
    [
        ("path", "label", False, "blue"),
        ("path", "matrix", False, ";colour=blue"),
        ("path", "matrix", True, ";color=blue;colour=black"),
        ("path", "simple", False, "R,100,G"),
        ("path", "simple", True, "R=100,G"),
    ],
)
def test_malformed_styled_values_are_rejected(
    tmp_path: Path, location: str, style: str, explode: bool, wire: str
) -> None:
    shape = (
        {"type": "array", "items": {"type": "string"}}
        if style == "matrix" and explode
        else {"type": "object"}
        if style == "simple"
        else {"type": "string"}
    )
    param = _param("color", location, shape, required=True, style=style, explode=explode)
    spec = spec_with({"/x/{color}": {"get": operation(parameters=[param])}})
    compiled = compile_spec(spec, tmp_path)
    failure = compiled.failure("op", Request(path={"color": wire}))
    assert failure is not None and failure.pointer == "path/color"
