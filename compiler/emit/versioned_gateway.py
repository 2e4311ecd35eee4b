"""The versioned gateway emitter: several specs -> one aiohttp gateway package.

Layer: emit. No I/O; returns unformatted text per part, so the pipeline can give
each version's files the header of its own spec.

Generated tree (relative to the output folder)::

    pyproject.toml                  one distribution holding every version
    README.md                       versions, basePaths and how requests select them
    <package>_gateway/__init__.py   runtime version check at import
    <package>_gateway/__main__.py   python -m <package>_gateway --stage ... --port ...
    <package>_gateway/app.py        build_app(stage, *, env=None): gw.build_versioned_app
    <package>_gateway/config.py     stages and gw.VersionSelection
    <package>_gateway/<version>/    the version's gateway modules, exactly as a
                                    single-spec gateway has them (see ``gateway``)

``<package>`` comes from the primary version (the default, else the first spec).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..diagnostics import Diagnostics
from ..versioning import SpecVersion, VersionedApi
from .base import EmitOptions, FileTree
from .gateway import GatewayEmitter
from .render import pyrepr, render

__all__ = ["VersionedGatewayEmitter", "VersionedGatewayView"]

# the single-spec files a version subpackage does not need: the distribution is shared
_VERSION_FILES_DROPPED = frozenset({"pyproject.toml", "README.md"})


@dataclass(frozen=True, slots=True)
class VersionView:
    label: str
    module: str


@dataclass(frozen=True, slots=True)
class VersionedGatewayView:
    title: str
    api_version: str  # "v1, v2"
    package: str
    compiler_version: str
    runtime_requirement: str
    versions: tuple[VersionView, ...]
    stage_names: tuple[str, ...]
    default_stage: str
    selection_expr: str
    # TOML-safe values
    pyproject_name: str
    pyproject_requirement: str
    api_version_toml: str
    description_toml: str
    packages_toml: tuple[str, ...]
    # Markdown-safe values
    title_markdown: str
    sources_markdown: str
    default_stage_markdown: str
    markdown_rows: tuple[str, ...]
    selection_markdown: str


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _markdown(text: str) -> str:
    flat = " ".join(text.split())
    return "".join("\\" + ch if ch in "\\`*[]<>|" else ch for ch in flat)


def _selection_expr(versioned: VersionedApi) -> str:
    args = {
        "header": versioned.header,
        "query": versioned.query,
        "default": versioned.default,
        "fallback_to_default": versioned.fallback_to_default,
    }
    kept = ", ".join(f"{k}={pyrepr(v)}" for k, v in args.items() if v not in (None, False))
    return f"gw.VersionSelection({kept})"


def _selection_markdown(versioned: VersionedApi) -> str:
    ways = ["the request path (each version answers under its basePath)"]
    if versioned.header:
        ways.insert(0, f"the `{_markdown(versioned.header)}` header")
    if versioned.query:
        ways.insert(1 if versioned.header else 0, f"the `{_markdown(versioned.query)}` query parameter")
    text = "A request selects its version by " + ", then ".join(ways) + "."
    if versioned.default and (versioned.header or versioned.query):
        text += f" Requests that select none go to `{_markdown(versioned.default)}`."
    if versioned.fallback_to_default:
        text += " A version that does not exist falls back to the default."
    return text


def _stages(versioned: VersionedApi) -> tuple[str, ...]:
    names: list[str] = []
    for version in (versioned.primary, *versioned.versions):
        names.extend(s.name for s in version.api.stages if s.name not in names)
    return tuple(names)


class VersionedGatewayEmitter:
    """Emits the gateway package of a :class:`VersionedApi`, one part at a time."""

    def __init__(self, versioned: VersionedApi) -> None:
        self.versioned = versioned
        self.package = f"{versioned.primary.api.package}_gateway"
        self._emitters = {v.module: GatewayEmitter(package=f"{self.package}.{v.module}") for v in versioned.versions}

    def collect_diagnostics(self, diags: Diagnostics) -> None:
        for version in self.versioned.versions:
            self._emitters[version.module].collect_diagnostics(version.api, diags)

    def emit_version(self, version: SpecVersion, options: EmitOptions) -> FileTree:
        """The version's subpackage (paths relative to the output folder)."""
        tree = self._emitters[version.module].emit(version.api, options)
        return {path: text for path, text in tree.items() if path.as_posix() not in _VERSION_FILES_DROPPED}

    def emit_package(self, options: EmitOptions) -> FileTree:
        """Everything outside the version subpackages."""
        view = self.view(options)
        package = PurePosixPath(self.package)
        return {
            PurePosixPath("pyproject.toml"): render("gateway/versioned_pyproject.toml.jinja", view=view),
            PurePosixPath("README.md"): render("gateway/versioned_README.md.jinja", view=view),
            package / "__init__.py": render("gateway/__init__.py.jinja", view=view),
            package / "__main__.py": render("gateway/__main__.py.jinja", view=view),
            package / "app.py": render("gateway/versioned_app.py.jinja", view=view),
            package / "config.py": render("gateway/versioned_config.py.jinja", view=view),
            package / "py.typed": "",
        }

    def view(self, options: EmitOptions) -> VersionedGatewayView:
        versioned = self.versioned
        primary = versioned.primary.api
        labels = ", ".join(v.label for v in versioned.versions)
        stages = _stages(versioned)
        default_stage = primary.stages[0].name if primary.stages else stages[0] if stages else "default"
        distribution = f"{primary.name}-gateway"
        return VersionedGatewayView(
            title=primary.title,
            api_version=labels,
            package=self.package,
            compiler_version=options.compiler_version,
            runtime_requirement=options.runtime_requirement,
            versions=tuple(VersionView(v.label, v.module) for v in versioned.versions),
            stage_names=stages,
            default_stage=default_stage,
            selection_expr=_selection_expr(versioned),
            pyproject_name=_toml(distribution),
            pyproject_requirement=_toml(f"gatewright{options.runtime_requirement}"),
            api_version_toml=_toml(_release(primary.version)),
            description_toml=_toml(f"API gateway for {primary.title} ({labels})"),
            packages_toml=tuple(_toml(p) for p in (self.package, *(f"{self.package}.{v.module}" for v in versioned.versions))),
            title_markdown=_markdown(primary.title),
            sources_markdown=", ".join(f"`{_markdown(v.source_label).replace('`', '')}`" for v in versioned.versions),
            default_stage_markdown=_markdown(default_stage),
            markdown_rows=tuple(
                " | ".join(
                    (
                        _markdown(v.label) + (" (default)" if v.label == versioned.default else ""),
                        _markdown(v.api.base_path or "/"),
                        _markdown(v.source_label),
                        _markdown(f"{self.package}.{v.module}"),
                    )
                )
                for v in versioned.versions
            ),
            selection_markdown=_selection_markdown(versioned),
        )


def _release(version: str) -> str:
    """A PEP 440 release from ``info.version`` ("v2.1-beta" -> "2.1"); "0.0.0" if none."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", version.strip())
    return match.group(1) if match else "0.0.0"
