"""Request validators compiled to Python at build time.

Layer: emit. Produces the source of the generated gateway's ``validation`` module
and tells the gateway emitter which function checks what.

Every schema becomes straight-line checks: a type test, then the keyword checks
that can apply to the types that passed, each raising ``gwv.Invalid`` with a
pointer that is only assembled on failure. Named models become one private
function each (recursion goes through ``Schema.ref``); anyOf/oneOf/not branches
become private functions so that they can be tried without raising out.

Generated lines are built from :class:`Code` (text this module writes) and
:class:`Lit` (values from the spec). Every ``Lit`` is rendered through ``pyrepr``
(with black's preferred quotes), so no spec string is ever pasted into code.
Lines are laid out the way black prints them (quotes, wrapping of long calls and
signatures), so that formatting the module, the slowest stage on big specs, has
nothing to change and takes black's single pass.

How the gateway calls the generated functions (names come from the plan):

- ``params(path, query, headers, cookies)``: decoded path parameters, the
  request's query multidict, its case-insensitive headers and its cookies.
- ``body(content_type, raw)``: the ``Content-Type`` header as sent and the whole
  body, after the gateway's own 413/415 checks. Media types the operation does not
  validate (or other than the request's) pass; with no body function at all the
  body streams.
- Both raise ``ValidationFailure`` (400 ``BAD_REQUEST_PARAMETERS`` or
  ``BAD_REQUEST_BODY``) whose message and ``detail["pointer"]`` are safe to return.
- Operations with identical checks share one function.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..diagnostics import Diagnostic, Diagnostics, Origin, Severity
from ..ir.nodes import Api, Discriminator, JSONValue, MediaType, Model, Operation, Parameter, Schema
from .layout import layout_line
from .render import black_repr, render

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "Code",
    "FunctionView",
    "Line",
    "Lit",
    "OperationChecks",
    "ValidationPlan",
    "plan_validation",
]

DEFAULT_MAX_DEPTH = 64

_JSON_MEDIA = re.compile(r"application/(?:[A-Za-z0-9!#$&^_.\-]+\+)?json")
_FORM_MEDIA = "application/x-www-form-urlencoded"
# OpenAPI: header parameters with these names are ignored
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_STRING_FORMATS = {
    "date-time": ("is_date_time", "expected a date-time string (RFC 3339)"),
    "date": ("is_date", "expected a date string (YYYY-MM-DD)"),
    "time": ("is_time", "expected a time string (RFC 3339)"),
    "uuid": ("is_uuid", "expected a UUID string"),
    "email": ("is_email", "expected an email address"),
    "ipv4": ("is_ipv4", "expected an IPv4 address"),
    "ipv6": ("is_ipv6", "expected an IPv6 address"),
    "uri": ("is_uri", "expected an absolute URI"),
    "byte": ("is_byte", "expected base64-encoded data"),
}
_INTEGER_FORMATS = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
# the argument a parameter helper takes, by location
_PARAMETER_SOURCES: dict[str, str] = {
    "path": "path: Mapping[str, str]",
    "query": "query: gwv.Query",
    "header": "headers: Mapping[str, str]",
    "cookie": "cookies: Mapping[str, str]",
}

# the JSON types each parameter converter returns
_CONVERTED_TYPES: dict[str, frozenset[str]] = {
    "gwv.as_string": frozenset({"string"}),
    "gwv.as_integer": frozenset({"integer"}),
    "gwv.as_number": frozenset({"integer", "number"}),
    "gwv.as_boolean": frozenset({"boolean"}),
}

# nested for/try blocks before a subschema moves into its own function (CPython allows 20)
_MAX_INLINE_BLOCKS = 6
_MAX_INLINE_INDENT = 14


# --------------------------------------------------------------------------- contract


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationChecks:
    """Names of generated functions in the ``validation`` module for one operation.

    ``params_function(path, query, headers, cookies) -> None`` and
    ``body_function(content_type, raw) -> None`` raise ``gw.ValidationFailure``.
    ``body_function`` is None when the body is not validated (then the body streams).
    """

    params_function: str | None = None
    body_function: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationPlan:
    module_source: str  # unformatted Python source of ``<package>/validation.py``
    checks: dict[str, OperationChecks] = field(default_factory=dict)  # by Operation.id
    diagnostics: tuple[Diagnostic, ...] = ()  # warnings (GW401, GW402, GW405)

    def for_operation(self, operation_id: str) -> OperationChecks:
        return self.checks.get(operation_id, OperationChecks())


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True, slots=True)
class Code:
    """Python text written by this module (identifiers, operators, keywords)."""

    text: str
    literal: Literal[False] = False


@dataclass(frozen=True, slots=True)
class Lit:
    """A value from the spec; rendered only through ``pyrepr``."""

    value: JSONValue | tuple[JSONValue, ...]
    literal: Literal[True] = True


Part = Code | Lit


@dataclass(frozen=True, slots=True)
class Line:
    indent: int
    parts: tuple[Part, ...]

    @property
    def indent_text(self) -> str:
        return "    " * self.indent

    @property
    def text(self) -> str:
        """The line's code, without indentation; spec values as literals."""
        return "".join(
            black_repr(part.value) if isinstance(part, Lit) else part.text
            for part in self.parts
        )

    @property
    def physical_lines(self) -> list[str]:
        return layout_line(self.indent, self.text)

    @property
    def opens_block(self) -> bool:
        last = self.parts[-1] if self.parts else None
        return isinstance(last, Code) and last.text.endswith(":")


@dataclass(frozen=True, slots=True)
class FunctionView:
    name: str
    signature: str
    doc: str | None
    body: tuple[Line, ...]

    @property
    def header_lines(self) -> list[str]:
        """``def name(signature) -> None:``, laid out."""
        return layout_line(0, f"def {self.name}({self.signature}) -> None:")

    @property
    def body_lines(self) -> list[str]:
        return [text for line in self.body for text in line.physical_lines]


# A pointer under construction: static JSON-pointer text, or code that evaluates to
# one escaped token with its leading slash (a loop index or an object key).
PointerPart = tuple[Literal["static", "dynamic"], str]
Pointer = tuple[PointerPart, ...]


def _static(pointer: Pointer, *tokens: str | int) -> Pointer:
    text = "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)
    return (*pointer, ("static", text))


def _dynamic(pointer: Pointer, code: str) -> Pointer:
    return (*pointer, ("dynamic", code))


def _pointer_parts(pointer: Pointer) -> list[Part]:
    merged: list[PointerPart] = []
    for kind, text in pointer:
        if merged and kind == "static" and merged[-1][0] == "static":
            merged[-1] = ("static", merged[-1][1] + text)
        elif text:
            merged.append((kind, text))
    if not merged:
        return [Lit("")]
    parts: list[Part] = []
    for i, (kind, text) in enumerate(merged):
        if i:
            parts.append(Code(" + "))
        parts.append(Lit(text) if kind == "static" else Code(text))
    return parts


