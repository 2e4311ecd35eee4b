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
    AuthorizerSettings,
    BodyOps,
    BodyValuePart,
    CachePolicy,
    CacheSettings,
    CorsSettings,
    EnvVarPart,
    FieldOps,
    FunctionIntegration,
    GatewayResponseOverride,
    HttpProxyIntegration,
    Integration,
    JSONValue,
    JwtSettings,
    MockIntegration,
    Operation,
    PrincipalPart,
    RequestContextPart,
    RequestPart,
    RequestTransform,
    ResponseTransform,
    SecurityRequirement,
    SecurityScheme,
    SigV4Settings,
    StageVarPart,
    Template,
    TextPart,
    Throttle,
    Transform,
    UsagePlan,
    ValueExpression,
)
from .layout import layout
from .render import black_repr as pyrepr
from .render import pyident
from .validation import ValidationPlan

__all__ = ["GatewayView", "OperationView", "build_gateway_view"]

_LINE_LENGTH = 88


# Module-level names of the generated routes.py that a handler must not shadow.
_ROUTES_RESERVED = frozenset(
    {"annotations", "gw", "validation", "ROUTES", "MOCK_BODIES", "Final", "Request", "Reply", "Integration"}
)


@dataclass(frozen=True, slots=True)
class OperationView:
    handler: str  # the handler function's name in routes.py
    doc: str  # "GET /pets -> mock (#/paths/~1pets/get). Summary"
    signature_lines: tuple[str, ...]
    params_lines: tuple[str, ...]  # the parameter check call, or nothing
    body_lines: tuple[str, ...]  # the body check call, or nothing
    # what the handler reads the body from: a transformed operation whose integration
    # gets a cloned request reads it through a clone, since a read request cannot be cloned
    body_source: str
    route_lines: tuple[str, ...]  # the ROUTES.add(...) statement after the handler, laid out


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
    features_lines: tuple[str, ...]  # FEATURES = ... in config.py, laid out; empty: none
    features_use_datetime: bool  # config.py imports datetime (sunset dates)
    # where the gateway serves the exported document (package data ``openapi.json``)
    openapi_path: str | None
    stage_names: tuple[str, ...]
    default_stage: str
    operations: tuple[OperationView, ...]
    # the package data file ``mock_bodies.json`` (None: no mock has a structured body)
    mock_bodies_json: str | None
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


def _call_non_default(callee: str, defaults: Mapping[str, str], /, **kwargs: str) -> str:
    """A call that leaves out arguments equal to the callee's defaults (shorter code)."""
    kept = {k: v for k, v in kwargs.items() if defaults.get(k) != v}
    return _call(callee, **kept)


_MOCK_DEFAULTS = {
    "status": "200",
    "headers": "{}",
    "media_type": pyrepr("application/json"),
    "body": "None",
    "has_body": "False",
}
_PROXY_DEFAULTS = {"method": "None", "timeout_ms": "29000", "retries": "0", "pass_query": "True"}
_FUNCTION_DEFAULTS = {"payload_version": pyrepr("1.0"), "timeout_ms": "29000"}


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


def _mock_body_expr(value: JSONValue, operation_id: str, mock_bodies: dict[str, JSONValue]) -> str:
    """Scalars inline; objects and arrays from the package's ``mock_bodies.json``.

    Examples in big specs run to thousands of lines as nested Python literals, which
    made formatting and type-checking generated gateways slow.
    """
    if isinstance(value, dict | list) and value:
        mock_bodies[operation_id] = value
        return f"MOCK_BODIES[{pyrepr(operation_id)}]"
    return pyrepr(value)


def _mapping_expr(pairs: tuple[tuple[str, str], ...]) -> str:
    return pyrepr(dict(pairs))


