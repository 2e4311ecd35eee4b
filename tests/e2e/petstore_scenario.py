"""One walk through every petstore operation with a generated SDK, async or sync.

Used twice: with the SDK compiled from ``samples/petstore/openapi.yaml`` and with the
SDK compiled from its exported public document. Both drive the gateway compiled from
the original spec, which forwards to the sample backend.

The walk is written once, as plain calls; ``Driver`` turns each call into a result
for either client: the sync client returns it, the async client's coroutine runs on
one event loop that lives as long as the client.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal

import pytest

__all__ = ["ClientKind", "Driver", "drive", "spec_operations", "walk_every_operation"]

ClientKind = Literal["async", "sync"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# the usage plan ``demo`` lets a key call getInventory twice, then refills one call
# every 5 s; the SDK has to wait that out
_INVENTORY_BURST = 2
_INVENTORY_REFILL_SECONDS = 5.0


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").lower()


def spec_operations(document: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId -> (client namespace, method name), for every operation of ``document``.

    Namespaces come from the first tag, method names from the operationId, both in
    snake case: the SDK's documented naming for these simple names.
    """
    found: dict[str, tuple[str, str]] = {}
    for item in document["paths"].values():
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                op_id = str(op["operationId"])
                found[op_id] = (_snake(str(op["tags"][0])), _snake(op_id))
    return found


class Driver:
    """Calls operations by operationId and records which ones ran."""

    def __init__(self, client: Any, settle: Callable[[Any], Any], operations: Mapping[str, tuple[str, str]]) -> None:
        self._client = client
        self._settle = settle
        self._operations = operations
        self.called: set[str] = set()

    def _method(self, op_id: str) -> Any:
        namespace, name = self._operations[op_id]
        return getattr(getattr(self._client, namespace), name)

    def __call__(self, op_id: str, **arguments: Any) -> Any:
        """The typed result of operation ``op_id``."""
        self.called.add(op_id)
        return self._settle(self._method(op_id)(**arguments))

    def raw(self, op_id: str, **arguments: Any) -> Any:
        """The raw response of operation ``op_id`` (status, headers, retries, ``parse()``)."""
        self.called.add(op_id)
        return self._settle(self._method(op_id).raw(**arguments))


@contextmanager
def drive(sdk: ModuleType, kind: ClientKind, operations: Mapping[str, tuple[str, str]], **options: Any) -> Iterator[Driver]:
    """A ``Driver`` over a new client of ``kind``, closed on exit."""
    if kind == "sync":
        with sdk.Client(**options) as client:
            yield Driver(client, lambda result: result, operations)
        return
    with asyncio.Runner() as runner:

        async def open_client() -> Any:
            return sdk.AsyncClient(**options)

        client = runner.run(open_client())
        try:
            yield Driver(client, runner.run, operations)
        finally:
            runner.run(client.close())


