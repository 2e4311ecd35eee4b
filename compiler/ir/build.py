"""Building the IR from a validated, bundled spec.

Layer: ir. Input: ``LoadedSpec`` that passed ``validate``; output: ``ir.Api``.
Builders report into ``Diagnostics`` and return ``None`` for what they cannot
build; the pipeline stops after this stage when there are errors.

``x-gateway`` settings inherit document ``defaults`` -> path item -> operation;
the most specific level wins per top-level key. AWS ``x-amazon-apigateway-*``
integrations are imported when no ``x-gateway`` integration is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

from ..diagnostics import Diagnostics, Origin, join_pointer
from ..source.loading import LoadedSpec, resolve_pointer
from .examples import NO_EXAMPLE, NoExample, minimal_example
from .naming import NameScope, snake_case
from .nodes import (
    Api,
    ApiKeySettings,
    AuthorizerSettings,
    Backend,
    BodyAssignment,
    BodyOps,
    CacheKeyPart,
    CachePolicy,
    CacheSettings,
    CompressionSettings,
    CorsSettings,
    Example,
    FieldOps,
    FunctionIntegration,
    GatewayResponseOverride,
    Header,
    HttpProxyIntegration,
    Integration,
    JSONValue,
    JwtSettings,
    Limits,
    MediaType,
    MockIntegration,
    OpenApiEndpoint,
    Operation,
    Parameter,
    ParameterLocation,
    Quota,
    RequestBody,
    RequestPart,
    RequestTransform,
    ResourcePolicy,
    Response,
    ResponseTransform,
    RouteSegment,
    Schema,
    SecurityRequirement,
    SecurityScheme,
    SigV4Settings,
    Stage,
    StageVarPart,
    StoreSettings,
    Template,
    TemplatePart,
    TextPart,
    Throttle,
    Transform,
    UsagePlan,
    ValidationPolicy,
    ValueExpression,
)
from .schemas import SchemaBuilder
from .templating import TemplateContext, parse_template, parse_value_expression

__all__ = ["IDEMPOTENCY_KEY_HEADER", "RESERVED_PATHS", "BuildOptions", "build_api", "sunset_timestamp"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ANY_METHOD = "x-amazon-apigateway-any-method"
RESERVED_PATHS = ("/healthz", "/readyz")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT_PARAM = re.compile(r"^\{([^{}]+?)(\+)?\}$")
_ANY_PARAM = re.compile(r"\{[^{}]*\}")
# names the generated modules use for their own purposes; parameters never take them
RESERVED_PARAMETER_NAMES = (
    "self", "request", "response", "client", "options", "timeout", "max_retries",
    "extra_headers", "extra_query", "json", "body", "data", "files", "headers",
    "params", "path", "query", "cookies", "url", "method", "quote", "raw",
)
KNOWN_RESPONSE_TYPES = frozenset(
    {
        "DEFAULT_4XX", "DEFAULT_5XX", "BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS",
        "RESOURCE_NOT_FOUND", "METHOD_NOT_ALLOWED", "REQUEST_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE",
        "REQUEST_HEADER_FIELDS_TOO_LARGE", "URI_TOO_LONG", "INTEGRATION_FAILURE",
        "INTEGRATION_TIMEOUT", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "QUOTA_EXCEEDED",
        "INVALID_API_KEY", "API_CONFIGURATION_ERROR", "MISSING_AUTHENTICATION_TOKEN",
        "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR", "EXPIRED_TOKEN", "INVALID_SIGNATURE",
        "WAF_FILTERED",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOptions:
    name: str | None = None  # overrides x-gateway.name / info.title for package names
    options_label: str = ""  # folded into the source hash


@dataclass(slots=True)
class _Ctx:
    spec: LoadedSpec
    diags: Diagnostics
    schemas: SchemaBuilder
    doc: dict[str, Any]
    root_xg: dict[str, Any]
    limits: Limits
    backends: dict[str, Backend] = field(default_factory=dict)
    stage_vars: dict[str, set[str]] = field(default_factory=dict)
    openapi: OpenApiEndpoint | None = None

    def origin(self, pointer: str) -> Origin:
        return self.spec.origin(pointer)

    def deref(self, value: Any, pointer: str, depth: int = 0) -> tuple[Any, str]:
        """Follow ``$ref`` (internal, after bundling) and return (value, its pointer)."""
        while isinstance(value, dict) and isinstance(value.get("$ref"), str) and depth < 32:
            ref = value["$ref"]
            if not ref.startswith("#"):
                return {}, pointer
            pointer = unquote(ref[1:])
            try:
                value = resolve_pointer(self.doc, pointer)
            except (KeyError, TypeError, ValueError):
                return {}, pointer
            depth += 1
        return value, pointer


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- root settings


def _build_stages(ctx: _Ctx) -> tuple[Stage, ...]:
    raw = ctx.root_xg.get("stages")
    stages: list[Stage] = []
    if isinstance(raw, dict) and raw:
        for name, body in raw.items():
            variables = body.get("variables", {}) if isinstance(body, dict) else {}
            stages.append(
                Stage(
                    name=name,
                    variables=tuple((k, str(v)) for k, v in variables.items()),
                    origin=ctx.origin(join_pointer("/x-gateway/stages", name)),
                )
            )
    else:
        stages.append(Stage(name="dev", variables=(), origin=ctx.origin("/x-gateway" if ctx.root_xg else "")))
    for s in stages:
        ctx.stage_vars[s.name] = {k for k, _ in s.variables}
    return tuple(stages)


def _check_stage_parts(ctx: _Ctx, template: Template) -> bool:
    ok = True
    for part in template.parts:
        if isinstance(part, StageVarPart):
            missing = sorted(name for name, names in ctx.stage_vars.items() if part.name not in names)
            if missing:
                ctx.diags.error(
                    "GW302",
                    template.origin,
                    f"stage variable {part.name!r} is not defined in stage{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)}",
                    hint="define it under x-gateway.stages.<stage>.variables for every stage",
                )
                ok = False
    return ok


def _build_backends(ctx: _Ctx) -> tuple[Backend, ...]:
    raw = ctx.root_xg.get("backends")
    out: list[Backend] = []
    if not isinstance(raw, dict):
        return ()
    for name, body in raw.items():
        pointer = join_pointer("/x-gateway/backends", name)
        url = body.get("url")
        tpl = parse_template(url, ctx.origin(join_pointer(pointer, "url")), TemplateContext(allow_request=False), ctx.diags)
        if tpl is None or not _check_stage_parts(ctx, tpl):
            continue
        if tpl.is_static:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                ctx.diags.error("GW300", tpl.origin, f"backend URL {url!r} is not an absolute http(s) URL")
                continue
        backend = Backend(
            name=name,
            url=tpl,
            timeout_ms=int(body.get("timeoutMs", ctx.limits.integration_timeout_ms)),
            retries=int(body.get("retries", 0)),
            origin=ctx.origin(pointer),
        )
        out.append(backend)
        ctx.backends[name] = backend
    return tuple(out)


def _build_limits(root_xg: dict[str, Any]) -> Limits:
    raw = root_xg.get("limits")
    if not isinstance(raw, dict):
        return Limits()
    d = Limits()
    return Limits(
        max_body_bytes=int(raw.get("maxBodyBytes", d.max_body_bytes)),
        max_header_bytes=int(raw.get("maxHeaderBytes", d.max_header_bytes)),
        max_url_length=int(raw.get("maxUrlLength", d.max_url_length)),
        integration_timeout_ms=int(raw.get("integrationTimeoutMs", d.integration_timeout_ms)),
    )


def _build_gateway_responses(ctx: _Ctx) -> tuple[GatewayResponseOverride, ...]:
    raw = ctx.root_xg.get("gatewayResponses")
    out: list[GatewayResponseOverride] = []
    if not isinstance(raw, dict):
        return ()
    for kind, body in raw.items():
        pointer = join_pointer("/x-gateway/gatewayResponses", kind)
        if kind not in KNOWN_RESPONSE_TYPES:
            ctx.diags.error("GW311", ctx.origin(pointer), f"unknown gateway response type {kind!r}", hint="known types: " + ", ".join(sorted(KNOWN_RESPONSE_TYPES)))
            continue
        out.append(
            GatewayResponseOverride(
                type=kind,
                status=body.get("status"),
                headers=tuple((k, str(v)) for k, v in body.get("headers", {}).items()),
                body=body.get("body"),
                has_body="body" in body,
                origin=ctx.origin(pointer),
            )
        )
    return tuple(out)


def _build_security_schemes(ctx: _Ctx) -> tuple[SecurityScheme, ...]:
    raw = ctx.doc.get("components", {}).get("securitySchemes", {})
    if not isinstance(raw, dict):
        return ()
    scope = NameScope()
    out: list[SecurityScheme] = []
    for key, value in raw.items():
        body, pointer = ctx.deref(value, join_pointer("/components/securitySchemes", key))
        if not isinstance(body, dict):
            continue
        kind = body.get("type")
        if kind not in ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"):
            continue
        token_url = None
        scopes: list[str] = []
        flows = body.get("flows")
        if isinstance(flows, dict):
            for flow_name, flow in flows.items():
                if isinstance(flow, dict):
                    if flow_name == "clientCredentials" and isinstance(flow.get("tokenUrl"), str):
                        token_url = flow["tokenUrl"]
                    if isinstance(flow.get("scopes"), dict):
                        scopes.extend(s for s in flow["scopes"] if s not in scopes)
        location = body.get("in")
        out.append(
            SecurityScheme(
                key=key,
                py_name=scope.snake(key, fallback="auth"),
                type=kind,
                location=location if location in ("header", "query", "cookie") else None,
                param_name=_str(body.get("name")),
                scheme=body["scheme"].lower() if isinstance(body.get("scheme"), str) else None,
                bearer_format=_str(body.get("bearerFormat")),
                openid_connect_url=_str(body.get("openIdConnectUrl")),
                token_url=token_url,
                scopes=tuple(scopes),
                description=_str(body.get("description")),
                gateway=_scheme_gateway(ctx, body, pointer),
                origin=ctx.origin(pointer),
            )
        )
    return tuple(out)


def _scheme_gateway(ctx: _Ctx, body: dict[str, Any], pointer: str) -> JwtSettings | SigV4Settings | AuthorizerSettings | None:
    raw_xg = body.get("x-gateway")
    raw: dict[str, Any] = raw_xg if isinstance(raw_xg, dict) else {}
    xpointer = join_pointer(pointer, "x-gateway")
    kind = raw.get("kind")
    scheme_type = body.get("type")
    http_scheme = str(body.get("scheme", "")).lower()
    if kind == "sigv4" or (kind is None and scheme_type == "http" and http_scheme == "aws4-hmac-sha256"):
        return SigV4Settings(service=raw.get("service", "execute-api"), region=raw.get("region"), max_skew_seconds=int(raw.get("maxSkewSeconds", 300)))
    if kind == "authorizer":
        handler = raw.get("handler")
        url = raw.get("url")
        if (handler is None) == (url is None):
            ctx.diags.error("GW319", ctx.origin(xpointer), "an authorizer needs exactly one of 'handler' (package.module:function) or 'url'")
            return None
        if handler is not None and not _HANDLER.match(handler):
            ctx.diags.error("GW306", ctx.origin(join_pointer(xpointer, "handler")), f"handler {handler!r} is not of the form 'package.module:function'")
            return None
        validation = raw.get("identityValidation")
        if validation is not None:
            try:
                re.compile(validation)
            except re.error as exc:
                ctx.diags.error("GW319", ctx.origin(join_pointer(xpointer, "identityValidation")), f"identityValidation is not a valid regular expression ({exc.msg})")
                return None
        default_source = f"header.{body.get('name')}" if body.get("type") == "apiKey" and body.get("in") == "header" else "header.Authorization"
        return AuthorizerSettings(
            type=raw.get("type", "token"),
            handler=handler,
            url=url,
            identity_sources=tuple(raw.get("identitySource", [default_source])),
            identity_validation=validation,
            result_ttl_seconds=int(raw.get("resultTtlSeconds", 300)),
            timeout_ms=int(raw.get("timeoutMs", 10_000)),
            context_header_prefix=raw.get("contextHeaderPrefix", "X-Gateway-Authorizer-"),
        )
    if kind == "jwt" or (kind is None and (scheme_type in ("oauth2", "openIdConnect") or (scheme_type == "http" and http_scheme == "bearer"))):
        discovery = raw.get("discovery") or (body.get("openIdConnectUrl") if scheme_type == "openIdConnect" else None)
        if kind == "jwt" and not (raw.get("jwksUri") or discovery):
            ctx.diags.error("GW319", ctx.origin(xpointer), "a jwt scheme needs 'jwksUri' or 'discovery' (or an openIdConnect scheme's openIdConnectUrl)")
            return None
        if kind is None and not discovery:
            return None  # declared for documentation only: nothing to verify tokens with
        locations: list[tuple[Literal["header", "query", "cookie"], str, str]] = []
        for loc in raw.get("locations", []):
            for where in ("header", "query", "cookie"):
                if where in loc:
                    locations.append((where, loc[where], loc.get("prefix", "Bearer " if where == "header" else "")))
        return JwtSettings(
            issuer=raw.get("issuer"),
            jwks_uri=raw.get("jwksUri"),
            discovery_url=discovery,
            audiences=tuple(raw.get("audiences", [])),
            algorithms=tuple(raw.get("algorithms", ["RS256", "ES256"])),
            leeway_seconds=int(raw.get("leewaySeconds", 0)),
            scopes_claim=raw.get("scopesClaim"),
            claims_to_headers=tuple(raw.get("claimsToHeaders", {}).items()),
            locations=tuple(locations) or (("header", "Authorization", "Bearer "),),
        )
    return None


def _throttle(raw: Any, pointer: str, ctx: _Ctx) -> Throttle | None:
    raw, pointer = ctx.deref(raw, pointer)
    if not isinstance(raw, dict) or "rate" not in raw or "burst" not in raw:
        return None
    return Throttle(rate=float(raw["rate"]), burst=int(raw["burst"]), origin=ctx.origin(pointer))


def _build_usage_plans(ctx: _Ctx, operation_ids: set[str], stage_names: set[str]) -> tuple[UsagePlan, ...]:
    raw = ctx.root_xg.get("usagePlans")
    if not isinstance(raw, dict):
        return ()
    plans: list[UsagePlan] = []
    for name, body in raw.items():
        pointer = join_pointer("/x-gateway/usagePlans", name)
        quota = None
        if isinstance(body.get("quota"), dict):
            q = body["quota"]
            quota = Quota(limit=int(q["limit"]), period=q["period"], offset=int(q.get("offset", 0)), origin=ctx.origin(join_pointer(pointer, "quota")))
        methods: list[tuple[str, Throttle]] = []
        for op_id, m in (body.get("methods") or {}).items():
            mpointer = join_pointer(pointer, "methods", op_id)
            if op_id not in operation_ids:
                ctx.diags.error("GW317", ctx.origin(mpointer), f"usage plan {name!r} sets a throttle for operation {op_id!r}, which does not exist")
                continue
            t = _throttle(m.get("throttle"), join_pointer(mpointer, "throttle"), ctx)
            if t is not None:
                methods.append((op_id, t))
        stages = tuple(body.get("stages", []))
        for i, st in enumerate(stages):
            if st not in stage_names:
                ctx.diags.error("GW313", ctx.origin(join_pointer(pointer, "stages", i)), f"stage {st!r} is not defined (stages: {', '.join(sorted(stage_names))})")
        plans.append(
            UsagePlan(
                name=name,
                throttle=_throttle(body.get("throttle"), join_pointer(pointer, "throttle"), ctx),
                quota=quota,
                method_throttles=tuple(methods),
                stages=stages,
                origin=ctx.origin(pointer),
            )
        )
    return tuple(plans)


def _build_api_keys(ctx: _Ctx) -> ApiKeySettings | None:
    raw = ctx.root_xg.get("apiKeys")
    if not isinstance(raw, dict):
        return None
    pointer = "/x-gateway/apiKeys"
    sources: list[tuple[Literal["header", "query"], str]] = []
    for src in raw.get("sources", ["header:X-API-Key"]):
        where, _, name = src.partition(":")
        sources.append((where, name))
    store = None
    if "store" in raw:
        store = parse_template(raw["store"], ctx.origin(join_pointer(pointer, "store")), TemplateContext(allow_request=False), ctx.diags)
        if store is not None:
            _check_stage_parts(ctx, store)
    return ApiKeySettings(sources=tuple(sources), store=store, origin=ctx.origin(pointer))


def _build_store(ctx: _Ctx) -> StoreSettings | None:
    raw = ctx.root_xg.get("store")
    if not isinstance(raw, dict):
        return None
    pointer = "/x-gateway/store"
    url = None
    if "url" in raw:
        url = parse_template(raw["url"], ctx.origin(join_pointer(pointer, "url")), TemplateContext(allow_request=False), ctx.diags)
        if url is not None:
            _check_stage_parts(ctx, url)
            if url.is_static and not raw["url"].startswith(("memory://", "redis://", "rediss://")):
                ctx.diags.error("GW300", url.origin, f"store URL {raw['url']!r} must start with memory:// or redis://")
    return StoreSettings(url=url, prefix=raw.get("prefix", "gw:"), fail_mode=raw.get("failMode", "open"), origin=ctx.origin(pointer))


def _build_cache_settings(ctx: _Ctx) -> CacheSettings | None:
    raw = ctx.root_xg.get("cache")
    if not isinstance(raw, dict):
        return None
    d = CacheSettings(origin=ctx.origin("/x-gateway/cache"))
    return CacheSettings(
        max_entry_bytes=int(raw.get("maxEntryBytes", d.max_entry_bytes)),
        capacity_bytes=int(raw["capacityMb"]) * 1024 * 1024 if "capacityMb" in raw else d.capacity_bytes,
        origin=d.origin,
    )



# --------------------------------------------------------------------------- edge features


def _build_cors(ctx: _Ctx, raw: Any, pointer: str) -> CorsSettings | None:
    """One ``cors`` object; origins are checked by the runtime's own parser, so the
    compiler and the gateway never disagree about what an origin pattern means."""
    # compile time only: the runtime is a dependency of the compiler, not the reverse
    from gatewright.runtime.cors import CorsPolicy
    from gatewright.runtime.errors import ConfigurationError

    if not isinstance(raw, dict):
        return None
    ok = True
    origins: list[str] = []
    for i, entry in enumerate(raw.get("allowOrigins", [])):
        try:
            CorsPolicy(allow_origins=(entry,))
        except ConfigurationError as exc:
            ctx.diags.error("GW321", ctx.origin(join_pointer(pointer, "allowOrigins", i)), f"allowed origin {entry!r} is not usable: {exc}", hint="write scheme://host[:port], https://*.example.com, http://localhost:* or *")
            ok = False
            continue
        origins.append(entry)
    credentials = raw.get("allowCredentials") is True
    if credentials:
        for key in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
            values = raw.get(key, [])
            if isinstance(values, list) and "*" in values:
                ctx.diags.error(
                    "GW321",
                    ctx.origin(join_pointer(pointer, key, values.index("*"))),
                    f"'*' in {key} cannot be used with allowCredentials: true",
                    hint="browsers refuse '*' on credentialed requests; list the " + ("origins" if key == "allowOrigins" else "names"),
                )
                ok = False
    if not ok:
        return None
    defaults = CorsSettings(allow_origins=(), origin=ctx.origin(pointer))
    max_age = raw.get("maxAgeSeconds")
    return CorsSettings(
        allow_origins=tuple(origins),
        allow_methods=tuple(str(m).upper() for m in raw.get("allowMethods", defaults.allow_methods)),
        allow_headers=tuple(raw.get("allowHeaders", ())),
        expose_headers=tuple(raw.get("exposeHeaders", ())),
        allow_credentials=credentials,
        max_age_seconds=int(max_age) if isinstance(max_age, int) else None,
        origin=ctx.origin(pointer),
    )


def _operation_cors(ctx: _Ctx, settings: dict[str, tuple[Any, str]]) -> CorsSettings | Literal["off"] | None:
    if "cors" not in settings:
        return None
    raw, pointer = settings["cors"]
    if raw is False:
        return "off"
    return _build_cors(ctx, raw, pointer)


def _sunset(ctx: _Ctx, settings: dict[str, tuple[Any, str]]) -> str | None:
    if "sunset" not in settings:
        return None
    raw, pointer = settings["sunset"]
    return sunset_timestamp(str(raw), ctx.origin(pointer), ctx.diags)


def sunset_timestamp(text: str, origin: Origin, diags: Diagnostics) -> str | None:
    """A ``sunset`` as an RFC 3339 date-time in UTC; a bare date means its midnight UTC.

    None, with GW322 at ``origin``, when ``text`` is not a date.
    """
    try:
        if "T" in text.upper():
            when = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        else:
            day = date.fromisoformat(text)
            when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError as exc:
        diags.error("GW322", origin, f"sunset {text!r} is not a valid date ({exc})", hint="write 2027-01-31 or 2027-01-31T00:00:00Z")
        return None
    if when.tzinfo is None:  # the schema requires a zone; kept for hand-built documents
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


# --------------------------------------------------------------------------- transforms

_POINTER = re.compile(r"^(/([^~/]|~[01])*)+$")


class _TransformBuilder:
    """Builds one operation's ``x-gateway.transform``; ``ok`` is False after any error."""

    def __init__(self, ctx: _Ctx, path_params: set[str]) -> None:
        self.ctx = ctx
        self.path_params = path_params
        self.ok = True

    def expression(self, raw: Any, pointer: str) -> ValueExpression | None:
        origin = self.ctx.origin(pointer)
        value = parse_value_expression(str(raw), origin, self.ctx.diags)
        if value is None:
            self.ok = False
            return None
        for part in value.parts:
            if isinstance(part, RequestPart) and part.source == "path" and part.name not in self.path_params:
                self.ctx.diags.error("GW312", origin, f"{{path.{part.name}}} is not a parameter of this route", hint=f"the route's path parameters are: {', '.join(sorted(self.path_params)) or 'none'}")
                self.ok = False
            if isinstance(part, StageVarPart):
                missing = sorted(n for n, names in self.ctx.stage_vars.items() if part.name not in names)
                if missing:
                    self.ctx.diags.error("GW302", origin, f"stage variable {part.name!r} is not defined in stage{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)}", hint="define it under x-gateway.stages.<stage>.variables for every stage")
                    self.ok = False
        return value if self.ok else None

    def pointer(self, raw: Any, pointer: str) -> str | None:
        text = str(raw)
        if not _POINTER.match(text):
            self.ctx.diags.error("GW324", self.ctx.origin(pointer), f"{text!r} is not a JSON pointer to a field", hint="write an RFC 6901 pointer such as /meta/source (~1 for '/', ~0 for '~' in a name)")
            self.ok = False
            return None
        return text

    def _pairs(self, raw: Any, pointer: str) -> tuple[tuple[str, ValueExpression], ...]:
        out: list[tuple[str, ValueExpression]] = []
        if isinstance(raw, dict):
            for name, value in raw.items():
                expr = self.expression(value, join_pointer(pointer, name))
                if expr is not None:
                    out.append((str(name), expr))
        return tuple(out)

    def field_ops(self, raw: Any, pointer: str) -> FieldOps | None:
        if not isinstance(raw, dict):
            return None
        rename = raw.get("rename")
        remove = raw.get("remove")
        return FieldOps(
            set=self._pairs(raw.get("set"), join_pointer(pointer, "set")),
            append=self._pairs(raw.get("append"), join_pointer(pointer, "append")),
            remove=tuple(str(n) for n in remove) if isinstance(remove, list) else (),
            rename=tuple((str(k), str(v)) for k, v in rename.items()) if isinstance(rename, dict) else (),
            origin=self.ctx.origin(pointer),
        )

    def body_ops(self, raw: Any, pointer: str) -> BodyOps | None:
        if not isinstance(raw, dict):
            return None
        assignments: list[BodyAssignment] = []
        removals: list[str] = []
        renames: list[tuple[str, str]] = []
        for target, value in (raw.get("set") or {}).items():
            at = join_pointer(pointer, "set", target)
            checked = self.pointer(target, at)
            if checked is None:
                continue
            if isinstance(value, str):
                expr = self.expression(value, at)
                if expr is not None:
                    assignments.append(BodyAssignment(pointer=checked, expression=expr))
            else:
                assignments.append(BodyAssignment(pointer=checked, constant=value))
        for i, target in enumerate(raw.get("remove") or ()):
            checked = self.pointer(target, join_pointer(pointer, "remove", i))
            if checked is not None:
                removals.append(checked)
        for old, new in (raw.get("rename") or {}).items():
            at = join_pointer(pointer, "rename", old)
            source, target = self.pointer(old, at), self.pointer(new, at)
            if source is not None and target is not None:
                renames.append((source, target))
        return BodyOps(set=tuple(assignments), remove=tuple(removals), rename=tuple(renames), origin=self.ctx.origin(pointer))


