"""Spec export: the public OpenAPI document that clients of the generated gateway see.

Layer: compiler, after ``ir.build``. A pure function of the bundled document, the
IR and a stage name: no I/O, so the SDK emitter and the gateway (``/openapi.json``)
can use the same view. Must not import ``emit``.

What changes from the author's document:

- Every ``x-gateway`` and ``x-amazon-apigateway-*`` key is removed at every level
  (root, components, path items, operations, security schemes, schemas). Other
  vendor extensions are kept as they are. Values of ``example``, ``default``,
  ``enum``, ``const`` and example ``value`` are data and are never touched. An AWS
  ``x-amazon-apigateway-any-method`` operation is documented once per method the
  gateway routes for it (the methods the path item does not declare itself).
- ``servers`` is the gateway's address for the stage (:func:`gateway_server_url`):
  the ``server_url`` argument if given; otherwise the scheme and host of the first
  ``servers`` URL (server variables replaced by their defaults) followed by the
  gateway's ``basePath``; otherwise ``http://127.0.0.1:8080`` + ``basePath``. Paths
  are not changed: the base path lives in the server URL.
- Security: the API keys the gateway checks (``x-gateway.apiKeys.sources``, default
  header ``X-API-Key``) become ``apiKey`` schemes (``gatewayApiKey``, then
  ``gatewayApiKey2``, ... for further sources; an author's ``apiKey`` scheme with the
  same location and name is reused instead). Every operation with
  ``apiKeyRequired`` needs one of them in addition to (AND) each of its existing
  requirements. Other schemes keep their OpenAPI form without the extensions.
- Responses the gateway itself produces are documented on every operation where
  they can happen, through shared ``components.responses.Gateway*`` objects with
  the ``X-Gateway-Error-Type`` header and the ``components.schemas.GatewayError``
  body (``{"message": ...}``, or RFC 9457 problem details with
  ``errorFormat: problem+json``): 400 (validated parameters or body), 401 and 403
  (security, API keys, resource policy), 404 (a path parameter that is empty or a
  dot segment routes nowhere), 413 and 415 (request bodies), 414 and 431 (the URL
  and header limits, on every operation), 429 with ``Retry-After`` and rate-limit
  headers (throttles; usage plans, quotas and key store outages wherever a key from
  the key store authenticates: ``apiKeyRequired``, ``apiKey`` and SigV4 schemes),
  502 and 504 (``http_proxy`` and ``function`` integrations). 405 cannot answer a
  documented method and is not listed. Statuses follow ``x-gateway.gatewayResponses``
  overrides. A response the author declared for a status is never replaced.

Order: the author's order is kept everywhere; what the export adds is appended in
sorted order, so the output is byte-for-byte deterministic.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml

from .ir import nodes as ir
from .ir.build import IDEMPOTENCY_KEY_HEADER
from .source.loading import LoadedSpec, resolve_pointer

__all__ = [
    "API_KEY_SCHEME",
    "DEFAULT_SERVER",
    "ERROR_SCHEMA",
    "ExportError",
    "dump_document",
    "export_document",
    "gateway_server_url",
    "strip_gateway_extensions",
]

DEFAULT_SERVER = "http://127.0.0.1:8080"
API_KEY_SCHEME = "gatewayApiKey"
ERROR_SCHEMA = "GatewayError"
ERROR_TYPE_HEADER = "X-Gateway-Error-Type"

_AWS_PREFIX = "x-amazon-apigateway-"
_ANY_METHOD = "x-amazon-apigateway-any-method"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# the methods an any-method route answers (the gateway's router: every method but TRACE)
_ANY_METHOD_EXPANSION = ("get", "put", "post", "delete", "options", "head", "patch")
# values that are data, not OpenAPI objects: never stripped
_DATA_KEYS = frozenset({"example", "default", "enum", "const", "value", "scopes", "mapping", "variables"})
# maps whose keys are JSON property names: an "x-..." key there is a property, not an extension
_PROPERTY_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SERVER_VARIABLE = re.compile(r"\{([^{}]+)\}")
# greedy path variables as AWS and the gateway's router write them: {name+}, {name*}, {name=**}
_GREEDY_VARIABLE = re.compile(r"\{([^{}=*+]+)(?:\+|\*|=[^{}]*)\}")

# The default status of each gateway response type documented here; the same values
# as the runtime's gateway responses table (a test keeps them in step).
DEFAULT_STATUSES: Mapping[str, int] = {
    "ACCESS_DENIED": 403,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "INTEGRATION_FAILURE": 502,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_HEADER_FIELDS_TOO_LARGE": 431,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "URI_TOO_LONG": 414,
}
_RESPONSE_NAMES: Mapping[int, str] = {
    400: "GatewayBadRequest",
    401: "GatewayUnauthorized",
    403: "GatewayForbidden",
    404: "GatewayNotFound",
    413: "GatewayRequestTooLarge",
    414: "GatewayUriTooLong",
    415: "GatewayUnsupportedMediaType",
    429: "GatewayTooManyRequests",
    431: "GatewayRequestHeaderFieldsTooLarge",
    502: "GatewayBadGateway",
    504: "GatewayTimeout",
}
_RATE_LIMITED = frozenset({"THROTTLED", "QUOTA_EXCEEDED"})
_AUTH_TYPES = ("UNAUTHORIZED", "ACCESS_DENIED")


class ExportError(ValueError):
    """The export cannot be made as asked (an unknown stage); the message says why."""


# --------------------------------------------------------------------------- stripping


def _is_gateway_extension(key: str) -> bool:
    return key == "x-gateway" or key.startswith(_AWS_PREFIX)


def strip_gateway_extensions(node: Any) -> Any:
    """A copy of ``node`` without ``x-gateway`` and ``x-amazon-apigateway-*`` keys.

    Data values (examples, defaults, enums, foreign vendor extensions) are copied as
    they are; property names that happen to look like extensions are kept.
    """
    if isinstance(node, list):
        return [strip_gateway_extensions(item) for item in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if _is_gateway_extension(key):
            continue
        if key == "$vocabulary" and not isinstance(value, dict):
            # not JSON Schema (it must be an object); the source validator only warns
            continue
        if key.startswith("x-") or key in _DATA_KEYS or (key == "examples" and isinstance(value, list)):
            out[key] = copy.deepcopy(value)
        elif key in _PROPERTY_MAPS and isinstance(value, dict):
            out[key] = {name: strip_gateway_extensions(schema) for name, schema in value.items()}
        else:
            out[key] = strip_gateway_extensions(value)
    return out


def _iter_refs(node: Any) -> Iterable[dict[str, Any]]:
    """Every ``{"$ref": "#/..."}`` object outside data values."""
    if isinstance(node, list):
        for item in node:
            yield from _iter_refs(item)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            yield node
        for key, value in node.items():
            if key.startswith("x-") or key in _DATA_KEYS or (key == "examples" and isinstance(value, list)):
                continue
            yield from _iter_refs(value)


def _resolves(document: Any, ref: str) -> bool:
    try:
        resolve_pointer(document, unquote(ref[1:]))
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _repair_refs(exported: dict[str, Any], original: dict[str, Any]) -> None:
    """Inline the targets of references that pointed into a removed extension.

    Bundling stores a shared external schema at its first use, which can be inside
    ``x-gateway``; once that is stripped, later uses would dangle.
    """
    for _ in range(16):  # an inlined target may itself hold such a reference
        broken = [node for node in _iter_refs(exported) if not _resolves(exported, node["$ref"])]
        if not broken:
            return
        for node in broken:
            ref = node.pop("$ref")
            try:
                target = resolve_pointer(original, unquote(ref[1:]))
            except (KeyError, TypeError, ValueError):
                node["$ref"] = ref  # broken in the source too: leave it as written
                continue
            siblings = dict(node)
            node.clear()
            node.update(strip_gateway_extensions(target) if isinstance(target, dict) else {})
            node.update(siblings)


# --------------------------------------------------------------------------- servers


def gateway_server_url(api: ir.Api, servers: Any, server_url: str | None = None) -> str:
    """The gateway's public URL: see the module docstring for the rule."""
    if server_url:
        return server_url
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        first = servers[0]
        url = first.get("url")
        if isinstance(url, str):
            parts = urlsplit(_fill_server_variables(url, first.get("variables")))
            if parts.scheme in ("http", "https") and parts.netloc:
                return f"{parts.scheme}://{parts.netloc}{api.base_path}"
    return DEFAULT_SERVER + api.base_path


