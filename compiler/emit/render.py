"""The one Jinja environment every emitter renders through, and its filters.

Layer: emit. Templates are package data of ``gatewright.templates``.

Every string that comes from the spec reaches generated code through ``pyrepr``
(a Python literal) or ``docstring`` (an inert docstring body), never by pasting it
between quotes in a template: descriptions and paths may contain quotes, ``\"\"\"``,
backslashes or newlines.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from .layout import docstring_literal, sdk_item_lines, sdk_lines, unsure

__all__ = ["black_repr", "comment", "docstring", "environment", "pyident", "pyrepr", "render"]


def pyrepr(value: object) -> str:
    """A Python literal for a JSON-like value; deterministic (dict order kept)."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(pyrepr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(pyrepr(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{pyrepr(k)}: {pyrepr(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"pyrepr cannot render {type(value).__name__}")


_DOUBLE_QUOTED = {'"': '\\"', "'": "'"}


def black_repr(value: object) -> str:
    """``pyrepr`` with the quotes black prefers, so black has nothing to change.

    Generated code is black-formatted anyway; text already in black's style formats
    several times faster, which matters on big specs.
    """
    if isinstance(value, str):
        text = repr(value)
        if text[0] == '"':
            return text  # repr chose " because the text holds ' and not "
        if '"' not in value:
            return '"' + text[1:-1] + '"'  # nothing to escape either way
        if value.count('"') > value.count("'"):
            return text  # black keeps the quotes that need fewer escapes
        return '"' + "".join(_DOUBLE_QUOTED.get(ch) or repr(ch)[1:-1] for ch in value) + '"'
    if isinstance(value, tuple):
        inner = ", ".join(black_repr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(black_repr(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{black_repr(k)}: {black_repr(v)}" for k, v in value.items()) + "}"
    return pyrepr(value)


# every C0 control character but tab and newline
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f]")


def docstring(text: str | None, *, limit: int = 2000) -> str:
    """Text safe to place between triple double quotes.

    Backslashes are escaped, a quote run never closes the literal, and control
    characters are dropped, so a description can never become code.
    """
    if not text:
        return ""
    text = text.strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + " ..."
    text = _CONTROL_CHARACTERS.sub("", text)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return text


def comment(text: str | None) -> str:
    """Single-line text safe inside a ``#`` comment."""
    if not text:
        return ""
    return " ".join(text.split())


def pyident(name: str) -> str:
    """Guard against a non-identifier reaching a template (names come from ir.naming)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a valid Python identifier")
    return name


def _layout_filter(text: str, indent: int = 0) -> str:
    """One logical line laid out as black prints it (see ``layout.sdk_lines``)."""
    return sdk_lines(indent, text)


def _layout_item_filter(text: str, indent: int) -> str:
    """One item of an exploded bracket, with its trailing comma, laid out as black does."""
    return sdk_item_lines(indent, text)


def _docstring_filter(text: str | None, indent: int = 0, *, fallback: str = "") -> str:
    """A whole docstring literal, spec text made safe and normalised as black does."""
    return docstring_literal(docstring(text) or fallback, indent)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gatewright.templates", "."),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is Python, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pyrepr"] = pyrepr
    env.filters["docstring"] = docstring
    env.filters["comment"] = comment
    env.filters["pyident"] = pyident
    env.filters["black_repr"] = black_repr
    env.filters["layout"] = _layout_filter
    env.filters["docstring_literal"] = docstring_literal
    env.filters["docstring_of"] = _docstring_filter
    env.filters["layout_item"] = _layout_item_filter
    env.filters["unsure"] = unsure
    return env


def render(template_name: str, **context: Any) -> str:
    """Render one template (one generated module) with a view model."""
    return environment().get_template(template_name).render(**context)
