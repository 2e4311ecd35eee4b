"""SDK view of schemas: IR ``Schema`` -> Python types, decoders and generated model classes.

Layer: emit (SDK view). Reads ``ir.nodes``; produces view objects the SDK templates
print. Nothing here does I/O.

Each schema becomes a small :class:`PyType` tree. Inline object schemas, enums and
unions that need code are *hoisted* into :class:`ModelView` objects (one generated
module each) named from their location; names are allocated only once every model
is known, so they do not depend on the order the document lists things in.
Annotations are computed on demand from the tree, after names are final.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..diagnostics import Origin
from ..ir.nodes import Api, JSONValue, Model, Property, Schema
from .render import black_repr as pyrepr
from .sdk_naming import MODEL_RESERVED, allocate, enum_member_names, pascal, safe_identifier, snake

__all__ = [
    "AnyType",
    "DictType",
    "EnumMember",
    "FieldView",
    "FormatType",
    "ListType",
    "ModelType",
    "ModelView",
    "NullableType",
    "PrimitiveType",
    "PyType",
    "SchemaViews",
    "UnionType",
    "VariantView",
    "typed_decode",
]

PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
FORMATS = {
    "date-time": ("_dt.datetime", "_b.parse_datetime"),
    "date": ("_dt.date", "_b.parse_date"),
    "uuid": ("_uuid.UUID", "_b.parse_uuid"),
    "byte": ("bytes", "_b.parse_base64"),
}
BINARY = "_b.FileContent"  # format: binary, in multipart and octet-stream bodies


def _var(depth: int) -> str:
    return f"_v{depth}"


class PyType:
    """A Python type for one schema: annotation (response side), input annotation, decoder."""

    @property
    def json_kind(self) -> str:
        """The JSON type this matches, for union dispatch."""
        return "any"

    def ann(self) -> str:
        raise NotImplementedError

    def in_ann(self) -> str:
        return self.ann()

    def decode(self, var: str, depth: int) -> str:
        """An expression turning the JSON value named ``var`` into this type."""
        return var

    @property
    def passthrough(self) -> bool:
        return True

    def modules(self) -> Iterator[ModelView]:
        """Generated model modules the annotation or decoder refers to."""
        return iter(())


@dataclass(eq=False)
class AnyType(PyType):
    def ann(self) -> str:
        return "_t.Any"


@dataclass(eq=False)
class PrimitiveType(PyType):
    py: str  # str, int, float, bool, None
    json_type: str = "any"

    @property
    def json_kind(self) -> str:
        return self.json_type

    def ann(self) -> str:
        return self.py


@dataclass(eq=False)
class FormatType(PyType):
    py: str
    parser: str

    @property
    def json_kind(self) -> str:
        return "string"

    def ann(self) -> str:
        return self.py

    def decode(self, var: str, depth: int) -> str:
        return f"{self.parser}({var})"

    @property
    def passthrough(self) -> bool:
        return False


@dataclass(eq=False)
class NullableType(PyType):
    inner: PyType

    @property
    def json_kind(self) -> str:
        return self.inner.json_kind

    def ann(self) -> str:
        return f"{self.inner.ann()} | None"

    def in_ann(self) -> str:
        return f"{self.inner.in_ann()} | None"

    def decode(self, var: str, depth: int) -> str:
        if self.inner.passthrough:
            return var
        return f"(None if {var} is None else {self.inner.decode(var, depth)})"

    @property
    def passthrough(self) -> bool:
        return self.inner.passthrough

    def modules(self) -> Iterator[ModelView]:
        return self.inner.modules()


@dataclass(eq=False)
class ListType(PyType):
    item: PyType

    @property
    def json_kind(self) -> str:
        return "array"

    def ann(self) -> str:
        return f"list[{self.item.ann()}]"

    def in_ann(self) -> str:
        return f"_abc.Sequence[{self.item.in_ann()}]"

    def decode(self, var: str, depth: int) -> str:
        if self.item.passthrough:
            return f"_b.as_list({var})"
        item = _var(depth + 1)
        return f"[{self.item.decode(item, depth + 1)} for {item} in _b.as_list({var})]"

    @property
    def passthrough(self) -> bool:
        return False  # arrays are checked, so a wrong JSON type fails early

    def modules(self) -> Iterator[ModelView]:
        return self.item.modules()


@dataclass(eq=False)
class DictType(PyType):
    value: PyType

    @property
    def json_kind(self) -> str:
        return "object"

    def ann(self) -> str:
        return f"dict[str, {self.value.ann()}]"

    def in_ann(self) -> str:
        return f"_abc.Mapping[str, {self.value.in_ann()}]"

    def decode(self, var: str, depth: int) -> str:
        if self.value.passthrough:
            return f"_b.as_dict({var})"
        key, item = f"_k{depth + 1}", _var(depth + 1)
        inner = self.value.decode(item, depth + 1)
        return f"{{{key}: {inner} for {key}, {item} in _b.as_dict({var}).items()}}"

    @property
    def passthrough(self) -> bool:
        return False

    def modules(self) -> Iterator[ModelView]:
        return self.value.modules()


@dataclass(eq=False)
class UnionType(PyType):
    """A union of JSON-primitive members that need no dispatch code."""

    members: list[PyType]

    def ann(self) -> str:
        return " | ".join(_dedupe(m.ann() for m in self.members))

    def in_ann(self) -> str:
        return " | ".join(_dedupe(m.in_ann() for m in self.members))

    def modules(self) -> Iterator[ModelView]:
        for m in self.members:
            yield from m.modules()


@dataclass(eq=False)
class ModelType(PyType):
    """A reference to a generated model: object class, enum or union alias."""

    model: ModelView

    @property
    def json_kind(self) -> str:
        return {"object": "object", "enum": self.model.enum_kind, "union": "any"}[self.model.kind]

    def ann(self) -> str:
        m = self.model
        if m.kind == "enum":
            return f"{m.qualified} | {PRIMITIVES[m.enum_kind]}"  # open: unknown values kept
        return m.qualified

    def in_ann(self) -> str:
        m = self.model
        if m.kind == "object":
            return f"{m.qualified} | {m.alias}.{m.dict_name}"
        if m.kind == "enum":
            literals = ", ".join(pyrepr(v.value) for v in m.members)
            return f"{m.qualified} | _t.Literal[{literals}]"  # strict for requests
        return f"{m.alias}.{m.input_name}"

    def decode(self, var: str, depth: int) -> str:
        m = self.model
        if m.kind == "object":
            return f"{m.qualified}.from_json({var})"
        if m.kind == "enum":
            return f"_b.open_enum({m.qualified}, {var})"
        return f"{m.alias}.decode({var})"

    @property
    def passthrough(self) -> bool:
        return False

    def modules(self) -> Iterator[ModelView]:
        yield self.model


def _dedupe(items: Iterator[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


@dataclass(eq=False)
class FieldView:
    json_name: str
    py_name: str
    type: PyType
    required: bool
    read_only: bool
    write_only: bool
    description: str | None

    @property
    def decoder(self) -> str:
        """A lambda decoding the JSON value, or ``None`` when it is kept as it is."""
        if self.type.passthrough:
            return "None"
        return f"lambda _v0: {self.type.decode('_v0', 0)}"



@dataclass(eq=False)
class EnumMember:
    name: str
    value: str | int


@dataclass(eq=False)
class VariantView:
    type: PyType
    kind: str  # JSON type
    required: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[JSONValue, ...]], ...] = ()
    optional: tuple[str, ...] = ()  # other declared properties: a weaker hint


@dataclass(eq=False)
class ModelView:
    """One generated model module: an object class, an enum, or a union alias."""

    key: str  # sort key: the origin, stable across runs
    wanted: str  # the class name asked for
    kind: str  # "object" | "enum" | "union"
    origin: Origin
    description: str | None = None
    fixed_name: bool = False  # component models keep the IR's py_name
    name: str = ""
    module: str = ""
    fields: list[FieldView] = field(default_factory=list)
    members: list[EnumMember] = field(default_factory=list)
    enum_kind: str = "string"
    variants: list[VariantView] = field(default_factory=list)
    discriminator: str | None = None
    mapping: list[tuple[str, int]] = field(default_factory=list)
    examples: tuple[JSONValue, ...] = ()  # the schema's own examples, for round-trip checks

    @property
    def alias(self) -> str:
        return f"_m_{self.module}"

    @property
    def qualified(self) -> str:
        return f"{self.alias}.{self.name}"

    @property
    def dict_name(self) -> str:
        return f"{self.name}Dict"

    @property
    def input_name(self) -> str:
        return f"{self.name}Input"

    @property
    def exported(self) -> list[str]:
        if self.kind == "object":
            return [self.name, self.dict_name]
        if self.kind == "union":
            return [self.name, self.input_name]
        return [self.name]

    def imports(self) -> list[ModelView]:
        """Other model modules this module needs, sorted by module name."""
        found: dict[str, ModelView] = {}
        types: list[PyType] = [f.type for f in self.fields] + [v.type for v in self.variants]
        for t in types:
            for m in t.modules():
                if m is not self:
                    found[m.module] = m
        return [found[k] for k in sorted(found)]

    @property
    def union_ann(self) -> str:
        return " | ".join(
            _dedupe(iter([*(v.type.ann() for v in self.variants), "_b.UnknownVariant"]))
        )

    @property
    def union_in_ann(self) -> str:
        anns = _dedupe(v.type.in_ann() for v in self.variants)
        return " | ".join(anns) if anns else "_t.Any"

    @property
    def decoders(self) -> list[str]:
        return [typed_decode(v.type, "data") for v in self.variants]

    @property
    def mapping_dict(self) -> dict[str, int]:
        return dict(self.mapping)

    @property
    def request_fields(self) -> list[FieldView]:
        return [f for f in self.fields if not f.read_only]

    @property
    def read_only_names(self) -> list[str]:
        return [f.json_name for f in self.fields if f.read_only]


class SchemaViews:
    """Turns schemas into :class:`PyType` trees and collects the models to generate."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._models_by_id = {m.id: m for m in api.models}
        self._views_by_key: dict[str, ModelView] = {}
        self._component_types: dict[str, PyType] = {}
        self._resolving: set[str] = set()
        self.warnings: list[tuple[Origin, str]] = []
        self._finalised = False

    # ------------------------------------------------------------------ public

    def component(self, model: Model) -> PyType:
        """The type of a component model (hoisting it when it needs a module)."""
        cached = self._component_types.get(model.id)
        if cached is not None:
            return cached
        if model.id in self._resolving:
            # a pure alias cycle (A = B, B = A) has no value type
            self.warn(model.origin, f"schema {model.key!r} refers to itself without an object")
            return AnyType()
        self._resolving.add(model.id)
        try:
            result = self._component_type(model)
        finally:
            self._resolving.discard(model.id)
        self._component_types[model.id] = result
        return result

    def type_of(self, schema: Schema | None, wanted: str) -> PyType:
        """The type of an inline schema; ``wanted`` is the class name if one is hoisted."""
        if schema is None:
            return AnyType()
        return self._type(schema, wanted)

    def warn(self, origin: Origin, message: str) -> None:
        self.warnings.append((origin, message))

    def finalise(self) -> list[ModelView]:
        """Allocate class and module names; returns every model, sorted by module."""
        views = list(self._views_by_key.values())
        fixed = {v.key: v.wanted for v in views if v.fixed_name}
        names = allocate(
            [(v.key, v.wanted) for v in views if not v.fixed_name],
            taken=list(fixed.values()),
            case_sensitive=True,
        )
        names.update(fixed)
        for v in views:
            v.name = names[v.key]
        modules = allocate([(v.key, snake(v.name)) for v in views])
        for v in views:
            v.module = modules[v.key]
        self._finalised = True
        return sorted(views, key=lambda v: v.module)

    # ------------------------------------------------------------------ schemas

    def _component_type(self, model: Model) -> PyType:
        schema = model.schema
        kind = self._hoist_kind(schema)
        if kind is None:
            return self._type(schema, model.py_name, hoist=False)
        key = str(model.origin)
        existing = self._views_by_key.get(key)
        if existing is not None:
            # two model ids (bundled and file pointers) for one schema: one class
            shared: PyType = ModelType(existing)
            self._component_types[model.id] = shared
            return NullableType(shared) if self._is_nullable(schema) and kind != "union" else shared
        view = self._view(key, model.py_name, kind, model.origin, schema.description)
        view.fixed_name = True
        result: PyType = ModelType(view)
        # register before filling so recursive references find the class
        self._component_types[model.id] = result
        self._fill(view, schema)
        return NullableType(result) if self._is_nullable(schema) and kind != "union" else result

    def _wrapped(self, schema: Schema) -> Schema | None:
        """The one real schema inside ``allOf: [X]`` or ``oneOf: [X, null]`` wrappers."""
        if schema.properties or schema.ref is not None or schema.enum is not None:
            return None
        if schema.all_of and not schema.one_of and not schema.any_of:
            parts = [p for p in schema.all_of if not _is_annotation_only(p)]
            return parts[0] if len(parts) == 1 and not self._object_all_of(schema) else None
        if (schema.one_of or schema.any_of) and not schema.all_of and schema.discriminator is None:
            alternatives = [a for a in (schema.one_of or schema.any_of) if a.types != ("null",)]
            return alternatives[0] if len(alternatives) == 1 else None
        return None

    def _is_nullable(self, schema: Schema) -> bool:
        if schema.nullable:
            return True
        alternatives = schema.one_of or schema.any_of
        return any(a.types == ("null",) for a in alternatives)

    def _hoist_kind(self, schema: Schema) -> str | None:
        if self._wrapped(schema) is not None:
            return None
        if schema.ref is not None and not schema.properties and not schema.all_of:
            return None
        if self._enum_values(schema) is not None:
            return "enum"
        if schema.properties or self._object_all_of(schema):
            return "object"
        if schema.one_of or schema.any_of:
            return "union"
        return None

    def _object_all_of(self, schema: Schema) -> bool:
        """allOf with more than a single ``$ref`` builds a merged object."""
        if not schema.all_of:
            return False
        parts = [p for p in schema.all_of if not _is_annotation_only(p)]
        if len(parts) == 1 and parts[0].ref is not None and not parts[0].properties:
            return bool(schema.properties)
        if len(parts) == 1 and not schema.properties and not parts[0].properties and not parts[0].all_of:
            # one inline schema plus annotations (an external $ref the loader inlined,
            # say): an array or a string stays what it is, not an empty object
            kinds: tuple[str, ...] = parts[0].types or tuple(_infer_types(parts[0]))
            return "object" in kinds
        return True

    def _enum_values(self, schema: Schema) -> list[str | int] | None:
        if not schema.enum:
            return None
        values = [v for v in schema.enum if v is not None]
        if values and all(isinstance(v, str) for v in values):
            return [v for v in values if isinstance(v, str)]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return [v for v in values if isinstance(v, int)]
        return None

    def _view(
        self, key: str, wanted: str, kind: str, origin: Origin, description: str | None
    ) -> ModelView:
        view = self._views_by_key.get(key)
        if view is None:
            view = ModelView(
                key=key, wanted=wanted, kind=kind, origin=origin, description=description
            )
            self._views_by_key[key] = view
        return view

    def _type(self, schema: Schema, wanted: str, *, hoist: bool = True) -> PyType:
        inner = self._non_null_type(schema, wanted, hoist=hoist)
        if self._is_nullable(schema) and not isinstance(inner, NullableType | AnyType):
            if isinstance(inner, PrimitiveType) and inner.py == "None":
                return inner
            return NullableType(inner)
        return inner

    def _non_null_type(self, schema: Schema, wanted: str, *, hoist: bool) -> PyType:
        if schema.never:
            self.warn(schema.origin, "a 'false' schema accepts nothing; typed as Any")
            return AnyType()
        self._warn_unrepresented(schema)
        if schema.ref is not None and self._hoist_kind(schema) is None:
            target = self._models_by_id.get(schema.ref)
            if target is None:
                return AnyType()
            return _strip_nullable(self.component(target))
        wrapped = self._wrapped(schema)
        if wrapped is not None:
            return _strip_nullable(self.type_of(wrapped, wanted))
        kind = self._hoist_kind(schema)
        if kind is not None and hoist:
            key = str(schema.origin)
            existing = self._views_by_key.get(key)
            if existing is not None:
                return ModelType(existing)
            view = self._view(key, wanted, kind, schema.origin, schema.description)
            self._fill(view, schema)
            return ModelType(view)
        if kind == "enum":
            # component enums are hoisted by _component_type; here only as a fallback
            return PrimitiveType(py="str", json_type="string")
        if schema.enum is not None and self._enum_values(schema) is None:
            non_null = [v for v in schema.enum if v is not None]
            if all(isinstance(v, bool) for v in non_null) and non_null:
                return PrimitiveType(py="bool", json_type="boolean")
            if not non_null:
                return PrimitiveType(py="None", json_type="null")
            self.warn(schema.origin, "enum mixes JSON types; typed without the enum")
        if schema.has_const and schema.types is None:
            return _type_of_value(schema.const)
        types: list[str] = [t for t in (schema.types or ()) if t != "null"]
        if schema.types is not None and not types:
            return PrimitiveType(py="None", json_type="null")
        if not types:
            types = _infer_types(schema)
        if len(types) > 1:
            return self._multi_type(schema, wanted)
        if not types:
            return AnyType()
        return self._single_type(schema, types[0], wanted)

    def _single_type(self, schema: Schema, json_type: str, wanted: str) -> PyType:
        if json_type == "array":
            items = schema.items
            item_type = self.type_of(items, wanted + "Item") if items else AnyType()
            return ListType(item_type)
        if json_type == "object":
            extra = schema.additional_properties
            if isinstance(extra, Schema):
                return DictType(self.type_of(extra, wanted + "Value"))
            return DictType(AnyType())
        if json_type == "string" and schema.format == "binary":
            return PrimitiveType(py=BINARY, json_type="string")
        if json_type == "string" and schema.format in FORMATS:
            py, parser = FORMATS[schema.format]
            return FormatType(py=py, parser=parser)
        if json_type == "integer":
            return PrimitiveType(py="int", json_type="integer")
        return PrimitiveType(py=PRIMITIVES[json_type], json_type=json_type)

    def _multi_type(self, schema: Schema, wanted: str) -> PyType:
        types = [t for t in (schema.types or ()) if t != "null"]
        members = [
            self._single_type(dataclasses.replace(schema, types=(t,)), t, f"{wanted}{pascal(t)}")
            for t in types
        ]
        if "integer" in types and "number" in types:
            members = [m for m in members if m.json_kind != "integer"]
        return UnionType(members)

    def _warn_unrepresented(self, schema: Schema) -> None:
        if schema.not_ is not None:
            self.warn(schema.origin, "'not' is not expressed in the SDK's types")
        if schema.pattern_properties:
            self.warn(schema.origin, "patternProperties are kept as untyped extra fields")
        if schema.prefix_items:
            self.warn(schema.origin, "prefixItems (tuples) are typed as a list")

    # ------------------------------------------------------------------ hoisted models

    def _fill(self, view: ModelView, schema: Schema) -> None:
        view.examples = schema.examples
        if view.kind == "enum":
            self._fill_enum(view, schema)
        elif view.kind == "object":
            self._fill_object(view, schema)
        else:
            self._fill_union(view, schema)

    def _fill_enum(self, view: ModelView, schema: Schema) -> None:
        values = self._enum_values(schema) or []
        view.enum_kind = "string" if values and isinstance(values[0], str) else "integer"
        unique: list[str | int] = []
        for v in values:
            if v not in unique:
                unique.append(v)
        names = enum_member_names(unique)
        view.members = [EnumMember(name=n, value=v) for n, v in zip(names, unique, strict=True)]

    def _fill_object(self, view: ModelView, schema: Schema) -> None:
        props: dict[str, tuple[Property, bool, str]] = {}
        for prop, required, owner in self._merged_properties(schema, set(), view.wanted):
            if prop.name in props:
                first, was_required, first_owner = props[prop.name]
                props[prop.name] = (first, was_required or required, first_owner)
            else:
                props[prop.name] = (prop, required, owner)
        candidates = []
        for json_name, (prop, _, _) in props.items():
            base = prop.py_name if not prop.py_name.startswith("_") else "f" + prop.py_name
            candidates.append((json_name, safe_identifier(base, reserved=MODEL_RESERVED)))
        py_names = allocate(candidates, taken=MODEL_RESERVED, case_sensitive=True)
        for json_name, (prop, required, owner) in props.items():
            # inline property schemas are named after the model that declares them
            ptype = self.type_of(prop.schema, owner + pascal(json_name))
            view.fields.append(
                FieldView(
                    json_name=json_name,
                    py_name=py_names[json_name],
                    type=ptype,
                    required=required,
                    read_only=prop.schema.read_only,
                    write_only=prop.schema.write_only,
                    description=prop.schema.description,
                )
            )
        if schema.one_of or schema.any_of:
            self.warn(schema.origin, "oneOf/anyOf beside properties: only the properties are typed")

    def _merged_properties(
        self, schema: Schema, seen: set[str], owner: str
    ) -> Iterator[tuple[Property, bool, str]]:
        """Own properties, then allOf parts' (refs followed), with required-ness and owner."""
        if schema.ref is not None and schema.ref not in seen:
            target = self._models_by_id.get(schema.ref)
            if target is not None:
                yield from self._merged_properties(
                    target.schema, seen | {schema.ref}, target.py_name
                )
        required = set(schema.required_names)
        for prop in schema.properties:
            yield prop, prop.required or prop.name in required, owner
        for part in schema.all_of:
            yield from self._merged_properties(part, seen, owner)

    def _fill_union(self, view: ModelView, schema: Schema) -> None:
        alternatives = list(schema.one_of or schema.any_of)
        variants: list[VariantView] = []
        for i, alt in enumerate(alternatives):
            if alt.types == ("null",):
                continue
            vtype = self.type_of(alt, f"{view.wanted}Variant{i + 1}")
            resolved = self._resolve_schema(alt)
            required, tags, optional = self._signature(resolved)
            variants.append(
                VariantView(
                    type=vtype,
                    kind=vtype.json_kind,
                    required=required,
                    tags=tags,
                    optional=optional,
                )
            )
        view.variants = variants
        disc = schema.discriminator
        if disc is not None:
            view.discriminator = disc.property_name
            by_model = {
                alt.ref: i
                for i, alt in enumerate(a for a in alternatives if a.types != ("null",))
                if alt.ref is not None
            }
            for value, model_id in disc.mapping:
                if model_id in by_model:
                    view.mapping.append((value, by_model[model_id]))
        else:
            self._check_distinguishable(view)

    def _resolve_schema(self, schema: Schema) -> Schema:
        seen: set[str] = set()
        while schema.ref is not None and not schema.properties and schema.ref not in seen:
            seen.add(schema.ref)
            target = self._models_by_id.get(schema.ref)
            if target is None:
                break
            schema = target.schema
        return schema

    def _signature(
        self, schema: Schema
    ) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[JSONValue, ...]], ...], tuple[str, ...]]:
        required: list[str] = []
        optional: list[str] = []
        tags: list[tuple[str, tuple[JSONValue, ...]]] = []
        for prop, is_required, _ in self._merged_properties(schema, set(), ""):
            if is_required and prop.name not in required:
                required.append(prop.name)
            elif not is_required and prop.name not in optional:
                optional.append(prop.name)
            ps = self._resolve_schema(prop.schema)
            if ps.has_const:
                tags.append((prop.name, (ps.const,)))
            elif ps.enum and len(ps.enum) <= 4 and is_required:
                tags.append((prop.name, tuple(ps.enum)))
        optional = [name for name in optional if name not in required]
        return (
            tuple(sorted(required)),
            tuple(sorted(tags, key=lambda t: t[0])),
            tuple(sorted(optional)),
        )

    def _check_distinguishable(self, view: ModelView) -> None:
        seen: dict[tuple[str, str], int] = {}
        for i, v in enumerate(view.variants):
            sig = (v.kind, repr((v.required, v.tags, v.optional)))
            if sig in seen:
                self.warn(
                    view.origin,
                    f"oneOf/anyOf alternatives {seen[sig] + 1} and {i + 1} cannot be told "
                    "apart by their properties or constants; the first that decodes wins",
                )
            else:
                seen[sig] = i


