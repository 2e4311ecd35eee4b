"""The loader: YAML 1.2 scalars, bundling across files, and the source map."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.diagnostics import Diagnostics, Origin
from gatewright.compiler.pipeline import Locator, build_ir
from gatewright.compiler.source.loading import LoadedSpec, LoadFailed, load, resolve_pointer


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # HEAD + an indented block: dedent the block on its own
    body = HEAD + textwrap.dedent(text[len(HEAD) :]) if text.startswith(HEAD) else textwrap.dedent(text)
    path.write_text(body.lstrip(), encoding="utf-8")
    return path


def _load(path: Path) -> tuple[LoadedSpec, Diagnostics]:
    diags = Diagnostics()
    spec = load(path, diags)
    return spec, diags


HEAD = """
openapi: 3.0.3
info: {title: Loader, version: "1"}
"""


def test_yaml_1_1_booleans_stay_strings(tmp_path: Path) -> None:
    spec, _ = _load(
        _write(
            tmp_path,
            "s.yaml",
            HEAD
            + """
            paths: {}
            components:
              schemas:
                Country:
                  enum: [NO, SE, yes, off, on, n, y]
                  default: NO
                Flag: {type: boolean, default: true, example: False}
            """,
        )
    )
    country = resolve_pointer(spec.document, "/components/schemas/Country")
    assert country["enum"] == ["NO", "SE", "yes", "off", "on", "n", "y"]
    assert country["default"] == "NO"
    flag = resolve_pointer(spec.document, "/components/schemas/Flag")
    assert flag["default"] is True and flag["example"] is False


def test_dates_stay_strings(tmp_path: Path) -> None:
    spec, _ = _load(
        _write(
            tmp_path,
            "s.yaml",
            HEAD
            + """
            paths: {}
            components:
              schemas:
                Day: {type: string, format: date, example: 2024-01-31}
                Moment: {type: string, format: date-time, example: 2024-01-31T10:00:00Z}
            """,
        )
    )
    assert resolve_pointer(spec.document, "/components/schemas/Day/example") == "2024-01-31"
    assert resolve_pointer(spec.document, "/components/schemas/Moment/example") == "2024-01-31T10:00:00Z"


def test_integer_response_keys_become_strings(tmp_path: Path) -> None:
    spec, _ = _load(
        _write(
            tmp_path,
            "s.yaml",
            HEAD
            + """
            paths:
              /pets:
                get:
                  responses:
                    200: {description: ok}
                    404: {description: missing}
            """,
        )
    )
    responses = resolve_pointer(spec.document, "/paths/~1pets/get/responses")
    assert list(responses) == ["200", "404"]


def test_refs_inside_examples_are_data(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.yaml",
        HEAD
        + """
        paths:
          /groups:
            get:
              responses:
                "200":
                  description: ok
                  content:
                    application/json:
                      schema: {type: object}
                      example:
                        members: [{$ref: "https://scim.example/Users/1", value: "1"}]
                      examples:
                        one:
                          value: {$ref: "#/nowhere/at/all"}
        components:
          schemas:
            Group:
              type: object
              example: {$ref: "./not-a-file.yaml"}
              examples: [{$ref: "#/also/nowhere"}]
        """,
    )
    spec, diags = _load(path)
    assert list(diags) == []
    media = resolve_pointer(spec.document, "/paths/~1groups/get/responses/200/content/application~1json")
    assert media["example"] == {"members": [{"$ref": "https://scim.example/Users/1", "value": "1"}]}
    assert media["examples"]["one"]["value"] == {"$ref": "#/nowhere/at/all"}
    group = resolve_pointer(spec.document, "/components/schemas/Group")
    assert group["example"] == {"$ref": "./not-a-file.yaml"}
    assert group["examples"] == [{"$ref": "#/also/nowhere"}]


def test_recursive_schemas_load_and_build(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "schemas/node.yaml",
        """
        Node:
          type: object
          properties:
            children:
              type: array
              items: {$ref: '#/Node'}
            parent: {$ref: '#/Node'}
        """,
    )
    path = _write(
        tmp_path,
        "openapi.yaml",
        HEAD
        + """
        x-gateway: {version: 1, defaults: {integration: {type: mock, status: 200}}}
        paths:
          /tree:
            get:
              responses:
                "200":
                  description: ok
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Tree'}
        components:
          schemas:
            Tree:
              type: object
              properties:
                root: {$ref: 'schemas/node.yaml#/Node'}
            Person:
              type: object
              properties:
                friends: {type: array, items: {$ref: '#/components/schemas/Person'}}
        """,
    )
    api, diags = build_ir(path)
    assert api is not None, [d.message for d in diags]
    models = {m.key: m for m in api.models}
    person = models["Person"]
    friends = next(p for p in person.schema.properties if p.name == "friends")
    assert friends.schema.items is not None and friends.schema.items.ref == person.id
    node = next(m for m in api.models if m.origin.file.endswith("schemas/node.yaml"))
    assert node.origin.pointer == "/Node"
    children = next(p for p in node.schema.properties if p.name == "children")
    assert children.schema.items is not None and children.schema.items.ref == node.id


def test_ref_into_another_file_is_located_in_that_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "parameters/limit.yaml",
        """
        # shared parameters
        Limit:
          name: limit
          in: query
          schema:
            type: integer
            pattern: '(?<n>x)'
        """,
    )
    path = _write(
        tmp_path,
        "openapi.yaml",
        HEAD
        + """
        x-gateway: {version: 1, defaults: {integration: {type: mock, status: 200}}}
        paths:
          /pets:
            get:
              parameters:
                - $ref: 'parameters/limit.yaml#/Limit'
              responses:
                "200": {description: ok}
        """,
    )
    locator = Locator()
    api, diags = build_ir(path, locator=locator)
    assert api is not None
    (param,) = api.operations[0].parameters
    assert param.origin.file.endswith("parameters/limit.yaml")
    assert param.origin.pointer == "/Limit"
    pos = locator.position(param.origin)
    assert pos is not None and (pos.line, pos.column) == (2, 1)
    (warning,) = [d for d in diags if d.code == "GW401"]
    assert warning.origin.file.endswith("parameters/limit.yaml")
    assert warning.origin.pointer == "/Limit/schema/pattern"
    wpos = locator.position(warning.origin)
    assert wpos is not None and (wpos.line, wpos.column) == (7, 5)
    assert wpos.source_line.strip() == "pattern: '(?<n>x)'"


def test_positions_of_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{\n  "openapi": "3.0.3",\n  "info": {"title": "J", "version": "1"},\n  "paths": {\n    "/a": {}\n  }\n}\n', encoding="utf-8")
    spec, _ = _load(path)
    pos = spec.position(Origin(spec.root.label, "/paths/~1a"))
    assert pos is not None and (pos.line, pos.column) == (5, 5)


def test_syntax_error_position_is_where_parsing_stopped(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", "openapi: 3.0.3\ninfo:\n  title: [unclosed\n  version: '1'\npaths: {}\n")
    diags = Diagnostics()
    with pytest.raises(LoadFailed) as failed:
        load(path, diags)
    (diag,) = list(diags)
    assert diag.code == "GW101"
    (source,) = failed.value.files.values()
    pos = source.position(diag.origin.pointer)
    assert pos is not None and pos.line >= 4


@pytest.mark.parametrize(
    ("ref", "target"),
    [
        ("'#cat'", "/components/schemas/Cat"),
        ("'https://example.com/schemas/pet#pet'", "/components/schemas/Pet"),
        ("'https://example.com/schemas/pet'", "/components/schemas/Pet"),
        ("'/schemas/tag'", "/components/schemas/Tag"),
    ],
)
def test_id_and_anchor_refs_resolve_to_their_schema(tmp_path: Path, ref: str, target: str) -> None:
    path = _write(
        tmp_path,
        "s.yaml",
        f"""
        openapi: 3.1.0
        info: {{title: Anchors, version: "1"}}
        paths: {{}}
        components:
          schemas:
            Pet:
              $id: https://example.com/schemas/pet
              $anchor: pet
              type: object
            Tag:
              $id: /schemas/tag
              type: string
            Cat:
              $anchor: cat
              type: object
            Use:
              $ref: {ref}
        """,
    )
    spec, diags = _load(path)
    assert list(diags) == []
    use: Any = resolve_pointer(spec.document, "/components/schemas/Use")
    assert use == {"$ref": "#" + target}


def test_null_ref_is_a_warning_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.yaml",
        HEAD
        + """
        paths: {}
        components:
          schemas:
            Pet:
              $ref: #/components/schemas/Other
              description: kept
        """,
    )
    spec, diags = _load(path)
    assert [d.code for d in diags] == ["GW109"]
    assert resolve_pointer(spec.document, "/components/schemas/Pet") == {"description": "kept"}


def test_shared_external_schema_is_inlined_once(tmp_path: Path) -> None:
    _write(tmp_path, "pet.yaml", "type: object\nproperties:\n  name: {type: string}\n")
    path = _write(
        tmp_path,
        "openapi.yaml",
        HEAD
        + """
        paths:
          /a:
            get:
              responses:
                "200": {description: ok, content: {application/json: {schema: {$ref: pet.yaml}}}}
        components:
          schemas:
            Pet: {$ref: pet.yaml}
        """,
    )
    spec, diags = _load(path)
    assert list(diags) == []
    assert resolve_pointer(spec.document, "/components/schemas/Pet")["type"] == "object"
    schema = resolve_pointer(spec.document, "/paths/~1a/get/responses/200/content/application~1json")["schema"]
    assert schema == {"$ref": "#/components/schemas/Pet"}
    assert spec.origin("/components/schemas/Pet/properties/name").file.endswith("pet.yaml")
