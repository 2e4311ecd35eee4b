"""Long model names: the SDK emitter still prints black's layout, so black never runs.

Two shapes depend on how long a generated name is: the ``XDict = _t.TypedDict(``
assignment (black wraps the value in parentheses once the head no longer fits,
but only if every line then fits) and a dict-of-models decoder (a dict
comprehension black splits before ``for``, then inside the entry). Each is
checked at name lengths on both sides of every threshold, against black itself.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import black
import pytest
from gatewright.compiler.emit.layout import PreformattedSource, sdk_item_lines, tracking_misses
from gatewright.compiler.emit.sdk import SdkEmitter
from gatewright.compiler.format import BLACK_MODE, FormatCache, _format_modules

from . import irkit
from .sdkgen import OPTIONS

# name lengths around 88 - len(" = _t.TypedDict(") and the other line limits
LENGTHS = [20, 60, 66, 67, 68, 69, 70, 72, 75, 79, 80, 81, 82, 83, 84, 85, 86, 90]


def _name(length: int) -> str:
    stem = "Very" + "Long" * 30
    return stem[:length]


def _emit_models(name: str, fields: dict[str, Any]) -> dict[PurePosixPath, PreformattedSource]:
    item = irkit.model(name + "Item", {"type": "object", "properties": {"value": {"type": "string"}}})
    holder = irkit.model(name, {"type": "object", "properties": fields, "required": sorted(fields)[:1]})
    tree = SdkEmitter().emit(irkit.api("longnames", models=(item, holder)), OPTIONS)
    return {p: t for p, t in tree.items() if isinstance(t, PreformattedSource) and "/models/" in p.as_posix()}


def _assert_black_style(modules: dict[PurePosixPath, PreformattedSource], *shapes: str) -> None:
    """Every module is black's style once formatted, and no line holding one of
    ``shapes`` was left to black (other long-name lines may be)."""
    assert modules
    formatted = _format_modules(dict(modules), FormatCache(None))
    for path, text in modules.items():
        left = [line for line in text.unsure if any(shape in line for shape in shapes)]
        assert not left, f"{path}: the emitter could not vouch for {left}"
        out = formatted[path]
        assert black.format_str(out, mode=BLACK_MODE) == out, f"{path} is not in black's style"
        if not text.unsure:
            assert out == text


@pytest.mark.parametrize("length", LENGTHS)
def test_typed_dict_assignments_of_long_names_match_black(length: int) -> None:
    name = _name(length)
    _assert_black_style(_emit_models(name, {"value": {"type": "string"}}), "Dict = ", "_t.TypedDict(")


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("nullable", [False, True])
def test_dict_of_models_decoders_match_black(length: int, nullable: bool) -> None:
    name = _name(length)
    item: dict[str, Any] = {"$ref": f"#/components/schemas/{name}Item"}
    value = {"oneOf": [item, {"type": "null"}]} if nullable else item
    # the entry of "files" in the TypedDict is too long for the parenthesised
    # form, so past the threshold black keeps the long head there
    fields = {"files": {"type": "object", "additionalProperties": value}}
    _assert_black_style(_emit_models(name, fields), "Dict = ", "_t.TypedDict(", "lambda _v0: {")


@pytest.mark.parametrize(
    "module",
    ["_m_x", "_m_gists_update_body_files_value", "_m_" + "y" * 40, "_m_" + "z" * 60],
)
@pytest.mark.parametrize("nullable", [False, True])
def test_dict_comprehension_items_match_black(module: str, nullable: bool) -> None:
    value = f"{module}.GistsUpdateBodyFilesValue.from_json(_v1)"
    if nullable:
        value = f"(None if _v1 is None else {value})"
    decoder = f"lambda _v0: {{_k1: {value} for _k1, _v1 in _b.as_dict(_v0).items()}}"
    item = f'("files", "files", False, False, {decoder})'
    with tracking_misses() as misses:
        laid = sdk_item_lines(8, item)
    source = f"class A:\n    x = (\n        {laid}\n        None,\n    )\n"
    assert not misses
    assert black.format_str(source, mode=BLACK_MODE) == source


def test_both_typed_dict_layouts_are_exercised() -> None:
    # 70 characters: the head does not fit, the parenthesised form does
    wrapped = _emit_models(_name(70), {"value": {"type": "string"}})
    assert any(f"{_name(70)}Dict = (\n    _t.TypedDict(\n" in text for text in wrapped.values())
    # 80: the name's own line would not fit either, so black keeps the long head
    kept = _emit_models(_name(80), {"value": {"type": "string"}})
    assert any(f"{_name(80)}Dict = _t.TypedDict(\n" in text for text in kept.values())
