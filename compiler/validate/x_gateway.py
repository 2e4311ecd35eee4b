"""The ``x-gateway`` part of validation: the shipped JSON Schema, located.

Layer: validate. Semantic rules that need the whole API (undefined backends,
stage variables, route conflicts) live in the IR builder, which sees resolved
names; this module checks shape only, so every later stage can trust it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from ..diagnostics import Diagnostics, join_pointer
from ..source.loading import LoadedSpec, resolve_pointer

__all__ = ["load_schema", "schema_text", "validate_x_gateway"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def schema_text() -> str:
    return resources.files("gatewright.compiler").joinpath("x_gateway.schema.json").read_text("utf-8")


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    data = json.loads(schema_text())
    assert isinstance(data, dict)
    return data


@lru_cache(maxsize=8)
def _validator(definition: str) -> jsonschema.protocols.Validator:
    schema = load_schema()
    sub = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(sub)
    return validator


def _targets(doc: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(definition, pointer, value) for every x-gateway object in the document."""
    if "x-gateway" in doc:
        yield "root", "/x-gateway", doc["x-gateway"]
    comps = doc.get("components")
    if isinstance(comps, dict) and "x-gateway" in comps:
        yield "components", "/components/x-gateway", comps["x-gateway"]
    schemes = comps.get("securitySchemes") if isinstance(comps, dict) else None
    if isinstance(schemes, dict):
        for name, scheme in schemes.items():
            if isinstance(scheme, dict) and "x-gateway" in scheme:
                yield "securityScheme", join_pointer("/components/securitySchemes", name, "x-gateway"), scheme["x-gateway"]
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        base = join_pointer("/paths", path)
        if "x-gateway" in item:
            yield "operationSettings", join_pointer(base, "x-gateway"), item["x-gateway"]
        for method in (*_METHODS, "x-amazon-apigateway-any-method"):
            op = item.get(method)
            if isinstance(op, dict) and "x-gateway" in op:
                yield "operationSettings", join_pointer(base, method, "x-gateway"), op["x-gateway"]


def _is_kind_miss(err: jsonschema.ValidationError) -> bool:
    return err.validator == "const" and list(err.relative_path) == ["type"]


def _best(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf failures, report the branch the user meant, not 'is not valid under any'."""
    if err.validator != "oneOf" or not err.context:
        return err
    branches: dict[object, list[jsonschema.ValidationError]] = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0] if e.relative_schema_path else None, []).append(e)
    if isinstance(err.instance, dict) and "$ref" not in err.instance:
        # an inline object: the {$ref: ...} branch is not what the user meant
        branches = {k: v for k, v in branches.items() if not any(e.validator == "required" and "$ref" in e.validator_value for e in v)}
    chosen = [v for v in branches.values() if not any(_is_kind_miss(e) for e in v)]
    if not chosen:
        misses = [e for v in branches.values() for e in v if _is_kind_miss(e)]
        if misses:  # no branch accepts this "type": name them all
            return jsonschema.ValidationError(
                "unknown type",
                validator="enum",
                validator_value=[e.validator_value for e in misses],
                instance=misses[0].instance,
                path=misses[0].absolute_path,
            )
        chosen = list(branches.values()) or [list(err.context)]
    return max((e for v in chosen for e in v), key=lambda e: len(e.absolute_path))


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {}))) if isinstance(err.instance, dict) else []
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        return f"unknown key {', '.join(repr(e) for e in extra)}; expected one of: {allowed}"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(repr(v) for v in err.validator_value)}"
    if err.validator == "const":
        return f"expected {err.validator_value!r}, got {err.instance!r}"
    if err.validator == "required":
        return str(err.message).replace("is a required property", "is required")
    if err.validator == "pattern":
        return f"{err.instance!r} does not have the expected form"
    return str(err.message)


def validate_x_gateway(spec: LoadedSpec, diags: Diagnostics) -> None:
    doc = spec.document
    root = doc.get("x-gateway")
    if isinstance(root, dict) and "version" in root and root["version"] != 1:
        diags.error("GW304", spec.origin("/x-gateway/version"), f"x-gateway version {root['version']!r} is not supported; this compiler reads version 1")
    for definition, pointer, value in _targets(doc):
        errors = sorted(_validator(definition).iter_errors(value), key=lambda e: list(e.absolute_path))
        for err in errors:
            if err.validator == "const" and err.absolute_path and err.absolute_path[-1] == "version":
                continue  # reported above as GW304
            best = _best(err)
            where = join_pointer(pointer, *[str(p) for p in best.absolute_path])
            diags.error("GW300", spec.origin(where), _message(best))
        for ref_pointer, ref in _refs(value, pointer):
            try:
                resolve_pointer(doc, ref[1:])
            except (KeyError, TypeError, ValueError):
                diags.error("GW305", spec.origin(ref_pointer), f"$ref {ref!r} points to nothing", hint="reusable x-gateway objects live under components.x-gateway")


def _refs(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            yield join_pointer(pointer, "$ref"), ref
        for k, v in value.items():
            if k != "$ref":
                yield from _refs(v, join_pointer(pointer, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _refs(v, join_pointer(pointer, i))
