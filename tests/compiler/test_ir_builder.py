"""The IR builder: parameters, inheritance, integrations, routes and schemas."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gatewright.compiler.ir.nodes import (
    Api,
    FunctionIntegration,
    HttpProxyIntegration,
    MockIntegration,
    Operation,
    RequestPart,
    RouteSegment,
    StageVarPart,
    TextPart,
)
from gatewright.compiler.pipeline import build_ir


def _build(tmp_path: Path, text: str, name: str = "openapi.yaml") -> Api:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    api, diags = build_ir(path)
    assert api is not None, [f"{d.code} {d.origin} {d.message}" for d in diags]
    return api


def _op(api: Api, method: str, path: str) -> Operation:
    return next(o for o in api.operations if o.method == method and o.path == path)


def test_operation_parameters_override_path_item_parameters(tmp_path: Path) -> None:
    api = _build(
        tmp_path,
        """
        openapi: 3.0.3
        info: {title: Params, version: "1"}
        x-gateway: {version: 1, defaults: {integration: {type: mock, status: 200}}}
        paths:
          /pets/{id}:
            parameters:
              - {name: id, in: path, required: true, schema: {type: string}, description: from the path item}
              - {name: limit, in: query, schema: {type: integer}}
              - {name: limit, in: header, schema: {type: string}}
            get:
              parameters:
                - {name: limit, in: query, required: true, schema: {type: integer, maximum: 50}}
                - {name: verbose, in: query, schema: {type: boolean}}
              responses:
                "200": {description: ok}
            delete:
              responses:
                "204": {description: gone}
        """,
    )
    get = _op(api, "GET", "/pets/{id}")
    assert [(p.name, p.location) for p in get.parameters] == [("id", "path"), ("limit", "header"), ("limit", "query"), ("verbose", "query")]
    limit = next(p for p in get.parameters if (p.name, p.location) == ("limit", "query"))
    assert limit.required is True
    assert limit.schema is not None and limit.schema.maximum == 50
    assert limit.origin.pointer == "/paths/~1pets~1{id}/get/parameters/0"
    assert len({p.py_name for p in get.parameters}) == 4  # the two 'limit's get distinct names
    delete = _op(api, "DELETE", "/pets/{id}")
    assert [(p.name, p.location) for p in delete.parameters] == [("id", "path"), ("limit", "query"), ("limit", "header")]
    (path_param,) = [p for p in delete.parameters if p.location == "path"]
    assert path_param.description == "from the path item"


INHERITANCE = """
openapi: 3.0.3
info: {title: Inheritance, version: "1"}
x-gateway:
  version: 1
  backends:
    pets: {url: "http://127.0.0.1:9000"}
  defaults:
    integration: {type: http_proxy, backend: pets}
    validation: {unknownQuery: reject}
    limits: {maxBodyBytes: 1000}
paths:
  /pets:
    x-gateway:
      integration: {type: mock, status: 202}
      limits: {maxBodyBytes: 2000}
    get:
      responses:
        "200": {description: ok}
    post:
      x-gateway:
        integration: {type: function, handler: "pets.handlers:create", payloadVersion: "2.0"}
        validation: {body: false}
      responses:
        "201": {description: created}
  /stores:
    get:
      responses:
        "200": {description: ok}