def _fill_server_variables(url: str, variables: Any) -> str:
    def default(match: re.Match[str]) -> str:
        spec = variables.get(match.group(1)) if isinstance(variables, dict) else None
        value = spec.get("default") if isinstance(spec, dict) else None
        return str(value) if value is not None else match.group(0)

    return _SERVER_VARIABLE.sub(default, url)


# --------------------------------------------------------------------------- gateway responses


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One response type with the API's overrides folded in (as the runtime does)."""

    status: int
    header_names: tuple[str, ...]
    custom_body: bool


def _prepare_types(api: ir.Api) -> dict[str, _Prepared]:
    overrides = {o.type: o for o in api.gateway_responses}
    out: dict[str, _Prepared] = {}
    for name, default_status in DEFAULT_STATUSES.items():
        own = overrides.get(name)
        family = overrides.get("DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX")
        status = own.status if own is not None and own.status is not None else default_status
        headers = [h for o in (family, own) if o is not None for h, _ in o.headers]
        body_source = own if own is not None and own.has_body else family
        out[name] = _Prepared(status=status, header_names=tuple(headers), custom_body=body_source is not None and body_source.has_body)
    return out


def _effective_security(op_obj: dict[str, Any], doc: dict[str, Any]) -> list[dict[str, Any]]:
    raw = op_obj["security"] if "security" in op_obj else doc.get("security")
    return [dict(r) for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []


def _key_store_schemes(api: ir.Api) -> frozenset[str]:
    """Schemes the key store authenticates (as the gateway emitter wires them): their
    callers carry a key, so its usage plan applies, and a store outage answers 429."""
    return frozenset(
        s.key
        for s in api.security_schemes
        if isinstance(s.gateway, ir.SigV4Settings)
        or (s.gateway is None and s.type == "apiKey" and s.location in ("header", "query") and s.param_name)
    )


def _operation_types(api: ir.Api, op: ir.Operation, requirements: list[dict[str, Any]]) -> set[str]:
    """The gateway response types this operation can answer with."""
    # the URL and header limits are checked before routing, for every request
    types: set[str] = {"URI_TOO_LONG", "REQUEST_HEADER_FIELDS_TOO_LARGE"}
    secured = any(requirements)
    keyed = any(name in _key_store_schemes(api) for req in requirements for name in req)
    if any(s.kind != "static" for s in op.segments):
        # an empty or dot-segment path parameter value matches no route
        types.add("RESOURCE_NOT_FOUND")
    if op.validation.parameters and (op.parameters or op.validation.unknown_query == "reject"):
        types.add("BAD_REQUEST_PARAMETERS")
    if op.request_body is not None:
        if op.validation.body:
            types.add("BAD_REQUEST_BODY")
        types.update(("REQUEST_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"))
    if secured:
        types.update(_AUTH_TYPES)
    if op.api_key_required:
        types.add("INVALID_API_KEY")
        types.add("ACCESS_DENIED")  # a key not bound to this stage
    if api.resource_policy is not None or (op.cache is not None and op.cache.on_unauthorized_invalidation == "fail_403"):
        types.add("ACCESS_DENIED")
    if op.throttle is not None or api.throttle is not None or api.account_throttle is not None:
        types.add("THROTTLED")
    if op.api_key_required:
        # usage plans throttle and meter keys; a key store outage is answered with 429 too
        types.update(_RATE_LIMITED)
    if keyed:
        # a key-authenticated caller is throttled by its plan (per-method throttles
        # included); a key store outage is answered with 429 too
        types.add("THROTTLED")
        if any(plan.quota is not None for plan in api.usage_plans):
            types.add("QUOTA_EXCEEDED")
    if op.integration.kind in ("http_proxy", "function"):
        types.update(("INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT"))
    return types


def _header(description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if required:
        out["required"] = True
    out["schema"] = schema
    return out


def _response_headers(api: ir.Api, types: list[str], prepared: Mapping[str, _Prepared]) -> dict[str, Any]:
    headers: dict[str, Any] = {
        ERROR_TYPE_HEADER: _header("The gateway response type.", {"type": "string", "enum": types}, required=True),
        "X-Request-Id": _header("The request id the gateway assigned (also in its access log).", {"type": "string"}),
    }
    if "UNAUTHORIZED" in types or "ACCESS_DENIED" in types:
        headers["WWW-Authenticate"] = _header("The authentication challenge, when the scheme has one.", {"type": "string"})
    if _RATE_LIMITED.intersection(types):
        if api.rate_limit_headers == "none":
            headers["Retry-After"] = _header("Seconds to wait before retrying.", {"type": "integer", "minimum": 1})
        else:
            headers["Retry-After"] = _header("Seconds to wait before retrying.", {"type": "integer", "minimum": 1}, required=True)
            prefix = "RateLimit-" if api.rate_limit_headers == "ietf" else "X-RateLimit-"
            headers[prefix + "Limit"] = _header("The limit that refused the request (requests per window, or the bucket size).", {"type": "integer", "minimum": 0})
            headers[prefix + "Remaining"] = _header("Requests left in the current window.", {"type": "integer", "minimum": 0})
            headers[prefix + "Reset"] = _header("Seconds until the limit admits a request again.", {"type": "integer", "minimum": 0})
    taken = {name.lower() for name in headers}
    for name in sorted({h for t in types for h in prepared[t].header_names}, key=str.lower):
        if name.lower() not in taken and name.lower() != "content-type":
            headers[name] = _header("Set by the API's gateway responses.", {"type": "string"})
            taken.add(name.lower())
    return headers


def _error_schema(api: ir.Api) -> dict[str, Any]:
    if api.error_format == "problem+json":
        return {
            "type": "object",
            "description": "An error the gateway answered itself, as RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errorType": {"type": "string", "description": "The gateway response type."},
                "requestId": {"type": "string"},
            },
        }
    return {
        "type": "object",
        "description": "An error the gateway answered itself.",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
    }


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _response_name(status: int) -> str:
    name = _RESPONSE_NAMES.get(status)
    if name is None:
        name = "Gateway" + "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", _reason(status)) if w)
    return name


