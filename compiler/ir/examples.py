"""Minimal example values built from a response schema, for mocks without examples.

Layer: ir (build time). Works on the bundled document's JSON Schema, following
``$ref`` through a resolver, so OpenAPI 3.0 and 3.1 spellings are both read. A value
is the smallest that satisfies its schema: required properties only (more when
``minProperties`` asks), ``const`` or the first ``enum`` value, strings of
``minLength`` that are valid for their ``format`` and ``pattern``, numbers inside
their bounds, arrays of ``minItems`` items. A ``$ref`` that recurs inside itself is
cut to ``null`` where the schema allows it, else the value cannot be built.

Every candidate is checked against the schema with ``openapi-schema-validator``
before it is used, so a mock never answers a body its own document rejects;
:func:`minimal_example` returns :data:`NO_EXAMPLE` when no candidate conforms.
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .nodes import JSONValue

if TYPE_CHECKING:
    from openapi_schema_validator import OAS30Validator, OAS31Validator

with warnings.catch_warnings():
    # the parser behind ``re``, public under these names (deprecated aliases) only
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre
    import sre_parse

__all__ = ["NO_EXAMPLE", "NoExample", "Resolve", "minimal_example"]

# follows ``$ref`` in a schema position: (the target, its pointer in the document)
Resolve = Callable[[Any], tuple[Any, str]]


class NoExample:
    """The type of :data:`NO_EXAMPLE`: no conforming value could be built."""

    _instance: NoExample | None = None

    def __new__(cls) -> NoExample:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_EXAMPLE"


NO_EXAMPLE: Final = NoExample()

_MAX_DEPTH = 24
# a minimum above this many items, properties or characters is not worth answering
_MAX_SIZE = 1000
_CANDIDATES = 6  # choices of oneOf/anyOf alternatives tried before giving up
_PROBE_KEY = "x-gatewright-example-probe"

# valid text for the formats JSON Schema and OpenAPI name
_FORMAT_VALUES: Mapping[str, str] = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00Z",
    "duration": "P0D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/",
    "iri-reference": "/",
    "uri-template": "/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "json-pointer": "",
    "relative-json-pointer": "0",
    "regex": ".*",
    "byte": "",
    "binary": "",
    "password": "",
}
# fillers tried, at growing lengths, for a string with a pattern
_PATTERN_FILLERS = ("a", "0", "A", "a0", "0a", "-")
_MAX_PATTERN_LENGTH = 64
_BOUND_KEYS_MAX = ("minLength", "minItems", "minProperties", "minimum")
_BOUND_KEYS_MIN = ("maxLength", "maxItems", "maxProperties", "maximum")


class _Unsatisfiable(Exception):
    """This branch of the schema cannot be given a value."""


def minimal_example(schema: Any, *, resolve: Resolve, document: Mapping[str, Any]) -> JSONValue | NoExample:
    """The smallest value ``schema`` accepts, or :data:`NO_EXAMPLE`.

    ``document`` is the bundled OpenAPI document the schema's ``$ref`` point into
    (its ``openapi`` version picks the 3.0 or 3.1 dialect for the final check).
    """
    check = _conformance_check(schema, document)
    seen: list[JSONValue] = []
    for choice in range(_CANDIDATES):
        try:
            value = _Builder(resolve, choice).value(schema, 0, 0)
        except (_Unsatisfiable, RecursionError, OverflowError, ValueError, TypeError):
            continue  # this choice cannot be built; the next may
        if value in seen:
            continue
        seen.append(value)
        if check(value):
            return value
    return NO_EXAMPLE


def _conformance_check(schema: Any, document: Mapping[str, Any]) -> Callable[[JSONValue], bool]:
    # The probe sits in a shallow copy of the document so that "#/components/..."
    # references resolve against it; the document's own keys are no schema keywords.
    # imported here: it costs a fifth of a second, and most compiles build no mock
    from openapi_schema_validator import (
        OAS30Validator,
        OAS31Validator,
        oas30_format_checker,
        oas31_format_checker,
    )

    root = {**document, _PROBE_KEY: schema, "$ref": f"#/{_PROBE_KEY}"}
    if str(document.get("openapi", "3.0")).startswith("3.0"):
        validator: OAS30Validator | OAS31Validator = OAS30Validator(root, format_checker=oas30_format_checker)
    else:
        validator = OAS31Validator(root, format_checker=oas31_format_checker)

    def check(value: JSONValue) -> bool:
        try:
            return bool(validator.is_valid(value))
        except Exception:  # unresolvable, too deep, malformed: nothing is known to conform
            return False

    return check


class _Builder:
    """One candidate: ``choice`` picks the oneOf/anyOf alternative at every fork."""

    def __init__(self, resolve: Resolve, choice: int) -> None:
        self._resolve = resolve
        self._choice = choice
        self._active: list[str] = []  # pointers of the $refs being expanded

    # ----------------------------------------------------------------- schemas

    def _deref(self, schema: Any) -> tuple[Any, str | None]:
        """Follow ``$ref``; (target, its pointer) or (schema, None) when there is none."""
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            return schema, None
        target, pointer = self._resolve(schema)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if siblings and isinstance(target, dict):  # 3.1: keywords beside $ref apply too
            target = {"allOf": [target, siblings]}
        return target, pointer

    def _flat(self, schema: Any, depth: int) -> dict[str, Any]:
        """``schema`` with ``$ref`` followed and ``allOf`` merged into one object."""
        if depth > _MAX_DEPTH:
            raise _Unsatisfiable
        schema, pointer = self._deref(schema)
        if schema is True or schema is None:
            return {}
        if schema is False:
            raise _Unsatisfiable
        if not isinstance(schema, dict):
            return {}
        if pointer is not None and pointer in self._active:
            return {"x-recursive": True, "nullable": _allows_null(schema)}
        if pointer is not None:
            self._active.append(pointer)
        try:
            own = {k: v for k, v in schema.items() if k != "allOf"}
            members = schema.get("allOf")
            merged = dict(own)
            if isinstance(members, list):
                for member in members:
                    merged = _merge(merged, self._flat(member, depth + 1))
            for key in ("oneOf", "anyOf"):
                alternatives = merged.pop(key, None)
                if isinstance(alternatives, list) and alternatives:
                    picked = alternatives[self._choice % len(alternatives)]
                    merged = _merge(merged, self._flat(picked, depth + 1))
            return merged
        finally:
            if pointer is not None:
                self._active.remove(pointer)

    # ----------------------------------------------------------------- values

    def value(self, schema: Any, depth: int, variant: int) -> JSONValue:
        _, pointer = self._deref(schema)
        flat = self._flat(schema, depth)
        if flat.get("x-recursive"):
            if flat.get("nullable"):
                return None
            raise _Unsatisfiable
        if pointer is not None:
            self._active.append(pointer)
        try:
            return self._value_of(flat, depth, variant)
        finally:
            if pointer is not None:
                self._active.remove(pointer)

    def _value_of(self, schema: dict[str, Any], depth: int, variant: int) -> JSONValue:
        if "const" in schema:
            return _json_copy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list):
            if not enum:
                raise _Unsatisfiable
            return _json_copy(enum[variant % len(enum)])
        kind = _kind(schema)
        if kind == "null":
            return None
        if kind == "boolean":
            return variant % 2 == 1
        if kind == "integer":
            return _integer(schema, variant)
        if kind == "number":
            return _number(schema, variant)
        if kind == "string":
            return _string(schema, variant)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "object":
            return self._object(schema, depth)
        return {}

    def _object(self, schema: dict[str, Any], depth: int) -> JSONValue:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra = schema.get("additionalProperties", True)
        out: dict[str, JSONValue] = {}
        required = schema.get("required")
        for name in required if isinstance(required, list) else ():
            if not isinstance(name, str) or name in out:
                continue
            if name in properties:
                out[name] = self.value(properties[name], depth + 1, 0)
            elif extra is False:
                raise _Unsatisfiable
            else:
                out[name] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, 0)
        wanted = _int(schema.get("minProperties"), 0)
        for name, sub in properties.items():
            if len(out) >= wanted:
                break
            if name not in out:
                try:
                    out[name] = self.value(sub, depth + 1, 0)
                except _Unsatisfiable:
                    continue
        while len(out) < wanted:
            if extra is False:
                raise _Unsatisfiable
            out[f"property{len(out) + 1}"] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, 0)
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> JSONValue:
        count = _int(schema.get("minItems"), 0)
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        if isinstance(items, list):  # the 2019-09 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        out: list[JSONValue] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            if sub is False:
                raise _Unsatisfiable
            # distinct items, in case uniqueItems asks for them
            out.append(self.value(sub if isinstance(sub, dict) else {}, depth + 1, index))
        return out


# --------------------------------------------------------------------------- scalars


def _kind(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        concrete = [t for t in declared if isinstance(t, str) and t != "null"]
        if concrete:
            return concrete[0]
        return "null" if declared else None
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems")):
        return "array"
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return None


def _allows_null(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    return schema.get("nullable") is True or declared == "null" or (isinstance(declared, list) and "null" in declared)


def _int(value: Any, default: int) -> int:
    """A non-negative size from the schema (``default`` when absent or malformed)."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return default
    if value > _MAX_SIZE:
        raise _Unsatisfiable
    return value


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low is exclusive, high, high is exclusive) in either OpenAPI spelling."""
    low, high = _number_or_none(schema.get("minimum")), _number_or_none(schema.get("maximum"))
    low_open = high_open = False
    exclusive_min, exclusive_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if exclusive_min is True:  # 3.0: a flag on minimum
        low_open = low is not None
    elif (bound := _number_or_none(exclusive_min)) is not None and (low is None or bound >= low):
        low, low_open = bound, True
    if exclusive_max is True:
        high_open = high is not None
    elif (bound := _number_or_none(exclusive_max)) is not None and (high is None or bound <= high):
        high, high_open = bound, True
    return low, low_open, high, high_open


def _integer(schema: Mapping[str, Any], variant: int) -> int:
    low, low_open, high, high_open = _bounds(schema)
    step = schema.get("multipleOf")
    step = step if isinstance(step, int) and not isinstance(step, bool) and step > 0 else 1
    lowest = None if low is None else (math.floor(low) + 1 if low_open else math.ceil(low))
    highest = None if high is None else (math.ceil(high) - 1 if high_open else math.floor(high))
    start = 0 if lowest is None or lowest <= 0 else lowest
    if highest is not None and start > highest:
        start = highest
    value = math.ceil(start / step) * step + variant * step
    if highest is not None and value > highest:
        value = math.floor(highest / step) * step
    if (lowest is not None and value < lowest) or (highest is not None and value > highest):
        raise _Unsatisfiable
    return value


def _number(schema: Mapping[str, Any], variant: int) -> int | float:
    try:
        return _integer(schema, variant)
    except _Unsatisfiable:
        pass
    low, _, high, _ = _bounds(schema)
    if low is not None and high is not None and low < high:
        return (low + high) / 2
    raise _Unsatisfiable


def _string(schema: Mapping[str, Any], variant: int) -> str:
    shortest = _int(schema.get("minLength"), 0)
    longest = schema.get("maxLength")
    longest = longest if isinstance(longest, int) and not isinstance(longest, bool) else None
    pattern = schema.get("pattern")
    fmt = schema.get("format")
    known = _FORMAT_VALUES.get(fmt) if isinstance(fmt, str) else None
    suffix = str(variant) if variant else ""

    def fits(text: str) -> bool:
        if len(text) < shortest or (longest is not None and len(text) > longest):
            return False
        if isinstance(pattern, str):
            try:
                return re.search(pattern, text) is not None
            except re.error:
                return True  # not Python syntax: the gateway does not enforce it either
        return True

    if fmt == "byte":  # base64: whole groups of four characters
        return "A" * (4 * math.ceil(max(shortest, len(suffix)) / 4))
    candidates: list[str] = []
    if known is not None:
        candidates.append(known)
    example = schema.get("example")
    if isinstance(example, str):
        candidates.append(example)
    if known is None:
        candidates.append(suffix + "a" * max(0, shortest - len(suffix)))
    for text in candidates:
        if fits(text):
            return text
    if isinstance(pattern, str):
        for extra in range(0, max(shortest, 1) + 1):
            sampled = _text_for_pattern(pattern, extra)
            if sampled is not None and fits(sampled):
                return sampled
        for length in range(shortest, min(longest if longest is not None else _MAX_PATTERN_LENGTH, _MAX_PATTERN_LENGTH) + 1):
            for filler in _PATTERN_FILLERS:
                text = (filler * length)[:length]
                if fits(text):
                    return text
    raise _Unsatisfiable


# --------------------------------------------------------------------------- patterns

_CATEGORY_CHARS: Mapping[Any, str] = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: "-",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
}
_NEGATED_SET_CHOICES = "a0A-_ .~"


def _text_for_pattern(pattern: str, extra: int) -> str | None:
    """A short string ``pattern`` matches: each repeat taken its minimum number of
    times plus ``extra`` (within its maximum); None for constructs it cannot follow."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    out: list[str] = []
    try:
        _sample(list(parsed.data), extra, out)
    except _Unsatisfiable:
        return None
    return "".join(out)


