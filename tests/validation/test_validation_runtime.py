"""The run-time helpers that generated validators call."""

from __future__ import annotations

import pytest
from gatewright.runtime import validation as gwv
from gatewright.runtime.errors import ValidationFailure
from multidict import MultiDict, MultiDictProxy


def test_invalid_becomes_a_located_failure() -> None:
    signal = gwv.Invalid("/name", "expected string, got integer")
    signal.prefix("/items/3")
    failure = signal.failure("body")
    assert isinstance(failure, ValidationFailure)
    assert failure.pointer == "/items/3/name"
    assert failure.message == '"/items/3/name": expected string, got integer'
    assert failure.response_type == "BAD_REQUEST_BODY"
    assert gwv.Invalid("x", "y").failure("parameters").response_type == "BAD_REQUEST_PARAMETERS"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "integer"),
        (1.5, "number"),
        ("", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_type_names_are_json_names(value: object, name: str) -> None:
    assert gwv.type_name(value) == name


def test_json_key_follows_json_equality() -> None:
    assert gwv.json_key(1) == gwv.json_key(1.0)
    assert gwv.json_key(True) != gwv.json_key(1)
    assert gwv.json_key([1, {"a": None}]) == gwv.json_key([1.0, {"a": None}])
    assert gwv.json_key({"a": 1, "b": 2}) == gwv.json_key({"b": 2, "a": 1})
    assert gwv.json_key("1") != gwv.json_key(1)


def test_multiple_of_matches_reference_arithmetic() -> None:
    assert gwv.is_multiple_of(10, 5)
    assert not gwv.is_multiple_of(10, 3)
    assert gwv.is_multiple_of(7.5, 2.5)
    assert not gwv.is_multiple_of(7.4, 2.5)
    assert not gwv.is_multiple_of(1e308, 1e-308)  # overflow is a failure, not a crash


@pytest.mark.parametrize(
    ("content_type", "media"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ("", ""),
    ],
)
def test_media_type_drops_parameters_and_case(content_type: str, media: str) -> None:
    assert gwv.media_type(content_type) == media


def test_parse_json_refuses_non_json_and_deep_nesting() -> None:
    assert gwv.parse_json(b' {"a": [1, 2.5, null]} ') == {"a": [1, 2.5, None]}
    for raw in (b"NaN", b"[Infinity]", b"{", b"\xff\xfe", b"[1] [2]"):
        with pytest.raises(gwv.Invalid):
            gwv.parse_json(raw)
    wide = b"[" + b",".join(b"[]" for _ in range(1000)) + b"]"
    assert gwv.parse_json(wide, max_depth=2) is not None
    with pytest.raises(gwv.Invalid, match="nesting"):
        gwv.parse_json(b"[[[]]]", max_depth=2)


def test_scalar_conversions() -> None:
    assert gwv.as_integer("-12", "p") == -12
    assert gwv.as_number("2.5e3", "p") == 2500.0
    assert gwv.as_number("7", "p") == 7
    assert gwv.as_boolean("false", "p") is False
    for convert, text in (
        (gwv.as_integer, "1.0"),
        (gwv.as_integer, " 1"),
        (gwv.as_integer, "١"),
        (gwv.as_number, "inf"),
        (gwv.as_number, "1_0"),
        (gwv.as_boolean, "True"),
    ):
        with pytest.raises(gwv.Invalid) as caught:
            convert(text, "query/x")
        assert caught.value.pointer == "query/x"


def test_style_helpers() -> None:
    assert gwv.split_pairs("R,100,G,200", ",", "p") == {"R": "100", "G": "200"}
    assert gwv.split_assignments(["R=100", "G="], "p") == {"R": "100", "G": ""}
    assert gwv.strip_prefix(".a.b", ".", "p") == "a.b"
    assert gwv.matrix_list(";id=3;id=4", "id", "p") == ["3", "4"]
    for call in (
        lambda: gwv.split_pairs("R,100,G", ",", "p"),
        lambda: gwv.split_assignments(["R"], "p"),
        lambda: gwv.strip_prefix("a", ".", "p"),
        lambda: gwv.matrix_list(";other=3", "id", "p"),
        lambda: gwv.matrix_list("id=3", "id", "p"),
    ):
        with pytest.raises(gwv.Invalid):
            call()


def test_query_object_helpers() -> None:
    query = MultiDictProxy(
        MultiDict([("f[a]", "1"), ("f[a]", "2"), ("f[b]", "x"), ("g", "y"), ("R", "1")])
    )
    assert gwv.deep_object(query, "f") == {"a": "1", "b": "x"}
    assert gwv.deep_object(query, "h") is None
    assert gwv.pick_fields(query, frozenset({"R", "G"})) == {"R": "1"}
    assert gwv.pick_fields(query, frozenset({"G"})) is None


def test_coerce_fields_names_the_member_on_failure() -> None:
    converters: dict[str, gwv.Converter] = {"n": gwv.as_integer}
    assert gwv.coerce_fields({"n": "3", "s": "x"}, converters, gwv.as_string, "query/o") == {
        "n": 3,
        "s": "x",
    }
    with pytest.raises(gwv.Invalid) as caught:
        gwv.coerce_fields({"n": "x"}, converters, gwv.as_string, "query/o")
    assert caught.value.pointer == "query/o/n"


def test_form_fields_and_form_object() -> None:
    fields = gwv.form_fields(b"a=1&a=2&b=x+y&c=%C3%A9&d=")
    assert fields == {"a": ["1", "2"], "b": ["x y"], "c": ["é"], "d": [""]}
    document = gwv.form_object(fields, {"b": gwv.as_string}, {"a": (gwv.as_integer, None)})
    assert document == {"a": [1, 2], "b": "x y", "c": "é", "d": ""}
    with pytest.raises(gwv.Invalid):
        gwv.form_fields(b"a=%ff")


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (gwv.is_date, ["2024-02-29"], ["2023-02-29", "2024-2-1", "20240101"]),
        (gwv.is_time, ["00:00:00Z", "23:59:59.123456789+14:00"], ["24:00:00Z", "12:00:00"]),
        (gwv.is_date_time, ["2024-01-01T00:00:00z"], ["2024-01-01T00:00:00", "2024-01-01"]),
        (
            gwv.is_uuid,
            ["00000000-0000-0000-0000-00000000000A"],
            ["{00000000-0000-0000-0000-000000000000}"],
        ),
        (gwv.is_ipv4, ["0.0.0.0"], ["01.0.0.0", "1.2.3"]),
        (gwv.is_ipv6, ["2001:db8::1"], ["2001:db8:::1"]),
        (gwv.is_uri, ["urn:isbn:0451450523", "http://x"], ["//x", "a b:c"]),
        (gwv.is_byte, ["", "YQ=="], ["YQ", "é"]),
        (gwv.is_email, ['"a@b"@c'], ["ab"]),
    ],
)
def test_formats(check: object, good: list[str], bad: list[str]) -> None:
    assert callable(check)
    assert all(check(text) for text in good)
    assert not any(check(text) for text in bad)


def test_integer_ranges() -> None:
    assert gwv.is_int32(2**31 - 1) and not gwv.is_int32(2**31)
    assert gwv.is_int64(-(2**63)) and not gwv.is_int64(-(2**63) - 1)


def test_matches_and_duplicates() -> None:
    def positive(value: object) -> None:
        if not (type(value) is int and value > 0):
            raise gwv.Invalid("", "expected a positive integer")

    assert gwv.matches(positive, 1)
    assert not gwv.matches(positive, 0)
    assert gwv.has_duplicates([{"a": 1}, {"a": 1.0}])
    assert not gwv.has_duplicates([0, False, None, "0"])
    assert gwv.escape("a/b~c") == "/a~1b~0c"
    assert gwv.escape(3) == "/3"
