"""Compile small specs into validation modules and call them like the gateway does.

Also wraps openapi-core, the reference the differential tests compare against.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from gatewright.compiler.diagnostics import Diagnostic
from gatewright.compiler.emit.validation import ValidationPlan, plan_validation
from gatewright.compiler.format import format_source
from gatewright.compiler.ir.nodes import Api
from gatewright.compiler.pipeline import build_ir
from gatewright.runtime.errors import ValidationFailure
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

__all__ = [
    "Compiled",
    "Reference",
    "Request",
    "compile_spec",
    "operation",
    "spec_with",
]

_modules = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One request, as the gateway hands it to the generated functions."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    body: bytes = b""

    @staticmethod
    def json(document: object, **kw: Any) -> Request:
        return Request(body=json.dumps(document).encode(), **kw)


@dataclass(repr=False)
class Compiled:
    api: Api
    plan: ValidationPlan
    module: ModuleType
    source: str
    diagnostics: list[Diagnostic]
    path: Path

    def __repr__(self) -> str:
        return f"Compiled({self.path.name})"

    def failure(self, operation_id: str, request: Request) -> ValidationFailure | None:
        """The failure the generated checks raise for ``request`` (None: accepted)."""
        checks = self.plan.for_operation(operation_id)
        try:
            if checks.params_function is not None:
                getattr(self.module, checks.params_function)(
                    dict(request.path),
                    MultiDictProxy(MultiDict(list(request.query))),
                    CIMultiDictProxy(CIMultiDict(request.headers)),
                    dict(request.cookies),
                )
            if checks.body_function is not None:
                getattr(self.module, checks.body_function)(request.content_type, request.body)
        except ValidationFailure as failure:
            return failure
        return None

    def accepts(self, operation_id: str, request: Request) -> bool:
        return self.failure(operation_id, request) is None


def compile_spec(spec: Mapping[str, Any], directory: Path) -> Compiled:
    """Spec -> IR (the real pipeline) -> validation module, black-formatted and imported."""
    directory.mkdir(parents=True, exist_ok=True)
    spec_path = directory / "openapi.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    api, diags = build_ir(spec_path)
    if api is None:
        raise AssertionError("spec did not compile: " + "; ".join(d.message for d in diags))
    plan = plan_validation(api)
    source = format_source(plan.module_source)
    name = f"gw_validation_{next(_modules)}"
    module_path = directory / f"{name}.py"
    module_path.write_text(source)
    loader_spec = importlib.util.spec_from_file_location(name, module_path)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    loader_spec.loader.exec_module(module)
    return Compiled(api, plan, module, source, list(diags) + list(plan.diagnostics), module_path)


def operation(
    *,
    operation_id: str = "op",
    parameters: Sequence[Mapping[str, Any]] = (),
    body: Mapping[str, Any] | None = None,
    body_required: bool = True,
    media_type: str = "application/json",
    x_gateway: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id,
        "responses": {"200": {"description": "ok"}},
    }
    if parameters:
        op["parameters"] = list(parameters)
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {media_type: {"schema": body}},
        }
    if x_gateway is not None:
        op["x-gateway"] = dict(x_gateway)
    return op


def spec_with(
    paths: Mapping[str, Mapping[str, Any]],
    *,
    schemas: Mapping[str, Any] | None = None,
    version: str = "3.0.3",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "openapi": version,
        "info": {"title": "Validation tests", "version": "1"},
        "paths": {path: dict(ops) for path, ops in paths.items()},
    }
    if schemas:
        spec["components"] = {"schemas": dict(schemas)}
    return spec


class Reference:
    """openapi-core's verdict on the same requests (the reference implementation)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        from openapi_core import OpenAPI

        self._openapi = OpenAPI.from_dict(cast(dict[str, Any], json.loads(json.dumps(spec))))
        self._routes: dict[str, tuple[str, str]] = {}
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self._routes[op["operationId"]] = (method, path)

    def __repr__(self) -> str:
        return "Reference(openapi-core)"

    def accepts(self, operation_id: str, request: Request) -> bool:
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.testing import MockRequest
        from werkzeug.datastructures import ImmutableMultiDict

        method, pattern = self._routes[operation_id]
        concrete = pattern
        for name, value in request.path.items():
            concrete = concrete.replace("{" + name + "}", value)
        mock = MockRequest(
            "http://localhost",
            method,
            concrete,
            path_pattern=pattern,
            view_args=dict(request.path),
            headers=dict(request.headers),
            cookies=dict(request.cookies),
            data=request.body,
            content_type=request.content_type,
        )
        mock.parameters.query = ImmutableMultiDict(list(request.query))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self._openapi.validate_request(mock)
            except OpenAPIError:
                return False
        return True