def _sample(items: list[tuple[Any, Any]], extra: int, out: list[str]) -> None:
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_pick_from_set(arg))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = arg
            count = low + extra if high is sre.MAXREPEAT else min(high, low + extra)
            if count + len(out) > _MAX_SIZE:
                raise _Unsatisfiable
            for _ in range(count):
                _sample(list(sub), 0, out)
        elif op is sre.SUBPATTERN:
            _sample(list(arg[-1]), extra, out)
        elif op is sre.ATOMIC_GROUP:
            _sample(list(arg), extra, out)
        elif op is sre.BRANCH:
            _sample(list(arg[1][0]), extra, out)
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # anchors and lookarounds add no text; the final search checks them
        else:  # back references, conditionals
            raise _Unsatisfiable


def _pick_from_set(members: list[tuple[Any, Any]]) -> str:
    if members and members[0][0] is sre.NEGATE:
        excluded = "".join(_pick_from_set([m]) for m in members[1:] if m[0] is sre.LITERAL)
        for char in _NEGATED_SET_CHOICES:
            if char not in excluded and re.fullmatch(_set_regex(members), char):
                return char
        raise _Unsatisfiable
    for op, arg in members:
        if op is sre.LITERAL:
            return chr(arg)
        if op is sre.RANGE:
            return chr(arg[0])
        if op is sre.CATEGORY and arg in _CATEGORY_CHARS:
            return _CATEGORY_CHARS[arg]
    raise _Unsatisfiable


