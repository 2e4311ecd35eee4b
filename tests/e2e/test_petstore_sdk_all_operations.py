"""The petstore sample's generated SDK drives its generated gateway through every operation.

Async and sync clients each call every operation of ``samples/petstore/openapi.yaml``
through the gateway (to the sample backend, the function handler and the mock), get
typed models back, get a typed exception for a 4xx, and wait out a 429's
``Retry-After`` from the usage plan's throttle before succeeding.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

from .petstore_scenario import ClientKind, drive, spec_operations, walk_every_operation
from .support import PETSTORE, PetstoreStack, imported_sdk


@pytest.fixture(scope="module")
def operations() -> dict[str, tuple[str, str]]:
    document: Any = YAML(typ="safe").load(PETSTORE / "openapi.yaml")
    return spec_operations(document)


@pytest.fixture(scope="module")
def sdk(petstore_stack: PetstoreStack) -> Iterator[ModuleType]:
    with imported_sdk(petstore_stack.out / "sdk", "petstore_client") as module:
        yield module


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_every_operation_through_the_gateway(
    kind: ClientKind, sdk: ModuleType, petstore_stack: PetstoreStack, operations: dict[str, tuple[str, str]]
) -> None:
    called = walk_every_operation(sdk, kind, petstore_stack.base_url, petstore_stack.new_api_key(), operations)
    assert called == set(operations), f"operations the walk does not call: {sorted(set(operations) - called)}"


def test_enum_member_as_a_query_parameter_sends_its_value(
    sdk: ModuleType, petstore_stack: PetstoreStack, operations: dict[str, tuple[str, str]]
) -> None:
    options = {"base_url": petstore_stack.base_url, "api_key": petstore_stack.new_api_key()}
    with drive(sdk, "sync", operations, **options) as call:
        by_value = call("listPets", limit=100, status="available")
        by_member = call("listPets", limit=100, status=sdk.models.PetStatus.AVAILABLE)
    assert by_value and [p.id for p in by_member] == [p.id for p in by_value]
