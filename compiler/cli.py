"""The ``gatewright`` command line.

Layer: the outermost shell: parse options, call the pipeline, render diagnostics,
choose the exit code. Exit codes: 0 success (warnings allowed), 1 spec errors
(or stale output with ``--check``), 2 usage errors.
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, NoReturn

import click

from . import __version__, runtime_requirement
from .diagnostics import Diagnostics, render_json, render_text
from .ir.build import BuildOptions
from .output import OutputError, check_tree, write_tree
from .pipeline import (
    Locator,
    build_ir,
    build_versioned_ir,
    compile_to_tree,
    compile_versions_to_tree,
    ir_to_json,
)

__all__ = ["main"]


def _emit_diagnostics(diags: Diagnostics, locator: Locator, fmt: str, *, wrote: bool = False, verbose: bool = False) -> None:
    items = diags.sorted()
    if fmt == "json":
        click.echo(render_json(items, locator), nl=False)
    else:
        text = render_text(items, locator, show_info=verbose, wrote=wrote)
        if text:
            click.echo(text, err=True, nl=False)


def _fail_internal(stage: str, exc: BaseException) -> NoReturn:
    click.echo(
        f"gatewright: internal error while {stage}: {type(exc).__name__}: {exc}  [GW500]\n"
        "This is a bug in gatewright, not in your spec. Please report it with the spec that triggers it.",
        err=True,
    )
    if "GATEWRIGHT_DEBUG" in __import__("os").environ:
        traceback.print_exc()
    sys.exit(1)


def _exit_code(diags: Diagnostics, strict: bool) -> int:
    if diags.has_errors:
        return 1
    if strict and diags.warnings():
        return 1
    return 0


class _Commands(click.Group):
    """The command group, with ``export`` and ``keys`` imported only when used: ``keys``
    imports the runtime (aiohttp, redis, ...), which a compile never needs."""

    _LAZY: ClassVar[Mapping[str, tuple[str, str]]] = {
        "export": ("export_cli", "export"),
        "keys": ("keys_cli", "keys"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._LAZY:
            module, attribute = self._LAZY[cmd_name]
            command: click.Command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", message=f"gatewright %(version)s (generated code needs gatewright runtime {runtime_requirement(__version__)})")
def main() -> None:
    """Compile OpenAPI 3 documents with x-gateway extensions into an aiohttp
    API gateway and a typed Python client SDK.

    \b
    Typical use:
      gatewright validate openapi.yaml
      gatewright compile openapi.yaml -o build/gateway --target gateway
      gatewright compile openapi.yaml -o build --target all
      python -m <name>_gateway --stage dev --port 8080   (from build/gateway)
    """


_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="How to print diagnostics.")
_strict_option = click.option("--strict", "--warnings-as-errors", "strict", is_flag=True, help="Treat warnings as errors (exit 1).")
_verbose_option = click.option("-v", "--verbose", is_flag=True, help="Also print informational diagnostics and progress.")


@main.command("compile")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output folder (replaced atomically).")
@click.option("--target", type=click.Choice(["gateway", "sdk", "all"]), default="gateway", show_default=True, help="What to generate; 'all' writes gateway/ and sdk/ subfolders.")
@click.option("--name", default=None, help="Base name for the generated packages (default: x-gateway.name or info.title).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the output on disk is stale.")
@click.option("--no-format", is_flag=True, help="Skip black (for debugging templates).")
@_format_option
@_strict_option
@_verbose_option
def compile_command(specs: tuple[Path, ...], output: Path, target: str, name: str | None, check: bool, no_format: bool, fmt: str, strict: bool, verbose: bool) -> None:
    """Compile SPECS into a gateway and/or SDK package under OUTPUT.

    Several specs (one per API version, see docs/versioning.md) compile into one
    gateway that serves them all; SDKs are generated one spec at a time.
    """
    targets = ("gateway", "sdk") if target == "all" else (target,)
    if len(specs) > 1 and "sdk" in targets:
        raise click.UsageError(
            "several specs compile into one gateway (--target gateway); generate the SDK of each "
            f"version from its own spec, e.g. 'gatewright compile {specs[0]} -o OUT --target sdk'"
        )
    spec = specs[0]
    started = time.perf_counter()
    progress = (lambda msg: click.echo(f"[{time.perf_counter() - started:6.2f}s] {msg}", err=True)) if verbose else None
    build_options = BuildOptions(name=name, options_label=f"targets={','.join(targets)}")
    try:
        if len(specs) > 1:
            result = compile_versions_to_tree(specs, options=build_options, format_code=not no_format, progress=progress)
        else:
            result = compile_to_tree(spec, targets, options=build_options, format_code=not no_format, progress=progress)
    except Exception as exc:
        _fail_internal("compiling", exc)
    diags = result.diags
    failed = diags.has_errors or (strict and bool(diags.warnings()))
    if failed or result.api is None:
        _emit_diagnostics(diags, result.locator, fmt, verbose=verbose)
        sys.exit(1)
    if check:
        report = check_tree(result.tree, output)
        _emit_diagnostics(diags, result.locator, fmt, verbose=verbose)
        if report.stale:
            for label, items in (("missing", report.missing), ("changed", report.changed), ("not generated", report.extra)):
                for item in items:
                    click.echo(f"{output / item}: {label}", err=True)
            click.echo(f"{output} is stale: run 'gatewright compile {' '.join(map(str, specs))} -o {output}' to update it", err=True)
            sys.exit(1)
        if fmt == "text":
            click.echo(f"{output} is up to date", err=True)
        sys.exit(0)
    try:
        write_tree(result.tree, output, source_hash=result.api.source_hash, version=__version__)
    except OutputError as exc:
        _emit_diagnostics(diags, result.locator, fmt, verbose=verbose)
        raise click.UsageError(str(exc)) from None
    _emit_diagnostics(diags, result.locator, fmt, wrote=True, verbose=verbose)
    if fmt == "text":
        apis = [v.api for v in result.versions.versions] if result.versions is not None else [result.api]
        versions = f"{len(apis)} versions, " if result.versions is not None else ""
        click.echo(
            f"wrote {len(result.tree)} files to {output} ({', '.join(targets)}: {versions}{sum(len(a.operations) for a in apis)} operations, "
            f"{sum(len(a.models) for a in apis)} models) in {time.perf_counter() - started:.1f}s",
            err=True,
        )
    # everything the compile built is garbage now: taking it out of the collector's
    # reach spares the last collection at exit a walk over it (a tenth of a second
    # on the GitHub spec)
    gc.freeze()
    sys.exit(_exit_code(diags, strict))


@main.command("validate")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@_format_option
@_strict_option
@_verbose_option
def validate_command(specs: tuple[Path, ...], fmt: str, strict: bool, verbose: bool) -> None:
    """Check SPECS (OpenAPI structure, x-gateway, semantic rules) without writing anything.

    Several specs are checked as the versions of one gateway.
    """
    locator = Locator()
    try:
        if len(specs) > 1:
            versioned, diags = build_versioned_ir(specs, locator=locator)
            operations = sum(len(v.api.operations) for v in versioned.versions) if versioned is not None else None
        else:
            api, diags = build_ir(specs[0], locator=locator)
            operations = len(api.operations) if api is not None else None
    except Exception as exc:
        _fail_internal("validating", exc)
    _emit_diagnostics(diags, locator, fmt, verbose=verbose)
    if fmt == "text" and operations is not None and not diags.errors():
        click.echo(f"{' '.join(map(str, specs))}: OK ({operations} operations, {len(diags.warnings())} warnings)", err=True)
    sys.exit(_exit_code(diags, strict))


@main.command("inspect")
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@_format_option
def inspect_command(spec: Path, fmt: str) -> None:
    """Print the intermediate representation of SPEC as JSON."""
    locator = Locator()
    try:
        api, diags = build_ir(spec, locator=locator)
    except Exception as exc:
        _fail_internal("building the IR", exc)
    if api is None:
        _emit_diagnostics(diags, locator, fmt)
        sys.exit(1)
    click.echo(ir_to_json(api), nl=False)


@main.command("schema")
def schema_command() -> None:
    """Print the x-gateway JSON Schema (point your editor's YAML/JSON plugin at it)."""
    from .validate.x_gateway import schema_text

    click.echo(schema_text(), nl=False)



