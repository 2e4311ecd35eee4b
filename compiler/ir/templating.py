"""Parsing template strings (backend URLs, integration paths) into IR parts.

Layer: ir. Accepted forms:

- ``${stage.NAME}`` (and AWS's ``${stageVariables.NAME}``): a stage variable
- ``${env.NAME}`` or ``${env.NAME:-default}``: an environment variable at start-up
- ``{path.NAME}``, ``{query.NAME}``, ``{header.NAME}``: a value of the request
- ``{NAME}`` / ``{NAME+}`` in path templates: shorthand for ``{path.NAME}``

Transform values (:func:`parse_value_expression`) also accept ``{stage.NAME}``,
``{body.a.b}`` (dotted names and integer indexes), ``{auth.principalId}``,
``{auth.context.KEY}`` and ``{context.requestId}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnostics import Diagnostics, Origin
from .nodes import (
    BodyValuePart,
    EnvVarPart,
    PrincipalPart,
    RequestContextPart,
    RequestPart,
    StageVarPart,
    Template,
    TemplatePart,
    TextPart,
    TransformPart,
    ValueExpression,
)

__all__ = ["TemplateContext", "parse_template", "parse_value_expression"]

_TOKEN = re.compile(r"\$\{([^{}]*)\}|\{([^{}]*)\}")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV = re.compile(r"^env\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.S)
_STAGE = re.compile(r"^(?:stage|stageVariables)\.([A-Za-z_][A-Za-z0-9_]*)$")
_REQUEST = re.compile(r"^(path|query|header)\.([^{}\s]+)$")
_BARE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*?)(\+?)$")
_BODY = re.compile(r"^body((?:\.[A-Za-z0-9_$@-]+)+)$")
_AUTH_CONTEXT = re.compile(r"^auth\.context\.([^{}\s]+)$")
_VALUE_HINT = (
    "use {path.NAME}, {query.NAME}, {header.NAME}, {body.a.b}, {auth.principalId}, "
    "{auth.context.KEY}, {stage.NAME} or {context.requestId}"
)


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


def _value_part(expression: str) -> TransformPart | None:
    """One ``{...}`` of a transform value; None when it is not a known form."""
    request = _REQUEST.match(expression)
    if request:
        source = request.group(1)
        return RequestPart(source=source, name=request.group(2))  # type: ignore[arg-type]
    stage = _STAGE.match(expression)
    if stage:
        return StageVarPart(name=stage.group(1))
    body = _BODY.match(expression)
    if body:
        steps = body.group(1)[1:].split(".")
        return BodyValuePart(path=tuple(int(s) if s.isdigit() else s for s in steps))
    if expression == "auth.principalId":
        return PrincipalPart(field="principalId")
    context = _AUTH_CONTEXT.match(expression)
    if context:
        return PrincipalPart(field="context", key=context.group(1))
    if expression == "context.requestId":
        return RequestContextPart(name="requestId")
    return None


def parse_value_expression(text: str, origin: Origin, diags: Diagnostics) -> ValueExpression | None:
    """Parse a transform value: literal text with ``{source.name}`` expressions (GW323)."""
    parts: list[TransformPart] = []
    pos = 0
    ok = True
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(TextPart(text=text[pos : m.start()]))
        pos = m.end()
        dollar, brace = m.group(1), m.group(2)
        expression = dollar if dollar is not None else brace
        assert expression is not None
        part = _value_part(expression)
        if dollar is not None and not isinstance(part, StageVarPart):
            part = None  # ${...} is only the stage-variable spelling
        if part is None:
            shown = f"${{{dollar}}}" if dollar is not None else f"{{{brace}}}"
            diags.error("GW323", origin, f"malformed value expression {shown!r} in {text!r}", hint=_VALUE_HINT)
            ok = False
            continue
        parts.append(part)
    if pos < len(text):
        parts.append(TextPart(text=text[pos:]))
    if not ok:
        return None
    merged: list[TransformPart] = []
    for p in parts:
        if isinstance(p, TextPart) and merged and isinstance(merged[-1], TextPart):
            merged[-1] = TextPart(text=merged[-1].text + p.text)
        else:
            merged.append(p)
    return ValueExpression(parts=tuple(merged), source=text, origin=origin)
