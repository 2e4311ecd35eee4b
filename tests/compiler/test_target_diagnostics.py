"""Warnings about how the gateway answers belong to gateway compiles only.

Regression: compiling an SDK from an exported spec (no ``x-gateway``) printed a GW307
"answers it with a mock" warning for every operation, about a gateway nobody built.
"""

from __future__ import annotations

from pathlib import Path

from gatewright.compiler.pipeline import compile_to_tree

SPEC = """\
openapi: 3.0.3
info: {title: Plain, version: "1.0"}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: string}}
"""


def _codes(tmp_path: Path, targets: list[str]) -> list[str]:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(SPEC)
    result = compile_to_tree(spec, targets, format_code=False)
    assert result.tree, [str(d) for d in result.diags]
    return [d.code for d in result.diags]


def test_gateway_compile_warns_that_the_operation_becomes_a_mock(tmp_path: Path) -> None:
    assert "GW307" in _codes(tmp_path, ["gateway"])
    assert "GW307" in _codes(tmp_path, ["gateway", "sdk"])


def test_sdk_compile_does_not_warn_about_gateway_mocks(tmp_path: Path) -> None:
    assert "GW307" not in _codes(tmp_path, ["sdk"])