def _transform(ctx: _Ctx, settings: dict[str, tuple[Any, str]], integration: Integration, path_params: set[str]) -> tuple[bool, Transform | None]:
    """``x-gateway.transform`` of one operation: (built without errors, the transform)."""
    if "transform" not in settings:
        return True, None
    raw, pointer = settings["transform"]
    if not isinstance(raw, dict):
        return True, None
    build = _TransformBuilder(ctx, path_params)
    request: RequestTransform | None = None
    response: ResponseTransform | None = None
    req_raw = raw.get("request")
    if isinstance(req_raw, dict):
        rp = join_pointer(pointer, "request")
        path: ValueExpression | None = None
        if "path" in req_raw:
            path_pointer = join_pointer(rp, "path")
            if not isinstance(integration, HttpProxyIntegration):
                ctx.diags.error("GW325", ctx.origin(path_pointer), f"a path rewrite needs an http_proxy integration, not {integration.kind!r}", hint="remove transform.request.path, or proxy this operation to a backend")
                build.ok = False
            else:
                path = build.expression(req_raw["path"], path_pointer)
        request = RequestTransform(
            headers=build.field_ops(req_raw.get("headers"), join_pointer(rp, "headers")),
            query=build.field_ops(req_raw.get("query"), join_pointer(rp, "query")),
            path=path,
            body=build.body_ops(req_raw.get("body"), join_pointer(rp, "body")),
            origin=ctx.origin(rp),
        )
    resp_raw = raw.get("response")
    if isinstance(resp_raw, dict):
        sp = join_pointer(pointer, "response")
        status = resp_raw.get("status")
        response = ResponseTransform(
            status=tuple((int(k), int(v)) for k, v in status.items()) if isinstance(status, dict) else (),
            headers=build.field_ops(resp_raw.get("headers"), join_pointer(sp, "headers")),
            body=build.body_ops(resp_raw.get("body"), join_pointer(sp, "body")),
            origin=ctx.origin(sp),
        )
    if not build.ok:
        return False, None
    if request is None and response is None:
        return True, None
    return True, Transform(request=request, response=response, origin=ctx.origin(pointer))