def _integration_expr(
    integration: Integration, operation_id: str, mock_bodies: dict[str, JSONValue]
) -> str:
    if isinstance(integration, HttpProxyIntegration):
        return _call_non_default(
            "gw.HttpProxySpec",
            _PROXY_DEFAULTS,
            url=_template_expr(integration.url),
            method=pyrepr(integration.method),
            timeout_ms=pyrepr(integration.timeout_ms),
            retries=pyrepr(integration.retries),
            pass_query=pyrepr(integration.pass_query),
        )
    if isinstance(integration, MockIntegration):
        return _call_non_default(
            "gw.MockSpec",
            _MOCK_DEFAULTS,
            status=pyrepr(integration.status),
            headers=_mapping_expr(integration.headers),
            media_type=pyrepr(integration.media_type),
            body=_mock_body_expr(integration.body, operation_id, mock_bodies),
            has_body=pyrepr(integration.has_body),
        )
    if isinstance(integration, FunctionIntegration):
        return _call_non_default(
            "gw.FunctionSpec",
            _FUNCTION_DEFAULTS,
            handler=pyrepr(integration.handler),
            payload_version=pyrepr(integration.payload_version),
            timeout_ms=pyrepr(integration.timeout_ms),
        )
    raise TypeError(f"unknown integration {type(integration).__name__}")


def _value_expr(value: ValueExpression) -> str:
    """A ``gw.Expression``: literal text, stage variables and ``gw.ValueRef`` pieces."""
    pieces: list[str] = []
    for part in value.parts:
        if isinstance(part, TextPart):
            pieces.append(pyrepr(part.text))
        elif isinstance(part, StageVarPart):
            pieces.append(_call("gw.StageVar", name=pyrepr(part.name)))
        elif isinstance(part, RequestPart):
            pieces.append(f"gw.ValueRef({pyrepr(part.source)}, {pyrepr((part.name,))})")
        elif isinstance(part, BodyValuePart):
            pieces.append(f'gw.ValueRef("body", {pyrepr(part.path)})')
        elif isinstance(part, PrincipalPart):
            key = ("principalId",) if part.field == "principalId" else ("context", part.key or "")
            pieces.append(f'gw.ValueRef("auth", {pyrepr(key)})')
        elif isinstance(part, RequestContextPart):
            pieces.append(f'gw.ValueRef("context", {pyrepr((part.name,))})')
    return _tuple(pieces)


def _pairs_expr(pairs: tuple[tuple[str, ValueExpression], ...]) -> str:
    return "{" + ", ".join(f"{pyrepr(k)}: {_value_expr(v)}" for k, v in pairs) + "}"


def _field_ops_expr(ops: FieldOps | None) -> str | None:
    if ops is None:
        return None
    args: dict[str, str] = {}
    if ops.set:
        args["set"] = _pairs_expr(ops.set)
    if ops.append:
        args["append"] = _pairs_expr(ops.append)
    if ops.remove:
        args["remove"] = pyrepr(ops.remove)
    if ops.rename:
        args["rename"] = _mapping_expr(ops.rename)
    return _call("gw.FieldOps", **args)


def _body_ops_expr(ops: BodyOps | None) -> str | None:
    if ops is None:
        return None
    args: dict[str, str] = {}
    expressions = [(a.pointer, a.expression) for a in ops.set if a.expression is not None]
    constants = [(a.pointer, a.constant) for a in ops.set if a.expression is None]
    if expressions:
        args["set"] = _pairs_expr(tuple(expressions))
    if constants:
        args["constants"] = "{" + ", ".join(f"{pyrepr(k)}: {pyrepr(v)}" for k, v in constants) + "}"
    if ops.remove:
        args["remove"] = pyrepr(ops.remove)
    if ops.rename:
        args["rename"] = _mapping_expr(ops.rename)
    return _call("gw.BodyOps", **args)


def _kept(**kwargs: str | None) -> dict[str, str]:
    return {k: v for k, v in kwargs.items() if v is not None}


def _request_transform_expr(transform: RequestTransform) -> str:
    return _call(
        "gw.RequestTransform",
        **_kept(
            headers=_field_ops_expr(transform.headers),
            query=_field_ops_expr(transform.query),
            path=_value_expr(transform.path) if transform.path is not None else None,
            body=_body_ops_expr(transform.body),
        ),
    )


def _response_transform_expr(transform: ResponseTransform) -> str:
    status = (
        "{" + ", ".join(f"{pyrepr(a)}: {pyrepr(b)}" for a, b in transform.status) + "}"
        if transform.status
        else None
    )
    return _call(
        "gw.ResponseTransform",
        **_kept(
            status=status,
            headers=_field_ops_expr(transform.headers),
            body=_body_ops_expr(transform.body),
        ),
    )