def _set_regex(members: list[tuple[Any, Any]]) -> str:
    """A character class equivalent to a parsed negated set, to test candidates."""
    parts: list[str] = []
    for op, arg in members[1:]:
        if op is sre.LITERAL:
            parts.append(re.escape(chr(arg)))
        elif op is sre.RANGE:
            parts.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif op is sre.CATEGORY:
            parts.append({sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_WORD: r"\w",
                          sre.CATEGORY_NOT_WORD: r"\W", sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S"}.get(arg, ""))
    return "[^" + "".join(parts) + "]" if parts else "."


# --------------------------------------------------------------------------- merging


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (for ``allOf`` and a chosen alternative), as one object."""
    if right.get("x-recursive"):
        return left
    out = dict(left)
    for key, value in right.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, dict) and isinstance(out[key], dict):
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = [*out[key], *(r for r in value if r not in out[key])]
        elif key == "type":
            mine = out[key] if isinstance(out[key], list) else [out[key]]
            theirs = value if isinstance(value, list) else [value]
            both = [t for t in mine if t in theirs] or [t for t in mine if t == "integer" and "number" in theirs]
            if not both and "number" in mine and "integer" in theirs:
                both = ["integer"]
            if not both:
                raise _Unsatisfiable
            out[key] = both if len(both) > 1 else both[0]
        elif key == "enum" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = [v for v in out[key] if v in value]
        elif key == "nullable":
            out[key] = out[key] is True and value is True
        elif key in _BOUND_KEYS_MAX and _number_or_none(value) is not None and _number_or_none(out[key]) is not None:
            out[key] = max(out[key], value)
        elif key in _BOUND_KEYS_MIN and _number_or_none(value) is not None and _number_or_none(out[key]) is not None:
            out[key] = min(out[key], value)
        elif key == "additionalProperties" and value is False:
            out[key] = False
    return out


def _json_copy(value: Any) -> JSONValue:
    result: JSONValue = copy.deepcopy(value)
    return result

