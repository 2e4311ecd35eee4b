"""Diagnostics: what the compiler tells the user about their spec.

Layer: shared by every compiler stage. Must not import any other compiler module
except ``codes``.

Every diagnostic carries a stable code (registered in :mod:`.codes`), a severity,
and an :class:`Origin` (file plus JSON pointer inside that file). Line and column
are looked up lazily through a :class:`LineLocator` when diagnostics are rendered,
so loading a 3 MB spec does not pay for positions nobody asks for.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from . import codes

__all__ = [
    "Diagnostic",
    "Diagnostics",
    "LineLocator",
    "Origin",
    "Position",
    "Severity",
    "SpecError",
    "escape_pointer_token",
    "join_pointer",
    "render_json",
    "render_text",
]


class Severity(enum.Enum):
    ERROR = "error"  # nothing is written
    WARNING = "warning"  # output is written; the user should look
    INFO = "info"


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: str | int) -> str:
    """Append RFC 6901 tokens to ``pointer`` ("" is the document root)."""
    if len(tokens) == 1:  # the common call, once per node of a loaded document
        token = str(tokens[0])
        if "~" in token or "/" in token:
            token = token.replace("~", "~0").replace("/", "~1")
        return f"{pointer}/{token}"
    return pointer + "".join("/" + escape_pointer_token(t) for t in tokens)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a node came from: the file (as the user named it) and the pointer in it."""

    file: str
    pointer: str = ""

    def child(self, *tokens: str | int) -> Origin:
        return Origin(self.file, join_pointer(self.pointer, *tokens))

    def __str__(self) -> str:
        return f"{self.file}#{self.pointer}"


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based
    source_line: str = ""


class LineLocator(Protocol):
    """Finds the line and column of a pointer inside a file (see ``source.sourcemap``)."""

    def position(self, origin: Origin) -> Position | None: ...


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    origin: Origin
    hint: str | None = None
    related: tuple[Origin, ...] = ()


class SpecError(Exception):
    """Raised to abort a stage once its diagnostics have been recorded."""


@dataclass(slots=True)
class Diagnostics:
    """A sink that stages report into; errors stop the pipeline between stages."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[tuple[str, str, str, str]] = field(default_factory=set)

    def add(
        self,
        code: str,
        origin: Origin,
        message: str,
        *,
        hint: str | None = None,
        related: Sequence[Origin] = (),
        severity: Severity | None = None,
    ) -> None:
        info = codes.lookup(code)
        sev = severity or Severity(info.severity.value)
        key = (code, origin.file, origin.pointer, message)
        if key in self._seen:  # the same construct reached twice through $ref
            return
        self._seen.add(key)
        self.items.append(Diagnostic(code, sev, message, origin, hint, tuple(related)))

    def error(self, code: str, origin: Origin, message: str, **kw: object) -> None:
        self.add(code, origin, message, severity=Severity.ERROR, **kw)  # type: ignore[arg-type]

    def warning(self, code: str, origin: Origin, message: str, **kw: object) -> None:
        self.add(code, origin, message, severity=Severity.WARNING, **kw)  # type: ignore[arg-type]

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[Diagnostic]:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(
            self.items,
            key=lambda d: (order[d.severity], d.origin.file, d.origin.pointer, d.code),
        )


def _excerpt(pos: Position) -> list[str]:
    if not pos.source_line:
        return []
    gutter = f"{pos.line:>5} | "
    caret = " " * (len(gutter) - 2) + "| " + " " * (pos.column - 1) + "^"
    return [gutter + pos.source_line.rstrip("\n"), caret]


def render_text(
    diags: Sequence[Diagnostic],
    locator: LineLocator | None,
    *,
    show_info: bool = False,
    summary: bool = True,
    wrote: bool = False,
) -> str:
    """Render gcc/mypy style: ``file:line:col: severity: message  [CODE]`` plus details."""
    lines: list[str] = []
    shown = [d for d in diags if show_info or d.severity is not Severity.INFO]
    for d in shown:
        pos = locator.position(d.origin) if locator else None
        where = f"{d.origin.file}:{pos.line}:{pos.column}" if pos else f"{d.origin.file}:1:1"
        lines.append(f"{where}: {d.severity.value}: {d.message}  [{d.code}]")
        lines.append(f"  at #{d.origin.pointer}")
        if pos:
            lines.extend("  " + x for x in _excerpt(pos))
        for rel in d.related:
            rpos = locator.position(rel) if locator else None
            rwhere = f"{rel.file}:{rpos.line}:{rpos.column}" if rpos else rel.file
            lines.append(f"  see {rwhere} (#{rel.pointer})")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    if summary:
        n_err = sum(1 for d in diags if d.severity is Severity.ERROR)
        n_warn = sum(1 for d in diags if d.severity is Severity.WARNING)
        files = len({d.origin.file for d in diags if d.severity is not Severity.INFO})
        if n_err:
            lines.append(
                f"Found {n_err} error{'s' * (n_err != 1)}"
                f"{f' and {n_warn} warning' + 's' * (n_warn != 1) if n_warn else ''}"
                f" in {files} file{'s' * (files != 1)} (nothing was written)"
            )
        elif n_warn:
            suffix = "" if not wrote else " (output written)"
            lines.append(f"{n_warn} warning{'s' * (n_warn != 1)}{suffix}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diags: Sequence[Diagnostic], locator: LineLocator | None) -> str:
    """One JSON document with an LSP-shaped object per diagnostic."""
    out = []
    for d in diags:
        pos = locator.position(d.origin) if locator else None
        line, col = (pos.line, pos.column) if pos else (1, 1)
        related = []
        for rel in d.related:
            rpos = locator.position(rel) if locator else None
            related.append(
                {
                    "file": rel.file,
                    "pointer": rel.pointer,
                    "line": rpos.line if rpos else None,
                    "column": rpos.column if rpos else None,
                }
            )
        out.append(
            {
                "code": d.code,
                "severity": d.severity.value,
                "message": d.message,
                "file": d.origin.file,
                "line": line,
                "column": col,
                "pointer": d.origin.pointer,
                "range": {
                    "start": {"line": line - 1, "character": col - 1},
                    "end": {"line": line - 1, "character": col - 1},
                },
                "source": "gatewright",
                "hint": d.hint,
                "relatedInformation": related,
            }
        )
    return json.dumps({"diagnostics": out}, indent=2, ensure_ascii=False) + "\n"
