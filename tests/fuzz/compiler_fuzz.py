"""A mutator for OpenAPI documents and the check every mutation must pass.

Mutations (each picks its target from the document with drawn numbers, so hypothesis
can shrink them): delete a key, swap a value's type, break a ``$ref``, insert a
``$ref`` cycle, and plant hostile strings (quotes, triple quotes, backslashes, line
breaks, unicode, and Python that would create a marker file if it ever ran) in
names, descriptions, examples, operationIds, parameter names, enum values, property
names and ``x-gateway`` values.

:func:`check_mutation` compiles the mutated document in process
(``compile_to_tree(path, ("gateway", "sdk"))``). It must return diagnostics with
errors and no files, or a tree whose every ``.py`` file parses; with ``load=True`` the
generated gateway and SDK are also imported and the app built. A planted payload must
never run: the marker file must not exist afterwards.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import enum
import importlib
import json
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gatewright.compiler.pipeline import compile_to_tree

__all__ = [
    "MUTATIONS",
    "WEIGHTED_MUTATIONS",
    "Mutation",
    "Outcome",
    "Verdict",
    "apply_mutations",
    "check_mutation",
    "hostile_strings",
    "load_document",
    "seed_documents",
]

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

# Single-file documents (small and medium) that compile as they are.
CORPUS_SEEDS = (
    "oai-examples/v3.0/petstore.yaml",
    "oai-examples/v3.0/petstore-expanded.yaml",
    "oai-examples/v3.0/uspto.yaml",
    "oai-examples/v3.0/api-with-examples.yaml",
    "oai-examples/v3.0/link-example.yaml",
    "oai-examples/v3.0/callback-example.yaml",
    "oai-examples/v3.1/webhook-example.yaml",
    "oai-examples/v3.1/non-oauth-scopes.yaml",
    "swagger-petstore3/openapi.yaml",
    "swagger-petstore31/petstore.yaml",
    "aws-lambda-proxy-customers/openapi-spec.yaml",
    "aws-http-api-petstore/openapi.spec.json",
    "aws-cognito-authorizer/openapi.cognito-auth.json",
    "aws-vpclink-greedy-proxy/api.yaml",
    "aws-dynamodb-service-integration/api.yaml",
    "aws-validators-circular-ref/openapi.spec.circular-ref-with-request-body.json",
    "aws-global-request-authorizer/openapi.spec.global-auth.json",
)


def load_document(path: Path) -> Any:
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def seed_documents() -> dict[str, Any]:
    """The petstore sample always; the corpus seeds when ``../shared/corpus`` is there."""
    seeds = {"samples/petstore": load_document(REPO / "samples" / "petstore" / "openapi.yaml")}
    if CORPUS.is_dir():
        for rel in CORPUS_SEEDS:
            if (CORPUS / rel).exists():
                seeds[rel] = load_document(CORPUS / rel)
    return seeds


def hostile_strings(marker: Path) -> tuple[str, ...]:
    """Strings that break naive code generation; the Python ones create ``marker``."""
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return (
        f'"""; import os; os.system(\'touch {marker}\')',
        f"'''; {touch}; '''",
        f'"; {touch}; "',
        f"'); {touch} #",
        f"\\\"); {touch} #",
        f"}}}}{{{{ {touch} }}}}",
        f"{{{{ {touch} }}}}{{% raw %}}",
        f"x\n{touch}\n",
        f"x\r\n# {touch}",
        f"\\\n{touch}",
        "\\",
        '"',
        "'",
        '"""',
        "'''",
        "",
        " ",
        "class",
        "None",
        "__init__",
        "1abc",
        "a-b.c/d e",
        "${env.UNSET_VARIABLE}",
        "{path.nope}",
        "\u2028line\u2029separators\x85",
        "\x00nul\x01\x7f",
        "ünïcödé ☃ 𝔘 \U0001f600",
        "𝕏",
        "a" * 300,
    )


# --------------------------------------------------------------------------- navigation


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in the document, the root excluded."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            yield from _slots(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index), value
            yield from _slots(value, (*path, index))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for token in path[:-1]:
        node = node[token]
    return node


def _pick(items: list[Any], number: int) -> Any:
    return items[number % len(items)] if items else None


class Mutation(enum.Enum):
    DELETE_KEY = "delete-key"
    SWAP_TYPE = "swap-type"
    BREAK_REF = "break-ref"
    REF_CYCLE = "ref-cycle"
    HOSTILE_VALUE = "hostile-value"
    HOSTILE_KEY = "hostile-key"
    HOSTILE_NAME = "hostile-name"
    HOSTILE_X_GATEWAY = "hostile-x-gateway"


