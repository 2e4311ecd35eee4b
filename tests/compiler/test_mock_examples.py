"""Mocks without examples answer a minimal body built from the response schema.

Regression: a mock integration on an operation without examples used to answer an
empty, untyped body that did not conform to the documented response (GW309 path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.ir import nodes as ir
from gatewright.compiler.ir.build import build_api
from gatewright.compiler.ir.examples import NO_EXAMPLE, minimal_example
from gatewright.compiler.pipeline import load_and_validate
from gatewright.compiler.source.loading import resolve_pointer
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SCHEMAS: dict[str, Any] = {
    "Node": {
        "type": "object",
        "required": ["name", "children"],
        "properties": {
            "name": {"type": "string", "minLength": 2},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Node"},
        },
    },
    "Endless": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Endless"}}},
    "Chain": {
        "type": "object",
        "nullable": True,
        "required": ["next"],
        "properties": {"next": {"$ref": "#/components/schemas/Chain"}},
    },
}
DOCUMENT: dict[str, Any] = {"openapi": "3.0.3", "components": {"schemas": SCHEMAS}}


def resolve(node: Any) -> tuple[Any, str]:
    pointer = str(node["$ref"])[1:]
    return resolve_pointer(DOCUMENT, pointer), pointer


def conforms(schema: Any, value: Any) -> bool:
    root = {**DOCUMENT, "x-probe": schema, "$ref": "#/x-probe"}
    return bool(OAS30Validator(root, format_checker=oas30_format_checker).is_valid(value))


CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "formats": (
        {
            "type": "object",
            "required": ["id", "at", "day", "mail"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "at": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "mail": {"type": "string", "format": "email"},
                "optional": {"type": "string"},
            },
        },
        {
            "id": "00000000-0000-4000-8000-000000000000",
            "at": "1970-01-01T00:00:00Z",
            "day": "1970-01-01",
            "mail": "user@example.com",
        },
    ),
    "first enum value and const": (
        {"type": "object", "required": ["kind", "v"], "properties": {"kind": {"enum": ["big", "small"]}, "v": {"const": 2}}},
        {"kind": "big", "v": 2},
    ),
    "bounds": (
        {
            "type": "object",
            "required": ["size", "score", "name"],
            "properties": {
                "size": {"type": "integer", "minimum": 10, "maximum": 20, "multipleOf": 3},
                "score": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
                "name": {"type": "string", "minLength": 3},
            },
        },
        {"size": 12, "score": 1, "name": "aaa"},
    ),
    "pattern": ({"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}, "AAA-00"),
    "arrays are empty unless minItems": ({"type": "array", "items": {"type": "string"}}, []),
    "minItems with unique items": (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "string", "minLength": 2}},
        ["aa", "1a"],
    ),
    "allOf merged": (
        {
            "allOf": [
                {"type": "object", "required": ["x"], "properties": {"x": {"type": "integer", "minimum": 4}}},
                {"required": ["y"], "properties": {"y": {"type": "boolean"}}},
            ]
        },
        {"x": 4, "y": False},
    ),
    "oneOf takes an alternative": (
        {"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}, {"type": "string"}]},
        {"a": 0},
    ),
    "recursion through an optional property or an array is not followed": (
        {"$ref": "#/components/schemas/Node"},
        {"name": "aa", "children": []},
    ),
    "recursion is cut to null where null is allowed": ({"$ref": "#/components/schemas/Chain"}, {"next": None}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_minimal_example_conforms_to_its_schema(case: str) -> None:
    schema, expected = CASES[case]
    value = minimal_example(schema, resolve=resolve, document=DOCUMENT)
    assert value == expected
    assert conforms(schema, value)


def test_a_schema_only_an_infinite_value_satisfies_has_no_example() -> None:
    assert minimal_example({"$ref": "#/components/schemas/Endless"}, resolve=resolve, document=DOCUMENT) is NO_EXAMPLE


def test_contradictory_schemas_have_no_example() -> None:
    contradiction = {"allOf": [{"type": "string"}, {"type": "integer"}]}
    assert minimal_example(contradiction, resolve=resolve, document=DOCUMENT) is NO_EXAMPLE
    assert minimal_example({"type": "integer", "minimum": 5, "maximum": 4}, resolve=resolve, document=DOCUMENT) is NO_EXAMPLE


SPEC = """
openapi: 3.0.3
info: {title: Mocks, version: "1"}
x-gateway:
  version: 1
  defaults:
    integration: {type: mock, fromExamples: true}
