"""Turning JSON Schema objects of the bundled document into IR ``Schema`` nodes.

Layer: ir. Every ``$ref`` in a schema position becomes a named :class:`Model`
(identity: the bundled pointer it targets), which is how recursion is expressed
without infinite structures. OpenAPI 3.0 and 3.1 differences are normalised here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..diagnostics import Diagnostics, Origin, join_pointer
from ..source.loading import LoadedSpec, resolve_pointer
from .naming import NameScope
from .nodes import Discriminator, JsonType, JSONValue, Model, Property, Schema

__all__ = ["SchemaBuilder"]

_JSON_TYPES: tuple[JsonType, ...] = ("null", "boolean", "integer", "number", "string", "array", "object")
_COMPONENT_PREFIX = "/components/schemas/"


def _as_type(name: str) -> JsonType:
    for t in _JSON_TYPES:
        if t == name:
            return t
    raise ValueError(name)


def _num(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class SchemaBuilder:
    def __init__(self, spec: LoadedSpec, diags: Diagnostics) -> None:
        self.spec = spec
        self.doc = spec.document
        self.diags = diags
        self.v31 = spec.openapi_version.startswith("3.1")
        self._models: dict[str, Model | None] = {}  # pointer -> model (None while building)
        self._queue: list[str] = []
        self._keys: dict[str, str] = {}

    # ------------------------------------------------------------------ models
    def model_id(self, pointer: str) -> str:
        return "#" + pointer

    def _request_model(self, pointer: str) -> str:
        if pointer not in self._models:
            self._models[pointer] = None
            self._queue.append(pointer)
        return self.model_id(pointer)

    def build_components(self) -> None:
        schemas = self.doc.get("components", {}).get("schemas", {})
        if isinstance(schemas, dict):
            for key in schemas:
                self._request_model(join_pointer(_COMPONENT_PREFIX[:-1], key))
        self.drain()

    def drain(self) -> None:
        while self._queue:
            pointer = self._queue.pop(0)
            try:
                raw = resolve_pointer(self.doc, pointer)
            except (KeyError, TypeError, ValueError):
                self._models.pop(pointer, None)
                continue
            schema = self.schema(raw, pointer, follow_root_ref=True)
            self._models[pointer] = Model(
                id=self.model_id(pointer),
                key=self._key_for(pointer),
                py_name="",
                schema=schema,
                origin=self.spec.origin(pointer),
            )

    def _key_for(self, pointer: str) -> str:
        if pointer.startswith(_COMPONENT_PREFIX) and pointer.count("/") == 3:
            return pointer[len(_COMPONENT_PREFIX):].replace("~1", "/").replace("~0", "~")
        origin = self.spec.origin(pointer)
        tokens = [t for t in origin.pointer.split("/") if t]
        meaningful = [t for t in tokens if t not in ("schema", "properties", "items", "content", "allOf", "oneOf", "anyOf") and not t.isdigit()]
        if meaningful:
            return meaningful[-1].replace("~1", "_").replace("~0", "_")
        stem = origin.file.rsplit("/", 1)[-1].split(".", 1)[0]
        return stem or "Model"

    def models(self) -> tuple[Model, ...]:
        """All models, named: components first in document order, then the rest by pointer."""
        self.drain()
        built = [m for m in self._models.values() if m is not None]
        comps = [m for m in built if m.id.startswith("#" + _COMPONENT_PREFIX)]
        others = sorted((m for m in built if not m.id.startswith("#" + _COMPONENT_PREFIX)), key=lambda m: m.id)
        scope = NameScope(ignore_case=True)
        named: list[Model] = []
        for m in comps + others:
            py = scope.pascal(m.key, fallback="Model")
            if py != m.key:
                self.diags.add("GW403", m.origin, f"schema {m.key!r} is named {py!r} in generated code")
            named.append(Model(id=m.id, key=m.key, py_name=py, schema=m.schema, origin=m.origin))
        return tuple(named)

    # ------------------------------------------------------------------ schemas
    def schema(self, raw: Any, pointer: str, *, follow_root_ref: bool = False) -> Schema:
        origin = self.spec.origin(pointer)
        if raw is True or raw is None:
            return Schema(origin=origin)
        if raw is False:
            return Schema(origin=origin, never=True)
        if not isinstance(raw, dict):
            self.diags.error("GW200", origin, f"expected a schema object, got {type(raw).__name__}")
            return Schema(origin=origin)
        ref = raw.get("$ref")
        ref_id: str | None = None
        if isinstance(ref, str):
            if not ref.startswith("#"):
                self.diags.error("GW103", origin.child("$ref"), f"$ref {ref!r} was not resolved")
            else:
                ref_id = self._request_model(unquote(ref[1:]))
            if not self.v31:
                # 3.0: siblings of $ref are ignored, except documentation
                return Schema(
                    origin=origin,
                    ref=ref_id,
                    description=raw.get("description") if isinstance(raw.get("description"), str) else None,
                )
        return self._keywords(raw, pointer, origin, ref_id)

    def _sub(self, raw: dict[str, Any], key: str, pointer: str) -> Schema | None:
        if key not in raw:
            return None
        return self.schema(raw[key], join_pointer(pointer, key))

    def _list(self, raw: dict[str, Any], key: str, pointer: str) -> tuple[Schema, ...]:
        value = raw.get(key)
        if not isinstance(value, list):
            return ()
        return tuple(self.schema(v, join_pointer(pointer, key, i)) for i, v in enumerate(value))

    def _types(self, raw: dict[str, Any], origin: Origin) -> tuple[JsonType, ...] | None:
        t = raw.get("type")
        types: list[JsonType] | None
        if isinstance(t, str):
            types = [_as_type(t)] if t in _JSON_TYPES else None
        elif isinstance(t, list):
            types = [_as_type(x) for x in t if x in _JSON_TYPES]
        else:
            types = None
        if types is not None and raw.get("nullable") is True and "null" not in types:
            types.append("null")
        if types is None and raw.get("nullable") is True and "enum" not in raw:
            return None
        return tuple(types) if types is not None else None

    def _keywords(self, raw: dict[str, Any], pointer: str, origin: Origin, ref_id: str | None) -> Schema:
        types = self._types(raw, origin)
        enum_raw = raw.get("enum")
        enum: tuple[JSONValue, ...] | None = None
        if isinstance(enum_raw, list):
            values = list(enum_raw)
            if raw.get("nullable") is True and None not in values:
                values.append(None)
            enum = tuple(values)
        ex_min, ex_max = raw.get("exclusiveMinimum"), raw.get("exclusiveMaximum")
        minimum, maximum = _num(raw.get("minimum")), _num(raw.get("maximum"))
        exclusive_minimum = _num(ex_min)
        exclusive_maximum = _num(ex_max)
        if ex_min is True and minimum is not None:  # 3.0 boolean form
            exclusive_minimum, minimum = minimum, None
        if ex_max is True and maximum is not None:
            exclusive_maximum, maximum = maximum, None
        required_raw = raw.get("required")
        required = set(required_raw) if isinstance(required_raw, list) else set()
        props: list[Property] = []
        props_raw = raw.get("properties")
        if isinstance(props_raw, dict):
            scope = NameScope(reserved=("model_config",))
            for name, sub in props_raw.items():
                ppointer = join_pointer(pointer, "properties", name)
                props.append(
                    Property(
                        name=name,
                        py_name=scope.snake(name, fallback="field"),
                        schema=self.schema(sub, ppointer),
                        required=name in required,
                        origin=self.spec.origin(ppointer),
                    )
                )
        # a required name without a properties entry still must be present
        if isinstance(required_raw, list):
            known = {p.name for p in props}
            scope_extra = NameScope(reserved=[p.py_name for p in props] + ["model_config"])
            for name in required_raw:
                if isinstance(name, str) and name not in known:
                    known.add(name)
                    rpointer = join_pointer(pointer, "required")
                    props.append(
                        Property(
                            name=name,
                            py_name=scope_extra.snake(name, fallback="field"),
                            schema=Schema(origin=self.spec.origin(rpointer)),
                            required=True,
                            origin=self.spec.origin(rpointer),
                        )
                    )
        addl_raw = raw.get("additionalProperties")
        additional: Schema | bool | None
        if isinstance(addl_raw, bool):
            additional = addl_raw
        elif isinstance(addl_raw, dict):
            additional = self.schema(addl_raw, join_pointer(pointer, "additionalProperties"))
        else:
            additional = None
        pattern_props: list[tuple[str, Schema]] = []
        pp_raw = raw.get("patternProperties")
        if isinstance(pp_raw, dict):
            for pat, sub in pp_raw.items():
                pattern_props.append((pat, self.schema(sub, join_pointer(pointer, "patternProperties", pat))))
        items_raw = raw.get("items")
        prefix = self._list(raw, "prefixItems", pointer)
        items: Schema | None
        if isinstance(items_raw, list):  # draft-4 tuple form
            prefix = tuple(self.schema(v, join_pointer(pointer, "items", i)) for i, v in enumerate(items_raw))
            items = None
        else:
            items = self._sub(raw, "items", pointer)
        pattern = raw.get("pattern") if isinstance(raw.get("pattern"), str) else None
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.diags.add("GW401", origin.child("pattern"), f"pattern {pattern!r} is not a Python regular expression ({exc.msg}); it is not enforced")
                pattern = None
        examples_raw = raw.get("examples")
        examples: tuple[JSONValue, ...] = ()
        if isinstance(examples_raw, list):
            examples = tuple(examples_raw)
        if "example" in raw:
            examples = (raw["example"], *examples)
        not_raw = raw.get("not")
        return Schema(
            origin=origin,
            ref=ref_id,
            types=types,
            enum=enum,
            has_const="const" in raw,
            const=raw.get("const"),
            format=raw.get("format") if isinstance(raw.get("format"), str) else None,
            min_length=_int(raw.get("minLength")),
            max_length=_int(raw.get("maxLength")),
            pattern=pattern,
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            exclusive_maximum=exclusive_maximum,
            multiple_of=_num(raw.get("multipleOf")) if _num(raw.get("multipleOf")) else None,
            items=items,
            prefix_items=prefix,
            min_items=_int(raw.get("minItems")),
            max_items=_int(raw.get("maxItems")),
            unique_items=raw.get("uniqueItems") is True,
            properties=tuple(props),
            additional_properties=additional,
            pattern_properties=tuple(pattern_props),
            min_properties=_int(raw.get("minProperties")),
            max_properties=_int(raw.get("maxProperties")),
            all_of=self._list(raw, "allOf", pointer),
            one_of=self._list(raw, "oneOf", pointer),
            any_of=self._list(raw, "anyOf", pointer),
            not_=self.schema(not_raw, join_pointer(pointer, "not")) if "not" in raw else None,
            discriminator=self._discriminator(raw.get("discriminator"), pointer),
            title=raw.get("title") if isinstance(raw.get("title"), str) else None,
            description=raw.get("description") if isinstance(raw.get("description"), str) else None,
            default=raw.get("default"),
            has_default="default" in raw,
            examples=examples,
            read_only=raw.get("readOnly") is True,
            write_only=raw.get("writeOnly") is True,
            deprecated=raw.get("deprecated") is True,
        )

    def _discriminator(self, raw: Any, pointer: str) -> Discriminator | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("propertyName"), str):
            return None
        mapping: list[tuple[str, str]] = []
        m = raw.get("mapping")
        if isinstance(m, dict):
            for value, target in m.items():
                if not isinstance(target, str):
                    continue
                if target.startswith("#"):
                    mapping.append((str(value), self._request_model(unquote(target[1:]))))
                else:
                    # a bare schema name is shorthand for a component schema
                    comp = join_pointer(_COMPONENT_PREFIX[:-1], target)
                    try:
                        resolve_pointer(self.doc, comp)
                    except (KeyError, TypeError, ValueError):
                        self.diags.warning("GW404", self.spec.origin(join_pointer(pointer, "discriminator", "mapping", value)), f"discriminator mapping target {target!r} does not resolve")
                        continue
                    mapping.append((str(value), self._request_model(comp)))
        return Discriminator(property_name=raw["propertyName"], mapping=tuple(mapping))


def iter_schema_refs(schema: Schema, visit: Callable[[Schema], None]) -> None:
    """Call ``visit`` on ``schema`` and every schema nested in it (not through refs)."""
    visit(schema)
    for p in schema.properties:
        iter_schema_refs(p.schema, visit)
    for s in (schema.items, schema.not_, schema.additional_properties if isinstance(schema.additional_properties, Schema) else None):
        if s is not None:
            iter_schema_refs(s, visit)
    for group in (schema.all_of, schema.one_of, schema.any_of, schema.prefix_items):
        for s in group:
            iter_schema_refs(s, visit)
    for _, s in schema.pattern_properties:
        iter_schema_refs(s, visit)
