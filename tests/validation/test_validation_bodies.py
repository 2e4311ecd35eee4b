"""JSON Schema constructs in request bodies, one small operation per construct."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vsupport import Compiled, Request, compile_spec, operation, spec_with

UNSET = object()

# construct -> body schema (OpenAPI 3.0 unless the name ends in "_31")
SCHEMAS_30: dict[str, Any] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "nullable": {"type": "string", "nullable": True},
    "enum": {"type": "string", "enum": ["cat", "dog"]},
    "enum_mixed": {"enum": [1, "1", None, [1], {"a": 1}]},
    "lengths": {"type": "string", "minLength": 2, "maxLength": 3},
    "pattern": {"type": "string", "pattern": "^[A-Z]{2}-\\d+$"},
    "bad_pattern": {"type": "string", "pattern": "(?<!x|yy)a"},
    "bounds": {"type": "number", "minimum": 1, "maximum": 10},
    "exclusive": {
        "type": "number",
        "minimum": 1,
        "exclusiveMinimum": True,
        "maximum": 10,
        "exclusiveMaximum": True,
    },
    "multiple": {"type": "number", "multipleOf": 0.5},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "date_time": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "uuid": {"type": "string", "format": "uuid"},
    "email": {"type": "string", "format": "email"},
    "ipv4": {"type": "string", "format": "ipv4"},
    "ipv6": {"type": "string", "format": "ipv6"},
    "uri": {"type": "string", "format": "uri"},
    "byte": {"type": "string", "format": "byte"},
    "unknown_format": {"type": "string", "format": "x-colour"},
    "array": {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 3,
        "uniqueItems": True,
    },
    "unique": {"type": "array", "uniqueItems": True},
    "object": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "additionalProperties": False,
    },
    "additional_schema": {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
    },
    "property_counts": {"type": "object", "minProperties": 1, "maxProperties": 2},
    "all_of": {
        "allOf": [
            {"type": "object", "required": ["a"]},
            {"type": "object", "required": ["b"]},
        ]
    },
    "one_of": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5}]},
    "any_of": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "not": {"not": {"type": "string"}},
    "ref_recursive": {"$ref": "#/components/schemas/Node"},
    "read_only": {"$ref": "#/components/schemas/Account"},
    "discriminator": {
        "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
        "discriminator": {"propertyName": "kind"},
    },
    "hostile": {
        "type": "object",
        "required": ['a"b', "c\\d", '"""\nimport os'],
        "properties": {"x'y": {"type": "string", "pattern": "^'\"\\\\$"}},
    },
}

SCHEMAS_31: dict[str, Any] = {
    "type_array": {"type": ["integer", "null"]},
    "const": {"const": {"a": [1, 2]}},
    "prefix_items": {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "items": {"type": "boolean"},
    },
    "exclusive_numbers": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "pattern_properties": {
        "type": "object",
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    },
    "float_integer": {"type": "integer"},
}

COMPONENTS_30: dict[str, Any] = {
    "Node": {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    },
    "Account": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string", "readOnly": True}, "name": {"type": "string"}},
    },
    "Cat": {
        "type": "object",
        "required": ["kind", "meows"],
        "properties": {"kind": {"type": "string"}, "meows": {"type": "boolean"}},
    },
    "Dog": {
        "type": "object",
        "required": ["kind", "barks"],
        "properties": {"kind": {"type": "string"}, "barks": {"type": "integer"}},
    },
}


def _paths(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        f"/{name}": {"post": operation(operation_id=name, body=schema)}
        for name, schema in schemas.items()
    }


