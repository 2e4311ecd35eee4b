"""Loading a spec: read every file that takes part, bundle them, keep a source map.

Layer: source (the first stage; the only one that reads files). Must not import
``validate``, ``ir`` or ``emit``.

The result is one self-contained document (only internal ``#/...`` references
remain) plus an origin table. External ``$ref`` targets are inlined at their
first use, components first, so a schema shared by many operations is stored
once and named by the component that refers to it; later uses, and cycles, become
internal references to that first site. The origin table maps a bundled pointer
to the file and pointer it came from, so every node, including nodes reached
through a ``$ref`` into another file, knows its file, line, column and pointer.

``$ref`` keys inside ``example``, ``examples``, ``default``, ``enum`` and ``const``
values and inside foreign vendor extensions are data, not references.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..diagnostics import (
    Diagnostics,
    Origin,
    Position,
    SpecError,
    join_pointer,
)
from .yamlio import SyntaxProblem, find_position, find_positions, parse_text

__all__ = ["LoadFailed", "LoadedSpec", "SourceFile", "load", "resolve_pointer"]

# Keys whose values are maps from names to OpenAPI/JSON Schema objects.
_MAP_KEYS = frozenset(
    {
        "paths",
        "webhooks",
        "properties",
        "patternProperties",
        "definitions",
        "$defs",
        "schemas",
        "responses",
        "parameters",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "content",
        "encoding",
        "pathItems",
        "dependentSchemas",
        "examples",
    }
)
# Keys whose values are plain data wherever they appear on an object.
_DATA_KEYS = frozenset({"example", "default", "enum", "const", "variables", "scopes", "mapping"})
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Vendor extensions whose values may hold real references.
_REF_EXTENSIONS = ("x-gateway", "x-amazon-apigateway")
# Bundle components before paths so shared schemas land under their component names.
_ROOT_ORDER = {"components": 0, "x-gateway": 1, "paths": 2, "webhooks": 3}


@dataclass(slots=True)
class SourceFile:
    path: Path  # absolute
    label: str  # as shown to the user: relative to the working directory when possible
    text: str
    data: Any
    is_json: bool
    positions: dict[str, Any] = field(default_factory=dict)
    # where parsing stopped, for a file with a syntax error: its only known position
    problem: tuple[int, int] | None = None

    def locate(self, pointers: list[str]) -> None:
        """Find many positions in one pass (see :func:`find_positions`); :meth:`position`
        then answers them without building the file's node graph."""
        if self.problem is None:
            find_positions(self.text, pointers, self.positions, is_json=self.is_json)

    def position(self, pointer: str) -> Position | None:
        found = self.problem or find_position(self.text, pointer, self.positions, is_json=self.is_json)
        if found is None:
            return None
        line, col = found
        lines = self.positions.setdefault("lines", None) or self.text.splitlines()
        self.positions["lines"] = lines
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        return Position(line, col, src)


@dataclass(slots=True)
class LoadedSpec:
    root: SourceFile
    files: dict[Path, SourceFile]
    document: dict[str, Any]  # bundled: only internal references remain
    # bundled pointer where inlined content starts -> (file, pointer in that file)
    inlined: dict[str, tuple[SourceFile, str]]
    openapi_version: str

    # ------------------------------------------------------------------ source map
    def origin(self, pointer: str) -> Origin:
        """Map a pointer in the bundled document to its file and pointer there."""
        if not self.inlined:  # one file, nothing inlined: every pointer is the root's
            return Origin(self.root.label, pointer)
        probe = pointer
        suffix = ""
        while True:
            hit = self.inlined.get(probe)
            if hit is not None:
                src, src_pointer = hit
                return Origin(src.label, src_pointer + suffix)
            if not probe:
                return Origin(self.root.label, pointer)
            cut = probe.rfind("/")
            suffix = probe[cut:] + suffix
            probe = probe[:cut]

    def position(self, origin: Origin) -> Position | None:
        for f in self.files.values():
            if f.label == origin.file:
                return f.position(origin.pointer)
        return None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted(f.label for f in self.files.values()))

    def content_hash(self, extra: str = "") -> str:
        """sha256 over every input file (sorted by label) and the effective options."""
        h = hashlib.sha256()
        for f in sorted(self.files.values(), key=lambda f: f.label):
            h.update(f.label.encode())
            h.update(b"\0")
            h.update(f.text.encode())
            h.update(b"\0")
        h.update(extra.encode())
        return h.hexdigest()


