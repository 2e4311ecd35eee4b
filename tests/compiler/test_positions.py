"""Batch location (one pass over YAML events) agrees with locating pointers one by one."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.source import yamlio

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

ANCHORS = """\
defaults: &defaults
  timeout: 5
  retries: {count: 2}
services:
  - name: a
    settings: *defaults
  - name: b
    settings:
      <<: *defaults
      timeout: 9
"""


def _pointers(data: Any, base: str = "", depth: int = 0) -> list[str]:
    found = [base]
    if depth > 8:
        return found
    if isinstance(data, dict):
        for key, value in list(data.items())[:6]:
            token = str(key).replace("~", "~0").replace("/", "~1")
            found += _pointers(value, f"{base}/{token}", depth + 1)
    elif isinstance(data, list):
        for index, value in enumerate(data[:3]):
            found += _pointers(value, f"{base}/{index}", depth + 1)
    return found


def _agree(text: str, pointers: list[str]) -> None:
    batch: dict[str, Any] = {}
    yamlio.find_positions(text, pointers, batch)
    composed: dict[str, Any] = {}  # one node graph for every single lookup
    for pointer in pointers:
        one_by_one = yamlio.find_position(text, pointer, composed)
        assert yamlio.find_position(text, pointer, batch) == one_by_one, pointer


@pytest.mark.parametrize(
    "path",
    [
        REPO / "samples" / "petstore" / "openapi.yaml",
        CORPUS / "swagger-petstore3" / "openapi.yaml",
        CORPUS / "github-rest-api" / "api.github.com.json",
    ],
    ids=lambda p: p.name,
)
def test_batch_positions_match_single_lookups(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not available (the corpus lives in ../shared/corpus)")
    text = path.read_text("utf-8")
    pointers = _pointers(yamlio.parse_text(text, is_json=path.suffix == ".json"))
    pointers += [p + "/missing/deeper" for p in pointers[:40]]  # reported at an ancestor
    _agree(text, random.Random(7).sample(pointers, min(300, len(pointers))))


def test_pointers_through_aliases_and_merge_keys() -> None:
    pointers = [
        "",
        "/defaults/retries/count",
        "/services/0/settings",
        "/services/0/settings/retries/count",  # below an alias: left to find_position
        "/services/1/settings/timeout",
        "/services/1/settings/retries",
        "/services/7",
    ]
    _agree(ANCHORS, pointers)