@pytest.fixture(scope="module")
def v30(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    paths = _paths(SCHEMAS_30)
    paths["/optional"] = {
        "post": operation(operation_id="optional", body={"type": "object"}, body_required=False)
    }
    paths["/xml"] = {
        "post": operation(operation_id="xml", body={"type": "object"}, media_type="application/xml")
    }
    paths["/binary"] = {
        "post": operation(
            operation_id="binary",
            body={"type": "string", "format": "binary"},
            media_type="application/octet-stream",
        )
    }
    paths["/vendor"] = {
        "post": operation(
            operation_id="vendor", body={"type": "array"}, media_type="application/vnd.api+json"
        )
    }
    paths["/form"] = {
        "post": operation(
            operation_id="form",
            body={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "integer"}},
                },
            },
            media_type="application/x-www-form-urlencoded",
        )
    }
    paths["/off"] = {
        "post": operation(
            operation_id="off",
            body={"type": "integer"},
            x_gateway={"validation": {"body": False}},
        )
    }
    spec = spec_with(paths, schemas=COMPONENTS_30)
    return compile_spec(spec, tmp_path_factory.mktemp("v30"))


@pytest.fixture(scope="module")
def v31(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    spec = spec_with(_paths(SCHEMAS_31), version="3.1.0")
    return compile_spec(spec, tmp_path_factory.mktemp("v31"))


CASES_30: list[Any] = [
    ("integer", 3, True),
    ("integer", 3.0, False),  # OpenAPI 3.0 (draft 4): 3.0 is a number, not an integer
    ("integer", True, False),
    ("integer", "3", False),
    ("number", 3, True),
    ("number", 2.5, True),
    ("number", False, False),
    ("nullable", None, True),
    ("nullable", "x", True),
    ("nullable", 1, False),
    ("enum", "cat", True),
    ("enum", "cow", False),
    ("enum", ["cat"], False),
    ("enum_mixed", 1, True),
    ("enum_mixed", 1.0, True),
    ("enum_mixed", True, False),
    ("enum_mixed", [1], True),
    ("enum_mixed", {"a": 1}, True),
    ("enum_mixed", {"a": True}, False),
    ("enum_mixed", None, True),
    ("lengths", "ab", True),
    ("lengths", "a", False),
    ("lengths", "abcd", False),
    ("lengths", "\U0001f600\U0001f600", True),  # code points, not UTF-16 units
    ("pattern", "AB-12", True),
    ("pattern", "xAB-12", False),
    ("bad_pattern", "anything", True),  # GW401: not enforced
    ("bounds", 1, True),
    ("bounds", 10, True),
    ("bounds", 0.99, False),
    ("bounds", 10.5, False),
    ("exclusive", 1, False),
    ("exclusive", 1.01, True),
    ("exclusive", 10, False),
    ("multiple", 2.5, True),
    ("multiple", 2.25, False),
    ("int32", 2**31 - 1, True),
    ("int32", 2**31, False),
    ("int32", -(2**31), True),
    ("int64", 2**63, False),
    ("date_time", "2024-02-29T12:30:00Z", True),
    ("date_time", "2024-02-29t12:30:00.123+05:30", True),
    ("date_time", "2023-02-29T12:30:00Z", False),
    ("date_time", "2024-02-29T12:30:00", False),
    ("date", "2024-12-31", True),
    ("date", "2024-13-01", False),
    ("time", "23:59:59.5-01:00", True),
    ("time", "24:00:00Z", False),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", True),
    ("uuid", "123e4567e89b12d3a456426614174000", False),
    ("email", "a@b.example", True),
    ("email", "not-an-email", False),
    ("ipv4", "192.168.0.1", True),
    ("ipv4", "256.1.1.1", False),
    ("ipv6", "::1", True),
    ("ipv6", "1::2::3", False),
    ("uri", "https://example.com/x?y#z", True),
    ("uri", "/relative/path", False),
    ("byte", "aGVsbG8=", True),
    ("byte", "not base64!", False),
    ("unknown_format", "anything", True),
    ("array", [1, 2, 3], True),
    ("array", [], False),
    ("array", [1, 2, 3, 4], False),
    ("array", [1, 1], False),
    ("unique", [1, True, "1", [1], {"a": 1}], True),  # JSON: true is not 1
    ("unique", [1, 1.0], False),
    ("unique", [{"a": [1]}, {"a": [1]}], False),
    ("array", [1, "2"], False),
    ("object", {"name": "x", "age": 0}, True),
    ("object", {"age": 3}, False),
    ("object", {"name": "x", "age": -1}, False),
    ("object", {"name": "x", "other": 1}, False),
    ("object", [], False),
    ("additional_schema", {"id": "a", "n": 1}, True),
    ("additional_schema", {"id": "a", "n": "1"}, False),
    ("property_counts", {"a": 1}, True),
    ("property_counts", {}, False),
    ("property_counts", {"a": 1, "b": 2, "c": 3}, False),
    ("all_of", {"a": 1, "b": 2}, True),
    ("all_of", {"a": 1}, False),  # "b" is required by a branch that has no properties
    ("one_of", 3, True),
    ("one_of", 5.5, True),
    ("one_of", 6, False),  # both alternatives match
    ("one_of", 2.5, False),  # none matches
    ("any_of", "x", True),
    ("any_of", 1, True),
    ("any_of", 1.5, False),
    ("not", 1, True),
    ("not", "x", False),
    ("ref_recursive", {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}, True),
    ("ref_recursive", {"value": 1, "children": [{"value": 2, "children": [{}]}]}, False),
    ("read_only", {"name": "x"}, True),
    ("read_only", {"id": "1"}, False),
    ("discriminator", {"kind": "Cat", "meows": True}, True),
    ("discriminator", {"kind": "Dog", "barks": 3}, True),
    ("discriminator", {"kind": "Dog", "meows": True}, False),
    ("discriminator", {"kind": "Bird"}, False),
    ("hostile", {'a"b': 1, "c\\d": 2, '"""\nimport os': 3}, True),
    ("hostile", {'a"b': 1, "c\\d": 2}, False),
    ("hostile", {'a"b': 1, "c\\d": 2, '"""\nimport os': 3, "x'y": "'\"\\"}, True),
    ("hostile", {'a"b': 1, "c\\d": 2, '"""\nimport os': 3, "x'y": "nope"}, False),
]

CASES_31: list[tuple[str, Any, bool]] = [
    ("type_array", 1, True),
    ("type_array", None, True),
    ("type_array", "1", False),
    ("const", {"a": [1, 2]}, True),
    ("const", {"a": [1.0, 2]}, True),
    ("const", {"a": [1, 2], "b": 0}, False),
    ("prefix_items", ["a", 1, True, False], True),
    ("prefix_items", ["a"], True),
    ("prefix_items", [1, 1], False),
    ("prefix_items", ["a", 1, 2], False),
    ("exclusive_numbers", 0.5, True),
    ("exclusive_numbers", 0, False),
    ("exclusive_numbers", 1, False),
    ("pattern_properties", {"x-a": 1}, True),
    ("pattern_properties", {"x-a": "1"}, False),
    ("pattern_properties", {"y": 1}, False),
    ("float_integer", 3.0, True),  # 2020-12: 3.0 is an integer
    ("float_integer", 3.5, False),
]


@pytest.mark.parametrize(("construct", "document", "accepted"), CASES_30)
def test_openapi_30_construct(v30: Compiled, construct: str, document: Any, accepted: bool) -> None:
    failure = v30.failure(construct, Request.json(document))
    assert (failure is None) == accepted, failure.message if failure else "accepted"


@pytest.mark.parametrize(("construct", "document", "accepted"), CASES_31)
def test_openapi_31_construct(v31: Compiled, construct: str, document: Any, accepted: bool) -> None:
    failure = v31.failure(construct, Request.json(document))
    assert (failure is None) == accepted, failure.message if failure else "accepted"


def test_failure_names_the_field_and_what_was_expected(v30: Compiled) -> None:
    failure = v30.failure("object", Request.json({"name": "x", "age": "old"}))
    assert failure is not None
    assert failure.response_type == "BAD_REQUEST_BODY"
    assert failure.pointer == "/age"
    assert failure.message == '"/age": expected integer, got string'
    assert failure.detail == {"pointer": "/age"}


def test_pointers_reach_through_arrays_and_models(v30: Compiled) -> None:
    document = {"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": "x"}]}]}
    failure = v30.failure("ref_recursive", Request.json(document))
    assert failure is not None and failure.pointer == "/children/1/children/0/value"