def _entries(pairs: Iterable[tuple[str, str]]) -> list[Part]:
    """Dict display items ``<literal key>: <code>, ...``."""
    parts: list[Part] = []
    for key, code in pairs:
        parts.extend((Lit(key), Code(f": {code}, ")))
    return parts


def _array_entries(rows: Iterable[tuple[str, str, str | None]]) -> list[Part]:
    parts: list[Part] = []
    for key, code, separator in rows:
        parts.extend((Lit(key), Code(f": ({code}, "), Lit(separator), Code("), ")))
    return parts


def _is_empty_pointer(pointer: Pointer) -> bool:
    return all(kind == "static" and not text for kind, text in pointer)


class _Body:
    """Lines of one function, with fresh local names."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self._names = itertools.count(1)

    def add(self, indent: int, *parts: str | Part) -> None:
        self.lines.append(Line(indent, tuple(Code(p) if isinstance(p, str) else p for p in parts)))

    def drop_if_unused(self, mark: int, header: int) -> None:
        """Remove the ``header`` lines written at ``mark`` if nothing was nested in them."""
        if len(self.lines) == mark + header:
            del self.lines[mark:]

    def fresh(self, stem: str) -> str:
        return f"{stem}{next(self._names)}"

    def fail(self, indent: int, pointer: Pointer, reason: str | Part) -> None:
        """``raise gwv.Invalid(<pointer>, <reason>)``; a plain str reason is a literal."""
        why = Lit(reason) if isinstance(reason, str) else reason
        self.add(indent, "raise gwv.Invalid(", *_pointer_parts(pointer), ", ", why, ")")


# --------------------------------------------------------------------------- schema facts


def _known_format(schema: Schema) -> bool:
    return schema.format in _STRING_FORMATS or schema.format in _INTEGER_FORMATS


def _is_trivial(schema: Schema) -> bool:
    """True when the schema accepts every value: nothing to generate."""
    return (
        schema.ref is None
        and schema.types is None
        and not schema.never
        and schema.enum is None
        and not schema.has_const
        and not _known_format(schema)
        and schema.min_length is None
        and schema.max_length is None
        and schema.pattern is None
        and schema.minimum is None
        and schema.maximum is None
        and schema.exclusive_minimum is None
        and schema.exclusive_maximum is None
        and schema.multiple_of is None
        and (schema.items is None or _is_trivial(schema.items))
        and all(_is_trivial(s) for s in schema.prefix_items)
        and schema.min_items is None
        and schema.max_items is None
        and not schema.unique_items
        and not any(p.required or not _is_trivial(p.schema) for p in schema.properties)
        and (schema.additional_properties is None or schema.additional_properties is True)
        and all(_is_trivial(s) for _, s in schema.pattern_properties)
        and schema.min_properties is None
        and schema.max_properties is None
        and all(_is_trivial(s) for s in schema.all_of)
        and not schema.one_of
        and not schema.any_of
        and schema.not_ is None
    )


def _is_pure_ref(schema: Schema) -> bool:
    return schema.ref is not None and _is_trivial(replace(schema, ref=None))


def _type_test(json_type: str, var: str, *, float_integers: bool) -> str:
    if json_type == "null":
        return f"{var} is None"
    if json_type == "boolean":
        return f"type({var}) is bool"
    if json_type == "integer":
        if float_integers:
            return f"(type({var}) is int or (type({var}) is float and {var}.is_integer()))"
        return f"type({var}) is int"
    if json_type == "number":
        return f"(type({var}) is int or type({var}) is float)"
    if json_type == "string":
        return f"type({var}) is str"
    if json_type == "array":
        return f"type({var}) is list"
    return f"type({var}) is dict"


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _at_least(number: int, noun: str) -> str:
    return f"expected at least {_count(int(number), noun)}"


def _at_most(number: int, noun: str) -> str:
    return f"expected at most {_count(int(number), noun)}"


def _describe_types(types: Sequence[str]) -> str:
    names = list(types)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


# --------------------------------------------------------------------------- the builder


class _ModuleBuilder:
    def __init__(self, api: Api, *, max_depth: int) -> None:
        self.api = api
        self.max_depth = max_depth
        self.float_integers = not api.openapi_version.startswith("3.0")
        self.constants: list[Line] = []
        self.tables: list[Line] = []
        self.functions: list[FunctionView] = []
        self.exported: list[str] = []
        self.diagnostics: list[Diagnostic] = []
        self.uses_re = False
        self.uses_callable = False
        self.uses_mapping = False
        self._models = {m.id: m for m in api.models}
        self._model_functions: dict[str, str] = {}
        self._pending_models: list[Model] = []
        self._constant_names: dict[tuple[str, object], str] = {}
        self._exported_bodies: dict[tuple[str, str], str] = {}
        self._parameter_helpers: dict[tuple[str, str], str] = {}
        self._users: dict[str, list[str]] = {}
        self._counter = itertools.count(1)

    # -- diagnostics

    def warn(self, code: str, origin: Origin, message: str) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.WARNING, message, origin))

    # -- constants

    def constant(
        self,
        kind: str,
        key: object,
        *parts: str | Part,
        annotation: str | None = None,
        after_functions: bool = False,
    ) -> str:
        """A module-level constant, shared by every check that needs the same value.

        ``after_functions`` places it at the end of the module, for tables that
        name generated functions.
        """
        cache_key = (kind, key)
        name = self._constant_names.get(cache_key)
        if name is None:
            name = f"_{kind.upper()}_{next(self._counter)}"
            self._constant_names[cache_key] = name
            target = f"{name}: {annotation} = " if annotation else f"{name} = "
            line = Line(0, (Code(target), *(Code(p) if isinstance(p, str) else p for p in parts)))
            (self.tables if after_functions else self.constants).append(line)
        return name

    def pattern(self, schema_origin: Origin, pattern: str, where: str) -> str | None:
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError):
            self.warn(
                "GW401",
                schema_origin.child(where),
                "regular expression cannot be compiled by Python's re; it is not enforced",
            )
            return None
        self.uses_re = True
        return self.constant("pattern", pattern, "re.compile(", Lit(pattern), ")")

    def key_set(self, names: Sequence[str]) -> str:
        return self.constant(
            "keys", tuple(names), "frozenset(", Lit(tuple(names)), ")", annotation="frozenset[str]"
        )

    # -- functions

    def model_function(self, model_id: str) -> str | None:
        """The function checking a model, or None when the model accepts everything."""
        model = self._models.get(model_id)
        if model is None or _is_trivial(model.schema):
            return None
        name = self._model_functions.get(model_id)
        if name is None:
            name = f"_check_model_{model.py_name}"
            self._model_functions[model_id] = name
            self._pending_models.append(model)
        return name

    def schema_function(self, schema: Schema) -> str | None:
        """A private function checking ``schema`` (for branches and deep nesting)."""
        if _is_pure_ref(schema) and schema.ref is not None:
            return self.model_function(schema.ref)
        if _is_trivial(schema):
            return None
        name = f"_check_schema_{next(self._counter)}"
        body = _Body()
        self.emit_schema(body, schema, "v", (), 1, 0)
        self.functions.append(FunctionView(name, "v: object", None, tuple(body.lines)))
        return name

    def finish_models(self) -> None:
        while self._pending_models:
            model = self._pending_models.pop(0)
            body = _Body()
            self.emit_schema(body, model.schema, "v", (), 1, 0)
            doc = f"Model {model.key}."
            self.functions.append(
                FunctionView(self._model_functions[model.id], "v: object", doc, tuple(body.lines))
            )

    def call_checked(
        self, body: _Body, function: str, var: str, pointer: Pointer, indent: int
    ) -> None:
        """Call a check function, prefixing the pointer of a failure on its way out."""
        if _is_empty_pointer(pointer):
            body.add(indent, f"{function}({var})")
            return
        body.add(indent, "try:")
        body.add(indent + 1, f"{function}({var})")
        body.add(indent, "except gwv.Invalid as exc:")
        body.add(indent + 1, "exc.prefix(", *_pointer_parts(pointer), ")")
        body.add(indent + 1, "raise")

    # -- schemas

    def emit_schema(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        blocks: int,
        *,
        known: frozenset[str] | None = None,
        items_known: frozenset[str] | None = None,
    ) -> None:
        """Append checks of ``var`` against ``schema`` to ``body``.

        ``known`` is the set of JSON types ``var`` is already known to have (a
        parameter after conversion), so its type test can be left out; then ``var``
        must also carry that static type. ``items_known`` does the same for the
        items of an array.
        """
        if schema.never:
            body.fail(indent, pointer, "no value is allowed here")
            return
        if (blocks >= _MAX_INLINE_BLOCKS or indent >= _MAX_INLINE_INDENT) and not _is_trivial(
            schema
        ):
            function = self.schema_function(schema)
            if function is not None:
                self.call_checked(body, function, var, pointer, indent)
            return
        if schema.ref is not None:
            function = self.model_function(schema.ref)
            if function is not None:
                self.call_checked(body, function, var, pointer, indent)

        types = self._emit_type(body, schema, var, pointer, indent, known)
        self._emit_enum_const(body, schema, var, pointer, indent)
        self._emit_string(body, schema, var, pointer, indent, types)
        self._emit_number(body, schema, var, pointer, indent, types)
        self._emit_array(body, schema, var, pointer, indent, blocks, types, items_known)
        self._emit_object(body, schema, var, pointer, indent, blocks, types)
        for sub in schema.all_of:
            self.emit_schema(
                body, sub, var, pointer, indent, blocks, known=known, items_known=items_known
            )
        self._emit_alternatives(body, schema, var, pointer, indent)

    def _emit_type(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        known: frozenset[str] | None,
    ) -> frozenset[str] | None:
        if schema.types is None:
            return known
        widened = set(schema.types) | ({"integer"} if "number" in schema.types else set())
        if known is not None and known <= widened:
            return known  # the conversion already produced an allowed type
        allowed = list(dict.fromkeys(schema.types))
        if "number" in allowed and "integer" in allowed:
            allowed.remove("integer")
        simple = {"boolean": "bool", "string": "str", "array": "list", "object": "dict"}
        if not self.float_integers:
            simple["integer"] = "int"
        if allowed == ["null"]:
            body.add(indent, f"if {var} is not None:")
        elif len(allowed) == 1 and allowed[0] in simple:
            body.add(indent, f"if type({var}) is not {simple[allowed[0]]}:")
        else:
            tests = [_type_test(t, var, float_integers=self.float_integers) for t in allowed]
            test = tests[0] if len(tests) == 1 and tests[0].startswith("(") else None
            body.add(indent, f"if not {test or '(' + ' or '.join(tests) + ')'}:")
        body.add(
            indent + 1,
            "raise gwv.Invalid(",
            *_pointer_parts(pointer),
            ", gwv.expected(",
            Lit(_describe_types(schema.types)),
            f", {var}))",
        )
        return frozenset(widened)

    def _emit_enum_const(
        self, body: _Body, schema: Schema, var: str, pointer: Pointer, indent: int
    ) -> None:
        if schema.enum is not None:
            values = tuple(schema.enum)
            if values and all(isinstance(v, str) for v in values):
                name = self.constant("enum", ("str", values), "frozenset(", Lit(values), ")")
                body.add(indent, f"if type({var}) is not str or {var} not in {name}:")
            else:
                name = self.constant(
                    "enum",
                    ("json", repr(values)),
                    "frozenset(map(gwv.json_key, ",
                    Lit(values),
                    "))",
                )
                body.add(indent, f"if gwv.json_key({var}) not in {name}:")
            body.fail(indent + 1, pointer, "expected one of the allowed values")
        if schema.has_const:
            name = self.constant(
                "const", repr(schema.const), "gwv.json_key(", Lit(schema.const), ")"
            )
            body.add(indent, f"if gwv.json_key({var}) != {name}:")
            body.fail(indent + 1, pointer, "expected the one allowed value")

    def _guard(
        self, body: _Body, var: str, indent: int, types: frozenset[str] | None, kind: str
    ) -> int | None:
        """Open ``if <var> is <kind>:`` unless the type check already proved it.

        Returns the indent for the keyword checks, or None when no value of this
        kind can reach them (so nothing is generated, and mypy sees no dead code).
        """
        if kind == "number":
            family = {"integer", "number"}
            if types is not None and not (types & family):
                return None
            if types is not None and types <= family:
                return indent
            body.add(indent, f"if type({var}) is int or type({var}) is float:")
            return indent + 1
        if types is not None and kind not in types:
            return None
        if types == frozenset({kind}):
            return indent
        test = _type_test(kind, var, float_integers=False)
        body.add(indent, f"if {test}:")
        return indent + 1

    def _emit_string(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        types: frozenset[str] | None,
    ) -> None:
        checks: list[tuple[str, str | None, str]] = []  # (condition, constant, reason)
        if schema.min_length is not None and schema.min_length > 0:
            checks.append(
                (
                    f"len({var}) < {int(schema.min_length)}",
                    None,
                    _at_least(schema.min_length, "character"),
                )
            )
        if schema.max_length is not None:
            checks.append(
                (
                    f"len({var}) > {int(schema.max_length)}",
                    None,
                    _at_most(schema.max_length, "character"),
                )
            )
        if schema.pattern is not None:
            name = self.pattern(schema.origin, schema.pattern, "pattern")
            if name is not None:
                checks.append(
                    (f"{name}.search({var}) is None", None, "does not match the required pattern")
                )
        if schema.format in _STRING_FORMATS:
            helper, reason = _STRING_FORMATS[schema.format]
            checks.append((f"not gwv.{helper}({var})", None, reason))
        if not checks:
            return
        inner = self._guard(body, var, indent, types, "string")
        if inner is None:
            return
        for condition, _, reason in checks:
            body.add(inner, f"if {condition}:")
            body.fail(inner + 1, pointer, reason)

    def _emit_number(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        types: frozenset[str] | None,
    ) -> None:
        checks: list[tuple[list[str | Part], str]] = []
        bounds = (
            (schema.minimum, "<", ">="),
            (schema.exclusive_minimum, "<=", ">"),
            (schema.maximum, ">", "<="),
            (schema.exclusive_maximum, ">=", "<"),
        )
        for bound, failing, wanted in bounds:
            if bound is not None and not isinstance(bound, bool):
                checks.append(
                    ([f"{var} {failing} ", Lit(bound)], f"expected a number {wanted} {bound}")
                )
        multiple = schema.multiple_of
        if multiple is not None and not isinstance(multiple, bool) and multiple > 0:
            checks.append(
                (
                    [f"not gwv.is_multiple_of({var}, ", Lit(multiple), ")"],
                    f"expected a multiple of {multiple}",
                )
            )
        if schema.format in _INTEGER_FORMATS:
            low, high = _INTEGER_FORMATS[schema.format]
            # the range applies to integers only; skip the test when nothing else gets here
            exact = types == frozenset({"integer"}) and not self.float_integers
            guard = "" if exact else f"type({var}) is int and "
            checks.append(
                (
                    [f"{guard}not ({low} <= {var} <= {high})"],
                    f"expected an {schema.format} integer",
                )
            )
        if not checks:
            return
        inner = self._guard(body, var, indent, types, "number")
        if inner is None:
            return
        for condition, reason in checks:
            body.add(inner, "if ", *condition, ":")
            body.fail(inner + 1, pointer, reason)

    def _emit_array(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        blocks: int,
        types: frozenset[str] | None,
        items_known: frozenset[str] | None,
    ) -> None:
        items = schema.items if schema.items is not None and not _is_trivial(schema.items) else None
        prefix = [s for s in schema.prefix_items]
        has_prefix = any(not _is_trivial(s) for s in prefix)
        if not (
            items is not None
            or has_prefix
            or schema.min_items is not None
            or schema.max_items is not None
            or schema.unique_items
        ):
            return
        inner = self._guard(body, var, indent, types, "array")
        if inner is None:
            return
        if schema.min_items is not None and schema.min_items > 0:
            body.add(inner, f"if len({var}) < {int(schema.min_items)}:")
            body.fail(inner + 1, pointer, _at_least(schema.min_items, "item"))
        if schema.max_items is not None:
            body.add(inner, f"if len({var}) > {int(schema.max_items)}:")
            body.fail(inner + 1, pointer, _at_most(schema.max_items, "item"))
        if schema.unique_items:
            body.add(inner, f"if gwv.has_duplicates({var}):")
            body.fail(inner + 1, pointer, "expected unique items")
        element = body.fresh("item")
        for position, sub in enumerate(prefix):
            if _is_trivial(sub):
                continue
            mark = len(body.lines)
            body.add(inner, f"if len({var}) > {position}:")
            body.add(inner + 1, f"{element} = {var}[{position}]")
            self.emit_schema(body, sub, element, _static(pointer, position), inner + 1, blocks)
            body.drop_if_unused(mark, 2)
        if items is not None:
            mark = len(body.lines)
            index = body.fresh("index")
            if prefix:
                body.add(
                    inner,
                    f"for {index}, {element} in enumerate({var}[{len(prefix)}:], {len(prefix)}):",
                )
            else:
                body.add(inner, f"for {index}, {element} in enumerate({var}):")
            self.emit_schema(
                body,
                items,
                element,
                _dynamic(pointer, f"gwv.escape({index})"),
                inner + 1,
                blocks + 1,
                known=items_known,
            )
            body.drop_if_unused(mark, 1)

    def _not_required_in_requests(self, schema: Schema) -> bool:
        """OpenAPI: a readOnly property is never required in a request."""
        if schema.read_only:
            return True
        if schema.ref is not None:
            model = self._models.get(schema.ref)
            return model is not None and model.schema.read_only
        return False

    def _emit_object(
        self,
        body: _Body,
        schema: Schema,
        var: str,
        pointer: Pointer,
        indent: int,
        blocks: int,
        types: frozenset[str] | None,
    ) -> None:
        extra = schema.additional_properties
        extra_schema = extra if isinstance(extra, Schema) and not _is_trivial(extra) else None
        patterns = [
            (name, sub)
            for name, sub in (
                (self.pattern(sub.origin, key, ""), sub) for key, sub in schema.pattern_properties
            )
            if name is not None
        ]
        wanted = [
            p
            for p in schema.properties
            if (p.required and not self._not_required_in_requests(p.schema))
            or not _is_trivial(p.schema)
        ]
        if not (
            wanted
            or extra is False
            or extra_schema is not None
            or any(not _is_trivial(sub) for _, sub in patterns)
            or schema.min_properties is not None
            or schema.max_properties is not None
        ):
            return
        inner = self._guard(body, var, indent, types, "object")
        if inner is None:
            return
        if schema.min_properties is not None and schema.min_properties > 0:
            body.add(inner, f"if len({var}) < {int(schema.min_properties)}:")
            body.fail(inner + 1, pointer, _at_least(schema.min_properties, "property"))
        if schema.max_properties is not None:
            body.add(inner, f"if len({var}) > {int(schema.max_properties)}:")
            body.fail(inner + 1, pointer, _at_most(schema.max_properties, "property"))
        member = body.fresh("member")
        for prop in wanted:
            required = prop.required and not self._not_required_in_requests(prop.schema)
            name = Lit(prop.name)
            if _is_trivial(prop.schema):
                body.add(inner, "if ", name, f" not in {var}:")
                body.fail(inner + 1, _static(pointer, prop.name), "required property is missing")
                continue
            body.add(inner, f"{member} = {var}.get(", name, ", _MISSING)")
            if required:
                body.add(inner, f"if {member} is _MISSING:")
                body.fail(inner + 1, _static(pointer, prop.name), "required property is missing")
                self.emit_schema(
                    body, prop.schema, member, _static(pointer, prop.name), inner, blocks
                )
            else:
                mark = len(body.lines) - 1
                body.add(inner, f"if {member} is not _MISSING:")
                self.emit_schema(
                    body, prop.schema, member, _static(pointer, prop.name), inner + 1, blocks
                )
                body.drop_if_unused(mark, 2)
        declared = [p.name for p in schema.properties]
        if extra is False or extra_schema is not None or patterns:
            self._emit_members(
                body, var, pointer, inner, blocks, declared, patterns, extra is False, extra_schema
            )

    def _emit_members(
        self,
        body: _Body,
        var: str,
        pointer: Pointer,
        indent: int,
        blocks: int,
        declared: list[str],
        patterns: list[tuple[str, Schema]],
        forbid_extra: bool,
        extra_schema: Schema | None,
    ) -> None:
        known = self.key_set(declared)
        key = body.fresh("key")
        if forbid_extra and not patterns:
            # a C-speed subset test; the loop to name the offender runs only on failure
            body.add(indent, f"if not {known}.issuperset({var}):")
            body.add(indent + 1, f"for {key} in {var}:")
            body.add(indent + 2, f"if {key} not in {known}:")
            body.fail(indent + 3, _dynamic(pointer, f"gwv.escape({key})"), "unexpected property")
            return
        value = body.fresh("value")
        body.add(indent, f"for {key}, {value} in {var}.items():")
        inner = indent + 1
        member_pointer = _dynamic(pointer, f"gwv.escape({key})")
        for name, sub in patterns:
            if _is_trivial(sub):
                continue
            body.add(inner, f"if {name}.search({key}) is not None:")
            self.emit_schema(body, sub, value, member_pointer, inner + 1, blocks + 1)
        if not forbid_extra and extra_schema is None:
            return
        conditions = [f"{key} not in {known}"] + [
            f"{name}.search({key}) is None" for name, _ in patterns
        ]
        body.add(inner, "if " + " and ".join(conditions) + ":")
        if forbid_extra:
            body.fail(inner + 1, member_pointer, "unexpected property")
        elif extra_schema is not None:
            self.emit_schema(body, extra_schema, value, member_pointer, inner + 1, blocks + 1)

    def _branches(self, schemas: Iterable[Schema]) -> list[str | None]:
        return [self.schema_function(s) for s in schemas]

    def _emit_alternatives(
        self, body: _Body, schema: Schema, var: str, pointer: Pointer, indent: int
    ) -> None:
        if schema.one_of or schema.any_of:
            self._emit_discriminated(body, schema, var, pointer, indent)
        if schema.not_ is not None:
            function = self.schema_function(schema.not_)
            if function is None:  # ``not: {}`` rejects everything
                body.fail(indent, pointer, "no value is allowed here")
                return
            body.add(indent, f"if gwv.matches({function}, {var}):")
            body.fail(indent + 1, pointer, "must not match the excluded schema")

    def _emit_discriminated(
        self, body: _Body, schema: Schema, var: str, pointer: Pointer, indent: int
    ) -> None:
        disc = schema.discriminator
        table: str | None = None
        mapping = self._discriminator_mapping(schema, disc) if disc is not None else []
        if disc is not None and mapping:
            entries: list[tuple[str, str]] = []
            for value, model_id in mapping:
                function = self.model_function(model_id)
                entries.append((value, function or "_accept"))
            if any(function == "_accept" for _, function in entries):
                self._ensure_accept()
            self.uses_callable = True
            table = self.constant(
                "dispatch",
                (disc.property_name, tuple(entries)),
                "{",
                *_entries((value, f"{function}") for value, function in entries),
                "}",
                annotation="dict[str, Callable[[object], None]]",
                after_functions=True,
            )
            name = Lit(disc.property_name)
            tag = body.fresh("tag")
            body.add(indent, f"if type({var}) is dict and ", name, f" in {var}:")
            body.add(indent + 1, f"{tag} = {var}[", name, "]")
            body.add(indent + 1, f"if type({tag}) is not str or {tag} not in {table}:")
            body.fail(
                indent + 2, _static(pointer, disc.property_name), "unknown discriminator value"
            )
            chosen = body.fresh("chosen")
            body.add(indent + 1, f"{chosen} = {table}[{tag}]")
            self.call_checked(body, chosen, var, pointer, indent + 1)
            body.add(indent, "else:")
            indent += 1
        wrote = False
        if schema.one_of:
            functions = self._branches(schema.one_of)
            if any(f is None for f in functions):
                self._ensure_accept()
            calls = " + ".join(f"gwv.matches({f or '_accept'}, {var})" for f in functions)
            body.add(indent, f"if ({calls}) != 1:")
            body.fail(indent + 1, pointer, "expected a value matching exactly one alternative")
            wrote = True
        if schema.any_of:
            functions = self._branches(schema.any_of)
            if all(f is not None for f in functions):
                calls = " or ".join(f"gwv.matches({f}, {var})" for f in functions)
                body.add(indent, f"if not ({calls}):")
                body.fail(indent + 1, pointer, "expected a value matching at least one alternative")
                wrote = True
        if table is not None and not wrote:
            body.add(indent, "pass")

    def _discriminator_mapping(self, schema: Schema, disc: Discriminator) -> list[tuple[str, str]]:
        """Explicit mapping entries, then the implicit ones: a component's own name."""
        mapping = list(disc.mapping)
        taken = {value for value, _ in mapping}
        for branch in (*schema.one_of, *schema.any_of):
            model = self._models.get(branch.ref) if branch.ref is not None else None
            if model is not None and model.key not in taken and _is_component(model.id):
                mapping.append((model.key, model.id))
                taken.add(model.key)
        return mapping

    def _ensure_accept(self) -> None:
        if "_accept" not in {f.name for f in self.functions}:
            self.functions.append(
                FunctionView(
                    "_accept", "v: object", "Accept any value.", (Line(1, (Code("return"),)),)
                )
            )

    # -- parameters

    def effective(self, schema: Schema, seen: frozenset[str] = frozenset()) -> Schema:
        """The schema that says what shape a value has (through ``$ref`` and allOf).

        ``seen`` holds the models already entered on this path, so a schema that reaches
        itself through ``allOf`` (``A: {allOf: [$ref: A]}``) ends instead of recursing.
        """
        current = schema
        while current.types is None:
            if current.ref is not None and current.ref not in seen:
                seen = seen | {current.ref}
                model = self._models.get(current.ref)
                if model is None:
                    return current
                current = model.schema
                continue
            for member in current.all_of:
                resolved = self.effective(member, seen)
                if resolved.types is not None:
                    return resolved
            return current
        return current

    def shape(self, schema: Schema | None) -> Literal["primitive", "array", "object", "other"]:
        if schema is None:
            return "other"
        types = {t for t in (self.effective(schema).types or ()) if t != "null"}
        if types == {"array"}:
            return "array"
        if types == {"object"}:
            return "object"
        if types and types <= {"string", "integer", "number", "boolean"}:
            return "primitive"
        return "primitive" if not types else "other"

    def converter(self, schema: Schema | None) -> str:
        types = set(self.effective(schema).types or ()) if schema is not None else set()
        if not types or "string" in types:
            return "gwv.as_string"
        if "number" in types:
            return "gwv.as_number"
        if "integer" in types:
            return "gwv.as_integer"
        if "boolean" in types:
            return "gwv.as_boolean"
        return "gwv.as_string"

    def object_converters(self, schema: Schema) -> tuple[str, str] | None:
        """(converters constant, default converter), or None if a member is not scalar."""
        target = self.effective(schema)
        entries: list[tuple[str, str]] = []
        for prop in target.properties:
            if self.shape(prop.schema) != "primitive":
                return None
            entries.append((prop.name, self.converter(prop.schema)))
        extra = target.additional_properties
        default = "gwv.as_string"
        if isinstance(extra, Schema):
            if self.shape(extra) not in ("primitive",) and not _is_trivial(extra):
                return None
            default = self.converter(extra)
        typed = [(n, c) for n, c in entries if c != "gwv.as_string"]
        if not typed:
            return "", default
        table = self.constant(
            "converters",
            tuple(typed),
            "{",
            *_entries(typed),
            "}",
            annotation="dict[str, gwv.Converter]",
        )
        return table, default

    def unsupported(self, param: Parameter, why: str) -> None:
        self.warn(
            "GW402",
            param.origin,
            f"{param.location} parameter {param.name!r}: {why}; the value is passed through",
        )

    def emit_parameter(self, body: _Body, param: Parameter, indent: int) -> None:
        source = {"path": "path", "query": "query", "header": "headers", "cookie": "cookies"}[
            param.location
        ]
        pointer: Pointer = (("static", f"{param.location}/{param.name}"),)
        where = Lit(f"{param.location}/{param.name}")
        name = Lit(param.name)
        raw = body.fresh("raw")
        value = body.fresh("value")
        shape = self.shape(param.schema)
        style, explode = param.style, param.explode

        fetch: list[str | Part] = [f"{raw} = {source}.get(", name, ")"]
        missing, present = f"{raw} is None", f"{raw} is not None"
        convert: list[str | Part] | None = None  # assignment of ``value``; None: presence only
        schema = param.schema

        if param.content_type is not None:
            if _JSON_MEDIA.fullmatch(param.content_type.split(";")[0].strip().lower()):
                convert = [f"gwv.parse_json_text({raw}, ", where, ")"]
            else:
                self.unsupported(param, f"content {param.content_type!r} is not validated")
                schema = None
        elif schema is None:
            pass
        elif shape == "other":
            self.unsupported(param, "its schema mixes structured and scalar types")
            schema = None
        elif shape == "array" and self.shape(self.effective(schema).items) not in (
            "primitive",
            "other",
        ):
            self.unsupported(param, "arrays of structured values have no serialisation")
            schema = None
        else:
            convert = self._parameter_conversion(body, param, shape, style, explode, raw, where)
            if convert is None:
                schema = None
            elif (
                shape == "array"
                and param.location == "query"
                and explode
                and style
                in (
                    "form",
                    "spaceDelimited",
                    "pipeDelimited",
                )
            ):
                fetch[:] = [f"{raw} = query.getall(", name, ", [])"]
                missing, present = f"not {raw}", raw
            elif shape == "object" and param.location == "query" and style == "deepObject":
                fetch[:] = [f"{raw} = gwv.deep_object(query, ", name, ")"]
            elif shape == "object" and param.location == "query" and style == "form" and explode:
                keys = self.key_set([p.name for p in self.effective(schema).properties])
                fetch[:] = [f"{raw} = gwv.pick_fields(query, {keys})"]

        start = len(body.lines)
        body.add(indent, *fetch)
        if param.required:
            body.add(indent, f"if {missing}:")
            body.fail(indent + 1, pointer, "required parameter is missing")
            inner = indent
        else:
            body.add(indent, f"if {present}:")
            inner = indent + 1
        if convert is None or schema is None:
            if not param.required:
                del body.lines[start:]  # an optional value nobody checks
            return
        single = fetch[0] == f"{raw} = {source}.get("
        if param.location == "query" and single:
            if param.allow_empty_value:
                body.add(inner, f'if {raw} != "":')
                inner += 1
            else:
                body.add(inner, f'if {raw} == "":')
                body.fail(inner + 1, pointer, "empty value is not allowed")
        known, items_known = self._types_after_conversion(param, shape)
        if known is None:
            body.add(inner, f"{value}: object = ", *convert)
        elif convert == [raw]:
            value = raw  # a plain string: nothing to convert
        else:
            body.add(inner, f"{value} = ", *convert)
        checked_from = len(body.lines)
        self.emit_schema(
            body, schema, value, pointer, inner, 0, known=known, items_known=items_known
        )
        if len(body.lines) == checked_from and body.lines[-1].opens_block:
            if not param.required and value == raw:
                del body.lines[start:]  # an optional string nobody checks
            else:
                body.add(inner, "pass")

    def _parameter_check(self, body: _Body, param: Parameter) -> None:
        """Check one parameter: inline when short, else through a shared helper.

        Specs repeat the same parameter (``owner``, ``per_page``) across hundreds
        of operations; one helper per distinct check keeps the module small.
        """
        own = _Body()
        self.emit_parameter(own, param, 1)
        if len(own.lines) < 3:
            body.lines.extend(Line(line.indent + 1, line.parts) for line in own.lines)
            return
        signature = _PARAMETER_SOURCES[param.location]
        key = (signature, repr(own.lines))
        helper = self._parameter_helpers.get(key)
        if helper is None:
            stem = f"_check_{param.location}_{param.py_name}"
            helper = stem
            taken = {f.name for f in self.functions}
            suffix = itertools.count(2)
            while helper in taken:
                helper = f"{stem}_{next(suffix)}"
            self._parameter_helpers[key] = helper
            self.functions.append(FunctionView(helper, signature, None, tuple(own.lines)))
        source = signature.split(":")[0]
        body.add(2, f"{helper}({source})")

    def _types_after_conversion(
        self, param: Parameter, shape: str
    ) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """JSON types of a converted parameter (and of its items), None when unknown."""
        if param.content_type is not None or param.schema is None:
            return None, None
        if shape == "array":
            items = self.effective(param.schema).items
            return frozenset({"array"}), _CONVERTED_TYPES[self.converter(items)]
        if shape == "object":
            return frozenset({"object"}), None
        return _CONVERTED_TYPES[self.converter(param.schema)], None

    def _to_scalar(
        self, text: list[str | Part], target: Schema | None, where: Lit
    ) -> list[str | Part]:
        conv = self.converter(target)
        if conv == "gwv.as_string":
            return text
        return [f"{conv}(", *text, ", ", where, ")"]

    def _to_list(
        self, body: _Body, text: list[str | Part], target: Schema | None, where: Lit
    ) -> list[str | Part]:
        items = self.effective(target).items if target is not None else None
        conv = self.converter(items)
        if conv == "gwv.as_string":
            return ["list(", *text, ")"]
        element = body.fresh("element")
        return [f"[{conv}({element}, ", where, f") for {element} in ", *text, "]"]

    def _parameter_conversion(
        self,
        body: _Body,
        param: Parameter,
        shape: str,
        style: str,
        explode: bool,
        raw: str,
        where: Lit,
    ) -> list[str | Part] | None:
        """The expression that turns the raw text into a value, or None (GW402)."""

        def to_scalar(text: list[str | Part], target: Schema | None) -> list[str | Part]:
            return self._to_scalar(text, target, where)

        def to_list(text: list[str | Part], target: Schema | None) -> list[str | Part]:
            return self._to_list(body, text, target, where)

        schema = param.schema
        loc = param.location
        allowed = {
            "path": ("simple", "label", "matrix"),
            "header": ("simple",),
            "query": ("form", "spaceDelimited", "pipeDelimited", "deepObject"),
            "cookie": ("form",),
        }[loc]
        if style not in allowed:
            self.unsupported(param, f"style {style!r} is not defined for {loc} parameters")
            return None
        prefix_label: list[str | Part] = [f"gwv.strip_prefix({raw}, ", Lit("."), ", ", where, ")"]
        prefix_matrix: list[str | Part] = [
            f"gwv.strip_prefix({raw}, ",
            Lit(f";{param.name}="),
            ", ",
            where,
            ")",
        ]
        if shape == "primitive":
            if style in ("simple", "form"):
                return to_scalar([raw], schema)
            if style == "label":
                return to_scalar(prefix_label, schema)
            if style == "matrix":
                return to_scalar(prefix_matrix, schema)
            self.unsupported(param, f"style {style!r} is not defined for scalar values")
            return None
        if shape == "array":
            if style in ("simple",):
                return to_list([f"{raw}.split(", Lit(","), ")"], schema)
            if style == "label":
                return to_list(
                    [*prefix_label, ".split(", Lit("." if explode else ","), ")"], schema
                )
            if style == "matrix":
                if explode:
                    return to_list(
                        [f"gwv.matrix_list({raw}, ", Lit(param.name), ", ", where, ")"], schema
                    )
                return to_list([*prefix_matrix, ".split(", Lit(","), ")"], schema)
            separator = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}.get(style)
            if separator is None:
                self.unsupported(param, f"style {style!r} is not defined for arrays")
                return None
            if loc == "cookie" and explode:
                self.unsupported(param, "exploded cookie arrays have no single cookie value")
                return None
            if explode:
                return to_list([raw], schema)
            return to_list([f"{raw}.split(", Lit(separator), ")"], schema)
        # objects
        if schema is None:
            return None
        converters = self.object_converters(schema)
        if converters is None:
            self.unsupported(param, "object members that are not scalars have no serialisation")
            return None
        fields: list[str | Part]
        if style == "simple":
            fields = (
                [f"gwv.split_assignments({raw}.split(", Lit(","), "), ", where, ")"]
                if explode
                else [f"gwv.split_pairs({raw}, ", Lit(","), ", ", where, ")"]
            )
        elif style == "label":
            fields = (
                ["gwv.split_assignments(", *prefix_label, ".split(", Lit("."), "), ", where, ")"]
                if explode
                else ["gwv.split_pairs(", *prefix_label, ", ", Lit(","), ", ", where, ")"]
            )
        elif style == "matrix":
            fields = (
                [
                    f"gwv.split_assignments(gwv.strip_prefix({raw}, ",
                    Lit(";"),
                    ", ",
                    where,
                    ").split(",
                    Lit(";"),
                    "), ",
                    where,
                    ")",
                ]
                if explode
                else ["gwv.split_pairs(", *prefix_matrix, ", ", Lit(","), ", ", where, ")"]
            )
        elif style == "deepObject":
            if not explode:
                self.unsupported(param, "deepObject is only defined with explode: true")
                return None
            fields = [raw]
        elif style == "form" and explode:
            if loc == "cookie":
                self.unsupported(param, "exploded cookie objects have no single cookie value")
                return None
            if not self.effective(schema).properties:
                self.unsupported(param, "an exploded form object needs declared properties")
                return None
            fields = [raw]
        else:
            separator = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}[style]
            fields = [f"gwv.split_pairs({raw}, ", Lit(separator), ", ", where, ")"]
        table, default = converters
        if not table and default == "gwv.as_string":
            return ["dict(", *fields, ")"]
        return [
            "gwv.coerce_fields(",
            *fields,
            f", {table or '{}'}, {default}, ",
            where,
            ")",
        ]

    def parameters_function(self, op: Operation) -> str | None:
        if not op.validation.parameters:
            return None
        body = _Body()
        for param in op.parameters:
            if param.location == "header" and param.name.lower() in _IGNORED_HEADERS:
                continue
            self._parameter_check(body, param)
        if op.validation.unknown_query == "reject":
            self._emit_unknown_query(body, op, 2)
        if not body.lines:
            return None
        self.uses_mapping = True
        name = f"check_{op.py_name}_parameters"
        lines = [
            Line(1, (Code("try:"),)),
            *body.lines,
            Line(1, (Code("except gwv.Invalid as exc:"),)),
            Line(2, (Code("raise exc.failure("), Lit("parameters"), Code(") from None"))),
        ]
        return self._export(
            name,
            "path: Mapping[str, str], query: gwv.Query, "
            "headers: Mapping[str, str], cookies: Mapping[str, str]",
            f"Parameters of {op.method} {op.path} ({op.id})",
            lines,
        )

    def _export(self, name: str, signature: str, label: str, lines: list[Line]) -> str:
        """Add a public check function, or reuse an identical one already generated.

        Large specs repeat the same parameter lists and bodies many times; sharing
        one function keeps the module (and black's time on it) proportional to the
        distinct checks.
        """
        key = (signature, repr(lines))
        shared = self._exported_bodies.get(key)
        if shared is not None:
            self._users[shared].append(label)
            return shared
        self._exported_bodies[key] = name
        self._users[name] = [label]
        self.functions.append(FunctionView(name, signature, None, tuple(lines)))
        self.exported.append(name)
        return name

    def documented_functions(self) -> list[FunctionView]:
        """Functions with their docstrings: which operations each check serves."""
        views = []
        for view in self.functions:
            users = self._users.get(view.name)
            if users:
                more = len(users) - 1
                doc = users[0] + (f", and {more} more with the same checks." if more else ".")
                view = replace(view, doc=doc)
            views.append(view)
        return views

    def _emit_unknown_query(self, body: _Body, op: Operation, indent: int) -> None:
        known: list[str] = []
        prefixes: list[str] = []
        for param in op.parameters:
            if param.location != "query":
                continue
            if param.style == "deepObject":
                prefixes.append(param.name + "[")
            elif (
                param.style == "form"
                and param.explode
                and param.schema is not None
                and self.shape(param.schema) == "object"
            ):
                known.extend(p.name for p in self.effective(param.schema).properties)
            else:
                known.append(param.name)
        keys = self.key_set(sorted(set(known)))
        key = body.fresh("key")
        unknown: Pointer = (("static", "query/"), ("dynamic", key))
        if not prefixes:
            body.add(indent, f"if not {keys}.issuperset(query.keys()):")
            body.add(indent + 1, f"for {key} in query.keys():")
            body.add(indent + 2, f"if {key} not in {keys}:")
            body.fail(indent + 3, unknown, "unknown query parameter")
            return
        body.add(indent, f"for {key} in query.keys():")
        body.add(
            indent + 1,
            f"if {key} not in {keys} and not {key}.startswith(",
            Lit(tuple(prefixes)),
            "):",
        )
        body.fail(indent + 2, unknown, "unknown query parameter")

    # -- bodies

    def body_function(self, op: Operation) -> str | None:
        request_body = op.request_body
        if request_body is None or not op.validation.body:
            return None
        branches: list[tuple[str, list[Line]]] = []
        body = _Body()
        for media in request_body.contents:
            kind = media.media_type.split(";")[0].strip().lower()
            if _JSON_MEDIA.fullmatch(kind):
                inner = _Body()
                value = body.fresh("document")
                inner.add(3, f"{value}: object = gwv.parse_json(raw, MAX_DEPTH)")
                if media.schema is not None:
                    self.emit_schema(inner, media.schema, value, (), 3, 0)
                branches.append((kind, inner.lines))
            elif kind == _FORM_MEDIA and media.schema is not None:
                form_lines = self._form_body(body, media)
                if form_lines is not None:
                    branches.append((kind, form_lines))
            elif media.schema is not None and not _is_binary(media.schema):
                self.warn(
                    "GW405",
                    media.origin,
                    f"media type {media.media_type!r} is not validated; the body is passed through",
                )
        if not branches:
            return None
        name = f"check_{op.py_name}_body"
        lines: list[Line] = []
        lines.append(Line(1, (Code("if not raw:"),)))
        if request_body.required:
            lines.append(
                Line(
                    2,
                    (
                        Code("raise gwv.Invalid("),
                        Lit(""),
                        Code(", "),
                        Lit("a request body is required"),
                        Code(").failure("),
                        Lit("body"),
                        Code(")"),
                    ),
                )
            )
        else:
            lines.append(Line(2, (Code("return"),)))
        lines.append(Line(1, (Code("media = gwv.media_type(content_type)"),)))
        lines.append(Line(1, (Code("try:"),)))
        for position, (kind, branch) in enumerate(branches):
            keyword = "if" if position == 0 else "elif"
            lines.append(Line(2, (Code(f"{keyword} media == "), Lit(kind), Code(":"))))
            lines.extend(branch)
        lines.append(Line(1, (Code("except gwv.Invalid as exc:"),)))
        lines.append(Line(2, (Code("raise exc.failure("), Lit("body"), Code(") from None"))))
        return self._export(
            name,
            "content_type: str, raw: bytes",
            f"Request body of {op.method} {op.path} ({op.id})",
            lines,
        )

    def _form_body(self, body: _Body, media: MediaType) -> list[Line] | None:
        if media.schema is None:
            return None
        target = self.effective(media.schema)
        encodings = {name: (style, explode) for name, _, style, explode in media.encoding}
        scalars: list[tuple[str, str]] = []
        arrays: list[tuple[str, str, str | None]] = []
        for prop in target.properties:
            shape = self.shape(prop.schema)
            style, explode = encodings.get(prop.name, (None, None))
            if shape == "primitive":
                conv = self.converter(prop.schema)
                if conv != "gwv.as_string":
                    scalars.append((prop.name, conv))
            elif shape == "array" and self.shape(self.effective(prop.schema).items) == "primitive":
                separator = {
                    None: ",",
                    "form": ",",
                    "spaceDelimited": " ",
                    "pipeDelimited": "|",
                }.get(style)
                if separator is None:
                    break
                exploded = explode if explode is not None else (style in (None, "form"))
                arrays.append(
                    (
                        prop.name,
                        self.converter(self.effective(prop.schema).items),
                        None if exploded else separator,
                    )
                )
            else:
                break
        else:
            inner = _Body()
            fields = body.fresh("form")
            scalar_table = (
                self.constant(
                    "converters",
                    tuple(scalars),
                    "{",
                    *_entries(scalars),
                    "}",
                    annotation="dict[str, gwv.Converter]",
                )
                if scalars
                else "{}"
            )
            array_table = (
                self.constant(
                    "arrays",
                    tuple(arrays),
                    "{",
                    *_array_entries(arrays),
                    "}",
                    annotation="dict[str, tuple[gwv.Converter, str | None]]",
                )
                if arrays
                else "{}"
            )
            inner.add(
                3,
                f"{fields}: object = gwv.form_object(gwv.form_fields(raw), "
                f"{scalar_table}, {array_table})",
            )
            self.emit_schema(inner, media.schema, fields, (), 3, 0)
            return inner.lines
        self.warn(
            "GW405",
            media.origin,
            "form fields other than scalars and arrays of scalars are not validated; "
            "the body is passed through",
        )
        return None


