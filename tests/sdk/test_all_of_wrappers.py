"""``allOf`` that only annotates one schema keeps that schema's type.

Regression (DigitalOcean's firewall ``tags``): ``allOf: [{$ref: other-file.yml},
{description: ...}]`` where the file holds an array. The loader inlines the external
schema, and the wrapper became an empty object model, so decoding a list failed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from gatewright.compiler.pipeline import compile_to_tree

SPEC = """\
openapi: 3.0.3
info: {title: Walls, version: "1.0"}
paths:
  /walls:
    get:
      operationId: listWalls
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Wall'}
components:
  schemas:
    Wall:
      type: object
      properties:
        tags:
          allOf:
            - $ref: tags.yml
            - description: The wall's tags.
              example: gateway
        limits:
          allOf:
            - type: string
              minLength: 1
            - description: Annotations only.
"""
TAGS = """\
type: array
items: {type: string}
nullable: true
"""


@pytest.fixture(scope="module")
def walls_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("walls")
    (root / "openapi.yaml").write_text(SPEC)
    (root / "tags.yml").write_text(TAGS)
    result = compile_to_tree(root / "openapi.yaml", ["sdk"])
    assert result.tree, [str(d) for d in result.diags]
    for rel, text in result.tree.items():
        target = root / "out" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module("walls_client")
    finally:
        sys.path.remove(str(root / "out"))
        for name in [n for n in sys.modules if n == "walls_client" or n.startswith("walls_client.")]:
            del sys.modules[name]


def test_annotated_array_stays_a_list(walls_sdk: ModuleType) -> None:
    wall = walls_sdk.models.Wall.from_json({"tags": ["edge", "prod"], "limits": "x"})
    assert wall.tags == ["edge", "prod"]
    assert wall.limits == "x"
    assert wall.to_json() == {"tags": ["edge", "prod"], "limits": "x"}
