"""export_document on small inline specs: what clients of the gateway see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.export import DEFAULT_STATUSES, ExportError, dump_document, export_document
from gatewright.runtime.responses import RESPONSE_TYPES

from .support import build, export_text, gateway_keys

SHOP = """
openapi: 3.0.3
info: {title: Shop, version: "1.0"}
servers:
  - url: https://shop.example.com/upstream-prefix
x-other: kept
x-amazon-apigateway-request-validators: {all: {validateRequestBody: true}}
x-gateway:
  version: 1
  basePath: /shop
  stages:
    dev: {variables: {u: "http://127.0.0.1:9"}}
    prod: {variables: {u: "http://127.0.0.1:9"}}
  backends:
    shop: {url: "${stage.u}"}
  defaults:
    integration: {type: http_proxy, backend: shop}
paths:
  /items:
    x-gateway: {throttle: {rate: 5, burst: 10}}
    get:
      operationId: listItems
      parameters:
        - {name: page, in: query, schema: {type: integer}}
      x-gateway: {apiKeyRequired: true}
      responses: {'200': {description: ok}}
    post:
      operationId: createItem
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}
      responses: {'201': {description: created}, '400': {description: the author's own 400}}
  /health:
    get:
      operationId: health
      x-gateway: {integration: {type: mock, status: 200, body: {ok: true}}}
      responses: {'200': {description: ok}}
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      x-gateway: {kind: jwt, jwksUri: "http://127.0.0.1:9/jwks"}
  schemas:
    Item:
      type: object
      properties:
        name: {type: string}
      example: {name: a, x-gateway: this is example data}
"""


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, Any]:
    return export_text(tmp_path, SHOP)


def responses_of(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    result: dict[str, Any] = document["paths"][path][method]["responses"]
    return result


def component(document: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[1]
    result: dict[str, Any] = document["components"]["responses"][name]
    return result


# --------------------------------------------------------------------------- stripping


def test_gateway_extensions_are_removed_at_every_level(shop: dict[str, Any]) -> None:
    assert gateway_keys(shop) == [
        # example values are data and stay as written
        "/components/schemas/Item/example/x-gateway",
    ]
    assert "x-gateway" not in shop["paths"]["/items"]
    assert "x-gateway" not in shop["components"]["securitySchemes"]["bearer"]
    assert "x-amazon-apigateway-request-validators" not in shop


def test_other_vendor_extensions_are_kept(shop: dict[str, Any]) -> None:
    assert shop["x-other"] == "kept"


def test_a_property_named_like_an_extension_is_kept(tmp_path: Path) -> None:
    text = SHOP.replace("name: {type: string}", "name: {type: string}\n        x-gateway: {type: string}")
    document = export_text(tmp_path, text)
    assert set(document["components"]["schemas"]["Item"]["properties"]) == {"name", "x-gateway"}


def test_the_source_document_is_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(SHOP, encoding="utf-8")
    spec, api = build(path)
    before = json.dumps(spec.document, sort_keys=True)
    export_document(spec, api, stage=None)
    assert json.dumps(spec.document, sort_keys=True) == before


def test_references_into_removed_extensions_are_inlined(tmp_path: Path) -> None:
    text = SHOP.replace(
        "components:\n",
        "components:\n  x-amazon-apigateway-shared:\n    Note: {type: string, maxLength: 9}\n",
    ).replace("name: {type: string}", "name: {type: string}\n        note: {$ref: '#/components/x-amazon-apigateway-shared/Note'}")
    document = export_text(tmp_path, text)
    assert document["components"]["schemas"]["Item"]["properties"]["note"] == {"type": "string", "maxLength": 9}


# --------------------------------------------------------------------------- servers


def test_server_is_the_gateway_host_with_the_base_path(shop: dict[str, Any]) -> None:
    assert shop["servers"] == [{"url": "https://shop.example.com/shop", "description": "The API gateway, stage dev"}]


def test_upstream_servers_on_paths_and_operations_are_removed(tmp_path: Path) -> None:
    text = SHOP.replace(
        "  /items:\n",
        "  /items:\n    servers: [{url: 'https://items.internal'}]\n",
    ).replace("      operationId: health\n", "      operationId: health\n      servers: [{url: 'https://health.internal'}]\n")
    document = export_text(tmp_path, text)
    assert "servers" not in document["paths"]["/items"]
    assert "servers" not in document["paths"]["/health"]["get"]


def test_servers_follow_info_when_the_source_has_none(tmp_path: Path) -> None:
    document = export_text(tmp_path, SHOP.replace("servers:\n  - url: https://shop.example.com/upstream-prefix\n", ""))
    assert list(document)[:3] == ["openapi", "info", "servers"]


def test_server_url_option_wins(tmp_path: Path) -> None:
    document = export_text(tmp_path, SHOP, server_url="https://api.example.org/v9")
    assert document["servers"][0]["url"] == "https://api.example.org/v9"


def test_relative_or_missing_servers_fall_back_to_the_local_gateway(tmp_path: Path) -> None:
    relative = export_text(tmp_path, SHOP.replace("https://shop.example.com/upstream-prefix", "/api/v3"))
    assert relative["servers"][0]["url"] == "http://127.0.0.1:8080/shop"
    missing = export_text(tmp_path, SHOP.replace("servers:\n  - url: https://shop.example.com/upstream-prefix\n", ""))
    assert missing["servers"][0]["url"] == "http://127.0.0.1:8080/shop"


def test_server_variables_take_their_defaults(tmp_path: Path) -> None:
    text = SHOP.replace(
        "  - url: https://shop.example.com/upstream-prefix\n",
        "  - url: '{scheme}://{region}.example.com/x'\n    variables:\n      scheme: {default: https, enum: [https, http]}\n      region: {default: eu}\n",
    )
    assert export_text(tmp_path, text)["servers"][0]["url"] == "https://eu.example.com/shop"


def test_stage_is_named_and_checked(tmp_path: Path) -> None:
    assert export_text(tmp_path, SHOP, stage="prod")["servers"][0]["description"] == "The API gateway, stage prod"
    spec, api = build(tmp_path / "openapi.yaml")
    with pytest.raises(ExportError, match=r"unknown stage 'qa'; the spec defines: dev, prod"):
        export_document(spec, api, stage="qa")


# --------------------------------------------------------------------------- security


def test_api_key_scheme_is_added_and_required_where_the_gateway_checks_keys(shop: dict[str, Any]) -> None:
    schemes = shop["components"]["securitySchemes"]
    assert list(schemes) == ["bearer", "gatewayApiKey"]
    assert schemes["gatewayApiKey"]["type"] == "apiKey"
    assert (schemes["gatewayApiKey"]["in"], schemes["gatewayApiKey"]["name"]) == ("header", "X-API-Key")
    assert shop["paths"]["/items"]["get"]["security"] == [{"gatewayApiKey": []}]
    assert shop["paths"]["/items"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in shop["paths"]["/health"]["get"]


def test_api_key_is_anded_with_every_existing_requirement(tmp_path: Path) -> None:
    text = SHOP.replace(
        "      x-gateway: {apiKeyRequired: true}\n",
        "      x-gateway: {apiKeyRequired: true}\n      security: [{bearer: []}, {}]\n",
    ).replace("  defaults:\n", "  apiKeys: {sources: ['header:X-Key', 'query:key']}\n  defaults:\n")
    document = export_text(tmp_path, text)
    schemes = document["components"]["securitySchemes"]
    assert (schemes["gatewayApiKey"]["in"], schemes["gatewayApiKey"]["name"]) == ("header", "X-Key")
    assert (schemes["gatewayApiKey2"]["in"], schemes["gatewayApiKey2"]["name"]) == ("query", "key")
    assert document["paths"]["/items"]["get"]["security"] == [
        {"bearer": [], "gatewayApiKey": []},
        {"bearer": [], "gatewayApiKey2": []},
        {"gatewayApiKey": []},
        {"gatewayApiKey2": []},
    ]


def test_an_author_api_key_scheme_for_the_same_header_is_reused(tmp_path: Path) -> None:
    text = SHOP.replace(
        "  securitySchemes:\n",
        "  securitySchemes:\n    key: {type: apiKey, in: header, name: x-api-key}\n",
    )
    document = export_text(tmp_path, text)
    assert list(document["components"]["securitySchemes"]) == ["key", "bearer"]
    assert document["paths"]["/items"]["get"]["security"] == [{"key": []}]


# --------------------------------------------------------------------------- gateway responses


def test_throttled_operations_document_429_with_retry_after_and_ratelimit_headers(shop: dict[str, Any]) -> None:
    for method in ("get", "post"):
        ref = responses_of(shop, "/items", method)["429"]
        assert ref == {"$ref": "#/components/responses/GatewayTooManyRequests"}
    response = component(shop, responses_of(shop, "/items", "get")["429"])
    headers = response["headers"]
    assert headers["Retry-After"]["required"] is True
    assert headers["Retry-After"]["schema"]["type"] == "integer"
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-Gateway-Error-Type"):
        assert name in headers
    assert headers["X-Gateway-Error-Type"]["schema"]["enum"] == ["QUOTA_EXCEEDED", "THROTTLED"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayError"}
    assert "429" not in responses_of(shop, "/health", "get")


def test_legacy_rate_limit_headers_are_documented_as_configured(tmp_path: Path) -> None:
    document = export_text(tmp_path, SHOP.replace("  defaults:\n", "  rateLimitHeaders: legacy\n  defaults:\n"))
    headers = component(document, responses_of(document, "/items", "get")["429"])["headers"]
    assert "X-RateLimit-Limit" in headers
    assert "RateLimit-Limit" not in headers


def test_error_schema_is_a_message_object(shop: dict[str, Any]) -> None:
    schema = shop["components"]["schemas"]["GatewayError"]
    assert schema["required"] == ["message"]
    assert schema["properties"] == {"message": {"type": "string"}}


def test_problem_json_error_format(tmp_path: Path) -> None:
    document = export_text(tmp_path, SHOP.replace("  defaults:\n", "  errorFormat: problem+json\n  defaults:\n"))
    schema = document["components"]["schemas"]["GatewayError"]
    assert schema["required"] == ["type", "title", "status", "detail"]
    response = component(document, responses_of(document, "/items", "get")["429"])
    assert list(response["content"]) == ["application/problem+json"]


def test_operations_with_a_body_document_400_413_415(shop: dict[str, Any]) -> None:
    responses = responses_of(shop, "/items", "post")
    assert responses["413"] == {"$ref": "#/components/responses/GatewayRequestTooLarge"}
    assert responses["415"] == {"$ref": "#/components/responses/GatewayUnsupportedMediaType"}
    assert "413" not in responses_of(shop, "/items", "get")


def test_an_author_declared_response_is_never_replaced(shop: dict[str, Any]) -> None:
    assert responses_of(shop, "/items", "post")["400"] == {"description": "the author's own 400"}
    assert responses_of(shop, "/items", "get")["400"] == {"$ref": "#/components/responses/GatewayBadRequest"}


def test_secured_operations_document_401_and_403(shop: dict[str, Any]) -> None:
    post = responses_of(shop, "/items", "post")
    assert post["401"] == {"$ref": "#/components/responses/GatewayUnauthorized"}
    assert post["403"] == {"$ref": "#/components/responses/GatewayForbidden"}
    assert "WWW-Authenticate" in component(shop, post["401"])["headers"]
    assert "403" in responses_of(shop, "/items", "get")  # API key
    health = responses_of(shop, "/health", "get")
    assert "401" not in health
    assert "403" not in health


def test_proxied_operations_document_502_and_504_but_mocks_do_not(shop: dict[str, Any]) -> None:
    assert {"502", "504"} <= set(responses_of(shop, "/items", "get"))
    # the URL and header limits apply to every request; nothing else of the gateway's
    assert list(responses_of(shop, "/health", "get")) == ["200", "414", "431"]


def test_added_responses_follow_the_authors_in_status_order(shop: dict[str, Any]) -> None:
    assert list(responses_of(shop, "/items", "post")) == [
        "201", "400", "401", "403", "413", "414", "415", "429", "431", "502", "504"
    ]


def test_gateway_response_overrides_move_statuses_and_add_headers(tmp_path: Path) -> None:
    text = SHOP.replace(
        "  defaults:\n",
        "  gatewayResponses:\n    THROTTLED: {status: 503, headers: {X-Reason: throttled}}\n  defaults:\n",
    )
    document = export_text(tmp_path, text)
    post = responses_of(document, "/items", "post")
    assert "429" not in post
    response = component(document, post["503"])
    assert response["headers"]["X-Gateway-Error-Type"]["schema"]["enum"] == ["THROTTLED"]
    assert {"Retry-After", "X-Reason"} <= set(response["headers"])


def test_a_custom_error_body_is_not_described_as_the_standard_one(tmp_path: Path) -> None:
    text = SHOP.replace(
        "  defaults:\n",
        "  gatewayResponses:\n    DEFAULT_5XX: {body: {oops: true}}\n  defaults:\n",
    )
    document = export_text(tmp_path, text)
    bad_gateway = component(document, responses_of(document, "/items", "get")["502"])
    assert bad_gateway["content"]["application/json"]["schema"] == {}
    too_many = component(document, responses_of(document, "/items", "get")["429"])
    assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayError"}


def test_documented_statuses_match_the_runtime_table() -> None:
    for name, status in DEFAULT_STATUSES.items():
        assert RESPONSE_TYPES[name].status == status, name


# --------------------------------------------------------------------------- AWS shapes

AWS_PROXY = """
openapi: 3.0.1
info: {title: Proxy, version: '1'}
paths:
  /{proxy+}:
    get:
      operationId: readAnything
      responses: {'200': {description: ok}}
    x-amazon-apigateway-any-method:
      operationId: anything
      parameters:
        - {name: proxy, in: path, required: true, schema: {type: string}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: http://127.0.0.1:9/{proxy}
      responses: {'200': {description: ok}}
"""


def test_any_method_routes_are_documented_per_method(tmp_path: Path) -> None:
    document = export_text(tmp_path, AWS_PROXY)
    item = document["paths"]["/{proxy}"]
    assert list(item) == ["get", "put", "post", "delete", "options", "head", "patch"]
    assert item["get"]["operationId"] == "readAnything"
    assert item["delete"]["operationId"] == "anything_delete"
    assert "x-amazon-apigateway-integration" not in item["delete"]
    assert {"502", "504"} <= set(item["delete"]["responses"])


def test_undeclared_path_variables_are_declared_as_the_gateway_takes_them(tmp_path: Path) -> None:
    document = export_text(tmp_path, AWS_PROXY)
    assert document["paths"]["/{proxy}"]["get"]["parameters"] == [
        {"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


# --------------------------------------------------------------------------- output


def test_output_is_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(SHOP, encoding="utf-8")
    first = dump_document(export_document(*build(path), stage="prod"))
    second = dump_document(export_document(*build(path), stage="prod"))
    assert first == second
    assert json.loads(first)["openapi"] == "3.0.3"


def test_yaml_output_reads_back_to_the_same_document(shop: dict[str, Any]) -> None:
    import yaml

    text = dump_document(shop, "yaml")
    assert "&id" not in text  # no anchors
    assert yaml.safe_load(text) == shop


KEYED = """
openapi: 3.0.3
info: {title: Keyed, version: "1.0"}
x-gateway:
  version: 1
  usagePlans:
    gold:
      methods:
        getReport: {throttle: {rate: 1, burst: 1}}
  defaults:
    integration: {type: mock, status: 200, body: {ok: true}}
security: [{key: []}]
paths:
  /reports/{reportId}:
    get:
      operationId: getReport
      parameters:
        - {name: reportId, in: path, required: true, schema: {type: string}}
      responses: {'200': {description: ok}}
  /public:
    get:
      operationId: public
      security: []
      responses: {'200': {description: ok}}
  /signed:
    get:
      operationId: signed
      security: [{bearer: []}]
      responses: {'200': {description: ok}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Key}
    bearer:
      type: http
      scheme: bearer
      x-gateway: {kind: jwt, jwksUri: "http://127.0.0.1:9/jwks"}
"""


def test_an_operation_throttled_only_by_a_usage_plan_method_throttle_documents_429(tmp_path: Path) -> None:
    # regression: an apiKey scheme (not apiKeyRequired) authenticates through the key
    # store, so the caller's plan applies; its 429 was undocumented
    document = export_text(tmp_path, KEYED)
    too_many = component(document, responses_of(document, "/reports/{reportId}", "get")["429"])
    headers = too_many["headers"]
    assert headers["X-Gateway-Error-Type"]["schema"]["enum"] == ["THROTTLED"]  # the plan has no quota
    assert headers["Retry-After"]["required"] is True
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
    # neither an unsecured operation nor a JWT one carries a key, so no plan applies
    assert "429" not in responses_of(document, "/public", "get")
    assert "429" not in responses_of(document, "/signed", "get")


def test_a_usage_plan_quota_is_documented_for_key_authenticated_operations(tmp_path: Path) -> None:
    text = KEYED.replace("    gold:\n", "    gold:\n      quota: {limit: 100, period: day}\n")
    document = export_text(tmp_path, text)
    too_many = component(document, responses_of(document, "/reports/{reportId}", "get")["429"])
    assert too_many["headers"]["X-Gateway-Error-Type"]["schema"]["enum"] == ["QUOTA_EXCEEDED", "THROTTLED"]


def test_operations_with_path_parameters_document_the_gateways_404(tmp_path: Path) -> None:
    document = export_text(tmp_path, KEYED)
    not_found = responses_of(document, "/reports/{reportId}", "get")["404"]
    assert not_found == {"$ref": "#/components/responses/GatewayNotFound"}
    enum = component(document, not_found)["headers"]["X-Gateway-Error-Type"]["schema"]["enum"]
    assert enum == ["RESOURCE_NOT_FOUND"]
    assert "404" not in responses_of(document, "/public", "get")  # a static path always routes


def test_every_operation_documents_the_url_and_header_limits(tmp_path: Path) -> None:
    document = export_text(tmp_path, KEYED)
    for path in ("/reports/{reportId}", "/public", "/signed"):
        responses = responses_of(document, path, "get")
        assert responses["414"] == {"$ref": "#/components/responses/GatewayUriTooLong"}
        assert responses["431"] == {"$ref": "#/components/responses/GatewayRequestHeaderFieldsTooLarge"}