def _build_compression(ctx: _Ctx) -> CompressionSettings | None:
    raw = ctx.root_xg.get("compression")
    if not isinstance(raw, dict) or not isinstance(raw.get("minimumSizeBytes"), int):
        return None
    return CompressionSettings(minimum_size_bytes=raw["minimumSizeBytes"], origin=ctx.origin("/x-gateway/compression"))


def _build_openapi_endpoint(ctx: _Ctx) -> OpenApiEndpoint:
    raw = ctx.root_xg.get("openapi")
    if not isinstance(raw, dict):
        return OpenApiEndpoint(origin=ctx.origin("/x-gateway" if ctx.root_xg else ""))
    return OpenApiEndpoint(
        enabled=raw.get("enabled", True) is not False,
        path=str(raw.get("path", "/openapi.json")).rstrip("/") or "/openapi.json",
        origin=ctx.origin("/x-gateway/openapi"),
    )


def _build_resource_policy(ctx: _Ctx) -> ResourcePolicy | None:
    import ipaddress

    raw = ctx.root_xg.get("resourcePolicy")
    if not isinstance(raw, dict):
        return None
    pointer = "/x-gateway/resourcePolicy"
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("allow", "deny", "trustedProxies"):
        entries = []
        for i, entry in enumerate(raw.get(key, [])):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                ctx.diags.error("GW300", ctx.origin(join_pointer(pointer, key, i)), f"{entry!r} is not an IP address or CIDR block")
                continue
            entries.append(entry)
        lists[key] = tuple(entries)
    return ResourcePolicy(allow=lists["allow"], deny=lists["deny"], trusted_proxies=lists["trustedProxies"], origin=ctx.origin(pointer))