def typed_decode(t: PyType, var: str) -> str:
    """A decode expression whose static type is the annotation, not ``Any``."""
    if t.passthrough:
        return f"_t.cast({pyrepr(t.ann())}, {var})"
    return t.decode(var, 0)


def _strip_nullable(t: PyType) -> PyType:
    return t.inner if isinstance(t, NullableType) else t


def _is_annotation_only(schema: Schema) -> bool:
    return (
        schema.ref is None
        and schema.types is None
        and not schema.properties
        and not schema.all_of
        and not schema.one_of
        and not schema.any_of
        and schema.enum is None
    )


def _infer_types(schema: Schema) -> list[str]:
    if schema.properties or schema.additional_properties not in (None, True):
        return ["object"]
    if schema.items is not None:
        return ["array"]
    return []


def _type_of_value(value: JSONValue) -> PyType:
    if isinstance(value, bool):
        return PrimitiveType(py="bool", json_type="boolean")
    if isinstance(value, int):
        return PrimitiveType(py="int", json_type="integer")
    if isinstance(value, float):
        return PrimitiveType(py="float", json_type="number")
    if isinstance(value, str):
        return PrimitiveType(py="str", json_type="string")
    if value is None:
        return PrimitiveType(py="None", json_type="null")
    return AnyType()
