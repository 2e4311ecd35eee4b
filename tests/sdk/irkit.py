"""Hand-built IR for SDK tests: a compact way to write ``ir.nodes`` values.

``schema({...})`` turns a JSON Schema subset into an ``ir.Schema`` (``$ref`` to
``#/components/schemas/X`` becomes ``ref``); ``api(...)`` assembles an ``Api``
from models and operations. Only what the SDK tests need is supported.
"""

from __future__ import annotations

import itertools
import keyword
import re
from typing import Any, cast

from gatewright.compiler.diagnostics import Origin
from gatewright.compiler.ir.naming import snake_case
from gatewright.compiler.ir.nodes import (
    Api,
    Discriminator,
    MediaType,
    MockIntegration,
    Model,
    Operation,
    Parameter,
    Property,
    RequestBody,
    Response,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

__all__ = ["api", "body", "model", "operation", "param", "py_name", "response", "schema"]

FILE = "spec.yaml"
_counter = itertools.count()


def _unique(pointer: str) -> str:
    """Bodies and responses get distinct pointers, as they would in a document."""
    return f"{pointer}/{next(_counter)}"


def py_name(name: str) -> str:
    text = snake_case(name) or "x"
    if text[0].isdigit():
        text = "n" + text
    return text + "_" if keyword.iskeyword(text) else text


def _ref(target: str) -> str:
    return "#/components/schemas/" + target.rsplit("/", 1)[-1] if target.startswith("#") else target


def schema(raw: dict[str, Any] | bool, pointer: str = "/x") -> Schema:
    origin = Origin(FILE, pointer)
    if raw is False:
        return Schema(origin=origin, never=True)
    if raw is True:
        return Schema(origin=origin)
    types = raw.get("type")
    type_tuple: tuple[Any, ...] | None
    if isinstance(types, str):
        type_tuple = (types,)
    elif isinstance(types, list):
        type_tuple = tuple(types)
    else:
        type_tuple = None
    if raw.get("nullable") and type_tuple is not None and "null" not in type_tuple:
        type_tuple = (*type_tuple, "null")
    required = set(raw.get("required", ()))
    props = tuple(
        Property(
            name=name,
            py_name=py_name(name),
            schema=schema(sub, f"{pointer}/properties/{name}"),
            required=name in required,
            origin=Origin(FILE, f"{pointer}/properties/{name}"),
        )
        for name, sub in raw.get("properties", {}).items()
    )
    extra = raw.get("additionalProperties")
    disc = raw.get("discriminator")
    return Schema(
        origin=origin,
        ref=_ref(raw["$ref"]) if "$ref" in raw else None,
        types=cast(Any, type_tuple),
        enum=tuple(raw["enum"]) if "enum" in raw else None,
        has_const="const" in raw,
        const=raw.get("const"),
        format=raw.get("format"),
        items=schema(raw["items"], pointer + "/items") if "items" in raw else None,
        properties=props,
        additional_properties=(
            schema(extra, pointer + "/additionalProperties") if isinstance(extra, dict) else extra
        ),
        all_of=tuple(schema(s, f"{pointer}/allOf/{i}") for i, s in enumerate(raw.get("allOf", ()))),
        one_of=tuple(schema(s, f"{pointer}/oneOf/{i}") for i, s in enumerate(raw.get("oneOf", ()))),
        any_of=tuple(schema(s, f"{pointer}/anyOf/{i}") for i, s in enumerate(raw.get("anyOf", ()))),
        discriminator=(
            Discriminator(
                property_name=disc["propertyName"],
                mapping=tuple((k, _ref(v)) for k, v in disc.get("mapping", {}).items()),
            )
            if disc
            else None
        ),
        description=raw.get("description"),
        read_only=bool(raw.get("readOnly")),
        write_only=bool(raw.get("writeOnly")),
    )


def model(key: str, raw: dict[str, Any], name: str | None = None) -> Model:
    pointer = f"/components/schemas/{key}"
    return Model(
        id="#" + pointer,
        key=key,
        py_name=name or (key if key.isidentifier() else re.sub(r"\W", "", key.title())) or "Model",
        schema=schema(raw, pointer),
        origin=Origin(FILE, pointer),
    )


def param(
    name: str,
    location: str,
    raw: dict[str, Any],
    *,
    required: bool = False,
    style: str | None = None,
    explode: bool | None = None,
    allow_reserved: bool = False,
    py: str | None = None,
) -> Parameter:
    default_style = "form" if location in ("query", "cookie") else "simple"
    style = style or default_style
    return Parameter(
        name=name,
        location=cast(Any, location),
        py_name=py or py_name(name),
        required=required or location == "path",
        schema=schema(raw, f"/p/{location}/{name}"),
        style=style,
        explode=explode if explode is not None else style == "form",
        allow_reserved=allow_reserved,
        origin=Origin(FILE, f"/p/{location}/{name}"),
    )


def body(
    raw: dict[str, Any] | None,
    media_type: str = "application/json",
    *,
    required: bool = True,
    encoding: tuple[tuple[str, str | None, str | None, bool | None], ...] = (),
) -> RequestBody:
    pointer = _unique("/body")
    return RequestBody(
        required=required,
        contents=(
            MediaType(
                media_type=media_type,
                schema=schema(raw, pointer) if raw is not None else None,
                encoding=encoding,
                origin=Origin(FILE, pointer),
            ),
        ),
        origin=Origin(FILE, pointer),
    )


def response(
    status: str, raw: dict[str, Any] | None = None, media_type: str = "application/json"
) -> Response:
    pointer = _unique(f"/responses/{status}")
    contents: tuple[MediaType, ...] = ()
    if raw is not None or media_type != "application/json":
        contents = (
            MediaType(
                media_type=media_type,
                schema=schema(raw, pointer) if raw is not None else None,
                origin=Origin(FILE, pointer),
            ),
        )
    return Response(status=status, description="", contents=contents, origin=Origin(FILE, pointer))


def operation(
    op_id: str,
    method: str,
    path: str,
    *,
    tags: tuple[str, ...] = (),
    params: tuple[Parameter, ...] = (),
    request_body: RequestBody | None = None,
    responses: tuple[Response, ...] = (),
    security: tuple[tuple[str, ...], ...] | None = None,
    idempotent: bool = False,
) -> Operation:
    origin = Origin(FILE, f"/paths/{path}/{method.lower()}")
    return Operation(
        id=op_id,
        py_name=py_name(op_id),
        method=method,
        path=path,
        segments=(),
        tags=tags,
        summary=f"{method} {path}",
        parameters=params,
        request_body=request_body,
        responses=responses or (response("204"),),
        security=(
            tuple(SecurityRequirement(schemes=tuple((k, ()) for k in alt)) for alt in security)
            if security is not None
            else None
        ),
        integration=MockIntegration(status=200, origin=origin),
        idempotent=idempotent,
        origin=origin,
    )


def api(
    name: str,
    *,
    models: tuple[Model, ...] = (),
    operations: tuple[Operation, ...] = (),
    schemes: tuple[SecurityScheme, ...] = (),
    security: tuple[tuple[str, ...], ...] = (),
    servers: tuple[str, ...] = ("http://127.0.0.1:1/v1",),
) -> Api:
    return Api(
        title=f"{name} API",
        version="1.0.0",
        description=None,
        openapi_version="3.1.0",
        name=name.replace("_", "-"),
        package=name,
        base_path="",
        servers=servers,
        stages=(),
        backends=(),
        operations=operations,
        models=models,
        security_schemes=schemes,
        security=tuple(
            SecurityRequirement(schemes=tuple((k, ()) for k in alt)) for alt in security
        ),
        origin=Origin(FILE, ""),
    )


def scheme(key: str, kind: str, **kw: Any) -> SecurityScheme:
    return SecurityScheme(
        key=key,
        py_name=py_name(key),
        type=cast(Any, kind),
        origin=Origin(FILE, f"/sec/{key}"),
        **kw,
    )
