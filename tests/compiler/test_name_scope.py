"""``NameScope``: every generated identifier is valid, never a keyword, and unique."""

from __future__ import annotations

import keyword
import unicodedata

import pytest
from gatewright.compiler.ir.naming import NameScope, pascal_case, snake_case


@pytest.mark.parametrize("word", ["class", "def", "import", "lambda", "async", "await", "from"])
def test_keywords_get_a_trailing_underscore(word: str) -> None:
    assert NameScope().snake(word) == word + "_"


@pytest.mark.parametrize("word", ["None", "True", "False"])
def test_constant_keywords_are_never_class_names(word: str) -> None:
    assert NameScope().pascal(word) == word + "_"


@pytest.mark.parametrize("word", ["match", "case", "type", "_"])
def test_soft_keywords_are_avoided(word: str) -> None:
    name = NameScope().snake(word, fallback="value")
    assert name.isidentifier()
    assert not keyword.issoftkeyword(name)


@pytest.mark.parametrize(("text", "expected"), [("2fa", "n2fa"), ("404", "n404"), ("3d-model", "n3d_model")])
def test_names_starting_with_a_digit_get_a_prefix(text: str, expected: str) -> None:
    assert NameScope().snake(text) == expected
    assert NameScope().pascal(text)[0] == "N"


def test_case_conversion() -> None:
    assert snake_case("listPetsByID") == "list_pets_by_id"
    assert snake_case("GET /pets/{petId}") == "get_pets_pet_id"
    assert pascal_case("pet-store item") == "PetStoreItem"
    assert snake_case("GMT+0", spell_symbols=True) != snake_case("GMT-0", spell_symbols=True)


def test_unicode_letters_are_kept() -> None:
    name = NameScope().snake("größe")
    assert name == "größe"
    assert name.isidentifier()


def test_nfkc_equivalent_names_collide() -> None:
    scope = NameScope()
    first = scope.snake("ﬁle")  # the "fi" ligature folds to "fi" under NFKC
    second = scope.snake("file")
    assert unicodedata.normalize("NFKC", first) == "file"
    assert second == "file_"


def test_hostile_names_become_identifiers() -> None:
    scope = NameScope()
    for text in ["", "   ", "$$$", "a b\tc", "x-y.z", "'; DROP TABLE", "名前"]:
        name = scope.snake(text, fallback="param")
        assert name.isidentifier(), text
        assert not keyword.iskeyword(name)


def test_collisions_get_an_underscore_then_numbers() -> None:
    scope = NameScope()
    assert [scope.snake(t) for t in ["pet-id", "pet_id", "petId", "PetId"]] == ["pet_id", "pet_id_", "pet_id_2", "pet_id_3"]


def test_case_only_collisions_with_ignore_case() -> None:
    scope = NameScope(ignore_case=True)
    assert scope.pascal("Pet") == "Pet"
    assert scope.pascal("PET") == "PET_"
    assert scope.claim("pet") == "pet_2"
    plain = NameScope()
    assert plain.pascal("Pet") == "Pet"
    assert plain.claim("pet") == "pet"


def test_reserved_names_are_never_handed_out() -> None:
    scope = NameScope(reserved=("request", "json"))
    assert scope.snake("request") == "request_"
    assert scope.snake("json") == "json_"
    assert scope.taken("request")


def test_keyword_collisions_stay_valid() -> None:
    scope = NameScope()
    assert scope.snake("class") == "class_"
    assert scope.snake("class_") == "class_2"
