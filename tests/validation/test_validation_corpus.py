"""Every OpenAPI 3 document of the shared corpus gets a validation module that compiles.

Reads ``../shared/corpus`` (relative to the repository root) and skips when it is
absent. The two very large documents are marked ``slow``: loading them alone takes
longer than the rest of this directory.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from gatewright.compiler.emit.validation import plan_validation
from gatewright.compiler.pipeline import build_ir

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LARGE = {"github-rest-api", "digitalocean"}


def _documents() -> list[object]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))]
    found: list[object] = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".json", ".yaml", ".yml") or "digitalocean" in path.parts:
            continue
        marks = [pytest.mark.corpus] + ([pytest.mark.slow] if path.parts[-2] in LARGE else [])
        found.append(pytest.param(path, id=str(path.relative_to(CORPUS)), marks=marks))
    root = CORPUS / "digitalocean" / "specification" / "DigitalOcean-public.v2.yaml"
    if root.is_file():
        found.append(
            pytest.param(root, id="digitalocean", marks=[pytest.mark.corpus, pytest.mark.slow])
        )
    return found


@pytest.mark.parametrize("document", _documents())
def test_corpus_document_gets_a_compilable_validation_module(document: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        api, diags = build_ir(document)
    if api is None:
        codes = sorted({d.code for d in diags.errors()})
        if codes == ["GW104"]:
            pytest.skip("Swagger 2.0 document: rejected by the loader, nothing to validate")
        pytest.fail(f"the document did not compile: {codes}")
    plan = plan_validation(api)
    tree = ast.parse(plan.module_source)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    for checks in plan.checks.values():
        for name in (checks.params_function, checks.body_function):
            assert name is None or name in defined
    # every warning points into the document
    assert all(d.origin.pointer.startswith("/") for d in plan.diagnostics)
