"""Request building of generated clients, checked on the wire through MockTransport."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

JSON_PET = {"id": 1, "name": "Rex"}


def _client(sdk: ModuleType, handler: Any = None, **kw: Any) -> tuple[Any, Any]:
    transport = sdk.MockTransport(
        handler or (lambda req: sdk.HttpResponse.from_json(200, [JSON_PET]))
    )
    return sdk.AsyncClient(base_url="http://api.test/v1", transport=transport, **kw), transport


async def test_query_header_cookie_and_deep_object(petstore_sdk: ModuleType) -> None:
    client, transport = _client(petstore_sdk)
    pets = await client.pets.list_pets(
        limit=5, tags=["a b", "c"], filter={"kind": "dog"}, x_trace="t-1", session="s1"
    )
    assert [p.name for p in pets] == ["Rex"]
    req = transport.requests[0]
    assert req.method == "GET"
    assert req.url == "http://api.test/v1/pets?limit=5&tags=a%20b&tags=c&filter[kind]=dog"
    assert req.header("X-Trace") == "t-1"
    assert req.header("Cookie") == "session=s1"


async def test_path_parameter_named_quote_and_shadowing_names(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk, lambda req: petstore_sdk.HttpResponse.from_json(200, {"ok": True})
    )
    result = await client.quotes.update(
        quote="qt/1", json="j", self_="s", timeout_=3, body={"amount": 5}
    )
    assert result.ok is True
    req = transport.requests[0]
    assert req.path == "/v1/quotes/qt%2F1"
    assert req.query == [("json", "j"), ("self", "s"), ("timeout", "3")]


async def test_form_body_uses_bracket_notation(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk, lambda req: petstore_sdk.HttpResponse.from_json(200, {})
    )
    body = petstore_sdk.models.QuotesUpdateBody(
        address=petstore_sdk.models.QuotesUpdateBodyAddress(line1="1 Main St", city="X"),
        metadata={"k": "v"},
        preferred_locales=["en", "fr"],
    )
    await client.quotes.update(quote="q", body=body)
    req = transport.requests[0]
    assert req.header("Content-Type") == "application/x-www-form-urlencoded"
    from urllib.parse import parse_qsl

    assert parse_qsl(req.content.decode()) == [
        ("address[line1]", "1 Main St"),
        ("address[city]", "X"),
        ("metadata[k]", "v"),
        ("preferred_locales[0]", "en"),
        ("preferred_locales[1]", "fr"),
    ]


async def test_json_body_accepts_model_or_dict(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk, lambda req: petstore_sdk.HttpResponse.from_json(201, JSON_PET)
    )
    pet = petstore_sdk.models.Pet(id=99, name="Rex", status=petstore_sdk.models.PetStatus.SOLD)
    created = await client.pets.create_pet(body=pet)
    await client.pets.create_pet(body={"name": "Rex", "status": "sold"})
    first, second = (json.loads(r.content) for r in transport.requests)
    assert first == {"name": "Rex", "status": "sold"}  # read-only id left out
    assert second == {"name": "Rex", "status": "sold"}
    assert created.id == 1
    assert transport.requests[0].header("Content-Type") == "application/json"


async def test_multipart_with_file(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk,
        lambda req: petstore_sdk.HttpResponse(
            200, headers={"Content-Type": "text/plain"}, content=b"stored"
        ),
    )
    text = await client.pets.upload_photo(
        pet_id=3,
        body={"file": ("cat.png", b"\x89PNG", "image/png"), "caption": "hi", "meta": {"a": 1}},
    )
    assert text == "stored"
    req = transport.requests[0]
    assert req.header("Content-Type").startswith("multipart/form-data; boundary=")
    assert b'filename="cat.png"' in req.content and b"\x89PNG" in req.content
    assert b'{"a": 1}' in req.content and b"hi" in req.content


async def test_binary_response_and_root_operation(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk,
        lambda req: petstore_sdk.HttpResponse(
            200, headers={"Content-Type": "application/octet-stream"}, content=b"\x00\x01"
        ),
    )
    assert await client.download(path="a b") == b"\x00\x01"
    assert transport.requests[0].path == "/v1/files/a%20b"


async def test_auth_alternatives_and_explicit_anonymous(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk,
        lambda req: (
            petstore_sdk.HttpResponse(204)
            if req.method == "DELETE"
            else petstore_sdk.HttpResponse.from_json(200, JSON_PET)
        ),
        token="tok",
        basic=("u", "p"),
    )
    await client.pets.get(pet_id=1)
    await client.pets.delete(pet_id=1)
    await client.download(path="x")
    get, delete, download = transport.requests
    assert get.header("Authorization") == "Bearer tok"  # api_key absent: second alternative
    assert delete.header("Authorization") == "Basic dTpw"
    assert download.header("Authorization") is None


async def test_api_key_header(petstore_sdk: ModuleType) -> None:
    client, transport = _client(petstore_sdk, api_key="k1", token="tok")
    await client.pets.list_pets()
    assert transport.requests[0].header("X-API-Key") == "k1"
    assert transport.requests[0].header("Authorization") is None


async def test_per_call_extras(petstore_sdk: ModuleType) -> None:
    client, transport = _client(petstore_sdk)
    await client.pets.list_pets(extra_headers={"X-Extra": "1"}, extra_query={"debug": "yes"})
    req = transport.requests[0]
    assert req.header("X-Extra") == "1" and req.query[-1] == ("debug", "yes")


async def test_typed_error_body_and_status_family(petstore_sdk: ModuleType) -> None:
    client, _ = _client(
        petstore_sdk,
        lambda req: petstore_sdk.HttpResponse.from_json(
            404, {"code": 404, "message": "no"}, headers={"X-Request-Id": "r-1"}
        ),
    )
    with pytest.raises(petstore_sdk.NotFoundError) as info:
        await client.pets.get(pet_id=1)
    err = info.value
    assert isinstance(err, petstore_sdk.ClientStatusError)
    assert err.status == 404 and err.request_id == "r-1"
    assert isinstance(err.body, petstore_sdk.models.Error) and err.body.message == "no"


async def test_raw_response_access(petstore_sdk: ModuleType) -> None:
    client, _ = _client(
        petstore_sdk,
        lambda req: petstore_sdk.HttpResponse.from_json(200, 3, headers={"X-Request-Id": "abc"}),
    )
    raw = await client.things.count.raw()
    assert raw.status == 200 and raw.request_id == "abc" and raw.parse() == 3


async def test_builtin_named_method_works(petstore_sdk: ModuleType) -> None:
    client, _ = _client(petstore_sdk, lambda req: petstore_sdk.HttpResponse.from_json(200, ["a"]))
    assert await client.things.list() == ["a"]


async def test_required_body_is_enforced(petstore_sdk: ModuleType) -> None:
    client, _ = _client(petstore_sdk)
    with pytest.raises(TypeError):
        await client.pets.create_pet(body=None)


def test_sync_client_has_the_same_surface(petstore_sdk: ModuleType) -> None:
    transport = petstore_sdk.MockTransport(
        lambda req: petstore_sdk.HttpResponse.from_json(200, [JSON_PET])
    )
    with petstore_sdk.Client(base_url="http://api.test", transport=transport) as client:
        pets = client.pets.list_pets(limit=1)
        raw = client.pets.list_pets.raw()
    assert pets[0].name == "Rex" and raw.status == 200
    assert len(transport.requests) == 2
    for name in ("list_pets", "create_pet", "upload_photo"):
        assert hasattr(petstore_sdk._client.Client(base_url="http://x").pets, name)


async def test_any_method_route_takes_the_method(petstore_sdk: ModuleType) -> None:
    client, transport = _client(
        petstore_sdk, lambda req: petstore_sdk.HttpResponse.from_json(200, {"m": req.method})
    )
    assert await client.proxy(proxy="a/b", http_method="patch") == {"m": "PATCH"}
    assert await client.proxy(proxy="c") == {"m": "GET"}
    assert transport.requests[0].path == "/v1/proxy/a/b"  # allowReserved keeps the slash
