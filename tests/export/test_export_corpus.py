"""The exported document of real specs is valid OpenAPI and free of gateway extensions.

Reads the petstore sample and every OpenAPI 3 document in ``../shared/corpus``
(skipped, with a message, when the corpus is absent).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.export import export_document
from gatewright.compiler.ir.build import build_api
from gatewright.compiler.source.loading import load

from .support import build, gateway_keys, validation_errors

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
_OPENAPI_3 = re.compile(r"""(^openapi:\s*['"]?3\.)|("openapi"\s*:\s*"3\.)""", re.MULTILINE)
# the two multi-megabyte documents take most of this module's time
_LARGE_BYTES = 1_000_000


def _corpus_documents() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                head = handle.read(4096)
            if _OPENAPI_3.search(head):
                found.append(path)
    return found


def _params() -> list[object]:
    documents = _corpus_documents()
    if not documents:
        return [pytest.param(None, id="corpus-absent")]
    marks = (pytest.mark.corpus,)
    return [
        pytest.param(p, id=str(p.relative_to(CORPUS)), marks=(*marks, pytest.mark.slow) if p.stat().st_size > _LARGE_BYTES else marks)
        for p in documents
    ]


def test_petstore_sample_exports_valid_openapi_without_gateway_keys() -> None:
    spec, api = build(REPO / "samples" / "petstore" / "openapi.yaml")
    document = export_document(spec, api, stage="prod")
    assert validation_errors(document) == []
    assert gateway_keys(document) == []
    assert document["servers"][0]["url"] == "http://127.0.0.1:8080/v1"
    # every operation takes the sample's apiKey scheme, so the demo usage plan throttles it
    inventory = document["paths"]["/store/inventory"]["get"]["responses"]
    assert inventory["429"] == {"$ref": "#/components/responses/GatewayTooManyRequests"}
    assert "504" in document["paths"]["/pets/{petId}/adopt"]["post"]["responses"]  # a function


def test_corpus_is_found() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared spec corpus is not at {CORPUS}; corpus tests need ../shared/corpus next to the repository")
    assert len(_corpus_documents()) >= 10


@pytest.mark.parametrize("path", _params())
def test_corpus_document_exports_valid_openapi(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"the shared spec corpus is not at {CORPUS}; corpus tests need ../shared/corpus next to the repository")
    diags = Diagnostics()
    # the pipeline's own validation of these documents is tested elsewhere; skip it here for time
    spec = load(path, diags)
    api = build_api(spec, diags)
    assert api is not None, [d.message for d in diags.errors()]
    document = export_document(spec, api, stage=None)
    assert gateway_keys(document) == []
    assert validation_errors(document) == []
