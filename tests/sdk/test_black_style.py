"""The SDK emitter prints black's style itself, so that black can be skipped.

Every generated module must be exactly what black (the pinned version) prints;
modules the emitter vouches for reach the output untouched by black, so these
checks are what stands between a layout bug and an unformatted SDK.
"""

from __future__ import annotations

from pathlib import Path

import black
import pytest
from gatewright.compiler.emit.base import EmitOptions
from gatewright.compiler.emit.layout import PreformattedSource
from gatewright.compiler.format import BLACK_MODE, format_tree
from gatewright.compiler.pipeline import compile_to_tree

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

REPO_SPECS = ["samples/petstore/openapi.yaml", "tests/golden/hostile/openapi.yaml", "tests/sdk/specs/hostile.yaml"]
CORPUS_SPECS = [
    "swagger-petstore3/openapi.yaml",
    "swagger-petstore31/petstore.yaml",
    "aws-cognito-authorizer/openapi.cognito-auth.json",
    "aws-dynamodb-service-integration/api.yaml",
    "aws-global-request-authorizer/openapi.spec.global-auth.json",
    "aws-http-api-petstore/openapi.spec.json",
    "aws-lambda-proxy-customers/openapi-spec.yaml",
    "aws-rest-api-lambda-authorizer-apikeys/openapi.yaml",
    "aws-validators-circular-ref/openapi.spec.circular-ref-with-request-body.json",
    "aws-vpclink-greedy-proxy/api.yaml",
    "oai-examples/v3.0/api-with-examples.yaml",
    "oai-examples/v3.0/callback-example.yaml",
    "oai-examples/v3.0/link-example.yaml",
    "oai-examples/v3.0/petstore-expanded.yaml",
    "oai-examples/v3.0/petstore.yaml",
    "oai-examples/v3.0/uspto.yaml",
    "oai-examples/v3.1/non-oauth-scopes.yaml",
    "oai-examples/v3.1/webhook-example.yaml",
]


def _check_black_style(spec: Path) -> tuple[int, int]:
    """Assert the SDK of ``spec`` is black's style; (modules, modules black had to touch)."""
    result = compile_to_tree(spec, ["sdk"], format_code=False)
    if result.api is None:
        pytest.skip(f"{spec} does not compile to an SDK")
    unformatted = result.tree
    python = {path: text for path, text in unformatted.items() if path.suffix == ".py"}
    assert python and all(isinstance(text, PreformattedSource) for text in python.values())
    options = EmitOptions(compiler_version="0", runtime_requirement="", source_label="spec")
    formatted = format_tree(unformatted, api=result.api, options=options)
    touched = 0
    for path, text in python.items():
        out = formatted[path]
        assert black.format_str(out, mode=BLACK_MODE) == out, f"{spec}: {path} is not in black's style"
        assert isinstance(text, PreformattedSource)
        if text.unsure:
            touched += 1
        else:
            assert out.endswith(text), f"{spec}: {path} was changed by formatting"
    return len(python), touched


@pytest.mark.parametrize("spec", REPO_SPECS)
def test_repository_specs_need_no_black(spec: str) -> None:
    modules, touched = _check_black_style(REPO / spec)
    # these specs are the golden record: every line of them is laid out by the emitter
    assert modules > 5 and touched == 0


@pytest.mark.parametrize("spec", CORPUS_SPECS)
def test_corpus_sdks_are_in_black_style(spec: str) -> None:
    path = CORPUS / spec
    if not path.is_file():
        pytest.skip(f"the shared spec corpus is not at {CORPUS}; corpus tests need ../shared/corpus next to the repository")
    _check_black_style(path)
