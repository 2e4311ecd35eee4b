"""Generated gateways answer mocks without examples with documented, typed bodies, and
route paths whose parameters hold a decoded newline.

Regressions found by the schemathesis suite (tests/fuzz): a mock without an example
answered an empty body without Content-Type; ``/a%0Ab`` was answered by aiohttp's own
text/plain 404 because the catch-all route's ``.`` did not match the newline.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from gatewright.compiler.pipeline import compile_to_tree

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

SPEC = """
openapi: 3.0.3
info: {title: Mock answers, version: "1"}
x-gateway:
  version: 1
  name: mockanswers
  defaults:
    integration: {type: mock, fromExamples: true}
paths:
  /things/{thingId}:
    get:
      operationId: getThing
      parameters: [{name: thingId, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: A thing.
          headers:
            X-Count: {required: true, schema: {type: integer, minimum: 5}}
          content:
            application/json:
              schema:
                type: object
                required: [id, kind]
                properties:
                  id: {type: string, format: uuid}
                  kind: {type: string, enum: [big, small]}
  /notes:
    get:
      operationId: getNotes
      responses:
        '200':
          description: Text.
          content:
            text/plain:
              schema: {type: string, minLength: 3}
"""


@pytest.fixture(scope="module")
def app_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("mockanswers")
    spec = root / "openapi.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    result = compile_to_tree(spec, ["gateway"], format_code=False)
    assert result.api is not None, [d.message for d in result.diags]
    for rel, text in result.tree.items():
        target = root / "out" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    package = f"{result.api.package}_gateway"
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module(f"{package}.app")
    finally:
        sys.path.remove(str(root / "out"))
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]


async def test_a_json_mock_without_examples_answers_its_schema_with_content_type(
    app_module: ModuleType, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(app_module.build_app("dev"))
    resp = await client.get("/things/1")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Count"] == "5"
    assert await resp.json() == {"id": "00000000-0000-4000-8000-000000000000", "kind": "big"}


async def test_a_text_mock_without_examples_answers_text(
    app_module: ModuleType, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(app_module.build_app("dev"))
    resp = await client.get("/notes")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert await resp.text() == "aaa"


async def test_a_decoded_newline_in_a_path_parameter_reaches_the_gateways_router(
    app_module: ModuleType, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(app_module.build_app("dev"))
    resp = await client.get("/things/a%0Ab")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    resp = await client.get("/nothing/a%0Ab")  # unrouted: the gateway's own JSON 404
    assert resp.status == 404
    assert resp.headers["X-Gateway-Error-Type"] == "RESOURCE_NOT_FOUND"
