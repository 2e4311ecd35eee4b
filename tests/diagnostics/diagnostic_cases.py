"""Invalid-spec cases that document their own expectations, mypy style.

A case is a file directly under ``cases/`` (the spec itself), or a folder under
``cases/`` whose root is ``openapi.yaml`` (or ``openapi.json``) and whose other
files are reached through ``$ref``. Expectations sit at the end of the line the
diagnostic must point at, in any file of the case::

    operationId: listPets  # E: GW201 @/paths/~1pets/post/operationId already used

A folder with no ``openapi.yaml`` holds several specs compiled together as the
versions of one gateway (``gatewright validate v1.yaml v2.yaml``): every spec
file directly in the folder, in name order.

``E`` is an error and ``W`` a warning; then the code; then, optionally, ``@`` and
the JSON pointer inside that file (a bare ``@`` is the document root); then,
optionally, words the message must contain. JSON files cannot hold comments, so a
JSON file ``x.json`` has a sidecar ``x.expect`` with lines ``LINE CODE [@pointer]
[words]`` (the severity is the code's default). Every error and warning of a case
must be expected, and every expectation must be met; informational diagnostics
are not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gatewright.compiler.codes import lookup

__all__ = ["CASES_DIR", "Case", "Expectation", "discover_cases"]

CASES_DIR = Path(__file__).parent / "cases"
_SPEC_SUFFIXES = (".yaml", ".yml", ".json")
_COMMENT = re.compile(r"#\s*([EW]):\s*(GW\d{3})(?:[ \t]+@(\S*))?(.*?)(?=\s*#\s*[EW]:|$)")
_SIDECAR = re.compile(r"^(\d+)\s+(GW\d{3})(?:\s+@(\S*))?(.*)$")


@dataclass(frozen=True, slots=True)
class Expectation:
    file: Path  # resolved
    line: int
    severity: str  # "error" | "warning"
    code: str
    pointer: str | None  # None: not asserted
    words: str  # "" when not asserted

    @property
    def key(self) -> tuple[Path, int, str]:
        return (self.file, self.line, self.code)

    def describe(self, root: Path) -> str:
        where = self.file.relative_to(root) if self.file.is_relative_to(root) else self.file
        pointer = "" if self.pointer is None else f" @{self.pointer}"
        return f"{where}:{self.line}: {self.severity} {self.code}{pointer} {self.words}".rstrip()


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    root: Path  # the spec file handed to the compiler
    folder: Path  # where its files live (the case folder, or cases/ for one-file cases)
    files: tuple[Path, ...]  # every file of the case that can hold expectations
    specs: tuple[Path, ...] = ()  # the specs compiled together; empty: just ``root``

    @property
    def inputs(self) -> tuple[Path, ...]:
        return self.specs or (self.root,)

    def expectations(self) -> list[Expectation]:
        found: list[Expectation] = []
        for path in self.files:
            sidecar = path.with_suffix(".expect")
            if path.suffix == ".json":
                if sidecar.exists():
                    found.extend(_read_sidecar(path, sidecar))
                continue
            found.extend(_read_comments(path))
        return found


def _read_comments(path: Path) -> list[Expectation]:
    out: list[Expectation] = []
    for number, text in enumerate(path.read_text("utf-8").splitlines(), start=1):
        for m in _COMMENT.finditer(text):
            kind, code, pointer, words = m.groups()
            out.append(
                Expectation(
                    file=path.resolve(),
                    line=number,
                    severity="error" if kind == "E" else "warning",
                    code=code,
                    pointer=pointer,
                    words=words.strip(),
                )
            )
    return out


def _read_sidecar(spec: Path, sidecar: Path) -> list[Expectation]:
    out: list[Expectation] = []
    for text in sidecar.read_text("utf-8").splitlines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        m = _SIDECAR.match(text)
        if m is None:
            raise ValueError(f"{sidecar}: cannot read expectation {text!r}; expected 'LINE CODE [@pointer] [words]'")
        line, code, pointer, words = m.groups()
        out.append(
            Expectation(
                file=spec.resolve(),
                line=int(line),
                severity=lookup(code).severity_name,
                code=code,
                pointer=pointer,
                words=words.strip(),
            )
        )
    return out


def discover_cases() -> list[Case]:
    cases: list[Case] = []
    for entry in sorted(CASES_DIR.iterdir()):
        if entry.is_file() and entry.suffix in _SPEC_SUFFIXES:
            cases.append(Case(name=entry.name, root=entry, folder=CASES_DIR, files=(entry,)))
        elif entry.is_dir():
            root = next((entry / n for n in ("openapi.yaml", "openapi.json") if (entry / n).exists()), None)
            files = tuple(sorted(p for p in entry.rglob("*") if p.suffix in _SPEC_SUFFIXES))
            if root is None:
                specs = tuple(sorted(p for p in entry.iterdir() if p.is_file() and p.suffix in _SPEC_SUFFIXES))
                if len(specs) < 2:
                    raise ValueError(f"case folder {entry} has no openapi.yaml or openapi.json, nor several specs")
                cases.append(Case(name=entry.name, root=specs[0], folder=entry, files=files, specs=specs))
                continue
            cases.append(Case(name=entry.name, root=root, folder=entry, files=files))
    return cases