def _is_component(model_id: str) -> bool:
    return "#/components/schemas/" in model_id


def _is_binary(schema: Schema) -> bool:
    return schema.format in ("binary", "byte") or (
        schema.types is not None and set(schema.types) <= {"string", "null"}
    )


def plan_validation(
    api: Api,
    *,
    diags: Diagnostics | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ValidationPlan:
    """Compile the request checks of every operation into one Python module.

    Warnings (GW401 patterns Python cannot compile, GW402 parameter serialisations
    that cannot be parsed, GW405 media types that are not validated) are returned
    in the plan and, when ``diags`` is given, also reported there.
    """
    builder = _ModuleBuilder(api, max_depth=max_depth)
    checks: dict[str, OperationChecks] = {}
    for op in api.operations:
        params = builder.parameters_function(op)
        body = builder.body_function(op)
        if params is not None or body is not None:
            checks[op.id] = OperationChecks(params_function=params, body_function=body)
    builder.finish_models()
    source = render(
        "gateway/validation.py.jinja",
        title=api.title,
        uses_re=builder.uses_re,
        uses_callable=builder.uses_callable,
        uses_mapping=builder.uses_mapping,
        exported=[black_repr(name) for name in sorted(builder.exported)],
        max_depth=max_depth,
        constants=builder.constants,
        functions=builder.documented_functions(),
        tables=builder.tables,
    )
    if diags is not None:
        for d in builder.diagnostics:
            diags.add(d.code, d.origin, d.message, severity=d.severity)
    return ValidationPlan(
        module_source=source, checks=checks, diagnostics=tuple(builder.diagnostics)
    )
