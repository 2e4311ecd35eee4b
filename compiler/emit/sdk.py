"""The SDK emitter: an ``ir.Api`` -> the file tree of a typed Python client package.

Layer: emit. No I/O: returns unformatted text; the pipeline adds headers, runs
black and writes. The generated package depends on aiohttp only (never on
gatewright); its shared runtime (``_base.py``) is rendered from a template.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from ..diagnostics import Diagnostics
from ..ir.nodes import Api
from .base import EmitOptions, FileTree
from .layout import PreformattedSource, tracking_misses
from .render import render
from .sdk_view import ApiView, build_view

__all__ = ["SdkEmitter", "collect_diagnostics"]

UNREPRESENTABLE = "GW404"


def _report(view: ApiView, diags: Diagnostics) -> None:
    for origin, message in view.warnings:
        diags.warning(UNREPRESENTABLE, origin, message)


def collect_diagnostics(api: Api, diags: Diagnostics) -> None:
    """Report (GW404) every construct the SDK cannot represent exactly."""
    _report(build_view(api), diags)


class SdkEmitter:
    """Emits ``<name>-client``: ``pyproject.toml``, ``README.md`` and the package."""

    name = "sdk"

    def __init__(self, diags: Diagnostics | None = None) -> None:
        self.diags = diags
        self._view: tuple[Api, ApiView] | None = None

    def _view_of(self, api: Api) -> ApiView:
        if self._view is None or self._view[0] is not api:
            self._view = (api, build_view(api))
        return self._view[1]

    def collect_diagnostics(self, api: Api, diags: Diagnostics) -> None:
        """Report (GW404) what the SDK cannot represent exactly; the pipeline calls this."""
        _report(self._view_of(api), diags)

    def emit(self, api: Api, options: EmitOptions) -> FileTree:
        view = self._view_of(api)
        if self.diags is not None:
            _report(view, self.diags)
        pkg = PurePosixPath(view.package)
        tree: FileTree = {
            PurePosixPath("pyproject.toml"): render("sdk/pyproject.toml.jinja", view=view),
            PurePosixPath("README.md"): render("sdk/README.md.jinja", view=view),
            pkg / "__init__.py": _laid_out("sdk/package_init.py.jinja", view=view),
            pkg / "py.typed": "",
            pkg / "_base.py": _laid_out(
                "sdk/_base.py.jinja",
                distribution=view.distribution,
                user_agent=view.user_agent,
            ),
            pkg / "_client.py": _laid_out("sdk/_client.py.jinja", view=view),
            pkg / "resources" / "__init__.py": _laid_out("sdk/resources_init.py.jinja"),
            pkg / "models" / "__init__.py": _laid_out(
                "sdk/models/__init__.py.jinja",
                title=api.title,
                exported=view.exported_models,
            ),
        }
        namespaces = list(view.namespaces) + ([view.root] if view.root else [])
        for ns in namespaces:
            tree[pkg / "resources" / f"{ns.module}.py"] = _laid_out("sdk/resource.py.jinja", ns=ns)
        for model in view.models:
            tree[pkg / "models" / f"{model.module}.py"] = _laid_out(
                f"sdk/models/{model.kind}.py.jinja", model=model
            )
        return tree


def _laid_out(template: str, **context: Any) -> PreformattedSource:
    """A module rendered in black's style; lines the layout could not vouch for are
    recorded, so that ``format`` runs black on their blocks only."""
    with tracking_misses() as misses:
        text = render(template, **context)
    return PreformattedSource(text.rstrip("\n") + "\n", frozenset(misses))
