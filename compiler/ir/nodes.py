"""The intermediate representation: typed, frozen, target-neutral.

Layer: produced by ``ir.build`` from a validated spec, consumed by the emitters.
Must not import ``emit``, ``source`` or any third-party package.

Every node carries ``origin`` (file and JSON pointer) so that any later stage can
report a located diagnostic. Types are IR nodes, never Python type strings; each
emitter has its own view layer that turns them into annotations. Identifiers
(``py_name``) are resolved once, in ``ir.naming``: they are valid, collision-free
Python names, and templates never invent names.

Features that later vocabulary versions add (auth, throttles, caches, CORS,
transforms) are optional fields with empty defaults, so adding them never breaks
an existing emitter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from ..diagnostics import Origin

__all__ = [
    "Api",
    "ApiKeySettings",
    "AuthSettings",
    "AuthorizerSettings",
    "Backend",
    "BodyAssignment",
    "BodyOps",
    "BodyValuePart",
    "CacheKeyPart",
    "CachePolicy",
    "CacheSettings",
    "CompressionSettings",
    "CorsSettings",
    "Discriminator",
    "EnvVarPart",
    "Example",
    "FieldOps",
    "FunctionIntegration",
    "GatewayResponseOverride",
    "Header",
    "HttpProxyIntegration",
    "Integration",
    "JSONValue",
    "JwtSettings",
    "Limits",
    "MediaType",
    "MockIntegration",
    "Model",
    "OpenApiEndpoint",
    "Operation",
    "Parameter",
    "ParameterLocation",
    "PrincipalPart",
    "Property",
    "Quota",
    "RequestBody",
    "RequestContextPart",
    "RequestPart",
    "RequestTransform",
    "ResourcePolicy",
    "Response",
    "ResponseTransform",
    "RouteSegment",
    "Schema",
    "SecurityRequirement",
    "SecurityScheme",
    "SigV4Settings",
    "Stage",
    "StageVarPart",
    "StoreSettings",
    "Template",
    "TemplatePart",
    "TextPart",
    "Throttle",
    "Transform",
    "TransformPart",
    "UsagePlan",
    "ValidationPolicy",
    "ValueExpression",
]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

ParameterLocation: TypeAlias = Literal["path", "query", "header", "cookie"]
JsonType: TypeAlias = Literal["null", "boolean", "integer", "number", "string", "array", "object"]


# --------------------------------------------------------------------------- templates
# Strings such as backend URLs are parsed at compile time into parts, so that no
# template engine runs on the request path and no value can inject structure.


@dataclass(frozen=True, slots=True, kw_only=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StageVarPart:
    """``${stage.name}`` (also accepted: AWS ``${stageVariables.name}``)."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvVarPart:
    """``${env.NAME}`` or ``${env.NAME:-default}``: read when the gateway starts."""

    name: str
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestPart:
    """``{path.x}``, ``{query.x}``, ``{header.x}``: a value from the incoming request."""

    source: Literal["path", "query", "header"]
    name: str


TemplatePart: TypeAlias = TextPart | StageVarPart | EnvVarPart | RequestPart


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    parts: tuple[TemplatePart, ...]
    source: str  # the text as written, for messages and docs
    origin: Origin

    @property
    def is_static(self) -> bool:
        return all(isinstance(p, TextPart) for p in self.parts)

    @property
    def needs_request(self) -> bool:
        return any(isinstance(p, RequestPart) for p in self.parts)


# --------------------------------------------------------------------------- schemas


