"""``gatewright export``: write the public OpenAPI document of an API.

Layer: compiler (CLI). Thin: options in, the pipeline up to the IR, one call into
:func:`gatewright.compiler.export.export_document`, text out::

    gatewright export openapi.yaml                      # JSON on stdout, default stage
    gatewright export openapi.yaml --stage prod -o public.json
    gatewright export openapi.yaml --format yaml --server-url https://api.example.com/v1

Exit codes: 0 written, 1 the spec has errors (nothing is written), 2 usage errors
(an unknown option value or stage).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Literal, NoReturn, cast

import click

from .diagnostics import Diagnostics, Severity, render_text
from .export import ExportError, dump_document, export_document
from .ir.build import build_api
from .pipeline import Locator, load_and_validate

__all__ = ["export"]


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a reader never sees half a document."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("export")
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--stage", default=None, help="Stage whose gateway the document describes (default: the first stage).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True, help="Document format.")
@click.option("--server-url", default=None, help="The gateway's public URL, base path included (default: the scheme and host of the spec's first server, else http://127.0.0.1:8080, plus the gateway's basePath).")
@click.option("-v", "--verbose", is_flag=True, help="Also print the spec's warnings.")
def export(spec: Path, stage: str | None, output: Path | None, fmt: str, server_url: str | None, verbose: bool) -> None:
    """Write the public OpenAPI document of SPEC: what clients of its gateway see.

    x-gateway is removed, servers point at the gateway, the API keys the gateway
    checks are security schemes, and the gateway's own error responses (400, 401,
    403, 413, 415, 429, 502, 504) are documented with their headers.
    """
    diags = Diagnostics()
    locator = Locator()
    try:
        loaded = load_and_validate(spec, diags, locator)
        api = build_api(loaded, diags) if loaded is not None else None
    except Exception as exc:  # a compiler bug: say so without a traceback
        _internal_error("reading the spec", exc)
    shown = [d for d in diags.sorted() if d.severity is Severity.ERROR or (verbose and d.severity is Severity.WARNING)]
    if loaded is None or api is None or diags.has_errors:
        click.echo(render_text(shown, locator), err=True, nl=False)
        sys.exit(1)
    if shown:
        click.echo(render_text(shown, locator, summary=False), err=True, nl=False)
    try:
        document = export_document(loaded, api, stage=stage, server_url=server_url)
    except ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--stage") from None
    except Exception as exc:
        _internal_error("exporting", exc)
    text = dump_document(document, cast(Literal["json", "yaml"], fmt))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        _write_atomically(output, text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} ({len(api.operations)} operations)", err=True)


def _internal_error(stage: str, exc: BaseException) -> NoReturn:
    click.echo(
        f"gatewright: internal error while {stage}: {type(exc).__name__}: {exc}  [GW500]\n"
        "This is a bug in gatewright, not in your spec. Please report it with the spec that triggers it.",
        err=True,
    )
    sys.exit(1)
