"""What keeps big compiles fast, held to black and to the sequential pipeline.

- Generated validators are laid out the way black prints them, so every block is a
  fixed point of black (black formats a block twice when its first pass changes it).
- Blocks lose their trailing blank lines before black sees them, for the same reason.
- The OpenAPI validator runs in a forked process beside the IR builder and must give
  exactly the diagnostics of validating first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import black
import pytest
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.emit.layout import layout_line
from gatewright.compiler.emit.render import black_repr
from gatewright.compiler.emit.validation import plan_validation
from gatewright.compiler.format import BLACK_MODE, _trimmed, split_blocks
from gatewright.compiler.ir.build import build_api
from gatewright.compiler.pipeline import build_ir, load_and_validate


def _black(text: str) -> str:
    return black.format_str(text, mode=BLACK_MODE)


@pytest.mark.parametrize(
    "value",
    ["plain", "it's", 'say "hi"', "both ' and \"", "two \"\" one '", "back\\slash '\"", "tab\t\n", ""],
)
def test_string_literals_use_blacks_quotes(value: str) -> None:
    line = f"X = {black_repr(value)}\n"
    assert _black(line) == line
    assert eval(black_repr(value)) == value


@pytest.mark.parametrize(
    ("indent", "text"),
    [
        (0, "def check_a_rather_long_operation_name_parameters(path: Mapping[str, str], query: gwv.Query) -> None:"),
        (0, "def check_the_body_of_an_operation_with_a_long_name_indeed_yes(content_type: str, raw: bytes) -> None:"),
        (0, "def _check_model_AVeryLongModelNameThatGoesOnAndOnAndOnForeverAndEverMore(v: object) -> None:"),
        (0, "_ENUM_1 = frozenset(('completed', 'action_required', 'cancelled', 'failure', 'neutral', 'skipped', 'stale', 'success'))"),
        (0, "_ENUM_2 = frozenset(('all', 'public', 'private', 'forks', 'sources', 'member', 'internal'))"),
        (0, "_ENUM_3 = frozenset(map(gwv.json_key, (None, 'false_positive', 'wont_fix', 'revoked', 'used_in_tests')))"),
        (3, "raise gwv.Invalid('/repository_ids' + gwv.escape(index5), gwv.expected('integer', item4))"),
        (8, "raise gwv.Invalid('/inbound_rules' + gwv.escape(index3) + '/sources/addresses' + gwv.escape(index8), gwv.expected('string', item7))"),
        (8, "raise gwv.Invalid('/required_pull_request_reviews/dismissal_restrictions/users' + gwv.escape(index8), 'x')"),
        (4, "if not (gwv.matches(_check_model_RsyslogLogsink, member3) or gwv.matches(_check_model_ElasticsearchLogsink, member3)):"),
        (1, "if (gwv.matches(_check_schema_38, member2) + gwv.matches(_check_schema_39, member2)) != 1:"),
        (3, "if type(member1) is int and not (-9223372036854775808 <= member1 <= 9223372036854775807):"),
        (3, "if not (type(member1) is int or (type(member1) is float and member1.is_integer())):"),
    ],
)
def test_layout_matches_black(indent: int, text: str) -> None:
    # spec strings arrive as literals: render them the way the emitter does
    code = text.replace("'", '"')
    lines = layout_line(indent, code)
    body = "\n".join(lines) + "\n"
    # wrap in enough blocks that the indentation is legal
    wrapper = "".join("    " * level + "if x:\n" for level in range(indent))
    if code.startswith("def ") or code.startswith("if "):
        body += "    " * (indent + 1) + "pass\n"
    module = wrapper + body
    assert _black(module) == module


def test_unknown_shapes_are_left_for_black() -> None:
    text = "x = [value for value in values if value is not None and value > 0 and value < 100 and value]"
    assert layout_line(0, text) == [text]


def test_trimmed_blocks_format_in_one_pass() -> None:
    block = "def f(a, b):\n    return a + b\n\n\n  \n"
    trimmed = _trimmed(block)
    assert trimmed == "def f(a, b):\n    return a + b\n"
    assert _black(trimmed) == trimmed  # a fixed point: black makes no second pass
    assert _black(block) == _black(trimmed)
    assert _trimmed("x = 1") == "x = 1\n"


def _spec(paths: int, *, broken: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Many", "version": "1"},
        "paths": {
            f"/items{i}/{{id}}": {
                "get": {
                    "operationId": f"get{i}",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
            for i in range(paths)
        },
    }
    if broken:
        doc["paths"]["/items7/{id}"]["get"]["responses"] = {"200": {"no-description": True}}
    return doc


def _sequential(path: Path) -> tuple[bool, list[tuple[str, str, str]]]:
    diags = Diagnostics()
    spec = load_and_validate(path, diags)
    api = build_api(spec, diags) if spec is not None else None
    return api is not None, [(d.code, d.origin.pointer, d.message) for d in diags]


@pytest.mark.parametrize("broken", [False, True])
def test_background_validation_reports_like_validating_first(tmp_path: Path, broken: bool) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps(_spec(150, broken=broken)))  # big enough to fork
    api, diags = build_ir(path)
    built, expected = _sequential(path)
    assert (api is not None, [(d.code, d.origin.pointer, d.message) for d in diags]) == (built, expected)
    assert (api is None) == broken
    if broken:
        assert any(d.code == "GW200" for d in diags.errors())


def test_validation_module_of_big_corpus_specs_is_black_stable(corpus_dir: Path) -> None:
    """Every block black would change costs it a second pass: there should be none."""
    spec = corpus_dir / "github-rest-api" / "api.github.com.json"
    if not spec.exists():
        pytest.skip(f"{spec} not found")
    api, diags = build_ir(spec)
    assert api is not None, diags.errors()
    source = plan_validation(api).module_source
    blocks = [_trimmed(b) for b in split_blocks(source)]
    # black on all of them takes seconds; every fifth block covers every shape
    unstable = [b[:200] for b in blocks[::5] if _black(b) != b]
    assert not unstable