def test_pointer_tokens_are_escaped(v30: Compiled) -> None:
    failure = v30.failure("additional_schema", Request.json({"a/b~c": "x"}))
    assert failure is not None and failure.pointer == "/a~1b~0c"


def test_messages_never_echo_patterns_or_enums(v30: Compiled) -> None:
    pattern = v30.failure("pattern", Request.json("nope"))
    enum = v30.failure("enum", Request.json("cow"))
    assert pattern is not None and enum is not None
    assert "A-Z" not in pattern.message and "cat" not in enum.message


def test_unenforceable_pattern_is_reported(v30: Compiled) -> None:
    codes = [(d.code, d.origin.pointer) for d in v30.diagnostics if d.code == "GW401"]
    assert codes == [
        ("GW401", "/paths/~1bad_pattern/post/requestBody/content/application~1json/schema/pattern")
    ]


def test_invalid_json_is_a_body_failure(v30: Compiled) -> None:
    failure = v30.failure("object", Request(body=b'{"name": '))
    assert failure is not None
    assert failure.pointer == ""
    assert failure.message == "request body: expected a valid JSON document"
    assert not v30.accepts("number", Request(body=b"NaN"))


def test_nesting_limit(v30: Compiled) -> None:
    shallow = b"[" * 64 + b"]" * 64
    deep = b"[" * 65 + b"]" * 65
    very_deep = b"[" * 100_000 + b"]" * 100_000
    assert v30.accepts("not", Request(body=shallow))
    for body in (deep, very_deep):
        failure = v30.failure("not", Request(body=body))
        assert failure is not None and "nesting" in failure.message