MUTATIONS = tuple(Mutation)
# What the fuzzer draws from: hostile strings three times as often as the structural
# mutations, which mostly end in (correct) rejections and would leave few outputs to
# parse and import.
WEIGHTED_MUTATIONS = tuple(
    m for m in Mutation for _ in range(3 if m.value.startswith("hostile") else 1)
)

_SWAPS: tuple[Any, ...] = (None, 0, -1, 1.5, True, "", "text", [], [1, "a"], {}, {"a": {"b": 1}})
_BROKEN_REFS = (
    "#/components/schemas/DoesNotExist",
    "#/components/schemas",
    "#/info",
    "#",
    "",
    "#/paths/~1nope/get",
    "missing-file.yaml#/components/schemas/Pet",
    "#/components/schemas/%ZZ",
    "#/components/schemas/~2bad",
)
# Keys whose string values name things in generated code.
_NAME_KEYS = ("operationId", "name", "title", "summary", "description", "tags", "enum", "example", "default")


def _mutate(doc: dict[str, Any], mutation: Mutation, a: int, b: int, hostile: tuple[str, ...]) -> None:
    slots = list(_slots(doc))
    if mutation is Mutation.DELETE_KEY:
        keyed = [p for p, _ in slots if isinstance(p[-1], str)]
        path = _pick(keyed, a)
        if path is not None:
            del _parent(doc, path)[path[-1]]
    elif mutation is Mutation.SWAP_TYPE:
        path, _ = _pick(slots, a) or ((), None)
        if path:
            _parent(doc, path)[path[-1]] = copy.deepcopy(_pick(list(_SWAPS), b))
    elif mutation is Mutation.BREAK_REF:
        refs = [p for p, v in slots if p[-1] == "$ref"]
        path = _pick(refs, a)
        if path is not None:
            _parent(doc, path)["$ref"] = _pick(list(_BROKEN_REFS), b)
        else:
            _insert_schema_ref(doc, slots, a, _pick(list(_BROKEN_REFS), b))
    elif mutation is Mutation.REF_CYCLE:
        schemas = doc.setdefault("components", {}) if isinstance(doc.get("components", {}), dict) else {}
        table = schemas.setdefault("schemas", {}) if isinstance(schemas, dict) else {}
        if isinstance(table, dict):
            if b % 3 == 0:  # a cycle through $ref only: never reaches a value
                table["CycleA"] = {"$ref": "#/components/schemas/CycleB"}
                table["CycleB"] = {"$ref": "#/components/schemas/CycleA"}
            elif b % 3 == 1:  # a self reference through allOf
                table["CycleA"] = {"allOf": [{"$ref": "#/components/schemas/CycleA"}]}
            else:  # recursion through a property: legal, the IR must bound it
                table["CycleA"] = {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/components/schemas/CycleA"}},
                }
            _insert_schema_ref(doc, slots, a, "#/components/schemas/CycleA")
    elif mutation is Mutation.HOSTILE_VALUE:
        strings = [p for p, v in slots if isinstance(v, str)]
        path = _pick(strings, a)
        if path is not None:
            _parent(doc, path)[path[-1]] = _pick(list(hostile), b)
    elif mutation is Mutation.HOSTILE_KEY:
        mappings = [p for p, v in slots if isinstance(v, dict) and v] + [()]
        path = _pick(mappings, a)
        node = doc if not path else _parent(doc, path)[path[-1]]
        if isinstance(node, dict) and node:
            old = _pick(list(node), b)
            new = _pick(list(hostile), a + b)
            if new not in node:
                node[new] = node.pop(old)
    elif mutation is Mutation.HOSTILE_NAME:
        named = [p for p, v in slots if p[-1] in _NAME_KEYS or (len(p) > 1 and p[-2] in ("enum", "tags"))]
        path = _pick(named, a)
        if path is not None:
            _parent(doc, path)[path[-1]] = _pick(list(hostile), b)
        else:
            doc.setdefault("info", {})["title"] = _pick(list(hostile), b)
    elif mutation is Mutation.HOSTILE_X_GATEWAY:
        _plant_x_gateway(doc, a, b, hostile)


def _insert_schema_ref(doc: dict[str, Any], slots: list[tuple[tuple[Any, ...], Any]], a: int, ref: str) -> None:
    """Point a random schema (or a new response schema) at ``ref``."""
    schemas = [p for p, v in slots if p[-1] == "schema" and isinstance(v, dict)]
    path = _pick(schemas, a)
    if path is not None:
        _parent(doc, path)[path[-1]] = {"$ref": ref}