def _unique(name: str, taken: Iterable[str]) -> str:
    existing = set(taken)
    candidate, n = name, 2
    while candidate in existing:
        candidate = f"{name}{n}"
        n += 1
    return candidate


# --------------------------------------------------------------------------- operations


def _own(container: dict[str, Any], key: str, doc: dict[str, Any]) -> Any:
    """``container[key]`` with its ``$ref`` inlined, so editing it changes only this site."""
    value = container.get(key)
    for _ in range(32):
        if not (isinstance(value, dict) and isinstance(value.get("$ref"), str) and value["$ref"].startswith("#")):
            break
        try:
            target = resolve_pointer(doc, unquote(value["$ref"][1:]))
        except (KeyError, TypeError, ValueError):
            break
        merged = copy.deepcopy(target) if isinstance(target, dict) else {}
        merged.update({k: v for k, v in value.items() if k != "$ref"})
        value = merged
    if value is not None:
        container[key] = value
    return value


def _expand_any_method(item: dict[str, Any], original_item: Any, op_id: str) -> list[dict[str, Any]]:
    """Document an any-method route once per method the path item leaves to it."""
    raw = original_item.get(_ANY_METHOD) if isinstance(original_item, dict) else None
    if not isinstance(raw, dict):
        return []
    template = strip_gateway_extensions(raw)
    added: list[dict[str, Any]] = []
    for method in _ANY_METHOD_EXPANSION:
        if method in item:
            continue
        op_obj = copy.deepcopy(template)
        if "operationId" in op_obj:
            op_obj["operationId"] = f"{op_id}_{method}"
        item[method] = op_obj
        added.append(op_obj)
    return added


