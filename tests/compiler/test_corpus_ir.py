"""Every OpenAPI 3 document of the shared corpus builds an IR with every operation;
every Swagger 2.0 document is refused with exactly GW104.

Operations are counted from the raw document, independently of the compiler: the
HTTP-method keys of each path item after following a path item ``$ref`` (into the
same or another file), plus ``x-amazon-apigateway-any-method``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from gatewright.compiler.pipeline import build_ir

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "x-amazon-apigateway-any-method")
SLOW = ("github-rest-api", "digitalocean")


def _read(path: Path) -> Any:
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)


def _documents() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = [p for p in sorted(CORPUS.rglob("*")) if p.suffix in (".yaml", ".yml", ".json") and "digitalocean" not in p.parts]
    root = CORPUS / "digitalocean" / "specification" / "DigitalOcean-public.v2.yaml"
    return found + ([root] if root.exists() else [])


def _follow(item: Any, base: Path, doc: Any) -> Any:
    """Follow a path item $ref: '#/...' in the same file or 'file.yaml#/...' beside it."""
    while isinstance(item, dict) and isinstance(item.get("$ref"), str):
        target, _, fragment = item["$ref"].partition("#")
        if target:
            base = (base.parent / unquote(target)).resolve()
            doc = _read(base)
        item = doc
        for token in [t for t in fragment.split("/") if t]:
            item = item[unquote(token).replace("~1", "/").replace("~0", "~")]
    return item


def _count_operations(path: Path, doc: Any) -> int:
    total = 0
    for item in (doc.get("paths") or {}).values():
        item = _follow(item, path, doc)
        total += sum(1 for m in METHODS if isinstance(item, dict) and m in item)
    return total


def _params() -> list[Any]:
    docs = _documents()
    if not docs:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(p, id=p.relative_to(CORPUS).as_posix(), marks=[pytest.mark.corpus, *([pytest.mark.slow] if p.relative_to(CORPUS).parts[0] in SLOW else [])]) for p in docs]


@pytest.mark.parametrize("path", _params())
def test_corpus_document(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"the shared spec corpus is not at {CORPUS}; corpus tests need ../shared/corpus next to the repository")
    raw = _read(path)
    api, diags = build_ir(path)
    if "swagger" in raw:
        assert api is None
        assert [d.code for d in diags] == ["GW104"]
        return
    errors = [f"{d.code} {d.origin} {d.message}" for d in diags.errors()]
    assert api is not None, errors
    assert len(api.operations) == _count_operations(path, raw)