@dataclass(frozen=True, slots=True, kw_only=True)
class Discriminator:
    property_name: str
    # value -> model id; explicit mapping entries first, then implicit ones (model key)
    mapping: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    name: str  # the JSON name
    py_name: str  # a valid, unique identifier within its model
    schema: Schema
    required: bool
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Schema:
    """A JSON Schema, normalised across OpenAPI 3.0 and 3.1.

    - 3.0 ``nullable: true`` and 3.1 ``type: [x, "null"]`` both become ``"null"`` in ``types``.
    - ``types`` is ``None`` when any JSON type is allowed.
    - ``ref`` names a :class:`Model` (by ``Model.id``) that this schema must also satisfy;
      it is how recursion is expressed. Siblings of ``$ref`` (3.1) are kept alongside it.
    - ``exclusive_minimum``/``exclusive_maximum`` are numbers (3.0 booleans are folded in).
    - ``never`` is the JSON Schema ``false`` schema.
    """

    origin: Origin
    ref: str | None = None
    types: tuple[JsonType, ...] | None = None
    never: bool = False
    enum: tuple[JSONValue, ...] | None = None
    has_const: bool = False
    const: JSONValue = None
    format: str | None = None
    # strings
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    # numbers
    minimum: float | int | None = None
    maximum: float | int | None = None
    exclusive_minimum: float | int | None = None
    exclusive_maximum: float | int | None = None
    multiple_of: float | int | None = None
    # arrays
    items: Schema | None = None
    prefix_items: tuple[Schema, ...] = ()
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    # objects
    properties: tuple[Property, ...] = ()
    # True (any), False (none) or a schema; None means "not said" (= True)
    additional_properties: Schema | bool | None = None
    pattern_properties: tuple[tuple[str, Schema], ...] = ()
    min_properties: int | None = None
    max_properties: int | None = None
    # composition
    all_of: tuple[Schema, ...] = ()
    one_of: tuple[Schema, ...] = ()
    any_of: tuple[Schema, ...] = ()
    not_: Schema | None = None
    discriminator: Discriminator | None = None
    # annotations
    title: str | None = None
    description: str | None = None
    default: JSONValue = None
    has_default: bool = False
    examples: tuple[JSONValue, ...] = ()
    read_only: bool = False
    write_only: bool = False
    deprecated: bool = False

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties if p.required)

    @property
    def nullable(self) -> bool:
        return self.types is not None and "null" in self.types


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """A named schema: a component schema, or an inline schema named by its path."""

    id: str  # stable identity, e.g. "#/components/schemas/Pet" or "pets.yaml#/Pet"
    key: str  # the name the spec gives it (component key) or a path-derived name
    py_name: str  # class name: valid, unique, derived from ``key`` (never ``title``)
    schema: Schema
    origin: Origin


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    name: str | None
    value: JSONValue
    summary: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaType:
    media_type: str  # as written, e.g. "application/json" or "application/*"
    schema: Schema | None
    examples: tuple[Example, ...] = ()
    # property name -> (content type, style, explode) for form and multipart bodies
    encoding: tuple[tuple[str, str | None, str | None, bool | None], ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    name: str
    location: ParameterLocation
    py_name: str  # unique within the operation, never shadows a generated helper
    required: bool
    schema: Schema | None
    style: str  # resolved default: form (query, cookie), simple (path, header)
    explode: bool
    allow_reserved: bool = False
    allow_empty_value: bool = False
    content_type: str | None = None  # set when the parameter uses ``content``
    deprecated: bool = False
    description: str | None = None
    examples: tuple[Example, ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestBody:
    required: bool
    contents: tuple[MediaType, ...]
    description: str | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    name: str
    required: bool
    schema: Schema | None
    description: str | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: str  # "200", "4XX" or "default"
    description: str
    contents: tuple[MediaType, ...] = ()
    headers: tuple[Header, ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSegment:
    kind: Literal["static", "param", "greedy"]
    value: str  # the literal text, or the parameter name


# --------------------------------------------------------------------------- integrations


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProxyIntegration:
    """Forward the request to ``url`` (backend URL + path, templated)."""

    kind: Literal["http_proxy"] = "http_proxy"
    backend: str | None  # name in ``Api.backends``; None when ``url`` is absolute
    url: Template  # full upstream URL template: backend URL joined with the path
    method: str | None = None  # override the upstream method
    timeout_ms: int
    retries: int  # extra attempts for idempotent methods on connection failure
    pass_query: bool = True
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class MockIntegration:
    kind: Literal["mock"] = "mock"
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    media_type: str | None = "application/json"
    body: JSONValue = None
    has_body: bool = False
    # per media type examples, when answering from the operation's examples
    reason: Literal["declared", "examples", "fallback"] = "declared"
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionIntegration:
    """Call ``module:attr`` with an AWS Lambda proxy event; sync handlers run in a thread."""

    kind: Literal["function"] = "function"
    module: str
    attr: str
    payload_version: Literal["1.0", "2.0"] = "1.0"
    timeout_ms: int
    origin: Origin

    @property
    def handler(self) -> str:
        return f"{self.module}:{self.attr}"


Integration: TypeAlias = HttpProxyIntegration | MockIntegration | FunctionIntegration


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationPolicy:
    parameters: bool = True
    body: bool = True
    unknown_query: Literal["allow", "reject"] = "allow"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024
    max_header_bytes: int = 10 * 1024
    max_url_length: int = 8 * 1024
    integration_timeout_ms: int = 29_000


# --------------------------------------------------------------------------- edge features


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsSettings:
    """``x-gateway.cors`` of the API or one operation (checked: origins parse, no ``*``
    together with credentials)."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_seconds: int | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class CompressionSettings:
    """gzip responses of at least ``minimum_size_bytes`` (absent: no compression)."""

    minimum_size_bytes: int
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenApiEndpoint:
    """Where the gateway serves its exported public document (``path`` is under basePath)."""

    enabled: bool = True
    path: str = "/openapi.json"
    origin: Origin


# --------------------------------------------------------------------------- transforms
# ``x-gateway.transform``: structured operations whose values are parsed expressions,
# so a request value is always placed as data (header text, query value, JSON string).


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyValuePart:
    """``{body.a.b}`` / ``{body.items.0}``: a value of the JSON request body."""

    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalPart:
    """``{auth.principalId}`` or ``{auth.context.KEY}``: from the authenticated principal."""

    field: Literal["principalId", "context"]
    key: str | None = None  # the context key


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContextPart:
    """``{context.requestId}``: what the gateway knows about the request."""

    name: Literal["requestId"]


TransformPart: TypeAlias = (
    TextPart | StageVarPart | RequestPart | BodyValuePart | PrincipalPart | RequestContextPart
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueExpression:
    parts: tuple[TransformPart, ...]
    source: str  # as written
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldOps:
    """Operations on headers or query parameters: applied as rename, remove, set, append."""

    set: tuple[tuple[str, ValueExpression], ...] = ()
    append: tuple[tuple[str, ValueExpression], ...] = ()
    remove: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyAssignment:
    """Set the JSON pointer ``pointer`` to an expression's text, or to a constant."""

    pointer: str  # RFC 6901, checked
    expression: ValueExpression | None = None
    constant: JSONValue = None  # used when ``expression`` is None


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyOps:
    """JSON pointer operations on a JSON body: applied as rename, remove, set."""

    set: tuple[BodyAssignment, ...] = ()
    remove: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTransform:
    headers: FieldOps | None = None
    query: FieldOps | None = None
    path: ValueExpression | None = None  # the whole upstream path (http_proxy only)
    body: BodyOps | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseTransform:
    status: tuple[tuple[int, int], ...] = ()  # (integration status, client status)
    headers: FieldOps | None = None
    body: BodyOps | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Transform:
    request: RequestTransform | None = None
    response: ResponseTransform | None = None
    origin: Origin


# --------------------------------------------------------------------------- traffic policies


@dataclass(frozen=True, slots=True, kw_only=True)
class Throttle:
    """A token bucket: starts full with ``burst`` tokens, refills at ``rate`` per second."""

    rate: float
    burst: int
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """``limit`` requests per UTC ``period``, the window start shifted by ``offset`` units
    (days into the week or month, hours into the day)."""

    limit: int
    period: Literal["day", "week", "month"]
    offset: int = 0
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class UsagePlan:
    name: str
    throttle: Throttle | None = None
    quota: Quota | None = None
    # per-operation throttles inside the plan: (operation id, throttle)
    method_throttles: tuple[tuple[str, Throttle], ...] = ()
    stages: tuple[str, ...] = ()  # empty: every stage
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeySettings:
    sources: tuple[tuple[Literal["header", "query"], str], ...] = (("header", "X-API-Key"),)
    store: Template | None = None  # key store URL; None: the embedded SQLite default
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings:
    """Where counters, buckets and cache entries live: ``memory://`` or ``redis://``."""

    url: Template | None = None  # None: memory://
    prefix: str = "gw:"
    fail_mode: Literal["open", "closed"] = "open"
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheKeyPart:
    source: Literal["path", "query", "header"]
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    ttl_seconds: int = 300
    key: tuple[CacheKeyPart, ...] = ()
    shared: bool = False  # True: one entry for every principal
    methods: tuple[str, ...] = ("GET", "HEAD")
    status_codes: tuple[int, ...] = ()  # empty: every 2xx
    client_invalidation: Literal["authorized", "anyone", "never"] = "authorized"
    on_unauthorized_invalidation: Literal["fail_403", "succeed_with_header", "succeed_without_header"] = "succeed_with_header"
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSettings:
    """API-wide cache store limits."""

    max_entry_bytes: int = 1024 * 1024
    capacity_bytes: int = 64 * 1024 * 1024
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourcePolicy:
    allow: tuple[str, ...] = ()  # CIDRs or addresses; empty: everyone not denied
    deny: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class JwtSettings:
    issuer: str | None = None
    jwks_uri: str | None = None
    discovery_url: str | None = None  # OIDC discovery document
    audiences: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 0
    scopes_claim: str | None = None  # None: "scope" (space separated) then "scp"
    claims_to_headers: tuple[tuple[str, str], ...] = ()  # (claim, header)
    locations: tuple[tuple[Literal["header", "query", "cookie"], str, str], ...] = (("header", "Authorization", "Bearer "),)


@dataclass(frozen=True, slots=True, kw_only=True)
class SigV4Settings:
    service: str = "execute-api"
    region: str | None = None
    max_skew_seconds: int = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizerSettings:
    type: Literal["token", "request"] = "token"
    handler: str | None = None  # "package.module:function"
    url: str | None = None  # or an HTTP endpoint that receives the event
    identity_sources: tuple[str, ...] = ("header.Authorization",)
    identity_validation: str | None = None  # regex, token type only
    result_ttl_seconds: int = 300
    timeout_ms: int = 10_000
    context_header_prefix: str = "X-Gateway-Authorizer-"


AuthSettings: TypeAlias = "JwtSettings | SigV4Settings | AuthorizerSettings"

# --------------------------------------------------------------------------- security


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityScheme:
    key: str  # the component key
    py_name: str
    type: Literal["apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"]
    location: Literal["header", "query", "cookie"] | None = None  # apiKey
    param_name: str | None = None  # apiKey
    scheme: str | None = None  # http: bearer, basic, ...
    bearer_format: str | None = None
    openid_connect_url: str | None = None
    token_url: str | None = None  # oauth2 client credentials
    scopes: tuple[str, ...] = ()
    description: str | None = None
    # how the gateway enforces it (x-gateway on the scheme); None: by the scheme's type
    # (apiKey: the API key store; http bearer/oauth2/openIdConnect: JWT with defaults)
    gateway: JwtSettings | SigV4Settings | AuthorizerSettings | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityRequirement:
    """All of ``schemes`` must pass (AND); an operation lists alternatives (OR)."""

    schemes: tuple[tuple[str, tuple[str, ...]], ...]  # (scheme key, scopes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    id: str  # operationId, or a deterministic generated one (``get_pets_id``)
    py_name: str  # unique across the API
    method: str  # upper case; "ANY" for the any-method route
    path: str  # the OpenAPI path template, without basePath
    segments: tuple[RouteSegment, ...]
    tags: tuple[str, ...] = ()
    summary: str | None = None
    description: str | None = None
    deprecated: bool = False
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    responses: tuple[Response, ...] = ()
    security: tuple[SecurityRequirement, ...] | None = None  # None: inherit the API's
    integration: Integration
    validation: ValidationPolicy = field(default_factory=ValidationPolicy)
    max_body_bytes: int | None = None  # None: the API limit
    api_key_required: bool = False
    throttle: Throttle | None = None
    cache: CachePolicy | None = None
    # None: the API's CORS; "off": no CORS for this operation
    cors: CorsSettings | Literal["off"] | None = None
    # RFC 3339 date-time in UTC (``2027-01-31T00:00:00+00:00``); implies deprecation
    sunset: str | None = None
    # x-gateway idempotency key: a non-idempotent method the SDK may retry with one key
    idempotent: bool = False
    transform: Transform | None = None
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    name: str
    url: Template
    timeout_ms: int
    retries: int
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    name: str
    variables: tuple[tuple[str, str], ...]
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayResponseOverride:
    type: str  # e.g. "RESOURCE_NOT_FOUND", or "DEFAULT_4XX" / "DEFAULT_5XX"
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: JSONValue = None
    has_body: bool = False
    origin: Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class Api:
    """The whole compiled API: what every emitter receives."""

    title: str
    version: str  # info.version
    description: str | None
    openapi_version: str  # "3.0.3", "3.1.0", ...
    name: str  # distribution-friendly base name, e.g. "swagger-petstore"
    package: str  # Python package base name, e.g. "swagger_petstore"
    base_path: str  # "" or "/v1"
    servers: tuple[str, ...]
    stages: tuple[Stage, ...]
    backends: tuple[Backend, ...]
    operations: tuple[Operation, ...]
    models: tuple[Model, ...]
    security_schemes: tuple[SecurityScheme, ...] = ()
    security: tuple[SecurityRequirement, ...] = ()
    limits: Limits = field(default_factory=Limits)
    error_format: Literal["message", "problem+json"] = "message"
    gateway_responses: tuple[GatewayResponseOverride, ...] = ()
    throttle: Throttle | None = None  # API/stage level
    account_throttle: Throttle | None = None  # the ceiling over everything
    rate_limit_headers: Literal["ietf", "legacy", "none"] = "ietf"
    usage_plans: tuple[UsagePlan, ...] = ()
    api_keys: ApiKeySettings | None = None
    store: StoreSettings | None = None
    cache: CacheSettings | None = None
    resource_policy: ResourcePolicy | None = None
    cors: CorsSettings | None = None
    compression: CompressionSettings | None = None
    binary_media_types: tuple[str, ...] = ()
    openapi: OpenApiEndpoint | None = None  # None: the default endpoint
    # the bundled source document, which the spec export (and so the gateway's
    # /openapi.json) is computed from; data only, never compared
    document: Mapping[str, JSONValue] | None = field(default=None, compare=False, repr=False)
    sources: tuple[str, ...] = ()  # every input file, relative, sorted
    source_hash: str = ""  # sha256 over the input files and the effective options
    origin: Origin

    def model(self, model_id: str) -> Model:
        for m in self.models:
            if m.id == model_id:
                return m
        raise KeyError(model_id)