def walk_every_operation(sdk: ModuleType, kind: ClientKind, base_url: str, api_key: str, operations: Mapping[str, tuple[str, str]]) -> set[str]:
    """Call every operation through the gateway, check the typed answers, return the operationIds called.

    ``api_key`` must be fresh: the walk spends its whole getInventory allowance.
    """
    models = sdk.models
    with drive(sdk, kind, operations, base_url=base_url, api_key=api_key, max_retries=2) as call:
        everyone = call("listPets", limit=100)
        assert isinstance(everyone, list) and everyone
        assert all(isinstance(p, models.Pet) for p in everyone)
        rex = next(p for p in everyone if p.id == 1)  # the backend's seed
        assert (rex.name, rex.species, rex.status) == ("Rex", models.PetSpecies.DOG, models.PetStatus.AVAILABLE)

        created = call(
            "createPet",
            body={
                "name": f"Mia {kind}",
                "species": "cat",
                "status": "pending",
                "birthDate": "2021-04-05",
                "weightKg": 4.2,
                "tags": ["indoor", "calm"],
                "microchip": None,
                "owner": {"email": "ada@example.com"},
            },
        )
        assert isinstance(created, models.Pet)
        assert created.id > 1 and created.name == f"Mia {kind}"
        assert created.species == models.PetSpecies.CAT and created.status == models.PetStatus.PENDING
        assert created.birth_date == datetime.date(2021, 4, 5)
        assert created.weight_kg == pytest.approx(4.2) and created.tags == ["indoor", "calm"]
        assert created.microchip is None
        assert isinstance(created.owner, models.PetOwner) and created.owner.email == "ada@example.com"

        # the body may also be the request model instead of a dict
        second = call("createPet", body=models.NewPet(name=f"Bo {kind}", species=models.NewPetSpecies.DOG))
        assert isinstance(second, models.Pet) and second.name == f"Bo {kind}" and second.id != created.id

        fetched = call("getPet", pet_id=created.id)
        assert isinstance(fetched, models.Pet) and fetched == created

        pending = call("listPets", limit=100, status="pending", tags=["indoor"])
        assert created.id in {p.id for p in pending}
        assert all(p.status == models.PetStatus.PENDING for p in pending)

        adoption = call("adoptPet", pet_id=created.id, body={"adopter": "Ada", "note": "a good home"})
        assert isinstance(adoption, models.Adoption)
        assert (adoption.pet_id, adoption.adopter) == (created.id, "Ada")
        assert re.fullmatch(r"[0-9a-f]{16}", adoption.certificate)

        assert call("deletePet", pet_id=second.id) is None
        assert second.id not in {p.id for p in call("listPets", limit=100)}

        _check_typed_4xx(sdk, call, absent_id=created.id + 1_000_000)

        inventory = call("getInventory")
        assert inventory == {"available": 12, "pending": 3, "sold": 40}
        assert all(isinstance(v, int) for v in inventory.values())
        _check_429_is_retried(sdk, call)
        return call.called


def _check_typed_4xx(sdk: ModuleType, call: Driver, *, absent_id: int) -> None:
    # a 404 from the backend, with the error body the spec declares for getPet
    with pytest.raises(sdk.NotFoundError) as missing:
        call("getPet", pet_id=absent_id)
    assert isinstance(missing.value, sdk.ApiStatusError)
    assert missing.value.status == 404
    assert isinstance(missing.value.body, sdk.models.Error)
    assert missing.value.body.message == "no such pet"

    # a 400 from the gateway's body validation: the backend never sees it
    with pytest.raises(sdk.BadRequestError) as invalid:
        call("createPet", body={"name": "", "species": "cat"})
    err = invalid.value
    assert type(err) is sdk.BadRequestError and isinstance(err, sdk.ClientStatusError)
    assert err.status == 400
    assert err.headers.get("X-Gateway-Error-Type") == "BAD_REQUEST_BODY"
    assert err.request_id
    assert isinstance(err.body, sdk.models.Error)
    assert "/name" in err.body.message


def _check_429_is_retried(sdk: ModuleType, call: Driver) -> None:
    for _ in range(_INVENTORY_BURST - 1):  # one call of the burst is already spent
        call("getInventory")
    # without retries the throttle's 429 surfaces as the typed exception
    with pytest.raises(sdk.RateLimitError) as throttled:
        call("getInventory", max_retries=0)
    assert throttled.value.status == 429
    assert throttled.value.headers.get("X-Gateway-Error-Type") == "THROTTLED"
    retry_after = float(throttled.value.headers["Retry-After"])
    assert 1 <= retry_after <= _INVENTORY_REFILL_SECONDS + 1

    # with retries the SDK waits out Retry-After and then succeeds
    started = time.monotonic()
    answer = call.raw("getInventory", max_retries=2)
    waited = time.monotonic() - started
    assert answer.status == 200
    assert answer.retries >= 1, "the SDK did not retry the throttled call"
    assert waited >= retry_after - 2.5, f"the SDK retried after {waited:.2f}s, before Retry-After ({retry_after}s)"
    assert answer.parse() == {"available": 12, "pending": 3, "sold": 40}
