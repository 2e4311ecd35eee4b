"""Parsing template strings (backend URLs, integration paths) into IR parts.

Layer: ir. Accepted forms:

- ``${stage.NAME}`` (and AWS's ``${stageVariables.NAME}``): a stage variable
- ``${env.NAME}`` or ``${env.NAME:-default}``: an environment variable at start-up
- ``{path.NAME}``, ``{query.NAME}``, ``{header.NAME}``: a value of the request
- ``{NAME}`` / ``{NAME+}`` in path templates: shorthand for ``{path.NAME}``
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnostics import Diagnostics, Origin
from .nodes import EnvVarPart, RequestPart, StageVarPart, Template, TemplatePart, TextPart

__all__ = ["TemplateContext", "parse_template"]

_TOKEN = re.compile(r"\$\{([^{}]*)\}|\{([^{}]*)\}")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV = re.compile(r"^env\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.S)
_STAGE = re.compile(r"^(?:stage|stageVariables)\.([A-Za-z_][A-Za-z0-9_]*)$")
_REQUEST = re.compile(r"^(path|query|header)\.([^{}\s]+)$")
_BARE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*?)(\+?)$")


@dataclass(frozen=True, slots=True)
class TemplateContext:
    allow_request: bool  # False for values resolved once at start-up (backend URLs)
    bare_path_params: bool = False  # AWS-style "{id}" means a path parameter


def parse_template(text: str, origin: Origin, ctx: TemplateContext, diags: Diagnostics) -> Template | None:
    parts: list[TemplatePart] = []
    pos = 0
    ok = True
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(TextPart(text=text[pos : m.start()]))
        pos = m.end()
        dollar, brace = m.group(1), m.group(2)
        if dollar is not None:
            env = _ENV.match(dollar)
            stage = _STAGE.match(dollar)
            if env:
                parts.append(EnvVarPart(name=env.group(1), default=env.group(2)))
            elif stage:
                parts.append(StageVarPart(name=stage.group(1)))
            else:
                diags.error(
                    "GW303",
                    origin,
                    f"unknown expression '${{{dollar}}}' in {text!r}",
                    hint="use ${stage.NAME} for a stage variable or ${env.NAME} (${env.NAME:-default}) for an environment variable",
                )
                ok = False
            continue
        assert brace is not None
        req = _REQUEST.match(brace)
        bare = _BARE.match(brace) if ctx.bare_path_params else None
        if req and ctx.allow_request:
            source = req.group(1)
            name = req.group(2)
            parts.append(RequestPart(source=source, name=name.rstrip("+")))  # type: ignore[arg-type]
        elif bare and ctx.allow_request:
            parts.append(RequestPart(source="path", name=bare.group(1)))
        elif req or bare:
            diags.error("GW303", origin, f"'{{{brace}}}' reads the request, which is not available here (in {text!r})", hint="backend URLs are fixed at start-up: use ${stage.NAME} or ${env.NAME}")
            ok = False
        else:
            diags.error("GW303", origin, f"malformed expression '{{{brace}}}' in {text!r}", hint="expected {path.NAME}, {query.NAME} or {header.NAME}")
            ok = False
    if pos < len(text):
        parts.append(TextPart(text=text[pos:]))
    if not ok:
        return None
    merged: list[TemplatePart] = []
    for p in parts:
        if isinstance(p, TextPart) and merged and isinstance(merged[-1], TextPart):
            merged[-1] = TextPart(text=merged[-1].text + p.text)
        else:
            merged.append(p)
    return Template(parts=tuple(merged), source=text, origin=origin)
