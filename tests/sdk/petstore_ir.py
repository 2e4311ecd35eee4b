"""A petstore-shaped API as hand-built IR, exercising most SDK features."""

from __future__ import annotations

from gatewright.compiler.ir.nodes import Api

from .irkit import api, body, model, operation, param, response, scheme

__all__ = ["petstore"]


def petstore(name: str = "petstore") -> Api:
    pet = model(
        "Pet",
        {
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                "name": {"type": "string"},
                "tag": {"type": ["string", "null"]},
                "status": {"$ref": "#/components/schemas/PetStatus"},
                "born-at": {"type": "string", "format": "date-time"},
                "owner": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "nick": {"type": "string"},
                    },
                },
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
                "labels": {"type": "object", "additionalProperties": {"type": "integer"}},
                "secret": {"type": "string", "writeOnly": True},
            },
        },
    )
    status = model(
        "PetStatus", {"type": "string", "enum": ["available", "pending", "sold", "Sold", "SOLD"]}
    )
    error = model(
        "Error",
        {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        },
    )
    cat = model(
        "Cat",
        {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}},
        },
    )
    dog = model(
        "Dog",
        {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"type": "string"}, "bark": {"type": "boolean"}},
        },
    )
    animal = model(
        "Animal",
        {
            "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
            "discriminator": {
                "propertyName": "kind",
                "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"},
            },
        },
    )
    shape = model(
        "Shape",
        {
            "anyOf": [
                {
                    "type": "object",
                    "required": ["radius"],
                    "properties": {"radius": {"type": "number"}},
                },
                {
                    "type": "object",
                    "required": ["width", "height"],
                    "properties": {"width": {"type": "number"}, "height": {"type": "number"}},
                },
                {"type": "string"},
            ]
        },
    )
    named = model(
        "NamedPet",
        {
            "allOf": [
                {"$ref": "#/components/schemas/Pet"},
                {
                    "type": "object",
                    "required": ["nickname"],
                    "properties": {"nickname": {"type": "string"}},
                },
            ]
        },
    )
    errors = (
        response("404", {"$ref": "#/components/schemas/Error"}),
        response("default", {"$ref": "#/components/schemas/Error"}),
    )
    ops = (
        operation(
            "listPets",
            "GET",
            "/pets",
            tags=("pets",),
            params=(
                param("limit", "query", {"type": "integer"}),
                param("tags", "query", {"type": "array", "items": {"type": "string"}}),
                param(
                    "filter",
                    "query",
                    {"type": "object", "additionalProperties": {"type": "string"}},
                    style="deepObject",
                    explode=True,
                ),
                param("X-Trace", "header", {"type": "string"}),
                param("session", "cookie", {"type": "string"}),
            ),
            responses=(
                response("200", {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}),
                *errors,
            ),
        ),
        operation(
            "createPet",
            "POST",
            "/pets",
            tags=("pets",),
            request_body=body({"$ref": "#/components/schemas/Pet"}),
            responses=(response("201", {"$ref": "#/components/schemas/Pet"}), *errors),
            idempotent=True,
        ),
        operation(
            "pets/get",
            "GET",
            "/pets/{petId}",
            params=(param("petId", "path", {"type": "integer"}),),
            responses=(response("200", {"$ref": "#/components/schemas/Pet"}), *errors),
        ),
        operation(
            "pets/delete",
            "DELETE",
            "/pets/{petId}",
            params=(param("petId", "path", {"type": "integer"}),),
            responses=(response("204"), *errors),
            security=(("basic",),),
        ),
        operation(
            "quotes.update",
            "POST",
            "/quotes/{quote}",
            params=(
                param("quote", "path", {"type": "string"}),
                param("json", "query", {"type": "string"}),
                param("self", "query", {"type": "string"}),
                param("timeout", "query", {"type": "integer"}),
            ),
            request_body=body(
                {
                    "type": "object",
                    "properties": {
                        "address": {
                            "type": "object",
                            "properties": {"line1": {"type": "string"}, "city": {"type": "string"}},
                        },
                        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        "preferred_locales": {"type": "array", "items": {"type": "string"}},
                        "amount": {"type": "integer"},
                    },
                },
                "application/x-www-form-urlencoded",
                encoding=(("preferred_locales", None, "deepObject", True),),
            ),
            responses=(
                response("200", {"type": "object", "properties": {"ok": {"type": "boolean"}}}),
            ),
        ),
        operation(
            "uploadPhoto",
            "POST",
            "/pets/{petId}/photo",
            tags=("pets",),
            params=(param("petId", "path", {"type": "integer"}),),
            request_body=body(
                {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "caption": {"type": "string"},
                        "meta": {"type": "object", "properties": {"a": {"type": "integer"}}},
                    },
                },
                "multipart/form-data",
            ),
            responses=(response("200", None, "text/plain"),),
        ),
        operation(
            "getAnimal",
            "GET",
            "/animals/{id}",
            tags=("animals",),
            params=(param("id", "path", {"type": "string"}),),
            responses=(response("200", {"$ref": "#/components/schemas/Animal"}),),
        ),
        operation(
            "getShape",
            "GET",
            "/shapes",
            tags=("animals",),
            responses=(response("200", {"$ref": "#/components/schemas/Shape"}),),
        ),
        operation(
            "getNamed",
            "GET",
            "/named",
            tags=("animals",),
            responses=(response("200", {"$ref": "#/components/schemas/NamedPet"}),),
        ),
        operation(
            "download",
            "GET",
            "/files/{path}",
            params=(param("path", "path", {"type": "string"}),),
            responses=(response("200", None, "application/octet-stream"),),
            security=(),
        ),
        operation(
            "list",
            "GET",
            "/things",
            tags=("things",),
            responses=(response("200", {"type": "array", "items": {"type": "string"}}),),
        ),
        operation(
            "count",
            "GET",
            "/things/count",
            tags=("things",),
            responses=(response("200", {"type": "integer"}),),
        ),
        operation(
            "proxy",
            "ANY",
            "/proxy/{proxy}",
            params=(param("proxy", "path", {"type": "string"}, allow_reserved=True),),
            responses=(response("200", {}),),
        ),
    )
    return api(
        name,
        models=(pet, status, error, cat, dog, animal, shape, named),
        operations=ops,
        schemes=(
            scheme("api_key", "apiKey", location="header", param_name="X-API-Key"),
            scheme("basic", "http", scheme="basic"),
            scheme("token", "http", scheme="bearer"),
        ),
        security=(("api_key",), ("token",)),
    )
