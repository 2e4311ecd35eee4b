"""View model of the generated gateway: what the ``templates/gateway`` templates loop over.

Layer: emit. Turns IR nodes into the names and Python literal expressions the
gateway templates paste; every spec value goes through ``pyrepr`` (literals) or is
left for the template's ``docstring`` filter, never between hand-written quotes.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..ir.nodes import (
    Api,
    EnvVarPart,
    FunctionIntegration,
    GatewayResponseOverride,
    HttpProxyIntegration,
    Integration,
    MockIntegration,
    Operation,
    RequestPart,
    StageVarPart,
    Template,
    TextPart,
)
from .render import pyrepr
from .validation import ValidationPlan

__all__ = ["GatewayView", "OperationView", "build_gateway_view"]

# Module-level names of the generated routes.py that a handler must not shadow.
_ROUTES_RESERVED = frozenset({"annotations", "web", "gw", "validation", "ROUTES", "Mapping"})


@dataclass(frozen=True, slots=True)
class OperationView:
    handler: str  # the handler function's name in routes.py
    operation_id: str
    method: str
    path: str
    pointer: str  # "#/paths/~1pets/get"
    kind: str  # integration kind, for the docstring
    summary: str | None
    segments_expr: str
    integration_expr: str
    content_types_expr: str
    max_body_bytes: int | None
    params_function: str | None
    body_function: str | None
    needs_query: bool  # pass request.query (else the runtime's empty constant)
    needs_cookies: bool


@dataclass(frozen=True, slots=True)
class GatewayView:
    title: str
    api_version: str
    description: str | None
    distribution: str
    package: str
    source_label: str
    compiler_version: str
    runtime_requirement: str
    api_expr: str
    stage_names: tuple[str, ...]
    default_stage: str
    operations: tuple[OperationView, ...]
    # TOML-safe values (a JSON string is a valid TOML basic string)
    pyproject_name: str
    pyproject_requirement: str
    api_version_toml: str
    description_toml: str
    package_toml: str
    # Markdown-safe values for the README
    title_markdown: str
    source_label_markdown: str
    default_stage_markdown: str
    stages_markdown: str
    markdown_rows: tuple[str, ...]


def _call(callee: str, /, **kwargs: str) -> str:
    return f"{callee}(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _tuple(items: list[str]) -> str:
    if not items:
        return "()"
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _template_expr(template: Template) -> str:
    parts: list[str] = []
    for part in template.parts:
        if isinstance(part, TextPart):
            parts.append(_call("gw.Text", text=pyrepr(part.text)))
        elif isinstance(part, StageVarPart):
            parts.append(_call("gw.StageVar", name=pyrepr(part.name)))
        elif isinstance(part, EnvVarPart):
            parts.append(_call("gw.EnvVar", name=pyrepr(part.name), default=pyrepr(part.default)))
        elif isinstance(part, RequestPart):
            parts.append(
                _call("gw.RequestValue", source=pyrepr(part.source), name=pyrepr(part.name))
            )
    return _tuple(parts)


def _mapping_expr(pairs: tuple[tuple[str, str], ...]) -> str:
    return pyrepr(dict(pairs))


def _integration_expr(integration: Integration) -> str:
    if isinstance(integration, HttpProxyIntegration):
        return _call(
            "gw.HttpProxySpec",
            url=_template_expr(integration.url),
            method=pyrepr(integration.method),
            timeout_ms=pyrepr(integration.timeout_ms),
            retries=pyrepr(integration.retries),
            pass_query=pyrepr(integration.pass_query),
        )
    if isinstance(integration, MockIntegration):
        return _call(
            "gw.MockSpec",
            status=pyrepr(integration.status),
            headers=_mapping_expr(integration.headers),
            media_type=pyrepr(integration.media_type),
            body=pyrepr(integration.body),
            has_body=pyrepr(integration.has_body),
        )
    if isinstance(integration, FunctionIntegration):
        return _call(
            "gw.FunctionSpec",
            handler=pyrepr(integration.handler),
            payload_version=pyrepr(integration.payload_version),
            timeout_ms=pyrepr(integration.timeout_ms),
        )
    raise TypeError(f"unknown integration {type(integration).__name__}")


def _override_expr(override: GatewayResponseOverride) -> str:
    return _call(
        "gw.ResponseOverride",
        type=pyrepr(override.type),
        status=pyrepr(override.status),
        headers=_mapping_expr(override.headers),
        body=pyrepr(override.body),
        has_body=pyrepr(override.has_body),
    )


def _api_expr(api: Api) -> str:
    stages = [
        _call("gw.Stage", name=pyrepr(stage.name), variables=_mapping_expr(stage.variables))
        for stage in api.stages
    ]
    limits = _call(
        "gw.Limits",
        max_body_bytes=pyrepr(api.limits.max_body_bytes),
        max_header_bytes=pyrepr(api.limits.max_header_bytes),
        max_url_length=pyrepr(api.limits.max_url_length),
        integration_timeout_ms=pyrepr(api.limits.integration_timeout_ms),
    )
    return _call(
        "gw.ApiConfig",
        title=pyrepr(api.title),
        version=pyrepr(api.version),
        base_path=pyrepr(api.base_path),
        stages=_tuple(stages),
        limits=limits,
        error_format=pyrepr(api.error_format),
        gateway_responses=_tuple([_override_expr(o) for o in api.gateway_responses]),
    )


def _handler_names(operations: tuple[Operation, ...]) -> Mapping[str, str]:
    taken: set[str] = set(_ROUTES_RESERVED)
    names: dict[str, str] = {}
    for op in operations:
        name = op.py_name
        while name in taken or keyword.iskeyword(name):
            name += "_"
        taken.add(name)
        names[op.id] = name
    return names


def _operation_view(op: Operation, handler: str, plan: ValidationPlan) -> OperationView:
    checks = plan.for_operation(op.id)
    segments = [f"({pyrepr(s.kind)}, {pyrepr(s.value)})" for s in op.segments]
    content_types: str
    if op.request_body is None:
        content_types = "None"
    else:
        content_types = _tuple([pyrepr(m.media_type) for m in op.request_body.contents])
    return OperationView(
        handler=handler,
        operation_id=op.id,
        method=op.method,
        path=op.path,
        pointer="#" + op.origin.pointer,
        kind=op.integration.kind,
        summary=op.summary,
        segments_expr=_tuple(segments),
        integration_expr=_integration_expr(op.integration),
        content_types_expr=content_types,
        max_body_bytes=op.max_body_bytes,
        params_function=checks.params_function if op.validation.parameters else None,
        body_function=checks.body_function if op.validation.body else None,
        needs_query=op.validation.unknown_query == "reject"
        or any(p.location == "query" for p in op.parameters),
        needs_cookies=any(p.location == "cookie" for p in op.parameters),
    )


def build_gateway_view(
    api: Api,
    plan: ValidationPlan,
    *,
    compiler_version: str,
    runtime_requirement: str,
    source_label: str,
) -> GatewayView:
    names = _handler_names(api.operations)
    stage_names = tuple(stage.name for stage in api.stages)
    distribution = f"{api.name}-gateway"
    return GatewayView(
        title=api.title,
        api_version=api.version,
        description=api.description,
        distribution=distribution,
        package=f"{api.package}_gateway",
        source_label=source_label,
        compiler_version=compiler_version,
        runtime_requirement=runtime_requirement,
        api_expr=_api_expr(api),
        stage_names=stage_names,
        default_stage=stage_names[0] if stage_names else "default",
        operations=tuple(_operation_view(op, names[op.id], plan) for op in api.operations),
        pyproject_name=_toml_string(distribution),
        pyproject_requirement=_toml_string(f"gatewright{runtime_requirement}"),
        api_version_toml=_toml_string(_distribution_version(api.version)),
        description_toml=_toml_string(f"API gateway for {api.title} {api.version}"),
        package_toml=_toml_string(f"{api.package}_gateway"),
        title_markdown=_markdown(api.title),
        source_label_markdown=_markdown(source_label).replace("`", "'"),
        default_stage_markdown=_markdown(stage_names[0] if stage_names else "default"),
        stages_markdown=", ".join(_markdown(n) for n in stage_names) or "none defined (any name)",
        markdown_rows=tuple(
            " | ".join(_markdown(cell) for cell in (op.method, op.path, op.id, op.integration.kind))
            for op in api.operations
        ),
    )


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _distribution_version(version: str) -> str:
    """A PEP 440 release from ``info.version`` ("v2.1-beta" -> "2.1"); "0.0.0" if none."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", version.strip())
    return match.group(1) if match else "0.0.0"


def _markdown(text: str) -> str:
    """One line of inert Markdown: no table breaks, no HTML, no line breaks."""
    flat = " ".join(text.split())
    for special in ("\\", "|", "<", ">", "*", "[", "]", "`"):
        flat = flat.replace(special, "\\" + special)
    return flat