paths:
  /things/{thingId}:
    get:
      operationId: getThing
      parameters: [{name: thingId, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: A thing.
          headers:
            X-Count: {required: true, schema: {type: integer, minimum: 5}}
            X-Optional: {schema: {type: string}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
  /text:
    get:
      operationId: getText
      responses:
        '200':
          description: Text.
          content:
            text/plain:
              schema: {type: string, minLength: 3}
  /schemaless:
    post:
      operationId: schemaless
      responses:
        '200':
          description: Anything.
          content:
            application/json: {}
        '202': {description: 'Accepted, nothing to say.'}
  /anything:
    get:
      operationId: anyMediaType
      responses:
        '2XX':
          description: A range of statuses and of media types.
          content:
            '*/*':
              schema: {type: object, required: [a], properties: {a: {type: integer, minimum: 1}}}
  /example:
    get:
      operationId: withExample
      responses:
        '200':
          description: Has one.
          content:
            application/json:
              schema: {type: object}
              example: {given: true}
components:
  schemas:
    Thing:
      type: object
      required: [id, kind, created]
      properties:
        id: {type: string, format: uuid}
        kind: {type: string, enum: [big, small]}
        created: {type: string, format: date-time}
        note: {type: string}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, ir.MockIntegration], Diagnostics]:
    path = tmp_path_factory.mktemp("mocks") / "openapi.yaml"
    path.write_text(SPEC, encoding="utf-8")
    diags = Diagnostics()
    spec = load_and_validate(path, diags)
    assert spec is not None, [d.message for d in diags.errors()]
    api = build_api(spec, diags)
    assert api is not None, [d.message for d in diags.errors()]
    mocks = {op.id: op.integration for op in api.operations if isinstance(op.integration, ir.MockIntegration)}
    return mocks, diags


def test_a_mock_without_examples_answers_a_body_built_from_its_schema(
    built: tuple[dict[str, ir.MockIntegration], Diagnostics],
) -> None:
    mock = built[0]["getThing"]
    assert (mock.status, mock.media_type, mock.has_body) == (200, "application/json", True)
    assert mock.body == {"id": "00000000-0000-4000-8000-000000000000", "kind": "big", "created": "1970-01-01T00:00:00Z"}
    assert mock.headers == (("X-Count", "5"),)  # required headers only


def test_a_text_mock_answers_text_of_the_minimum_length(built: tuple[dict[str, ir.MockIntegration], Diagnostics]) -> None:
    mock = built[0]["getText"]
    assert (mock.media_type, mock.body, mock.has_body) == ("text/plain", "aaa", True)


def test_without_a_schema_the_mock_answers_a_documented_empty_status_and_warns(
    built: tuple[dict[str, ir.MockIntegration], Diagnostics],
) -> None:
    mocks, diags = built
    mock = mocks["schemaless"]
    assert (mock.status, mock.media_type, mock.has_body) == (202, None, False)
    warnings = [d for d in diags if d.code == "GW309"]
    assert len(warnings) == 1
    assert warnings[0].origin.pointer.startswith("/x-gateway/defaults/integration")


def test_a_media_range_is_answered_with_a_concrete_content_type(
    built: tuple[dict[str, ir.MockIntegration], Diagnostics],
) -> None:
    mock = built[0]["anyMediaType"]
    assert (mock.status, mock.media_type, mock.body) == (200, "application/json", {"a": 1})


def test_an_example_still_wins_over_the_schema(built: tuple[dict[str, ir.MockIntegration], Diagnostics]) -> None:
    assert built[0]["withExample"].body == {"given": True}


def test_the_corpus_mocks_conform_to_their_documented_responses() -> None:
    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "oai-examples" / "v3.0"
    if not corpus.is_dir():
        pytest.skip(f"the shared spec corpus is not at {corpus}; corpus tests need ../shared/corpus next to the repository")
    diags = Diagnostics()
    spec = load_and_validate(corpus / "petstore-expanded.yaml", diags)
    assert spec is not None
    api = build_api(spec, diags)
    assert api is not None
    bodies = {op.id: op.integration.body for op in api.operations if isinstance(op.integration, ir.MockIntegration)}
    assert bodies["find pet by id"] == {"name": "", "id": 0}  # Pet: allOf [NewPet, {required: [id]}]
    assert not [d for d in diags if d.code == "GW309"]
