"""Benchmark: compiled request validation against openapi-core's ``validate_request``.

Validates the same petstore POST (a path parameter, a query parameter and a JSON
body of ten fields) with both, in one run, and prints the time per request and
the ratio. The compiled side includes JSON parsing of the body; both sides get
their request objects built once, outside the timed loop.

    .venv/bin/python bench/validation_bench.py [--min-ratio 100]

Exits 1 when ``--min-ratio`` is given and the measured ratio is below it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from gatewright.compiler.emit.validation import plan_validation
from gatewright.compiler.format import format_source
from gatewright.compiler.pipeline import build_ir
from gatewright.runtime.errors import ValidationFailure
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = ["main"]

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Swagger Petstore", "version": "1.0.0"},
    "paths": {
        "/stores/{storeId}/pets": {
            "post": {
                "operationId": "addPet",
                "parameters": [
                    {
                        "name": "storeId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "format": "int64", "minimum": 1},
                    },
                    {"name": "dryRun", "in": "query", "schema": {"type": "boolean"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                    },
                },
                "responses": {"201": {"description": "created"}},
            }
        }
    },
    "components": {
        "schemas": {
            "Category": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "name": {"type": "string"},
                },
            },
            "Tag": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "name": {"type": "string"},
                },
            },
            "Pet": {
                "type": "object",
                "required": ["name", "photoUrls"],
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "category": {"$ref": "#/components/schemas/Category"},
                    "photoUrls": {"type": "array", "items": {"type": "string"}},
                    "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                    "status": {"type": "string", "enum": ["available", "pending", "sold"]},
                    "birthday": {"type": "string", "format": "date"},
                    "weight": {"type": "number", "minimum": 0},
                    "vaccinated": {"type": "boolean"},
                    "nickname": {"type": "string", "nullable": True, "pattern": "^[A-Za-z]+$"},
                },
            },
        }
    },
}

BODY = json.dumps(
    {
        "id": 10,
        "name": "doggie",
        "category": {"id": 1, "name": "Dogs"},
        "photoUrls": ["https://example.com/1.png"],
        "tags": [{"id": 1, "name": "friendly"}, {"id": 2, "name": "small"}],
        "status": "available",
        "birthday": "2021-04-01",
        "weight": 12.5,
        "vaccinated": True,
        "nickname": "Rex",
    }
).encode()
PATH = {"storeId": "42"}
QUERY = [("dryRun", "false")]
CONTENT_TYPE = "application/json"


class CoreRequest:
    """openapi-core's generic ``Request`` protocol for the same request."""

    def __init__(self, body: bytes) -> None:
        self.host_url = "http://localhost"
        self.path = "/stores/42/pets"
        self.path_pattern = "/stores/{storeId}/pets"
        self.method = "post"
        self.body = body
        self.content_type = CONTENT_TYPE
        self.parameters = RequestParameters(
            path=dict(PATH),
            query=ImmutableMultiDict(QUERY),
            header=Headers({"Content-Type": CONTENT_TYPE}),
            cookie=ImmutableMultiDict(),
        )


def _compile(directory: Path) -> tuple[ModuleType, str, str]:
    spec_path = directory / "openapi.json"
    spec_path.write_text(json.dumps(SPEC))
    api, diags = build_ir(spec_path)
    if api is None:
        raise SystemExit("spec did not compile: " + "; ".join(d.message for d in diags))
    plan = plan_validation(api)
    module_path = directory / "bench_validation.py"
    module_path.write_text(format_source(plan.module_source))
    loader_spec = importlib.util.spec_from_file_location("bench_validation", module_path)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    checks = plan.for_operation("addPet")
    assert checks.params_function and checks.body_function
    return module, checks.params_function, checks.body_function


def _per_call(run: Callable[[], object], seconds: float) -> float:
    """Seconds per call: best of three batches sized to take about ``seconds``."""
    calls = 1
    while True:  # size a batch
        start = time.perf_counter()
        for _ in range(calls):
            run()
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 10:
            break
        calls *= 2
    calls = max(1, int(calls * (seconds / 3) / elapsed))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per side")
    parser.add_argument("--min-ratio", type=float, default=0.0, help="fail below this ratio")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory() as tmp:
        module, params_name, body_name = _compile(Path(tmp))
    check_params = getattr(module, params_name)
    check_body = getattr(module, body_name)
    query = MultiDictProxy(MultiDict(QUERY))
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": CONTENT_TYPE}))
    cookies: dict[str, str] = {}

    def ours() -> None:
        check_params(PATH, query, headers, cookies)
        check_body(CONTENT_TYPE, BODY)

    openapi = OpenAPI.from_dict(json.loads(json.dumps(SPEC)))
    core_request = CoreRequest(BODY)

    def theirs() -> None:
        openapi.validate_request(core_request)

    # both must agree on this request (accept) and on a broken one (reject)
    ours()
    theirs()
    broken = BODY.replace(b'"weight": 12.5', b'"weight": "heavy"')
    try:
        check_body(CONTENT_TYPE, broken)
        raise SystemExit("the compiled checks accepted an invalid body")
    except ValidationFailure:
        pass
    try:
        openapi.validate_request(CoreRequest(broken))
        raise SystemExit("openapi-core accepted an invalid body")
    except Exception as exc:  # openapi-core's own error types
        if isinstance(exc, SystemExit):
            raise

    ours_s = _per_call(ours, args.seconds)
    theirs_s = _per_call(theirs, args.seconds)
    ratio = theirs_s / ours_s
    print(f"body: {len(BODY)} bytes, 10 fields; path parameter + query parameter")
    print(f"gatewright compiled validation: {ours_s * 1e6:10.1f} us/request")
    print(f"openapi-core validate_request:  {theirs_s * 1e6:10.1f} us/request")
    print(f"ratio: {ratio:.0f}x faster (target >= 100x)")
    if args.min_ratio and ratio < args.min_ratio:
        print(f"FAIL: ratio {ratio:.0f} is below {args.min_ratio:.0f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
