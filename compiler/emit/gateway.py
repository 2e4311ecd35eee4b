"""The gateway emitter: ``ir.Api`` -> an installable aiohttp gateway package.

Layer: emit. No I/O; returns unformatted text (the pipeline adds headers and runs
black). One template per generated module, under ``templates/gateway``; the
``validation`` module comes from :func:`.validation.plan_validation`.

Generated tree (relative to the output folder)::

    pyproject.toml              <name>-gateway: gatewright (runtime range), aiohttp, uvloop
    README.md
    <package>_gateway/__init__.py   runtime version check at import
    <package>_gateway/__main__.py   python -m <package>_gateway --stage ... --port ...
    <package>_gateway/app.py        build_app(stage, *, env=None) -> web.Application
    <package>_gateway/routes.py     one handler per operation + the ROUTES table
    <package>_gateway/config.py     stages, limits, gateway responses
    <package>_gateway/validation.py compiled request checks
    <package>_gateway/mock_bodies.json  structured mock bodies (package data), when any
    <package>_gateway/openapi.json  the exported public document, served at
                                    <basePath>/openapi.json (unless switched off)
    <package>_gateway/py.typed
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..diagnostics import Diagnostics
from ..export import dump_document, export_document
from ..ir.nodes import Api
from ..source.loading import LoadedSpec, SourceFile
from .base import EmitOptions, FileTree
from .gateway_view import build_gateway_view
from .render import render
from .validation import ValidationPlan, plan_validation

__all__ = ["GatewayEmitter"]

_MODULES = ("__init__.py", "__main__.py", "app.py", "config.py", "routes.py")


class GatewayEmitter:
    """Implements the ``Emitter`` protocol for ``--target gateway``."""

    name = "gateway"

    def __init__(self, *, package: str | None = None) -> None:
        # collect_diagnostics and emit see the same Api; plan validation once
        self._plan: tuple[Api, ValidationPlan] | None = None
        # the dotted package of the modules (default <api.package>_gateway); a
        # versioned gateway puts each version in a subpackage
        self._package = package

    def _validation_plan(self, api: Api, diags: Diagnostics | None = None) -> ValidationPlan:
        if self._plan is not None and self._plan[0] is api:
            return self._plan[1]
        plan = plan_validation(api, diags=diags)
        self._plan = (api, plan)
        return plan

    def collect_diagnostics(self, api: Api, diags: Diagnostics) -> None:
        """Report the validation planner's warnings (called by the pipeline before emit)."""
        self._validation_plan(api, diags)

    def emit(self, api: Api, options: EmitOptions) -> FileTree:
        plan = self._validation_plan(api)
        view = build_gateway_view(
            api,
            plan,
            compiler_version=options.compiler_version,
            runtime_requirement=options.runtime_requirement,
            source_label=options.source_label,
            package=self._package,
        )
        package = PurePosixPath(*view.package.split("."))
        tree: FileTree = {
            PurePosixPath("pyproject.toml"): render("gateway/pyproject.toml.jinja", view=view),
            PurePosixPath("README.md"): render("gateway/README.md.jinja", view=view),
            package / "validation.py": plan.module_source,
            package / "py.typed": "",
        }
        if view.mock_bodies_json is not None:
            tree[package / "mock_bodies.json"] = view.mock_bodies_json + "\n"
        if view.openapi_path is not None:
            tree[package / "openapi.json"] = _public_document(api)
        for module in _MODULES:
            tree[package / module] = render(f"gateway/{module}.jinja", view=view)
        return tree


def _public_document(api: Api) -> str:
    """The exported document of the default stage, as the gateway serves it."""
    if api.document is None:  # pragma: no cover - the view serves nothing then
        raise ValueError("the API was built without its source document")
    document = dict(api.document)
    # export_document reads only the bundled document of the spec
    source = SourceFile(path=Path(api.sources[0] if api.sources else "spec"), label="", text="", data=document, is_json=True)
    spec = LoadedSpec(root=source, files={}, document=document, inlined={}, openapi_version=api.openapi_version)
    return dump_document(export_document(spec, api, stage=None))