def test_required_body_must_be_present(v30: Compiled) -> None:
    failure = v30.failure("object", Request(body=b""))
    assert failure is not None and failure.message == "request body: a request body is required"
    assert v30.accepts("optional", Request(body=b""))
    assert not v30.accepts("optional", Request(body=b"[]"))


def test_media_types_that_are_not_validated_have_no_body_function(v30: Compiled) -> None:
    assert v30.plan.for_operation("xml").body_function is None
    assert v30.plan.for_operation("binary").body_function is None
    assert v30.plan.for_operation("off").body_function is None
    warned = {d.origin.pointer for d in v30.diagnostics if d.code == "GW405"}
    assert warned == {"/paths/~1xml/post/requestBody/content/application~1xml"}


def test_structured_json_media_types_are_validated(v30: Compiled) -> None:
    json_api = "application/vnd.api+json; charset=utf-8"
    assert v30.accepts("vendor", Request(body=b"[]", content_type=json_api))
    assert not v30.accepts("vendor", Request(body=b"{}", content_type=json_api))


def test_other_content_types_pass_through_the_body_function(v30: Compiled) -> None:
    # content negotiation (415) belongs to the gateway; the body function ignores them
    assert v30.accepts("object", Request(body=b"<x/>", content_type="application/xml"))


def test_form_bodies_are_validated_as_objects(v30: Compiled) -> None:
    form = "application/x-www-form-urlencoded"
    assert v30.accepts("form", Request(body=b"name=a&age=3&tags=1&tags=2", content_type=form))
    assert not v30.accepts("form", Request(body=b"age=3", content_type=form))
    failure = v30.failure("form", Request(body=b"name=a&tags=1&tags=x", content_type=form))
    assert failure is not None and failure.pointer == "/tags"
    failure = v30.failure("form", Request(body=b"name=a&age=x", content_type=form))
    assert failure is not None and failure.pointer == "/age"


def test_generated_module_defines_one_function_per_model(v30: Compiled) -> None:
    for model in ("Node", "Cat", "Dog", "Account"):
        assert v30.source.count(f"def _check_model_{model}(") == 1


def test_body_failure_is_json_serialisable(v30: Compiled, tmp_path: Path) -> None:
    failure = v30.failure("object", Request.json({"name": 1}))
    assert failure is not None
    json.dumps({"message": failure.message, **failure.detail})