def _declared_parameters(item: dict[str, Any], op_obj: dict[str, Any], doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The parameter objects of an operation and its path item, local ``$ref``s followed
    (an unresolvable one is skipped: the validator has reported it)."""
    for raw in [*(item.get("parameters") or []), *(op_obj.get("parameters") or [])]:
        param = raw
        if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
            try:
                param = resolve_pointer(doc, unquote(raw["$ref"][1:]))
            except (KeyError, TypeError, ValueError):
                continue
        if isinstance(param, dict):
            yield param


def _declare_idempotency_key(item: dict[str, Any], op_obj: dict[str, Any], doc: dict[str, Any]) -> None:
    """Document the ``Idempotency-Key`` header of an operation marked
    ``x-gateway.idempotencyKey``: stripped of ``x-gateway``, the exported document says
    it this way, and SDKs built from it retry such a request with one key."""
    for param in _declared_parameters(item, op_obj, doc):
        if param.get("in") == "header" and str(param.get("name", "")).lower() == IDEMPOTENCY_KEY_HEADER.lower():
            return  # the author documented it already
    parameters = op_obj.setdefault("parameters", [])
    if isinstance(parameters, list):
        parameters.append(
            {
                "name": IDEMPOTENCY_KEY_HEADER,
                "in": "header",
                "required": False,
                "description": "A client-chosen key, the same on every retry of one request, "
                "so that the request takes effect at most once.",
                "schema": {"type": "string", "maxLength": 255},
            }
        )


def _declare_path_parameters(op: ir.Operation, item: dict[str, Any], op_obj: dict[str, Any], doc: dict[str, Any]) -> None:
    """Declare the path variables the author left undeclared, as the gateway takes them
    (a required string), so that every operation names all its path parameters."""
    declared = {str(p.get("name")) for p in _declared_parameters(item, op_obj, doc) if p.get("in") == "path"}
    missing = [s.value for s in op.segments if s.kind != "static" and s.value not in declared]
    if missing:
        params = op_obj.setdefault("parameters", [])
        for name in missing:
            params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})


def _api_key_schemes(api: ir.Api, doc: dict[str, Any], components: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The scheme names of the gateway's API key sources, and the schemes to add."""
    sources = api.api_keys.sources if api.api_keys is not None else ir.ApiKeySettings(origin=api.origin).sources
    raw_declared = components.get("securitySchemes")
    declared: dict[str, Any] = raw_declared if isinstance(raw_declared, dict) else {}
    by_key = {s.key: s for s in api.security_schemes}
    names: list[str] = []
    added: dict[str, Any] = {}
    for where, param in sources:
        reuse = next(
            (
                key
                for key, s in by_key.items()
                if s.type == "apiKey" and s.gateway is None and s.location == where
                and (s.param_name or "").lower() == param.lower() and (where == "header" or s.param_name == param)
            ),
            None,
        )
        if reuse is not None:
            names.append(reuse)
            continue
        name = _unique(API_KEY_SCHEME if not added else f"{API_KEY_SCHEME}{len(added) + 1}", [*declared, *added])
        added[name] = {
            "type": "apiKey",
            "in": where,
            "name": param,
            "description": "An API key issued for a usage plan; the gateway checks it and meters its plan's throttle and quota.",
        }
        names.append(name)
    return names, added


def _with_api_key(requirements: list[dict[str, Any]], key_schemes: list[str]) -> list[dict[str, Any]]:
    """AND one of the key schemes into each requirement (alternatives stay OR)."""
    base = requirements or [{}]
    out: list[dict[str, Any]] = []
    for req in base:
        for scheme in key_schemes:
            combined = dict(req)
            combined.setdefault(scheme, [])
            if combined not in out:
                out.append(combined)
    return out


def _insert_after(mapping: dict[str, Any], anchor: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in mapping.items():
        out[k] = v
        if k == anchor:
            out[key] = value
    out.setdefault(key, value)
    return out


def _resolve_stage(api: ir.Api, stage: str | None) -> str:
    names = [s.name for s in api.stages]
    if stage is None:
        return names[0] if names else "dev"
    if stage not in names:
        raise ExportError(f"unknown stage {stage!r}; the spec defines: {', '.join(names) or 'none'}")
    return stage


def export_document(spec: LoadedSpec, api: ir.Api, *, stage: str | None, server_url: str | None = None) -> dict[str, Any]:
    """The public OpenAPI document of ``api`` as served by its gateway at ``stage``.

    ``stage=None`` means the gateway's default stage (the first one declared).
    Raises :class:`ExportError` for a stage the spec does not define.
    """
    stage_name = _resolve_stage(api, stage)
    original = spec.document
    doc: dict[str, Any] = strip_gateway_extensions(original)
    servers = [
        {
            "url": gateway_server_url(api, original.get("servers"), server_url),
            "description": f"The API gateway, stage {stage_name}",
        }
    ]
    if "servers" in doc:
        doc["servers"] = servers
    else:  # where authors put it: after info
        doc = _insert_after(doc, "info", "servers", servers)
    components: dict[str, Any] = doc["components"] if isinstance(doc.get("components"), dict) else {}

    key_scheme_names: list[str] = []
    if any(op.api_key_required for op in api.operations):
        key_scheme_names, added_schemes = _api_key_schemes(api, doc, components)
        if added_schemes:
            schemes = components.setdefault("securitySchemes", {})
            for name in sorted(added_schemes):
                schemes[name] = added_schemes[name]

    prepared = _prepare_types(api)
    paths: dict[str, Any] = doc["paths"] if isinstance(doc.get("paths"), dict) else {}
    original_paths: dict[str, Any] = original["paths"] if isinstance(original.get("paths"), dict) else {}
    # (operation object, status -> types) for every documented operation
    planned: list[tuple[dict[str, Any], dict[int, set[str]]]] = []
    for op in api.operations:
        item = _own(paths, op.path, doc)
        if not isinstance(item, dict):
            continue
        if op.method == "ANY":
            original_item = _own(dict(original_paths), op.path, original)
            op_objects = _expand_any_method(item, original_item, op.id)
        else:
            found = _own(item, op.method.lower(), doc)
            op_objects = [found] if isinstance(found, dict) else []
        # path and operation servers name upstreams; clients reach everything through the gateway
        item.pop("servers", None)
        for op_obj in op_objects:
            op_obj.pop("servers", None)
            _declare_path_parameters(op, item, op_obj, doc)
            if op.idempotent:
                _declare_idempotency_key(item, op_obj, doc)
            requirements = _effective_security(op_obj, doc)
            if op.api_key_required and key_scheme_names:
                requirements = _with_api_key(requirements, key_scheme_names)
                op_obj["security"] = requirements
            by_status: dict[int, set[str]] = {}
            for rtype in _operation_types(api, op, requirements):
                by_status.setdefault(prepared[rtype].status, set()).add(rtype)
            planned.append((op_obj, by_status))

    # one shared response object per status, documenting every type it can carry
    union: dict[int, set[str]] = {}
    for _, by_status in planned:
        for status, types in by_status.items():
            union.setdefault(status, set()).update(types)
    if not union:
        return _finish(doc, components, original, planned)

    error_schema_name = ERROR_SCHEMA
    if any(not any(prepared[t].custom_body for t in types) for types in union.values()):
        schemas = components.setdefault("schemas", {})
        error_schema_name = _unique(ERROR_SCHEMA, schemas)
        schemas[error_schema_name] = _error_schema(api)
    responses = components.setdefault("responses", {})
    taken = list(responses)
    response_names: dict[int, str] = {}
    media_type = "application/problem+json" if api.error_format == "problem+json" else "application/json"
    for status in sorted(union):
        status_types = sorted(union[status])
        name = _unique(_response_name(status), taken)
        taken.append(name)
        response_names[status] = name
        # a gatewayResponses body replaces the standard one: its shape is the author's
        custom = any(prepared[t].custom_body for t in status_types)
        schema: dict[str, Any] = {} if custom else {"$ref": f"#/components/schemas/{error_schema_name}"}
        responses[name] = {
            "description": f"{_reason(status)}: answered by the gateway ({', '.join(status_types)}).",
            "headers": _response_headers(api, status_types, prepared),
            "content": {media_type: {"schema": schema}},
        }

    for op_obj, by_status in planned:
        declared = op_obj.setdefault("responses", {})
        if not isinstance(declared, dict):
            continue
        for status in sorted(by_status):
            if str(status) not in declared:
                declared[str(status)] = {"$ref": f"#/components/responses/{response_names[status]}"}
    return _finish(doc, components, original, planned)


def _finish(doc: dict[str, Any], components: dict[str, Any], original: dict[str, Any], planned: list[tuple[dict[str, Any], dict[int, set[str]]]]) -> dict[str, Any]:
    if components:
        doc["components"] = components
    for op_obj, _ in planned:
        if not op_obj.get("responses") and ("responses" in op_obj or not str(doc.get("openapi", "")).startswith("3.1")):
            # OpenAPI 3.0 requires at least one response; the source declared none
            op_obj["responses"] = {"default": {"description": "The API's response (the source document does not describe it)."}}
    if isinstance(doc.get("paths"), dict):
        doc["paths"] = _plain_templates(doc["paths"])
    _repair_refs(doc, original)
    return doc


def _plain_templates(paths: dict[str, Any]) -> dict[str, Any]:
    """``/{proxy+}`` -> ``/{proxy}``: OpenAPI has no greedy variables, and a template
    variable must carry its parameter's name. The variable still matches the rest of
    the path at the gateway."""
    renamed: dict[str, Any] = {}
    for path, item in paths.items():
        plain = _GREEDY_VARIABLE.sub(lambda m: "{" + m.group(1) + "}", path)
        renamed[plain if plain not in paths and plain not in renamed else path] = item
    return renamed


# --------------------------------------------------------------------------- rendering


class _Dumper(yaml.SafeDumper):
    """Writes shared values in full: anchors and aliases confuse many OpenAPI tools."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_document(document: Mapping[str, Any], fmt: Literal["json", "yaml"] = "json") -> str:
    """The document as JSON (two-space indent) or YAML, ending in a newline."""
    if fmt == "yaml":
        text: str = yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
        return text
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