def _cache_policy(ctx: _Ctx, settings: dict[str, tuple[Any, str]], method: str, params: list[Parameter]) -> CachePolicy | None:
    if "cache" not in settings:
        return None
    raw, pointer = settings["cache"]
    if raw is False or not isinstance(raw, dict) or raw.get("enabled") is False:
        return None
    declared = {(p.location, p.name.lower() if p.location == "header" else p.name) for p in params}
    key: list[CacheKeyPart] = []
    for i, part in enumerate(raw.get("key", [])):
        source, _, name = part.partition(".")
        lookup = name.lower() if source == "header" else name
        if (source, lookup) not in declared and source != "header":
            ctx.diags.error("GW318", ctx.origin(join_pointer(pointer, "key", i)), f"cache key {part!r} names a {source} parameter this operation does not declare")
            continue
        key.append(CacheKeyPart(source=source, name=name))
    # path parameters are always part of the key: leaving them out serves one item for another
    for p in params:
        if p.location == "path" and not any(k.source == "path" and k.name == p.name for k in key):
            key.append(CacheKeyPart(source="path", name=p.name))
    invalidation = raw.get("invalidation", {})
    methods = tuple(raw.get("methods", ["GET", "HEAD"]))
    return CachePolicy(
        ttl_seconds=int(raw.get("ttlSeconds", 300)),
        key=tuple(key),
        shared=raw.get("shared") is True,
        methods=methods,
        status_codes=tuple(raw.get("statusCodes", [])),
        client_invalidation=invalidation.get("clientMaxAge0", "authorized"),
        on_unauthorized_invalidation=invalidation.get("onUnauthorized", "succeed_with_header"),
        origin=ctx.origin(pointer),
    )


def _security(raw: Any) -> tuple[SecurityRequirement, ...] | None:
    if not isinstance(raw, list):
        return None
    out: list[SecurityRequirement] = []
    for req in raw:
        if isinstance(req, dict):
            out.append(
                SecurityRequirement(
                    schemes=tuple((k, tuple(str(s) for s in v) if isinstance(v, list) else ()) for k, v in req.items())
                )
            )
    return tuple(out)


# --------------------------------------------------------------------------- operations


def _segments(path: str, origin: Origin, diags: Diagnostics) -> tuple[RouteSegment, ...] | None:
    if not path.startswith("/"):
        diags.error("GW211", origin, f"path {path!r} must start with '/'")
        return None
    raw_segments = [s for s in path.split("/")[1:]]
    if raw_segments and raw_segments[-1] == "":
        raw_segments = raw_segments[:-1]  # a trailing slash is the same route
    out: list[RouteSegment] = []
    for i, seg in enumerate(raw_segments):
        m = _SEGMENT_PARAM.match(seg)
        if m:
            name = m.group(1)
            if name.endswith("*") or "=" in name:
                name = name.split("=")[0].rstrip("*")
                greedy = True
            else:
                greedy = m.group(2) is not None
            if greedy and i != len(raw_segments) - 1:
                diags.error("GW206", origin, f"greedy variable {{{name}+}} must be the last segment of {path!r}")
                return None
            out.append(RouteSegment(kind="greedy" if greedy else "param", value=name))
        elif _ANY_PARAM.search(seg):
            diags.error(
                "GW205",
                origin,
                f"segment {seg!r} of {path!r} mixes text and a variable; a variable must be a whole segment",
                hint="split the segment (e.g. /files/{name}/{ext}) or take the whole segment as one parameter",
            )
            return None
        else:
            out.append(RouteSegment(kind="static", value=unquote(seg)))
    return tuple(out)


