"""Positions in JSON specs: the JSON scan agrees with the PyYAML event pass.

A JSON spec's diagnostics are located by scanning the JSON text, skipping every
value off the way to a wanted pointer in the C scanner; the positions must be the
ones the PyYAML pass gives (a mapping value at its key, a missing pointer at its
deepest existing ancestor), and text PyYAML reads otherwise goes through PyYAML.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.source import yamlio

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO.parent / "shared" / "corpus" / "github-rest-api" / "api.github.com.json"

TRICKY = """{"openapi": "3.0.3",
  "info": {"title": "T\\u00e9st \\"quoted\\"", "version": "1"},
  "paths": {
    "/a/{id}": {"get": {"responses": {"200": {"description": "ok"}}},
                "parameters": [ {"name": "id", "in": "path"}, 7, [1, [2, {"deep": true}]] ]},
    "/b~c": {},
    "dup": 1, "dup": {"x": 2},
    "\\u00fcml\\u00e4ut": {"k": null}
  },
  "empty": {}, "list": [], "num": -1.5e3
}
"""

POINTERS = [
    "",
    "/openapi",
    "/info/title",
    "/paths/~1a~1{id}/get/responses/200/description",
    "/paths/~1a~1{id}/parameters/0/in",
    "/paths/~1a~1{id}/parameters/1",
    "/paths/~1a~1{id}/parameters/2/1/1/deep",
    "/paths/~1b~0c",
    "/paths/dup",
    "/paths/dup/x",
    "/paths/\u00fcml\u00e4ut/k",
    "/empty",
    "/list",
    "/list/0",
    "/num",
    "/nothing/here",
    "/paths/~1a~1{id}/parameters/9",
    "/info/title/deeper",
]


def _both(text: str, pointers: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    by_yaml: dict[str, Any] = {}
    by_json: dict[str, Any] = {}
    yamlio.find_positions(text, pointers, by_yaml)
    yamlio.find_positions(text, pointers, by_json, is_json=True)
    return by_yaml, by_json


def test_tricky_json_is_located_as_pyyaml_locates_it() -> None:
    json.loads(TRICKY)  # the fixture is JSON
    by_yaml, by_json = _both(TRICKY, POINTERS)
    assert by_json["found"] == by_yaml["found"]
    assert set(by_json["found"]) == set(POINTERS)
    for pointer in POINTERS:  # one pointer at a time takes the same path
        assert yamlio.find_position(TRICKY, pointer, {}, is_json=True) == by_yaml["found"][pointer], pointer


def test_minified_json_is_located_on_one_line() -> None:
    text = json.dumps(json.loads(TRICKY), separators=(",", ":"))
    by_yaml, by_json = _both(text, POINTERS)
    assert by_json["found"] == by_yaml["found"]
    assert {line for line, _ in by_json["found"].values()} == {1}


@pytest.mark.parametrize("odd", ["\r\n", "\u2028", "\x85"])
def test_text_pyyaml_counts_lines_in_differently_is_left_to_pyyaml(odd: str) -> None:
    text = TRICKY.replace("\n", odd, 3) if odd == "\r\n" else TRICKY.replace('"1"}', f'"1{odd}"}}')
    json.loads(text)
    assert not yamlio._json_positions(text, POINTERS, {})
    by_yaml, by_json = _both(text, POINTERS)
    assert by_json == by_yaml


def test_github_pointers_agree() -> None:
    if not GITHUB.exists():
        pytest.skip(f"{GITHUB} is not available (the corpus lives in ../shared/corpus)")
    text = GITHUB.read_text("utf-8")
    data = json.loads(text)
    schemas = list(data["components"]["schemas"])
    paths = list(data["paths"])
    rng = random.Random(11)
    pointers = [f"/components/schemas/{name}/properties" for name in rng.sample(schemas, 60)]
    pointers += ["/paths/" + p.replace("~", "~0").replace("/", "~1") + "/get/responses" for p in rng.sample(paths, 60)]
    pointers += ["/paths/~1nowhere", "/components/schemas/repository/missing/deeper", "/tags/3/name"]
    by_yaml, by_json = _both(text, pointers)
    assert by_json["found"] == by_yaml["found"]