def _plant_x_gateway(doc: dict[str, Any], a: int, b: int, hostile: tuple[str, ...]) -> None:
    text = _pick(list(hostile), b)
    root = doc.get("x-gateway")
    if not isinstance(root, dict):
        root = doc["x-gateway"] = {"version": 1}
    choice = a % 9
    if choice == 0:
        root["name"] = text
    elif choice == 1:
        root.setdefault("stages", {})[text] = {"variables": {"v": text}}
    elif choice == 2:
        root.setdefault("backends", {})["b"] = {"url": text}
    elif choice == 3:
        root["gatewayResponses"] = {"RESOURCE_NOT_FOUND": {"body": {"message": text, text: [text]}, "headers": {"X-H": text}}}
    elif choice == 4:
        root["basePath"] = text
    elif choice == 5:
        root.setdefault("defaults", {})["integration"] = {"type": "mock", "status": 200, "body": {text: text}, "headers": {"X-H": text}}
    elif choice == 6:
        root.setdefault("defaults", {})["integration"] = {"type": "function", "handler": text}
    elif choice == 7:
        root.setdefault("stages", {})["dev"] = {"variables": {text: "x"}}
    else:
        operations = [
            item[method]
            for item in (doc.get("paths") or {}).values()
            if isinstance(item, dict)
            for method in ("get", "post", "put", "delete", "patch")
            if isinstance(item.get(method), dict)
        ]
        operation = _pick(operations, b)
        if operation is not None:
            operation["x-gateway"] = {"integration": {"type": "mock", "body": text, "headers": {text: text}}}


def apply_mutations(doc: Any, steps: list[tuple[Mutation, int, int]], hostile: tuple[str, ...]) -> Any:
    mutated = copy.deepcopy(doc)
    if not isinstance(mutated, dict):
        return mutated
    for mutation, a, b in steps:
        _mutate(mutated, mutation, a, b, hostile)
    return mutated


# --------------------------------------------------------------------------- the check


class Verdict(enum.Enum):
    COMPILED = "compiled"  # a tree whose every module parses
    REJECTED = "rejected"  # errors, no files
    TRACEBACK = "traceback"  # the compiler raised
    UNPARSEABLE = "unparseable"  # a generated .py file does not parse
    INCONSISTENT = "inconsistent"  # errors and files, or neither
    LOAD_FAILED = "load-failed"  # the generated code raised on import or build_app
    INJECTED = "injected"  # a planted payload ran


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    detail: str = ""
    imported: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict in (Verdict.COMPILED, Verdict.REJECTED)


def _write(tree: dict[Any, str], root: Path) -> None:
    for rel, text in tree.items():
        target = root / str(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _import_and_build(root: Path) -> str | None:
    """Import the generated gateway and SDK from ``root`` and build the app; returns a
    problem description, or None. A clean ConfigurationError is a valid outcome."""
    from gatewright.runtime import ConfigurationError

    paths = [root / "gateway", root / "sdk"]
    packages = [
        p.name for base in paths if base.is_dir() for p in base.iterdir() if (p / "__init__.py").exists()
    ]
    sys.path[:0] = [str(p) for p in paths]
    try:
        for package in packages:
            module = importlib.import_module(package)
            if package.endswith("_gateway"):
                app_module = importlib.import_module(f"{package}.app")
                config = importlib.import_module(f"{package}.config")
                with contextlib.suppress(ConfigurationError):
                    app_module.build_app(config.DEFAULT_STAGE, env={})
            del module
        return None
    except Exception:
        return traceback.format_exc(limit=8)
    finally:
        for p in paths:
            if str(p) in sys.path:
                sys.path.remove(str(p))
        for name in [m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in packages)]:
            del sys.modules[name]


def check_mutation(doc: Any, workdir: Path, marker: Path, *, load: bool = False, fmt: str = "json") -> Outcome:
    spec = workdir / f"openapi.{fmt}"
    if fmt == "json":
        spec.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        spec.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    try:
        result = compile_to_tree(spec, ("gateway", "sdk"))
    except Exception:
        return Outcome(Verdict.TRACEBACK, traceback.format_exc(limit=12))
    if marker.exists():
        return Outcome(Verdict.INJECTED, "the payload ran while compiling")
    has_errors = result.diags.has_errors
    if has_errors and result.tree:
        return Outcome(Verdict.INCONSISTENT, "errors were reported but files were produced")
    if has_errors:
        return Outcome(Verdict.REJECTED)
    if not result.tree:
        return Outcome(Verdict.INCONSISTENT, "no errors and no files")
    for rel, text in result.tree.items():
        if str(rel).endswith(".py"):
            try:
                ast.parse(text, filename=str(rel))
            except SyntaxError as exc:
                return Outcome(Verdict.UNPARSEABLE, f"{rel}: {exc}")
    if not load:
        return Outcome(Verdict.COMPILED)
    out = workdir / "out"
    _write(result.tree, out)
    problem = _import_and_build(out)
    if marker.exists():
        return Outcome(Verdict.INJECTED, "the payload ran while importing the generated code")
    if problem is not None:
        return Outcome(Verdict.LOAD_FAILED, problem, imported=True)
    return Outcome(Verdict.COMPILED, imported=True)