def _route_shape(base_path: str, segments: tuple[RouteSegment, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((s.kind, s.value if s.kind == "static" else "") for s in segments)


def _merge_settings(ctx: _Ctx, levels: list[tuple[Any, str]]) -> dict[str, tuple[Any, str]]:
    """Most specific wins, per top-level key; values keep the pointer they came from."""
    merged: dict[str, tuple[Any, str]] = {}
    for value, pointer in levels:
        if isinstance(value, dict):
            for key, item in value.items():
                merged[key] = ctx.deref(item, join_pointer(pointer, key))
    return merged


def _example_from_media(media: Any, ctx: _Ctx) -> tuple[bool, JSONValue]:
    if not isinstance(media, dict):
        return False, None
    if "example" in media:
        return True, media["example"]
    examples = media.get("examples")
    if isinstance(examples, dict):
        for ex in examples.values():
            body, _ = ctx.deref(ex, "")
            if isinstance(body, dict) and "value" in body:
                return True, body["value"]
    schema, _ = ctx.deref(media.get("schema"), "")
    if isinstance(schema, dict):
        if "example" in schema:
            return True, schema["example"]
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return True, schema["examples"][0]
    return False, None


def _documented_response(responses: dict[str, Any], status: int | None) -> tuple[int, Any] | None:
    """The response a mock answers: ``status`` if documented, else the lowest 2xx, else
    the lowest status, else a ``2XX`` range or ``default`` answered as 200."""
    codes = sorted((int(k), v) for k, v in responses.items() if str(k).isdigit())
    if status is not None:
        codes = [c for c in codes if c[0] == status] or codes
    success = [c for c in codes if 200 <= c[0] < 300]
    if success or codes:
        return (success or codes)[0]
    for key in ("2XX", "2xx", "default"):
        if key in responses:
            return (200, responses[key])
    return None


def _has_content(ctx: _Ctx, response: Any) -> bool:
    response, _ = ctx.deref(response, "")
    return isinstance(response, dict) and isinstance(response.get("content"), dict) and bool(response["content"])


def _concrete_media_type(media_type: str) -> str:
    """A Content-Type for a documented media range (``*/*``, ``text/*``)."""
    kind, _, subtype = media_type.partition(";")[0].strip().partition("/")
    if kind == "*" or (subtype == "*" and kind == "application"):
        return "application/json"
    if subtype == "*":
        return "text/plain" if kind == "text" else "application/octet-stream"
    return media_type


def _is_json_media(media_type: str) -> bool:
    media = media_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _synthesized_body(ctx: _Ctx, media: Any, media_type: str) -> JSONValue | NoExample:
    """A minimal body that conforms to the media type's schema; NO_EXAMPLE when the
    media type has no schema, or when no conforming value can be built or sent."""
    if not isinstance(media, dict) or "schema" not in media:
        return NO_EXAMPLE
    value = minimal_example(media["schema"], resolve=lambda node: ctx.deref(node, ""), document=ctx.doc)
    if isinstance(value, NoExample) or _is_json_media(media_type) or isinstance(value, str):
        return value
    return NO_EXAMPLE  # a structured value has no encoding in a non-JSON media type


def _header_text(value: JSONValue | NoExample) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return None if "\r" in text or "\n" in text else text
    return None


def _required_mock_headers(ctx: _Ctx, response: Any) -> tuple[tuple[str, str], ...]:
    """Values for the response headers the document marks required."""
    headers = response.get("headers") if isinstance(response, dict) else None
    out: list[tuple[str, str]] = []
    for name, raw in (headers or {}).items() if isinstance(headers, dict) else ():
        header, _ = ctx.deref(raw, "")
        if not (isinstance(name, str) and isinstance(header, dict)) or header.get("required") is not True or name.lower() == "content-type":
            continue
        value: JSONValue | NoExample = header.get("example", NO_EXAMPLE)
        if _header_text(value) is None:
            value = minimal_example(header.get("schema", {"type": "string"}), resolve=lambda node: ctx.deref(node, ""), document=ctx.doc)
        text = _header_text(value)
        if text is not None:
            out.append((name, text))
    return tuple(out)


def _mock_from_examples(ctx: _Ctx, op_raw: dict[str, Any], origin: Origin, reason: Literal["examples", "fallback"], status: int | None = None) -> MockIntegration:
    """A mock that answers the operation's documented response: with its example; else
    with a minimal body built from its schema; else, when there is no schema, with a
    documented status that has no content (GW309 when the author asked for examples)."""
    raw_responses = op_raw.get("responses")
    responses: dict[str, Any] = raw_responses if isinstance(raw_responses, dict) else {}
    chosen = _documented_response(responses, status)
    if chosen is None:
        return MockIntegration(status=status or 200, media_type=None, reason=reason, origin=origin)
    code, resp = chosen
    resp, _ = ctx.deref(resp, "")
    headers = _required_mock_headers(ctx, resp)
    raw_content = resp.get("content") if isinstance(resp, dict) else None
    content: dict[Any, Any] = raw_content if isinstance(raw_content, dict) else {}  # YAML keys may be any scalar
    media_types = sorted((m for m in content if isinstance(m, str)), key=lambda m: "json" not in m.lower())
    if not media_types or code in (204, 205, 304):  # JSON first above, else document order
        return MockIntegration(status=code, headers=headers, media_type=None, reason=reason, origin=origin)
    found, value = _example_from_media(content[media_types[0]], ctx)
    if found:
        return MockIntegration(status=code, headers=headers, media_type=_concrete_media_type(media_types[0]), body=value, has_body=True, reason=reason, origin=origin)
    for media_type in media_types:
        concrete = _concrete_media_type(media_type)
        body = _synthesized_body(ctx, content[media_type], concrete)
        if not isinstance(body, NoExample):
            return MockIntegration(status=code, headers=headers, media_type=concrete, body=body, has_body=True, reason=reason, origin=origin)
    empty = next((c for c, r in sorted(responses.items(), key=lambda item: str(item[0])) if str(c).isdigit() and 200 <= int(c) < 300 and not _has_content(ctx, r)), None)
    if empty is not None:
        if reason == "examples":
            ctx.diags.add("GW309", origin, f"no example or schema to build one from for the {code} response; the mock answers {empty} with an empty body")
        return MockIntegration(status=int(empty), media_type=None, reason=reason, origin=origin)
    concrete = _concrete_media_type(media_types[0])
    if _is_json_media(concrete):  # no schema: any JSON value is the documented body
        return MockIntegration(status=code, headers=headers, media_type=concrete, body={}, has_body=True, reason=reason, origin=origin)
    if reason == "examples":
        ctx.diags.add("GW309", origin, f"no example found for the {code} response; the mock answers with an empty body")
    return MockIntegration(status=code, headers=headers, media_type=concrete, body="", has_body=True, reason=reason, origin=origin)


def _path_template(path: str) -> str:
    """Turn an OpenAPI path into an upstream path template with {path.x} parts."""
    return re.sub(r"\{([^{}]+?)\+?\}", lambda m: "{path." + m.group(1) + "}", path)


def _join_url(base: Template, path: Template) -> Template:
    parts: list[TemplatePart] = list(base.parts)
    tail: list[TemplatePart] = list(path.parts)
    if parts and tail and isinstance(parts[-1], TextPart) and isinstance(tail[0], TextPart):
        left, right = parts[-1].text, tail[0].text
        if left.endswith("/") and right.startswith("/"):
            right = right[1:]
        parts[-1] = TextPart(text=left + right)
        tail = tail[1:]
    return Template(parts=tuple(parts + tail), source=base.source + path.source, origin=path.origin)


def _check_request_parts(ctx: _Ctx, template: Template, path_params: set[str]) -> bool:
    ok = True
    for part in template.parts:
        if isinstance(part, RequestPart) and part.source == "path" and part.name not in path_params:
            ctx.diags.error("GW312", template.origin, f"{{path.{part.name}}} is not a parameter of this route", hint=f"the route's path parameters are: {', '.join(sorted(path_params)) or 'none'}")
            ok = False
    return ok


def _build_integration(
    ctx: _Ctx,
    settings: dict[str, tuple[Any, str]],
    op_raw: dict[str, Any],
    op_pointer: str,
    path: str,
    path_params: set[str],
) -> Integration | None:
    origin = ctx.origin(op_pointer)
    if "integration" in settings:
        raw, pointer = settings["integration"]
        iorigin = ctx.origin(pointer)
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "mock":
            if raw.get("fromExamples") or ("body" not in raw and "status" not in raw):
                mock = _mock_from_examples(ctx, op_raw, iorigin, "examples", raw.get("status"))
                declared = {k.lower() for k in raw.get("headers", {})}
                return MockIntegration(
                    status=mock.status,
                    headers=tuple((k, v) for k, v in raw.get("headers", {}).items())
                    + tuple((k, v) for k, v in mock.headers if k.lower() not in declared),
                    media_type=mock.media_type,
                    body=mock.body,
                    has_body=mock.has_body,
                    reason="examples",
                    origin=iorigin,
                )
            has_body = "body" in raw
            body = raw.get("body")
            media_type = raw.get("contentType") or ("application/json" if has_body and not isinstance(body, str) else "text/plain" if has_body else None)
            return MockIntegration(
                status=int(raw.get("status", 200)),
                headers=tuple((k, v) for k, v in raw.get("headers", {}).items()),
                media_type=media_type,
                body=body,
                has_body=has_body,
                reason="declared",
                origin=iorigin,
            )
        if kind == "function":
            handler = raw.get("handler", "")
            if not _HANDLER.match(handler):
                ctx.diags.error("GW306", ctx.origin(join_pointer(pointer, "handler")), f"handler {handler!r} is not of the form 'package.module:function'")
                return None
            module, attr = handler.split(":")
            return FunctionIntegration(
                module=module,
                attr=attr,
                payload_version=raw.get("payloadVersion", "1.0"),
                timeout_ms=int(raw.get("timeoutMs", ctx.limits.integration_timeout_ms)),
                origin=iorigin,
            )
        if kind == "http_proxy":
            return _http_proxy(ctx, raw, pointer, path, path_params)
        return None
    aws = op_raw.get("x-amazon-apigateway-integration")
    if aws is not None:
        aws, aws_pointer = ctx.deref(aws, join_pointer(op_pointer, "x-amazon-apigateway-integration"))
        return _import_aws(ctx, aws, aws_pointer, op_raw, path, path_params)
    ctx.diags.add("GW307", origin, "no integration is declared for this operation; the gateway answers it with a mock built from its examples", hint="declare x-gateway.integration here or under x-gateway.defaults")
    return _mock_from_examples(ctx, op_raw, origin, "fallback")


def _http_proxy(ctx: _Ctx, raw: dict[str, Any], pointer: str, path: str, path_params: set[str]) -> Integration | None:
    iorigin = ctx.origin(pointer)
    request_ctx = TemplateContext(allow_request=True)
    backend_name = raw.get("backend")
    timeout_ms = raw.get("timeoutMs")
    retries = raw.get("retries")
    if "url" in raw:
        url = parse_template(raw["url"], ctx.origin(join_pointer(pointer, "url")), request_ctx, ctx.diags)
        if url is None or not _check_stage_parts(ctx, url) or not _check_request_parts(ctx, url, path_params):
            return None
        backend = None
    else:
        if backend_name is None and len(ctx.backends) == 1:
            backend_name = next(iter(ctx.backends))
        if backend_name is None:
            ctx.diags.error("GW301", iorigin, "http_proxy integration needs a 'backend' or a 'url'", hint="declare backends under x-gateway.backends and name one here")
            return None
        backend = ctx.backends.get(backend_name)
        if backend is None:
            known = ", ".join(sorted(ctx.backends)) or "none are defined"
            ctx.diags.error("GW301", ctx.origin(join_pointer(pointer, "backend")), f"backend {backend_name!r} is not defined (known backends: {known})")
            return None
        path_text = raw.get("path", _path_template(path))
        path_tpl = parse_template(path_text, ctx.origin(join_pointer(pointer, "path") if "path" in raw else pointer), request_ctx, ctx.diags)
        if path_tpl is None or not _check_stage_parts(ctx, path_tpl) or not _check_request_parts(ctx, path_tpl, path_params):
            return None
        url = _join_url(backend.url, path_tpl)
    return HttpProxyIntegration(
        backend=backend.name if backend else None,
        url=url,
        method=raw.get("method"),
        timeout_ms=int(timeout_ms if timeout_ms is not None else (backend.timeout_ms if backend else ctx.limits.integration_timeout_ms)),
        retries=int(retries if retries is not None else (backend.retries if backend else 0)),
        pass_query=bool(raw.get("passQuery", True)),
        origin=iorigin,
    )


def _import_aws(ctx: _Ctx, aws: Any, pointer: str, op_raw: dict[str, Any], path: str, path_params: set[str]) -> Integration:
    origin = ctx.origin(pointer)
    kind = str(aws.get("type", "")).lower() if isinstance(aws, dict) else ""
    if kind in ("http_proxy", "http"):
        uri = aws.get("uri")
        if isinstance(uri, str):
            quiet = Diagnostics()
            url = parse_template(uri, ctx.origin(join_pointer(pointer, "uri")), TemplateContext(allow_request=True, bare_path_params=True), quiet)
            parts = urlsplit(uri)
            if url is not None and (parts.scheme in ("http", "https") or uri.startswith("${")) and not quiet.has_errors:
                stage_ok = all(
                    not isinstance(p, StageVarPart) or all(p.name in names for names in ctx.stage_vars.values())
                    for p in url.parts
                )
                request_ok = all(not isinstance(p, RequestPart) or p.source != "path" or p.name in path_params for p in url.parts)
                if stage_ok and request_ok:
                    ctx.diags.add("GW315", origin, f"AWS {kind} integration imported as http_proxy to {uri!r}")
                    timeout = aws.get("timeoutInMillis")
                    return HttpProxyIntegration(
                        backend=None,
                        url=url,
                        method=None if str(aws.get("httpMethod", "ANY")).upper() == "ANY" else str(aws.get("httpMethod")).upper(),
                        timeout_ms=int(timeout) if isinstance(timeout, int) and 50 <= timeout <= 300000 else ctx.limits.integration_timeout_ms,
                        retries=0,
                        origin=origin,
                    )
        ctx.diags.add("GW308", origin, f"AWS {kind} integration has no usable URL here ({uri!r:.80}); the gateway answers it with a mock", hint="declare x-gateway.integration with a backend for this operation")
        return _mock_from_examples(ctx, op_raw, origin, "fallback")
    if kind == "mock":
        status = None
        responses = aws.get("responses") if isinstance(aws, dict) else None
        if isinstance(responses, dict):
            default = responses.get("default")
            if isinstance(default, dict) and str(default.get("statusCode", "")).isdigit():
                status = int(default["statusCode"])
        ctx.diags.add("GW315", origin, "AWS mock integration imported as a mock")
        return _mock_from_examples(ctx, op_raw, origin, "examples" if status is None else "fallback", status)
    ctx.diags.add("GW308", origin, f"AWS {kind or 'unknown'} integration runs only inside AWS; the gateway answers it with a mock", hint="declare x-gateway.integration (function or http_proxy) for this operation")
    return _mock_from_examples(ctx, op_raw, origin, "fallback")


def _build_parameter(ctx: _Ctx, raw: Any, pointer: str, scope: NameScope) -> Parameter | None:
    body, pointer = ctx.deref(raw, pointer)
    # normally caught by the OpenAPI validator; reported here too, because the
    # validator can stop early on such a parameter and it must not vanish silently
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        ctx.diags.error("GW200", ctx.origin(pointer), "a parameter needs a 'name' string")
        return None
    location = body.get("in")
    if location not in ("path", "query", "header", "cookie"):
        ctx.diags.error("GW200", ctx.origin(pointer), f"parameter {body['name']!r} needs 'in': one of path, query, header, cookie (got {location!r})")
        return None
    loc = cast(ParameterLocation, location)
    style = body.get("style") or ("form" if loc in ("query", "cookie") else "simple")
    explode = body.get("explode")
    if not isinstance(explode, bool):
        explode = style == "form"
    schema: Schema | None = None
    content_type = None
    examples: list[Example] = []
    if "schema" in body:
        schema = ctx.schemas.schema(body["schema"], join_pointer(pointer, "schema"))
    elif isinstance(body.get("content"), dict) and body["content"]:
        content_type = next(iter(body["content"]))
        media = body["content"][content_type]
        if isinstance(media, dict) and "schema" in media:
            schema = ctx.schemas.schema(media["schema"], join_pointer(pointer, "content", content_type, "schema"))
    if "example" in body:
        examples.append(Example(name=None, value=body["example"]))
    if isinstance(body.get("examples"), dict):
        for name, ex in body["examples"].items():
            exb, _ = ctx.deref(ex, "")
            if isinstance(exb, dict) and "value" in exb:
                examples.append(Example(name=name, value=exb["value"], summary=_str(exb.get("summary"))))
    return Parameter(
        name=body["name"],
        location=loc,
        py_name=scope.snake(body["name"], fallback="param"),
        required=bool(body.get("required", loc == "path")),
        schema=schema,
        style=str(style),
        explode=explode,
        allow_reserved=body.get("allowReserved") is True,
        allow_empty_value=body.get("allowEmptyValue") is True,
        content_type=content_type,
        deprecated=body.get("deprecated") is True,
        description=_str(body.get("description")),
        examples=tuple(examples),
        origin=ctx.origin(pointer),
    )


def _media_types(ctx: _Ctx, content: Any, pointer: str) -> tuple[MediaType, ...]:
    if not isinstance(content, dict):
        return ()
    out: list[MediaType] = []
    for media_type, media in content.items():
        mpointer = join_pointer(pointer, media_type)
        if not isinstance(media, dict):
            media = {}
        schema = ctx.schemas.schema(media["schema"], join_pointer(mpointer, "schema")) if "schema" in media else None
        examples: list[Example] = []
        if "example" in media:
            examples.append(Example(name=None, value=media["example"]))
        if isinstance(media.get("examples"), dict):
            for name, ex in media["examples"].items():
                exb, _ = ctx.deref(ex, "")
                if isinstance(exb, dict) and "value" in exb:
                    examples.append(Example(name=name, value=exb["value"], summary=_str(exb.get("summary"))))
        encoding: list[tuple[str, str | None, str | None, bool | None]] = []
        if isinstance(media.get("encoding"), dict):
            for prop, enc in media["encoding"].items():
                if isinstance(enc, dict):
                    explode = enc.get("explode")
                    encoding.append((prop, _str(enc.get("contentType")), _str(enc.get("style")), explode if isinstance(explode, bool) else None))
        out.append(MediaType(media_type=media_type, schema=schema, examples=tuple(examples), encoding=tuple(encoding), origin=ctx.origin(mpointer)))
    return tuple(out)


def _build_responses(ctx: _Ctx, raw: Any, pointer: str) -> tuple[Response, ...]:
    if not isinstance(raw, dict):
        return ()
    out: list[Response] = []
    for status, value in raw.items():
        body, rpointer = ctx.deref(value, join_pointer(pointer, str(status)))
        if not isinstance(body, dict):
            continue
        headers: list[Header] = []
        if isinstance(body.get("headers"), dict):
            for hname, hvalue in body["headers"].items():
                hbody, hpointer = ctx.deref(hvalue, join_pointer(rpointer, "headers", hname))
                if isinstance(hbody, dict):
                    headers.append(
                        Header(
                            name=hname,
                            required=hbody.get("required") is True,
                            schema=ctx.schemas.schema(hbody["schema"], join_pointer(hpointer, "schema")) if "schema" in hbody else None,
                            description=_str(hbody.get("description")),
                            origin=ctx.origin(hpointer),
                        )
                    )
        out.append(
            Response(
                status=str(status).upper() if str(status).upper().endswith("XX") else str(status),
                description=_str(body.get("description")) or "",
                contents=_media_types(ctx, body.get("content"), join_pointer(rpointer, "content")),
                headers=tuple(headers),
                origin=ctx.origin(rpointer),
            )
        )
    return tuple(out)


def _validation_policy(settings: dict[str, tuple[Any, str]]) -> ValidationPolicy:
    raw = settings.get("validation", ({}, ""))[0]
    if not isinstance(raw, dict):
        return ValidationPolicy()
    return ValidationPolicy(
        parameters=bool(raw.get("parameters", True)),
        body=bool(raw.get("body", True)),
        unknown_query=raw.get("unknownQuery", "allow"),
    )


def _operations(ctx: _Ctx, base_path: str) -> tuple[Operation, ...]:
    paths = ctx.doc.get("paths")
    if not isinstance(paths, dict):
        return ()
    defaults = ctx.root_xg.get("defaults", {})
    ids_seen: dict[str, Origin] = {}
    shapes_seen: dict[tuple[tuple[str, str], ...], tuple[str, Origin]] = {}
    pending: list[tuple[str, str, str, dict[str, Any], str, tuple[RouteSegment, ...], list[Parameter], dict[str, tuple[Any, str]]]] = []
    for path, item_raw in paths.items():
        ppointer = join_pointer("/paths", path)
        item, ipointer = ctx.deref(item_raw, ppointer)
        if not isinstance(item, dict):
            continue
        porigin = ctx.origin(ppointer)
        segments = _segments(path, porigin, ctx.diags)
        if segments is None:
            continue
        full = base_path + path
        if any(full.rstrip("/") == r or path.rstrip("/") == r for r in RESERVED_PATHS):
            ctx.diags.error("GW310", porigin, f"path {path!r} collides with the gateway's own {full!r} endpoint")
            continue
        if ctx.openapi is not None and ctx.openapi.enabled and path.rstrip("/") == ctx.openapi.path:
            ctx.diags.error(
                "GW310",
                porigin,
                f"path {path!r} collides with the gateway's own {full!r} endpoint (the public OpenAPI document)",
                hint="move the document with x-gateway.openapi.path, or switch it off with x-gateway.openapi.enabled: false",
                related=[ctx.openapi.origin],
            )
            continue
        shape = _route_shape(base_path, segments)
        if shape in shapes_seen:
            other, other_origin = shapes_seen[shape]
            ctx.diags.error("GW207", porigin, f"path {path!r} is the same route as {other!r}: requests could not tell them apart", related=[other_origin])
            continue
        shapes_seen[shape] = (path, porigin)
        template_params = [s.value for s in segments if s.kind != "static"]
        item_params: list[Any] = item["parameters"] if isinstance(item.get("parameters"), list) else []
        for method in (*_METHODS, _ANY_METHOD):
            op_raw = item.get(method)
            if not isinstance(op_raw, dict):
                continue
            opointer = join_pointer(ipointer, method)
            op_origin = ctx.origin(opointer)
            http_method = "ANY" if method == _ANY_METHOD else method.upper()
            # parameters: path-item level first, operation level overrides by (name, in)
            scope = NameScope(reserved=RESERVED_PARAMETER_NAMES)
            by_key: dict[tuple[str, str], Parameter] = {}
            raw_params = [(p, join_pointer(ipointer, "parameters", i)) for i, p in enumerate(item_params)]
            op_params_raw: list[Any] = op_raw["parameters"] if isinstance(op_raw.get("parameters"), list) else []
            op_keys: set[tuple[str, str]] = set()
            for i, p in enumerate(op_params_raw):
                pbody, _ = ctx.deref(p, "")
                if isinstance(pbody, dict):
                    key = (str(pbody.get("name")), str(pbody.get("in")))
                    if key in op_keys:
                        ctx.diags.error("GW208", ctx.origin(join_pointer(opointer, "parameters", i)), f"parameter {key[0]!r} in {key[1]} is declared twice")
                    op_keys.add(key)
                raw_params.append((p, join_pointer(opointer, "parameters", i)))
            ordered: list[tuple[Any, str]] = []
            for p, pp in raw_params:
                pbody, _ = ctx.deref(p, "")
                if isinstance(pbody, dict):
                    key = (str(pbody.get("name")), str(pbody.get("in")))
                    ordered = [(q, qp) for q, qp in ordered if (str(ctx.deref(q, "")[0].get("name")), str(ctx.deref(q, "")[0].get("in"))) != key]
                    ordered.append((p, pp))
            for p, pp in ordered:
                param = _build_parameter(ctx, p, pp, scope)
                if param is not None:
                    by_key[(param.name, param.location)] = param
            params = list(by_key.values())
            path_declared = {p.name for p in params if p.location == "path"}
            for name in template_params:
                if name not in path_declared:
                    ctx.diags.add("GW202", op_origin, f"path variable {{{name}}} of {path!r} has no path parameter in {http_method}; it is taken as a required string", hint=f"declare parameters: [{{name: {name}, in: path, required: true, schema: {{type: string}}}}]")
                    params.append(
                        Parameter(name=name, location="path", py_name=scope.snake(name, fallback="param"), required=True, schema=Schema(origin=op_origin, types=("string",)), style="simple", explode=False, origin=op_origin)
                    )
            for p in params:
                if p.location == "path":
                    if p.name not in template_params:
                        ctx.diags.error("GW203", p.origin, f"path parameter {p.name!r} does not appear in {path!r}", hint=f"the template's variables are: {', '.join(template_params) or 'none'}")
                    elif not p.required:
                        ctx.diags.error("GW204", p.origin, f"path parameter {p.name!r} must have required: true")
            op_id = op_raw.get("operationId")
            if isinstance(op_id, str) and op_id:
                if op_id in ids_seen:
                    ctx.diags.error("GW201", ctx.origin(join_pointer(opointer, "operationId")), f"operationId {op_id!r} is already used", related=[ids_seen[op_id]])
                    continue
                ids_seen[op_id] = ctx.origin(join_pointer(opointer, "operationId"))
            xg_levels = [(defaults, "/x-gateway/defaults"), (item.get("x-gateway"), join_pointer(ipointer, "x-gateway")), (op_raw.get("x-gateway"), join_pointer(opointer, "x-gateway"))]
            settings = _merge_settings(ctx, xg_levels)
            pending.append((path, http_method, opointer, op_raw, op_id if isinstance(op_id, str) and op_id else "", segments, params, settings))
    # generated ids are decided after every declared one is known
    taken_ids = set(ids_seen)
    op_scope = NameScope()
    ops: list[Operation] = []
    for path, http_method, opointer, op_raw, op_id, segments, params, settings in pending:
        if not op_id:
            base = snake_case(f"{http_method} {path}") or "operation"
            op_id = base
            n = 2
            while op_id in taken_ids:
                op_id = f"{base}_{n}"
                n += 1
            taken_ids.add(op_id)
        path_params = {p.name for p in params if p.location == "path"}
        integration = _build_integration(ctx, settings, op_raw, opointer, path, path_params)
        if integration is None:
            continue
        transform_ok, transform = _transform(ctx, settings, integration, path_params)
        if not transform_ok:
            continue
        limits_raw = settings.get("limits", ({}, ""))[0]
        body_raw, bpointer = ctx.deref(op_raw.get("requestBody"), join_pointer(opointer, "requestBody"))
        request_body = None
        if isinstance(body_raw, dict):
            request_body = RequestBody(
                required=body_raw.get("required") is True,
                contents=_media_types(ctx, body_raw.get("content"), join_pointer(bpointer, "content")),
                description=_str(body_raw.get("description")),
                origin=ctx.origin(bpointer),
            )
        ops.append(
            Operation(
                id=op_id,
                py_name=op_scope.snake(op_id, fallback="operation"),
                method=http_method,
                path=path,
                segments=segments,
                tags=tuple(str(t) for t in op_raw.get("tags", []) if isinstance(t, str)) if isinstance(op_raw.get("tags"), list) else (),
                summary=_str(op_raw.get("summary")),
                description=_str(op_raw.get("description")),
                deprecated=op_raw.get("deprecated") is True or "sunset" in settings,
                parameters=tuple(params),
                request_body=request_body,
                responses=_build_responses(ctx, op_raw.get("responses"), join_pointer(opointer, "responses")),
                security=_security(op_raw.get("security")),
                integration=integration,
                validation=_validation_policy(settings),
                max_body_bytes=int(limits_raw["maxBodyBytes"]) if isinstance(limits_raw, dict) and "maxBodyBytes" in limits_raw else None,
                api_key_required=settings.get("apiKeyRequired", (False, ""))[0] is True,
                throttle=_throttle(settings["throttle"][0], settings["throttle"][1], ctx) if "throttle" in settings else None,
                cache=_cache_policy(ctx, settings, http_method, params),
                cors=_operation_cors(ctx, settings),
                sunset=_sunset(ctx, settings),
                idempotent=settings.get("idempotencyKey", (False, ""))[0] is True
                or _declares_idempotency_key(params),
                transform=transform,
                origin=ctx.origin(opointer),
            )
        )
    return tuple(ops)


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


def _declares_idempotency_key(params: list[Parameter]) -> bool:
    """An ``Idempotency-Key`` header parameter marks the operation as safe to retry with
    one key, as ``x-gateway.idempotencyKey`` does: it is how an exported document, which
    has no ``x-gateway``, tells SDKs built from it."""
    return any(
        p.location == "header" and p.name.lower() == IDEMPOTENCY_KEY_HEADER.lower() for p in params
    )


def _check_security(ctx: _Ctx, doc: dict[str, Any], operations: tuple[Operation, ...], schemes: tuple[SecurityScheme, ...]) -> None:
    components = ctx.doc.get("components")
    raw_schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    known = set(raw_schemes) if isinstance(raw_schemes, dict) else set()
    root = _security(doc.get("security")) or ()
    for req in root:
        for key, _ in req.schemes:
            if key not in known:
                ctx.diags.error("GW320", ctx.origin("/security"), f"security scheme {key!r} is not defined under components.securitySchemes")
    for op in operations:
        for req in op.security or ():
            for key, _ in req.schemes:
                if key not in known:
                    ctx.diags.error("GW320", op.origin.child("security"), f"security scheme {key!r} is not defined under components.securitySchemes")


def _package_names(title: str, override: str | None) -> tuple[str, str]:
    base = override or title or "api"
    words = snake_case(base) or "api"
    if words[0].isdigit():
        words = "api_" + words
    words = words[:48].strip("_") or "api"
    return words.replace("_", "-"), words


def build_api(spec: LoadedSpec, diags: Diagnostics, options: BuildOptions | None = None) -> Api | None:
    options = options or BuildOptions()
    doc = spec.document
    root_xg_raw = doc.get("x-gateway")
    root_xg: dict[str, Any] = root_xg_raw if isinstance(root_xg_raw, dict) else {}
    ctx = _Ctx(spec=spec, diags=diags, schemas=SchemaBuilder(spec, diags), doc=doc, root_xg=root_xg, limits=_build_limits(root_xg))
    stages = _build_stages(ctx)
    backends = _build_backends(ctx)
    base_path = str(root_xg.get("basePath", "")).rstrip("/")
    ctx.openapi = _build_openapi_endpoint(ctx)
    ctx.schemas.build_components()
    operations = _operations(ctx, base_path)
    if isinstance(doc.get("webhooks"), dict) and doc["webhooks"]:
        diags.add("GW210", ctx.origin("/webhooks"), "webhooks describe calls the API makes; the gateway does not route them")
    info: dict[str, Any] = doc["info"] if isinstance(doc.get("info"), dict) else {}
    title = str(info.get("title", "API"))
    name, package = _package_names(title, options.name or _str(root_xg.get("name")))
    error_format = root_xg.get("errorFormat", "message")
    servers = tuple(s["url"] for s in doc.get("servers", []) if isinstance(s, dict) and isinstance(s.get("url"), str)) if isinstance(doc.get("servers"), list) else ()
    security_schemes = _build_security_schemes(ctx)
    _check_security(ctx, doc, operations, security_schemes)
    api = Api(
        title=title,
        version=str(info.get("version", "")),
        description=_str(info.get("description")),
        openapi_version=spec.openapi_version,
        name=name,
        package=package,
        base_path=base_path,
        servers=servers,
        stages=stages,
        backends=backends,
        operations=operations,
        models=ctx.schemas.models(),
        security_schemes=security_schemes,
        security=_security(doc.get("security")) or (),
        throttle=_throttle(root_xg.get("throttle"), "/x-gateway/throttle", ctx) if "throttle" in root_xg else None,
        account_throttle=_throttle(root_xg.get("accountThrottle"), "/x-gateway/accountThrottle", ctx) if "accountThrottle" in root_xg else None,
        rate_limit_headers=root_xg.get("rateLimitHeaders", "ietf"),
        usage_plans=_build_usage_plans(ctx, {o.id for o in operations}, {s.name for s in stages}),
        api_keys=_build_api_keys(ctx),
        store=_build_store(ctx),
        cache=_build_cache_settings(ctx),
        resource_policy=_build_resource_policy(ctx),
        cors=_build_cors(ctx, root_xg.get("cors"), "/x-gateway/cors") if "cors" in root_xg else None,
        compression=_build_compression(ctx),
        binary_media_types=tuple(str(m) for m in root_xg.get("binaryMediaTypes", ())),
        openapi=ctx.openapi,
        document=doc,
        limits=ctx.limits,
        error_format="problem+json" if error_format == "problem+json" else "message",
        gateway_responses=_build_gateway_responses(ctx),
        sources=spec.labels,
        source_hash=spec.content_hash(options.options_label),
        origin=spec.origin(""),
    )
    if diags.has_errors:
        return None
    return api