class LoadFailed(SpecError):
    """Loading stopped after reporting; ``files`` are what was read, so the
    diagnostics can still be shown with a line and column."""

    def __init__(self, files: dict[Path, SourceFile]) -> None:
        super().__init__("load failed")
        self.files = files


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Follow an RFC 6901 pointer; ``$ref`` met on the way is followed (internal only)."""
    node = document
    if not pointer:
        return node
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        seen = 0
        while isinstance(node, dict) and "$ref" in node and token not in node and seen < 32:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise KeyError(pointer)
            node = resolve_pointer(document, unquote(ref[1:]))
            seen += 1
        if isinstance(node, dict):
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(pointer)
    return node


def _label(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path.as_posix()
    return Path(rel).as_posix() if not rel.startswith("../../..") else path.as_posix()


class _Loader:
    def __init__(self, diags: Diagnostics) -> None:
        self.diags = diags
        self.files: dict[Path, SourceFile] = {}
        self.failed: set[Path] = set()

    def read(self, path: Path, cited_from: Origin | None) -> SourceFile | None:
        path = path.resolve()
        if path in self.files:
            return self.files[path]
        if path in self.failed:
            return None
        label = _label(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.failed.add(path)
            where = cited_from or Origin(label)
            what = "file not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            code = "GW102" if cited_from else "GW100"
            self.diags.error(code, where, f"cannot read {label!r}: {what}", hint="check the path; $ref paths are relative to the file that contains them")
            return None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.failed.add(path)
            self.diags.error("GW101", Origin(label), f"{label!r} is not UTF-8 text (byte {exc.start})")
            return None
        is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "[")
        try:
            data = parse_text(text, is_json=is_json)
        except SyntaxProblem as exc:
            self.failed.add(path)
            src = SourceFile(path, label, text, None, is_json, problem=(exc.line, exc.column))
            self.files[path] = src
            self.diags.error("GW101", Origin(label), f"{exc.message} at line {exc.line}, column {exc.column}")
            return None
        src = SourceFile(path, label, text, data, is_json)
        self.files[path] = src
        return src


@dataclass(slots=True)
class _Bundler:
    loader: _Loader
    root: SourceFile
    diags: Diagnostics
    seen: dict[tuple[Path, str], str] = field(default_factory=dict)
    active: set[tuple[Path, str]] = field(default_factory=set)
    inlined: dict[str, tuple[SourceFile, str]] = field(default_factory=dict)
    mappings: list[tuple[dict[str, Any], SourceFile, str]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # absolute $id / $id#anchor -> pointer
    ref_sites: list[str] = field(default_factory=list)  # bundled pointers holding an internal $ref

    def run(self) -> dict[str, Any]:
        data = self.root.data
        assert isinstance(data, dict)  # checked by the caller
        self.ids = _index_ids(self.root, data)
        ordered = sorted(data.items(), key=lambda kv: _ROOT_ORDER.get(kv[0], 9))
        done: dict[str, Any] = {}
        for key, value in ordered:
            done[key] = self.child(key, value, self.root, "", "", "node")
        out = {key: done[key] for key in data}
        for mapping, src, ptr in self.mappings:
            self.fix_mapping(mapping, src, ptr)
        return out

    def child(self, key: str, value: Any, src: SourceFile, ptr: str, out: str, kind: str) -> Any:
        if not isinstance(value, dict | list):
            return value  # a scalar is kept whatever its key (most nodes are)
        cptr, cout = join_pointer(ptr, key), join_pointer(out, key)
        if kind == "map":
            return self.walk(value, src, cptr, cout, "example" if ptr.endswith("/examples") else "node")
        if key.startswith("x-"):
            if key.startswith(_REF_EXTENSIONS):
                return self.walk(value, src, cptr, cout, "ext")
            return value
        if kind == "ext":
            return self.walk(value, src, cptr, cout, "ext")
        if key in _DATA_KEYS or (kind == "example" and key == "value"):
            if key == "mapping" and isinstance(value, dict):
                copy = dict(value)
                self.mappings.append((copy, src, cptr))
                return copy
            return value
        if key == "examples" and isinstance(value, list):
            return value
        if key in _MAP_KEYS and isinstance(value, dict):
            return self.walk(value, src, cptr, cout, "map")
        return self.walk(value, src, cptr, cout, "node")

    def walk(self, value: Any, src: SourceFile, ptr: str, out: str, kind: str) -> Any:
        if isinstance(value, list):
            return [
                self.walk(v, src, join_pointer(ptr, i), join_pointer(out, i), kind) if isinstance(v, dict | list) else v
                for i, v in enumerate(value)
            ]
        if not isinstance(value, dict):
            return value
        if "$ref" in value and (kind != "map" or isinstance(value["$ref"], str)):
            return self.reference(value, src, ptr, out, kind)
        return {k: self.child(k, v, src, ptr, out, kind) for k, v in value.items()}

    def missing_target(self, origin: Origin, ref: str, label: str) -> None:
        if "x-gateway" in origin.pointer.split("/"):
            self.diags.error("GW305", origin, f"$ref {ref!r} points to nothing in {label!r}", hint="reusable x-gateway objects live under components.x-gateway")
        else:
            self.diags.error("GW103", origin, f"$ref {ref!r} points to nothing in {label!r}")

    def internal_ref(self, out: str, target: str, siblings: dict[str, Any]) -> dict[str, Any]:
        self.ref_sites.append(out)
        return {"$ref": "#" + _encode_fragment(target), **siblings}

    def split_ref(self, ref: str, src: SourceFile) -> tuple[Path | None, str]:
        parts = urlsplit(ref)
        if parts.scheme and len(parts.scheme) > 1:  # not a Windows drive letter
            if parts.scheme != "file":
                return None, ""
            path = Path(unquote(parts.path))
        elif parts.path:
            path = (src.path.parent / unquote(parts.path)).resolve()
        else:
            path = src.path
        return path, unquote(parts.fragment)

    def reference(self, node: dict[str, Any], src: SourceFile, ptr: str, out: str, kind: str) -> Any:
        ref = node["$ref"]
        origin = Origin(src.label, join_pointer(ptr, "$ref"))
        if ref is None:
            self.diags.warning(
                "GW109",
                origin,
                "$ref is null, so this schema accepts anything",
                hint="in YAML an unquoted '#' starts a comment: write $ref: '#/components/...' in quotes",
            )
            return {k: self.child(k, v, src, ptr, out, kind) for k, v in node.items() if k != "$ref"}
        if not isinstance(ref, str):
            hint = (
                "in YAML an unquoted '#' starts a comment: write $ref: '#/components/...' in quotes"
                if ref is None
                else "a $ref value is a string such as '#/components/schemas/Pet'"
            )
            self.diags.error("GW107", origin, f"$ref must be a string, got {_json_type(ref)}", hint=hint)
            return {k: v for k, v in node.items() if k != "$ref"}
        siblings = {k: self.child(k, v, src, ptr, out, kind) for k, v in node.items() if k != "$ref"}
        by_id = self.ids.get(_absolute_ref(src, ref)) if self.ids else None
        if by_id is not None:
            return self.internal_ref(out, by_id, siblings)
        target_path, target_ptr = self.split_ref(ref, src)
        if target_path is None:
            self.diags.error("GW102", origin, f"remote reference {ref!r} is not fetched", hint="download the document and refer to it by a relative path")
            return siblings
        if target_ptr and not target_ptr.startswith("/"):
            self.diags.error(
                "GW103",
                origin,
                f"$ref {ref!r} uses a plain-name fragment ('#{target_ptr}'), which is resolved only through $id/$anchor",
                hint="refer to the schema by JSON pointer, e.g. '#/components/schemas/Name'",
            )
            return siblings
        if target_path == self.root.path and src is self.root:
            # an internal reference of the root document: kept, checked later
            if not _exists(self.root.data, target_ptr):
                self.missing_target(origin, ref, src.label)
                return siblings
            return self.internal_ref(out, target_ptr, siblings)
        if target_path == self.root.path:
            if not _exists(self.root.data, target_ptr):
                self.missing_target(origin, ref, self.root.label)
                return siblings
            return self.internal_ref(out, target_ptr, siblings)
        key = (target_path, target_ptr)
        # OpenAPI allows no $ref on operations or name maps: those are always inlined
        operation_site = kind == "map" or _is_operation_pointer(out)
        if key in self.seen and (key in self.active or not operation_site):
            return self.internal_ref(out, self.seen[key], siblings)
        target = self.loader.read(target_path, origin)
        if target is None:
            return siblings
        try:
            value = resolve_pointer(target.data, target_ptr)
        except (KeyError, TypeError, ValueError):
            self.missing_target(origin, ref, target.label)
            return siblings
        if key in self.active:
            self.diags.error("GW106", origin, f"$ref {ref!r} refers to itself without reaching a value")
            return siblings
        self.seen.setdefault(key, out)
        self.inlined[out] = (target, target_ptr)
        self.active.add(key)
        try:
            result = self.walk(value, target, target_ptr, out, kind)
        finally:
            self.active.discard(key)
        if siblings and isinstance(result, dict):
            if "$ref" in result:
                return {**result, **siblings}
            merged = dict(result)
            merged.update(siblings)
            return merged
        return result

    def fix_mapping(self, mapping: dict[str, Any], src: SourceFile, ptr: str) -> None:
        for name, ref in list(mapping.items()):
            if not isinstance(ref, str) or ref.startswith("#") or ("/" not in ref and "." not in ref):
                continue
            target_path, target_ptr = self.split_ref(ref, src)
            if target_path is None:
                continue
            site = self.seen.get((target_path, target_ptr))
            if site is not None:
                mapping[name] = "#" + _encode_fragment(site)
            elif target_path == self.root.path:
                mapping[name] = "#" + _encode_fragment(target_ptr)


def _absolute_ref(src: SourceFile, ref: str) -> str:
    from urllib.parse import urljoin

    return urljoin(src.path.as_uri(), ref)


def _index_ids(src: SourceFile, data: Any) -> dict[str, str]:
    """JSON Schema 2020-12 ``$id`` and ``$anchor`` targets of the root document."""
    from urllib.parse import urljoin

    found: dict[str, str] = {}
    # the tokens down to the node visited: its pointer is only spelled out for a hit
    tokens: list[str | int] = []

    def visit(node: Any, base: str) -> None:
        if isinstance(node, dict):
            ident = node.get("$id")
            if isinstance(ident, str):
                base = urljoin(base, ident).split("#")[0]
                found.setdefault(base, join_pointer("", *tokens) if tokens else "")
            anchor = node.get("$anchor")
            if isinstance(anchor, str):
                found.setdefault(f"{base}#{anchor}", join_pointer("", *tokens) if tokens else "")
            for k, v in node.items():
                if isinstance(v, dict | list) and k not in _DATA_KEYS and not k.startswith("x-"):
                    tokens.append(k)
                    visit(v, base)
                    tokens.pop()
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, dict | list):
                    tokens.append(i)
                    visit(v, base)
                    tokens.pop()

    visit(data, src.path.as_uri())
    return found


def _encode_fragment(pointer: str) -> str:
    # a fragment is a URI component: keep it readable, escape only what must be
    return pointer.replace("%", "%25").replace(" ", "%20").replace("{", "%7B").replace("}", "%7D")


def _exists(document: Any, pointer: str) -> bool:
    try:
        resolve_pointer(document, pointer)
    except (KeyError, TypeError, ValueError, RecursionError):
        return False
    return True


def _is_operation_pointer(pointer: str) -> bool:
    parts = pointer.split("/")
    return len(parts) == 4 and parts[1] == "paths" and parts[3] in _METHODS


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _check_version(data: dict[str, Any], src: SourceFile, diags: Diagnostics) -> str | None:
    if "swagger" in data:
        diags.error(
            "GW104",
            Origin(src.label, "/swagger"),
            f"this is a Swagger {data.get('swagger')} document; gatewright reads OpenAPI 3.0 and 3.1",
            hint="convert it first, for example with swagger2openapi or the Swagger Editor's 'Convert to OpenAPI 3', then compile the result",
        )
        return None
    version = data.get("openapi")
    if not isinstance(version, str):
        diags.error(
            "GW105",
            Origin(src.label, "/openapi" if "openapi" in data else ""),
            "expected an 'openapi' field with a version string such as '3.0.3' or '3.1.0'"
            + ("" if "openapi" not in data else f", got {_json_type(version)}"),
            hint="quote the version in YAML ('3.0.3'), or check that this is an OpenAPI document",
        )
        return None
    if not (version.startswith("3.0") or version.startswith("3.1")):
        diags.error("GW105", Origin(src.label, "/openapi"), f"OpenAPI version {version!r} is not supported; expected 3.0.x or 3.1.x")
        return None
    return version


def load(path: Path, diags: Diagnostics) -> LoadedSpec:
    """Read ``path`` and everything it references; raise SpecError after reporting."""
    loader = _Loader(diags)
    root = loader.read(path, None)
    if root is None or root.data is None:
        if root is not None and not diags.has_errors:
            diags.error("GW108", Origin(root.label), "the document is empty; expected an OpenAPI object")
        raise LoadFailed(loader.files)
    if not isinstance(root.data, dict):
        diags.error("GW108", Origin(root.label), f"the document root must be a mapping, got {_json_type(root.data)}")
        raise LoadFailed(loader.files)
    version = _check_version(root.data, root, diags)
    if version is None:
        raise LoadFailed(loader.files)
    bundler = _Bundler(loader, root, diags)
    try:
        document = bundler.run()
    except RecursionError:
        diags.error("GW106", Origin(root.label), "the document nests too deeply to load")
        raise LoadFailed(loader.files) from None
    spec = LoadedSpec(root, loader.files, document, bundler.inlined, version)
    _report_ref_cycles(spec, bundler.ref_sites, diags)
    if diags.has_errors:
        raise LoadFailed(loader.files)
    return spec


def _report_ref_cycles(spec: LoadedSpec, sites: list[str], diags: Diagnostics) -> None:
    """A chain of ``$ref``s that comes back to itself never reaches a value; later
    stages would loop on it, so it is reported once per cycle, at its first member."""
    settled: set[str] = set()
    for site in sites:
        chain: list[str] = []
        pointer: str | None = site
        while pointer is not None and pointer not in settled and pointer not in chain:
            chain.append(pointer)
            try:
                node = resolve_pointer(spec.document, pointer)
            except (KeyError, TypeError, ValueError, RecursionError):
                node = None
            ref = node.get("$ref") if isinstance(node, dict) else None
            pointer = unquote(ref[1:]) if isinstance(ref, str) and ref.startswith("#") else None
        if pointer is not None and pointer in chain:
            cycle = chain[chain.index(pointer) :]
            first = min(cycle)
            start = cycle.index(first)
            names = " -> ".join(str(spec.origin(p)) for p in [*cycle[start:], *cycle[:start], first])
            diags.error("GW106", spec.origin(join_pointer(first, "$ref")), f"$ref cycle never reaches a value: {names}", hint="one of these references must point to a real schema or object")
        settled.update(chain)