def _transformed_expr(integration: str, transform: Transform) -> str:
    """The integration spec wrapped in ``gw.Transformed`` (see ``runtime/transform.py``)."""
    args = _kept(
        request=_request_transform_expr(transform.request) if transform.request else None,
        response=_response_transform_expr(transform.response) if transform.response else None,
    )
    return f"gw.Transformed({integration}" + "".join(f", {k}={v}" for k, v in args.items()) + ")"


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


def _plain_segments(path: str) -> tuple[tuple[str, str], ...]:
    """What ``gw.path_segments`` reads from ``path`` at run time (kept in step with it)."""
    out: list[tuple[str, str]] = []
    for part in path.strip("/").split("/"):
        if not part:
            continue
        if part.startswith("{") and part.endswith("+}"):
            out.append(("greedy", part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            out.append(("param", part[1:-1]))
        else:
            out.append(("static", part))
    return tuple(out)


def _operation_view(
    op: Operation, handler: str, plan: ValidationPlan, mock_bodies: dict[str, JSONValue]
) -> OperationView:
    checks = plan.for_operation(op.id)
    pyident(handler)  # names reach the code unquoted: make sure they are identifiers
    route_args = [
        handler,
        pyrepr(op.method),
        pyrepr(op.path),
        pyrepr(op.id),
        _integration_expr(op.integration, op.id, mock_bodies),
    ]
    if op.transform is not None:
        route_args[-1] = _transformed_expr(route_args[-1], op.transform)
    segments = tuple((s.kind, s.value) for s in op.segments)
    if segments != _plain_segments(op.path):
        route_args.append(f"segments={pyrepr(segments)}")
    if op.request_body is not None:
        media_types = tuple(m.media_type for m in op.request_body.contents)
        route_args.append(f"content_types={pyrepr(media_types)}")
    if op.max_body_bytes is not None:
        route_args.append(f"max_body_bytes={pyrepr(op.max_body_bytes)}")
    needs_query = op.validation.unknown_query == "reject" or any(
        p.location == "query" for p in op.parameters
    )
    needs_cookies = any(p.location == "cookie" for p in op.parameters)
    flags = [f for f, on in (("query=True", needs_query), ("cookies=True", needs_cookies)) if on]
    params_function = checks.params_function if op.validation.parameters else None
    body_function = checks.body_function if op.validation.body else None
    for name in (params_function, body_function):
        if name is not None:
            pyident(name)
    args = ", ".join(["request", *flags])
    signature = [f"async def {handler}(request: Request, integration: Integration) -> Reply:"]
    if len(signature[0]) > _LINE_LENGTH:
        signature = [
            f"async def {handler}(",
            "    request: Request, integration: Integration",
            ") -> Reply:",
        ]
    doc = f"{op.method} {op.path} -> {op.integration.kind} (#{op.origin.pointer})."
    if op.summary:
        doc += " " + " ".join(op.summary.split())
    return OperationView(
        handler=handler,
        doc=doc,
        signature_lines=tuple(signature),
        params_lines=tuple(layout(f"validation.{params_function}(*gw.parameters({args}))", 4))
        if params_function
        else (),
        body_lines=tuple(
            layout(f'validation.{body_function}(request.headers.get("Content-Type", ""), body)', 4)
        )
        if body_function
        else (),
        # the http_proxy takes a transform's result as request state and never clones
        body_source="request.clone()"
        if op.transform is not None and op.integration.kind != "http_proxy"
        else "request",
        route_lines=tuple(layout("ROUTES.add(" + ", ".join(route_args) + ")")),
    )


def build_gateway_view(
    api: Api,
    plan: ValidationPlan,
    *,
    compiler_version: str,
    runtime_requirement: str,
    source_label: str,
    package: str | None = None,
) -> GatewayView:
    """``package`` (default ``<api.package>_gateway``) is the dotted name of the package
    the modules live in: a subpackage when several versions share one gateway."""
    package = package or f"{api.package}_gateway"
    names = _handler_names(api.operations)
    mock_bodies: dict[str, JSONValue] = {}
    features = _features_expr(api, package)
    operations = tuple(
        _operation_view(op, names[op.id], plan, mock_bodies) for op in api.operations
    )
    stage_names = tuple(stage.name for stage in api.stages)
    distribution = f"{api.name}-gateway"
    return GatewayView(
        title=api.title,
        api_version=api.version,
        description=api.description,
        distribution=distribution,
        package=package,
        source_label=source_label,
        compiler_version=compiler_version,
        runtime_requirement=runtime_requirement,
        api_expr=_api_expr(api),
        features_lines=tuple(layout(f"FEATURES: Final = {features}")) if features else (),
        features_use_datetime=features is not None and "datetime." in features,
        openapi_path=_openapi_path(api),
        stage_names=stage_names,
        default_stage=stage_names[0] if stage_names else "default",
        operations=operations,
        mock_bodies_json=json.dumps(mock_bodies, ensure_ascii=False, separators=(",", ":"))
        if mock_bodies
        else None,
        pyproject_name=_toml_string(distribution),
        pyproject_requirement=_toml_string(f"gatewright{runtime_requirement}"),
        api_version_toml=_toml_string(_distribution_version(api.version)),
        description_toml=_toml_string(f"API gateway for {api.title} {api.version}"),
        package_toml=_toml_string(package),
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


# --------------------------------------------------------------------------- features

_QUOTA_OFFSET_UNIT = {"day": 3600, "week": 86400, "month": 86400}  # IR: hours / days


def _bucket_expr(throttle: Throttle | None) -> str:
    if throttle is None:
        return "None"
    return _call("gw.TokenBucket", rate=pyrepr(float(throttle.rate)), burst=pyrepr(throttle.burst))


def _frozenset_expr(items: tuple[object, ...]) -> str:
    return f"frozenset({pyrepr(tuple(items))})" if items else "frozenset()"


def _plan_expr(plan: UsagePlan) -> str:
    args: dict[str, str] = {}
    if plan.throttle is not None:
        args["throttle"] = _bucket_expr(plan.throttle)
    if plan.quota is not None:
        quota = plan.quota
        args["quota"] = _call(
            "gw.QuotaPolicy",
            limit=pyrepr(quota.limit),
            period=pyrepr(quota.period),
            # the IR counts hours (day) or days (week, month); the runtime seconds
            offset_seconds=pyrepr(quota.offset * _QUOTA_OFFSET_UNIT[quota.period]),
        )
    if plan.method_throttles:
        args["methods"] = "{" + ", ".join(
            f"{pyrepr(op_id)}: {_bucket_expr(t)}" for op_id, t in plan.method_throttles
        ) + "}"
    if plan.stages:
        args["stages"] = _frozenset_expr(plan.stages)
    return f"gw.UsagePlan({pyrepr(plan.name)}" + "".join(f", {k}={v}" for k, v in args.items()) + ")"


def _cache_expr(policy: CachePolicy, settings: CacheSettings | None) -> str:
    args = {
        "ttl_seconds": pyrepr(policy.ttl_seconds),
        "key_query": pyrepr(tuple(p.name for p in policy.key if p.source == "query")),
        "key_headers": pyrepr(tuple(p.name for p in policy.key if p.source == "header")),
        "shared": pyrepr(policy.shared),
        "methods": _frozenset_expr(policy.methods),
        "status_codes": _frozenset_expr(policy.status_codes),
        "client_max_age0": pyrepr(policy.client_invalidation),
        "on_unauthorized": pyrepr(policy.on_unauthorized_invalidation),
    }
    if settings is not None:
        args["max_entry_bytes"] = pyrepr(min(settings.max_entry_bytes, 1024 * 1024))
    return _call("gw.CachePolicy", **args)


def _requirements_expr(requirements: tuple[SecurityRequirement, ...]) -> str:
    return _tuple(
        ["{" + ", ".join(f"{pyrepr(k)}: {pyrepr(s)}" for k, s in r.schemes) + "}" for r in requirements]
    )


def _scheme_expr(scheme: SecurityScheme) -> str | None:
    """How the gateway enforces one scheme; None when it cannot (basic, mutualTLS, ...)."""
    settings = scheme.gateway
    if isinstance(settings, JwtSettings):
        locations = [
            _call("gw.TokenLocation", source=pyrepr(src), name=pyrepr(name), prefix=pyrepr(prefix))
            for src, name, prefix in settings.locations
            if src != "cookie"
        ]
        jwt_args = {
            "issuer": pyrepr(settings.issuer),
            "audiences": pyrepr(settings.audiences),
            "algorithms": pyrepr(settings.algorithms),
            "leeway_seconds": pyrepr(float(settings.leeway_seconds)),
            "locations": _tuple(locations),
            "scopes_claim": pyrepr(settings.scopes_claim),
            "claims_to_headers": _mapping_expr(settings.claims_to_headers),
        }
        discovery = settings.discovery_url
        if settings.jwks_uri is None and discovery is None:
            discovery = scheme.openid_connect_url
        return _call(
            "gw.JwtScheme",
            settings=_call("gw.JwtSettings", **jwt_args),
            jwks_uri=pyrepr(settings.jwks_uri),
            discovery_url=pyrepr(discovery),
        )
    if isinstance(settings, SigV4Settings):
        sig_args = {"service": pyrepr(settings.service)}
        if settings.region is not None:
            sig_args["region"] = pyrepr(settings.region)
        sig_args["clock_skew_seconds"] = pyrepr(float(settings.max_skew_seconds))
        return _call("gw.SigV4Scheme", settings=_call("gw.SigV4Settings", **sig_args))
    if isinstance(settings, AuthorizerSettings):
        handler = settings.handler or settings.url
        if handler is None:
            return None
        auth_args = {
            "type": pyrepr(settings.type),
            "identity_sources": pyrepr(settings.identity_sources),
            "identity_validation": pyrepr(settings.identity_validation),
            "result_ttl_seconds": pyrepr(settings.result_ttl_seconds),
            "timeout_seconds": pyrepr(settings.timeout_ms / 1000),
            "context_header_prefix": pyrepr(settings.context_header_prefix),
        }
        return _call(
            "gw.AuthorizerScheme",
            handler=pyrepr(handler),
            settings=_call("gw.AuthorizerSettings", **auth_args),
        )
    if scheme.type == "apiKey" and scheme.location in ("header", "query") and scheme.param_name:
        return _call("gw.ApiKeyScheme", source=pyrepr(f"{scheme.location}:{scheme.param_name}"))
    if scheme.type == "openIdConnect" and scheme.openid_connect_url:
        return _call("gw.JwtScheme", discovery_url=pyrepr(scheme.openid_connect_url))
    return None


def _openapi_path(api: Api) -> str | None:
    """Where the gateway serves its public document; None when it does not."""
    if api.document is None:
        return None  # an IR built without its source document: nothing to export
    if api.openapi is None:
        return "/openapi.json"
    return api.openapi.path if api.openapi.enabled else None


_CORS_DEFAULTS = {
    "allow_methods": pyrepr(("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")),
    "allow_headers": "()",
    "expose_headers": "()",
    "allow_credentials": "False",
    "max_age_seconds": "None",
}


def _cors_expr(cors: CorsSettings) -> str:
    return _call_non_default(
        "gw.CorsPolicy",
        _CORS_DEFAULTS,
        allow_origins=pyrepr(cors.allow_origins),
        allow_methods=pyrepr(cors.allow_methods),
        allow_headers=pyrepr(cors.allow_headers),
        expose_headers=pyrepr(cors.expose_headers),
        allow_credentials=pyrepr(cors.allow_credentials),
        max_age_seconds=pyrepr(cors.max_age_seconds),
    )


def _edge_args(api: Api, package: str) -> dict[str, str]:
    """CORS, compression, deprecation and the OpenAPI endpoint of ``config.FEATURES``."""
    args: dict[str, str] = {}
    if api.cors is not None:
        args["cors"] = _cors_expr(api.cors)
    overrides = [
        (op.id, "None" if op.cors == "off" else _cors_expr(op.cors))
        for op in api.operations
        if op.cors is not None
    ]
    if overrides:
        args["operation_cors"] = "{" + ", ".join(f"{pyrepr(i)}: {e}" for i, e in overrides) + "}"
    if api.compression is not None:
        args["compression"] = _call_non_default(
            "gw.CompressionPolicy",
            {"binary_media_types": "()"},
            minimum_size_bytes=pyrepr(api.compression.minimum_size_bytes),
            binary_media_types=pyrepr(api.binary_media_types),
        )
    notices = []
    for op in api.operations:
        if op.sunset is not None:
            sunset = f"datetime.datetime.fromisoformat({pyrepr(op.sunset)})"
            notices.append(f"{pyrepr(op.id)}: gw.DeprecationNotice(sunset={sunset})")
        elif op.deprecated:
            notices.append(f"{pyrepr(op.id)}: gw.DeprecationNotice()")
    if notices:
        args["deprecations"] = "{" + ", ".join(notices) + "}"
    openapi_path = _openapi_path(api)
    if openapi_path is not None:
        args["openapi"] = _call_non_default(
            "gw.OpenApiDocument",
            {"path": pyrepr("/openapi.json")},
            path=pyrepr(openapi_path),
            package=pyrepr(package),
        )
    return args


def _features_expr(api: Api, package: str) -> str | None:
    """The generated ``config.FEATURES`` (None when the API declares no feature)."""
    args: dict[str, str] = {}
    if api.store is not None:
        args["store"] = _call(
            "gw.StoreSpec",
            url=pyrepr(api.store.url.source if api.store.url is not None else "memory://"),
            prefix=pyrepr(api.store.prefix),
            fail_mode=pyrepr(api.store.fail_mode),
        )
    if api.rate_limit_headers != "ietf":
        args["rate_limit_headers"] = pyrepr(api.rate_limit_headers)
    if api.throttle is not None:
        args["api_throttle"] = _bucket_expr(api.throttle)
    if api.account_throttle is not None:
        args["account_throttle"] = _bucket_expr(api.account_throttle)
    op_throttles = [(op.id, op.throttle) for op in api.operations if op.throttle is not None]
    if op_throttles:
        args["operation_throttles"] = "{" + ", ".join(
            f"{pyrepr(i)}: {_bucket_expr(t)}" for i, t in op_throttles
        ) + "}"
    if api.usage_plans:
        args["usage_plans"] = "{" + ", ".join(
            f"{pyrepr(p.name)}: {_plan_expr(p)}" for p in api.usage_plans
        ) + "}"
    if api.api_keys is not None:
        args["key_sources"] = pyrepr(tuple(f"{kind}:{name}" for kind, name in api.api_keys.sources))
        if api.api_keys.store is not None:
            args["key_store_url"] = pyrepr(api.api_keys.store.source)
    required = tuple(op.id for op in api.operations if op.api_key_required)
    if required:
        args["key_required"] = _frozenset_expr(required)
    cached = [(op.id, op.cache) for op in api.operations if op.cache is not None]
    if cached:
        args["cache_policies"] = "{" + ", ".join(
            f"{pyrepr(i)}: {_cache_expr(c, api.cache)}" for i, c in cached
        ) + "}"
        if api.cache is not None:
            args["cache_capacity_bytes"] = pyrepr(api.cache.capacity_bytes)
    referenced = {k for r in api.security for k, _ in r.schemes} | {
        k for op in api.operations for r in (op.security or ()) for k, _ in r.schemes
    }
    schemes = [
        (s.key, expr)
        for s in api.security_schemes
        if s.key in referenced and (expr := _scheme_expr(s)) is not None
    ]
    if schemes:
        args["schemes"] = "{" + ", ".join(f"{pyrepr(k)}: {e}" for k, e in schemes) + "}"
    if referenced:
        if api.security:
            args["security"] = _requirements_expr(api.security)
        per_op = [(op.id, op.security) for op in api.operations if op.security is not None]
        if per_op:
            args["operation_security"] = "{" + ", ".join(
                f"{pyrepr(i)}: {_requirements_expr(reqs)}" for i, reqs in per_op
            ) + "}"
    if api.resource_policy is not None:
        policy = api.resource_policy
        args["resource_policy"] = (
            f"gw.IpPolicy.from_strings(allow={pyrepr(policy.allow)}, deny={pyrepr(policy.deny)}, "
            f"trusted_proxies={pyrepr(policy.trusted_proxies)})"
        )
    args.update(_edge_args(api, package))
    if not args:
        return None
    return _call("gw.GatewayFeatures", **args)
