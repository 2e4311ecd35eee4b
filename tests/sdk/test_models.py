"""Generated models: JSON round trips, unions, enums, formats, read-only fields."""

from __future__ import annotations

import datetime
import importlib
import uuid
from types import ModuleType
from typing import Any

import pytest


def _module(sdk: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{sdk.__name__}.models.{name}")


PET_JSON: dict[str, Any] = {
    "id": 7,
    "name": "Rex",
    "tag": None,
    "status": "sold",
    "born-at": "2020-01-02T03:04:05Z",
    "owner": {"id": "9f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "nick": "o", "since": 2001},
    "children": [{"id": 8, "name": "Pup", "status": "brand-new"}],
    "labels": {"a": 1},
    "x-unknown": {"kept": True},
}


def test_model_round_trips_losslessly(petstore_sdk: ModuleType) -> None:
    models = petstore_sdk.models
    pet = models.Pet.from_json(PET_JSON)
    assert pet.to_json() == PET_JSON


def test_model_fields_are_typed_values(petstore_sdk: ModuleType) -> None:
    models = petstore_sdk.models
    pet = models.Pet.from_json(PET_JSON)
    assert pet.id == 7 and pet.tag is None
    assert pet.born_at == datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert pet.owner.id == uuid.UUID("9f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
    assert pet.owner.extra_fields == {"since": 2001}
    assert pet.status is models.PetStatus.SOLD
    assert isinstance(pet.children[0], models.Pet)
    assert pet.secret is petstore_sdk.UNSET


def test_enum_is_open_for_response_data(petstore_sdk: ModuleType) -> None:
    pet = petstore_sdk.models.Pet.from_json(PET_JSON)
    assert pet.children[0].status == "brand-new"  # a value added later is kept raw
    assert pet.to_json()["children"][0]["status"] == "brand-new"


def test_enum_case_variants_are_separate_members(petstore_sdk: ModuleType) -> None:
    status = petstore_sdk.models.PetStatus
    assert {m.value for m in status} == {"available", "pending", "sold", "Sold", "SOLD"}
    assert status.SOLD.value == "sold"


def test_decoding_is_lenient_where_servers_drift(petstore_sdk: ModuleType) -> None:
    drifted = {"name": None, "owner": None, "tag": "t"}  # id missing, name null
    pet = petstore_sdk.models.Pet.from_json(drifted)
    assert pet.id is petstore_sdk.UNSET and pet.name is None and pet.owner is None
    assert pet.to_json() == drifted


def test_wrong_json_type_raises_decode_error(petstore_sdk: ModuleType) -> None:
    with pytest.raises(petstore_sdk.DecodeError):
        petstore_sdk.models.Pet.from_json({"id": 1, "name": "a", "children": {"not": "a list"}})


def test_date_time_text_round_trips_exactly(petstore_sdk: ModuleType) -> None:
    data = {"id": 1, "name": "a", "born-at": "2020-01-20T09:42:40.000-08:00"}
    pet = petstore_sdk.models.Pet.from_json(data)
    assert pet.born_at.utcoffset() == datetime.timedelta(hours=-8)
    assert pet.to_json() == data


def test_read_only_fields_are_left_out_of_requests(petstore_sdk: ModuleType) -> None:
    pet = petstore_sdk.models.Pet(id=1, name="a", secret="s")
    assert pet.to_json(request=True) == {"name": "a", "secret": "s"}
    assert pet.to_json() == {"id": 1, "name": "a", "secret": "s"}


def test_discriminated_union_uses_mapping(petstore_sdk: ModuleType) -> None:
    animal = _module(petstore_sdk, "animal")
    cat = animal.decode({"kind": "cat", "lives": 9})
    dog = animal.decode({"kind": "dog", "bark": True})
    assert isinstance(cat, petstore_sdk.models.Cat) and cat.lives == 9
    assert isinstance(dog, petstore_sdk.models.Dog) and dog.bark is True


def test_unknown_variant_keeps_raw_data(petstore_sdk: ModuleType) -> None:
    animal = _module(petstore_sdk, "animal")
    raw = {"kind": "bird", "wings": 2}
    value = animal.decode(raw)
    # no mapping entry: chosen by required properties, both fit, the first wins
    assert isinstance(value, petstore_sdk.models.Cat | petstore_sdk.UnknownVariant)
    assert petstore_sdk._base.jsonable(value) == raw
    assert isinstance(animal.decode(42), petstore_sdk.UnknownVariant)


def test_undiscriminated_union_dispatches_by_required_properties(petstore_sdk: ModuleType) -> None:
    shape = _module(petstore_sdk, "shape")
    circle = shape.decode({"radius": 1.5})
    rect = shape.decode({"width": 2, "height": 3})
    assert type(circle).__name__ == "ShapeVariant1" and circle.radius == 1.5
    assert type(rect).__name__ == "ShapeVariant2" and rect.height == 3
    assert shape.decode("triangle") == "triangle"
    assert isinstance(shape.decode({"sides": 3}), petstore_sdk.UnknownVariant)


def test_all_of_merges_properties(petstore_sdk: ModuleType) -> None:
    named = petstore_sdk.models.NamedPet.from_json({"id": 1, "name": "a", "nickname": "n"})
    assert (named.id, named.name, named.nickname) == (1, "a", "n")
    # the inline owner schema is named after the model that declares it
    assert (
        type(petstore_sdk.models.NamedPet.from_json({**PET_JSON, "nickname": "n"}).owner).__name__
        == "PetOwner"
    )


def test_models_resolve_through_the_lazy_package(petstore_sdk: ModuleType) -> None:
    assert "Dog" in dir(petstore_sdk.models)
    assert petstore_sdk.models.Dog.__module__ == petstore_sdk.__name__ + ".models.dog"
