"""Helpers that generated request validators call.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

The compiler turns every schema into straight-line Python in the generated
``validation`` module; what lives here are the few checks that are easier to get
right once (formats, JSON equality, multipleOf, parsing JSON and form bodies) and
the :class:`Invalid` signal the generated code raises. Generated functions turn
:class:`Invalid` into :class:`~gatewright.runtime.errors.ValidationFailure` at
their boundary, so pointers are only built when a request actually fails.

Example (what generated code does)::

    try:
        if type(v) is not int:
            raise gwv.Invalid("/age", gwv.expected("integer", v))
    except gwv.Invalid as exc:
        raise exc.failure("body") from None
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time
from functools import lru_cache
from typing import Literal, TypeAlias
from urllib.parse import parse_qsl

from aiohttp.helpers import parse_mimetype
from multidict import MultiMapping

from .errors import ValidationFailure

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MISSING",
    "Converter",
    "Invalid",
    "JsonKey",
    "Query",
    "as_boolean",
    "as_integer",
    "as_number",
    "as_string",
    "coerce_fields",
    "deep_object",
    "escape",
    "expected",
    "form_fields",
    "form_object",
    "has_duplicates",
    "is_byte",
    "is_date",
    "is_date_time",
    "is_email",
    "is_int32",
    "is_int64",
    "is_ipv4",
    "is_ipv6",
    "is_multiple_of",
    "is_time",
    "is_uri",
    "is_uuid",
    "json_key",
    "matches",
    "matrix_list",
    "media_type",
    "parse_json",
    "parse_json_text",
    "pick_fields",
    "split_assignments",
    "split_pairs",
    "strip_prefix",
    "type_name",
]

DEFAULT_MAX_DEPTH = 64

Query: TypeAlias = MultiMapping[str]
Converter: TypeAlias = Callable[[str, str], object]
JsonKey: TypeAlias = tuple[object, ...]


class _Missing:
    """Marks an absent object member (``None`` is JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Invalid(Exception):
    """A value failed a check; ``pointer`` is relative to the function that raised.

    Callers of a nested check prefix the pointer on the way out, so a pointer is
    only assembled on failure.
    """

    __slots__ = ("pointer", "reason")

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(pointer, reason)
        self.pointer = pointer
        self.reason = reason

    def prefix(self, pointer: str) -> None:
        self.pointer = pointer + self.pointer

    def failure(self, kind: Literal["parameters", "body"]) -> ValidationFailure:
        where = f'"{self.pointer}"' if self.pointer else "request body"
        return ValidationFailure(kind, self.pointer, f"{where}: {self.reason}")


# --------------------------------------------------------------------------- types


_TYPE_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def expected(what: str, value: object) -> str:
    """The reason text for a type mismatch: ``expected integer, got string``."""
    return f"expected {what}, got {type_name(value)}"


def escape(token: str | int) -> str:
    """One RFC 6901 pointer token, with its leading slash."""
    return "/" + str(token).replace("~", "~0").replace("/", "~1")


def json_key(value: object) -> JsonKey:
    """A hashable key under which JSON-equal values are equal.

    Python says ``True == 1`` and ``[1] != (1,)``; JSON Schema says neither, and
    says ``1 == 1.0``.
    """
    if value is None:
        return ("null",)
    if value is True or value is False:
        return ("boolean", value)
    if type(value) is int or type(value) is float:
        return ("number", value)
    if type(value) is str:
        return ("string", value)
    if type(value) is list:
        return ("array", tuple(json_key(item) for item in value))
    if type(value) is dict:
        return ("object", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("other", id(value))


def has_duplicates(items: Sequence[object]) -> bool:
    seen: set[JsonKey] = set()
    for item in items:
        key = json_key(item)
        if key in seen:
            return True
        seen.add(key)
    return False


def is_multiple_of(value: int | float, divisor: int | float) -> bool:
    # Same arithmetic as the reference validator: exact for ints, quotient test for floats.
    if type(value) is int and type(divisor) is int:
        return value % divisor == 0
    try:
        quotient = value / divisor
        return int(quotient) == quotient
    except OverflowError:
        return False


def matches(check: Callable[[object], None], value: object) -> bool:
    """Whether ``value`` passes ``check`` (for anyOf, oneOf and not)."""
    try:
        check(value)
    except Invalid:
        return False
    return True


# --------------------------------------------------------------------------- formats

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_TIME = re.compile(
    r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*")


def is_date(text: str) -> bool:
    if _DATE.fullmatch(text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_time(text: str) -> bool:
    if _TIME.fullmatch(text) is None:
        return False
    # the syntax is checked above; fromisoformat checks the ranges (hour 0..23, ...)
    try:
        time.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


def is_date_time(text: str) -> bool:
    if len(text) < 20 or text[10] not in "Tt ":
        return False
    return is_date(text[:10]) and is_time(text[11:])


def is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


def is_email(text: str) -> bool:
    # deliberately as lax as the reference validator: quoted local parts may hold "@"
    return "@" in text


def is_uri(text: str) -> bool:
    return _URI.fullmatch(text) is not None


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def is_byte(text: str) -> bool:
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    return True


def is_int32(value: int | float) -> bool:
    return -(2**31) <= value <= 2**31 - 1


def is_int64(value: int | float) -> bool:
    return -(2**63) <= value <= 2**63 - 1


# --------------------------------------------------------------------------- bodies


@lru_cache(maxsize=256)
def media_type(content_type: str) -> str:
    """``type/subtype`` in lower case, without parameters ("" when there is none)."""
    if not content_type:
        return ""
    parsed = parse_mimetype(content_type)
    if not parsed.type:
        return ""
    subtype = parsed.subtype + ("+" + parsed.suffix if parsed.suffix else "")
    return f"{parsed.type}/{subtype}".lower()


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# one decoder: json.loads with keyword arguments builds a new decoder on every call
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _too_deep(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if type(node) is dict:
            stack.extend((child, depth + 1) for child in node.values() if type(child) in _NESTED)
        elif type(node) is list:
            stack.extend((child, depth + 1) for child in node if type(child) in _NESTED)
    return False


_NESTED = (dict, list)


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Parse a JSON body, refusing bad syntax and nesting deeper than ``max_depth``."""
    try:
        # RFC 8259: JSON exchanged between systems is UTF-8
        value = _DECODER.decode(raw.decode("utf-8"))
    except RecursionError:
        raise Invalid("", f"nesting is deeper than {max_depth} levels") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Invalid("", "expected a valid JSON document") from None
    # counting brackets is C speed and proves most bodies shallow without a walk
    if raw.count(b"[") + raw.count(b"{") > max_depth and _too_deep(value, max_depth):
        raise Invalid("", f"nesting is deeper than {max_depth} levels")
    return value


def parse_json_text(text: str, pointer: str) -> object:
    """Parse a ``content``-encoded (JSON) parameter value."""
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise Invalid(pointer, "expected a valid JSON value") from None


def form_fields(raw: bytes) -> dict[str, list[str]]:
    """Decode an ``application/x-www-form-urlencoded`` body into its fields."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Invalid("", "expected a valid form-urlencoded body") from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


# --------------------------------------------------------------------------- parameters

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def as_integer(text: str, pointer: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise Invalid(pointer, "expected integer")
    return int(text)


def as_number(text: str, pointer: str) -> int | float:
    if _INTEGER.fullmatch(text) is not None:
        return int(text)
    if _NUMBER.fullmatch(text) is None:
        raise Invalid(pointer, "expected number")
    return float(text)


def as_boolean(text: str, pointer: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise Invalid(pointer, "expected boolean (true or false)")


def as_string(text: str, pointer: str) -> str:
    return text


def split_pairs(text: str, separator: str, pointer: str) -> dict[str, str]:
    """``R,100,G,200`` (separator ``,``) into ``{"R": "100", "G": "200"}``."""
    parts = text.split(separator)
    if len(parts) % 2:
        raise Invalid(pointer, "expected name and value pairs")
    return dict(zip(parts[::2], parts[1::2], strict=True))


def split_assignments(parts: Sequence[str], pointer: str) -> dict[str, str]:
    """``["R=100", "G=200"]`` into ``{"R": "100", "G": "200"}``."""
    fields: dict[str, str] = {}
    for part in parts:
        name, equals, value = part.partition("=")
        if not equals:
            raise Invalid(pointer, "expected name=value pairs")
        fields[name] = value
    return fields


def deep_object(query: Query, name: str) -> dict[str, str] | None:
    """The ``name[prop]=value`` members of a deepObject parameter (None when absent)."""
    fields: dict[str, str] | None = None
    opening = name + "["
    for key, value in query.items():
        if key.startswith(opening) and key.endswith("]"):
            if fields is None:
                fields = {}
            fields.setdefault(key[len(opening) : -1], value)
    return fields


def coerce_fields(
    fields: Mapping[str, str],
    converters: Mapping[str, Converter],
    default: Converter,
    pointer: str,
) -> dict[str, object]:
    """Convert the string members of an object parameter by their declared types."""
    document: dict[str, object] = {}
    for name, value in fields.items():
        try:
            document[name] = converters.get(name, default)(value, "")
        except Invalid as exc:  # the pointer is only built on failure
            exc.prefix(pointer + escape(name))
            raise
    return document


def strip_prefix(text: str, prefix: str, pointer: str) -> str:
    """The value after a label (``.``) or matrix (``;name=``) prefix."""
    if not text.startswith(prefix):
        raise Invalid(pointer, "expected a value in the declared style")
    return text[len(prefix) :]


def matrix_list(text: str, name: str, pointer: str) -> list[str]:
    """``;id=3;id=4`` (matrix, exploded) into ``["3", "4"]``."""
    opening = name + "="
    values: list[str] = []
    for part in text.split(";")[1:] if text.startswith(";") else ():
        if not part.startswith(opening):
            raise Invalid(pointer, "expected a value in the declared style")
        values.append(part[len(opening) :])
    if not values:
        raise Invalid(pointer, "expected a value in the declared style")
    return values


def pick_fields(query: Query, names: frozenset[str]) -> dict[str, str] | None:
    """The members of an exploded form object (None when none is present)."""
    fields = {name: value for name, value in query.items() if name in names}
    return fields or None


def form_object(
    fields: Mapping[str, list[str]],
    scalars: Mapping[str, Converter],
    arrays: Mapping[str, tuple[Converter, str | None]],
) -> dict[str, object]:
    """A form body as an object: declared arrays as lists, everything else its first value.

    ``arrays`` maps a field to its item converter and its separator (None when the
    field is repeated, i.e. exploded).
    """
    document: dict[str, object] = {}
    for name, values in fields.items():
        try:
            if name in arrays:
                convert, separator = arrays[name]
                items = values if separator is None else values[0].split(separator)
                document[name] = [convert(item, "") for item in items]
            else:
                document[name] = scalars.get(name, as_string)(values[0], "")
        except Invalid as exc:
            exc.prefix(escape(name))
            raise
    return document
