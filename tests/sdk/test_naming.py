"""Naming rules of the SDK view: enum members, namespaces, identifiers, collisions."""

from __future__ import annotations

import random

from gatewright.compiler.emit.sdk_naming import (
    allocate,
    enum_member_names,
    method_and_namespace,
    pascal,
    safe_identifier,
    snake,
)


def test_enum_members_of_case_variants_are_distinct_and_order_independent() -> None:
    values = ["add", "Add", "ADD", "remove"]
    names = dict(zip(values, enum_member_names(values), strict=True))
    assert len(set(names.values())) == 4
    assert names["add"] == "ADD" and names["remove"] == "REMOVE"
    shuffled = values[::-1]
    assert dict(zip(shuffled, enum_member_names(shuffled), strict=True)) == names


def test_enum_members_keep_punctuation_meaning() -> None:
    names = enum_member_names(["GMT0", "GMT+0", "GMT-0", "Etc/GMT-14"])
    assert len(set(names)) == 4
    assert all(n.isidentifier() for n in names)
    assert names[1] == "GMT_PLUS_0"


def test_enum_members_are_identifiers_for_hostile_values() -> None:
    names = enum_member_names(["", "1st", "class", "_private", "名前", 3.5, True])
    assert all(n.isidentifier() and not n.startswith("_") for n in names), names
    assert len(set(names)) == len(names)


def test_integer_enum_members() -> None:
    assert enum_member_names([1, -1, 10]) == ["VALUE_1", "VALUE_MINUS_1", "VALUE_10"]


def test_namespace_from_operation_id_parts() -> None:
    assert method_and_namespace("repos/add-collaborator", ("repos",)) == (
        "repos",
        "add_collaborator",
    )
    assert method_and_namespace("quotes.update", ()) == ("quotes", "update")


def test_namespace_from_first_tag_then_root() -> None:
    assert method_and_namespace("listPets", ("Pet Store", "x")) == ("pet_store", "list_pets")
    assert method_and_namespace("listPets", ()) == (None, "list_pets")


def test_identifiers_are_safe() -> None:
    assert snake("class") == "class_"
    assert snake("2fa-enabled") == "n2_fa_enabled"
    assert pascal("simple-user") == "SimpleUser"
    assert pascal("café") == "Cafe"
    assert safe_identifier("json", reserved={"json"}) == "json_"
    assert safe_identifier("match") == "match_"


def test_allocate_is_order_independent_and_case_insensitive() -> None:
    candidates = [("#/b", "Pet"), ("#/a", "Pet"), ("#/c", "pet")]
    first = allocate(candidates)
    random.Random(1).shuffle(candidates)
    assert allocate(candidates) == first == {"#/a": "Pet", "#/b": "Pet2", "#/c": "pet3"}


def test_allocate_respects_taken_names() -> None:
    assert allocate([("k", "close")], taken={"close"}) == {"k": "close2"}


def test_digits_stay_with_their_word() -> None:
    assert enum_member_names(["GMT0", "GMT-0"]) == ["GMT0", "GMT_0"]
    assert snake("oauth2Token") == "oauth2_token"