"""


def test_most_specific_level_wins_per_top_level_key(tmp_path: Path) -> None:
    api = _build(tmp_path, INHERITANCE)
    stores = _op(api, "GET", "/stores")  # defaults only
    assert isinstance(stores.integration, HttpProxyIntegration) and stores.integration.backend == "pets"
    assert stores.validation.unknown_query == "reject"
    assert stores.max_body_bytes == 1000
    pets_get = _op(api, "GET", "/pets")  # path item overrides integration and limits
    assert isinstance(pets_get.integration, MockIntegration) and pets_get.integration.status == 202
    assert pets_get.integration.origin.pointer == "/paths/~1pets/x-gateway/integration"
    assert pets_get.validation.unknown_query == "reject"
    assert pets_get.max_body_bytes == 2000
    pets_post = _op(api, "POST", "/pets")  # operation overrides integration and validation
    assert isinstance(pets_post.integration, FunctionIntegration)
    assert (pets_post.integration.module, pets_post.integration.attr, pets_post.integration.payload_version) == ("pets.handlers", "create", "2.0")
    # a top-level key is replaced whole, not merged: body=false resets unknownQuery to its default
    assert pets_post.validation.body is False
    assert pets_post.validation.unknown_query == "allow"
    assert pets_post.max_body_bytes == 2000


def test_components_x_gateway_refs_are_followed(tmp_path: Path) -> None:
    api = _build(
        tmp_path,
        """
        openapi: 3.0.3
        info: {title: Refs, version: "1"}
        x-gateway:
          version: 1
          defaults:
            integration: {$ref: '#/components/x-gateway/integrations/teapot'}
        paths:
          /tea:
            get:
              responses:
                "200": {description: ok}
        components:
          x-gateway:
            integrations:
              teapot: {type: mock, status: 418, body: {short: stout}}
        """,
    )
    integration = api.operations[0].integration
    assert isinstance(integration, MockIntegration)
    assert (integration.status, integration.body) == (418, {"short": "stout"})
    assert integration.origin.pointer == "/components/x-gateway/integrations/teapot"


def test_http_proxy_url_joins_backend_and_path(tmp_path: Path) -> None:
    api = _build(
        tmp_path,
        """
        openapi: 3.0.3
        info: {title: Proxy, version: "1"}
        x-gateway:
          version: 1
          stages:
            dev: {variables: {host: "127.0.0.1:9000"}}
            prod: {variables: {host: "pets.internal"}}
          backends:
            pets: {url: "http://${stage.host}/v1/", timeoutMs: 1500, retries: 2}
          defaults:
            integration: {type: http_proxy, backend: pets}
        paths:
          /pets/{id}:
            get:
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses:
                "200": {description: ok}
        """,
    )
    integration = api.operations[0].integration
    assert isinstance(integration, HttpProxyIntegration)
    assert integration.url.parts == (
        TextPart(text="http://"),
        StageVarPart(name="host"),
        TextPart(text="/v1/pets/"),
        RequestPart(source="path", name="id"),
    )
    assert (integration.timeout_ms, integration.retries) == (1500, 2)
    assert [s.name for s in api.stages] == ["dev", "prod"]


def test_generated_operation_ids_are_deterministic_and_unique(tmp_path: Path) -> None:
    text = """
        openapi: 3.0.3
        info: {title: Ids, version: "1"}
        x-gateway: {version: 1, defaults: {integration: {type: mock, status: 200}}}
        paths:
          /pets/{id}:
            get:
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {"200": {description: ok}}
          /pets:
            get:
              responses: {"200": {description: ok}}
            post:
              operationId: get_pets
              responses: {"201": {description: created}}
        """
    first = _build(tmp_path, text, "a.yaml")
    second = _build(tmp_path, text, "b.yaml")
    ids = [(o.method, o.path, o.id) for o in first.operations]
    assert ids == [(o.method, o.path, o.id) for o in second.operations]
    assert ("GET", "/pets/{id}", "get_pets_id") in ids
    # the generated id steps aside for the declared one, whatever the order
    assert ("POST", "/pets", "get_pets") in ids
    assert ("GET", "/pets", "get_pets_2") in ids
    assert len({o.py_name for o in first.operations}) == len(first.operations)


def test_amazon_any_method_and_greedy_segment(tmp_path: Path) -> None:
    api = _build(
        tmp_path,
        """
        openapi: 3.0.1
        info: {title: Any, version: "1"}
        paths:
          /{proxy+}:
            x-amazon-apigateway-any-method:
              parameters:
                - {name: proxy, in: path, required: true, schema: {type: string}}
              responses:
                "200": {description: ok}
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: ANY
                uri: "http://127.0.0.1:9000/{proxy}"
          /files/{path+}:
            get:
              parameters:
                - {name: path, in: path, required: true, schema: {type: string}}
              x-gateway:
                integration: {type: mock, status: 200}
              responses:
                "200": {description: ok}
        """,
    )
    anything = _op(api, "ANY", "/{proxy+}")
    assert anything.segments == (RouteSegment(kind="greedy", value="proxy"),)
    assert isinstance(anything.integration, HttpProxyIntegration)
    assert anything.integration.method is None
    assert anything.integration.url.parts[-1] == RequestPart(source="path", name="proxy")
    files = _op(api, "GET", "/files/{path+}")
    assert files.segments == (RouteSegment(kind="static", value="files"), RouteSegment(kind="greedy", value="path"))


def test_operation_without_integration_is_answered_from_its_example(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(
        textwrap.dedent(
            """
            openapi: 3.0.3
            info: {title: Mock, version: "1"}
            paths:
              /pets:
                get:
                  responses:
                    "404": {description: missing}
                    "200":
                      description: ok
                      content:
                        application/json:
                          example: [{id: 1, name: Rex}]
            """
        ),
        encoding="utf-8",
    )
    api, diags = build_ir(path)
    assert api is not None
    assert [d.code for d in diags.warnings()] == ["GW307"]
    integration = api.operations[0].integration
    assert isinstance(integration, MockIntegration)
    assert (integration.status, integration.body, integration.reason) == (200, [{"id": 1, "name": "Rex"}], "fallback")


def test_nullable_and_type_arrays_both_give_null(tmp_path: Path) -> None:
    schemas = """
        paths: {}
        components:
          schemas:
            A: {type: string, nullable: true}
            B: {type: [string, "null"]}
            C: {type: integer, minimum: 1, exclusiveMinimum: true, maximum: 9, exclusiveMaximum: true}
            D: {type: integer, exclusiveMinimum: 1, exclusiveMaximum: 9}
            E: {enum: [a, b], nullable: true}
        """
    v30 = _build(tmp_path, "openapi: 3.0.3\ninfo: {title: N, version: '1'}\n" + textwrap.dedent(schemas).replace("B: {type: [string, \"null\"]}", "B: {type: string}").replace("D: {type: integer, exclusiveMinimum: 1, exclusiveMaximum: 9}", "D: {type: integer}"), "v30.yaml")
    v31 = _build(tmp_path, "openapi: 3.1.0\ninfo: {title: N, version: '1'}\n" + textwrap.dedent(schemas).replace("A: {type: string, nullable: true}", "A: {type: string}").replace(", exclusiveMinimum: true", "").replace(", exclusiveMaximum: true", "").replace("E: {enum: [a, b], nullable: true}", "E: {enum: [a, b, null]}"), "v31.yaml")
    m30 = {m.key: m.schema for m in v30.models}
    m31 = {m.key: m.schema for m in v31.models}
    assert m30["A"].types == ("string", "null") and m30["A"].nullable
    assert m31["B"].types == ("string", "null") and m31["B"].nullable
    # 3.0 boolean exclusive bounds become numbers, as 3.1 writes them
    c = m30["C"]
    assert (c.minimum, c.exclusive_minimum, c.maximum, c.exclusive_maximum) == (None, 1, None, 9)
    d = m31["D"]
    assert (d.minimum, d.exclusive_minimum, d.maximum, d.exclusive_maximum) == (None, 1, None, 9)
    assert m30["E"].enum == ("a", "b", None)
    assert m31["E"].enum == ("a", "b", None)


def test_base_path_and_gateway_responses(tmp_path: Path) -> None:
    api = _build(
        tmp_path,
        """
        openapi: 3.0.3
        info: {title: Root settings, version: "1"}
        x-gateway:
          version: 1
          name: petstore
          basePath: /v1/
          errorFormat: problem+json
          limits: {maxBodyBytes: 4096, integrationTimeoutMs: 5000}
          gatewayResponses:
            RESOURCE_NOT_FOUND: {status: 404, headers: {X-Why: nothing here}, body: {error: not found}}
          defaults:
            integration: {type: mock, status: 200}
        paths:
          /pets:
            get:
              responses:
                "200": {description: ok}
        """,
    )
    assert (api.name, api.package, api.base_path, api.error_format) == ("petstore", "petstore", "/v1", "problem+json")
    assert (api.limits.max_body_bytes, api.limits.integration_timeout_ms) == (4096, 5000)
    (override,) = api.gateway_responses
    assert (override.type, override.status, override.headers, override.body) == ("RESOURCE_NOT_FOUND", 404, (("X-Why", "nothing here"),), {"error": "not found"})
