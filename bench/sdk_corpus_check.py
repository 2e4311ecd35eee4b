"""Generate the SDK for every OpenAPI 3 document in ../shared/corpus and check it.

Per document: generation exit status and time, operations emitted / declared,
every module imports, ``mypy --strict`` error count. Slow on GitHub (black and
mypy over a few MB of code), so it is a script, not part of the test suite.

    .venv/bin/python bench/sdk_corpus_check.py [--no-format] [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewright.compiler.diagnostics import Diagnostics, Severity
from gatewright.compiler.emit.sdk_types import (
    DictType,
    FormatType,
    ListType,
    ModelType,
    NullableType,
    PrimitiveType,
    PyType,
    UnionType,
)
from gatewright.compiler.emit.sdk_view import ApiView, build_view
from gatewright.compiler.pipeline import compile_to_tree
from gatewright.compiler.source.loading import LoadFailed, load

__all__ = ["Result", "check", "find_documents", "main", "smoke"]

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
VERBOSE = "-v" in sys.argv
METHODS = (
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "trace",
    "x-amazon-apigateway-any-method",
)
_OPENAPI3 = re.compile(rb'^\s*["\']?openapi["\']?\s*:\s*["\']?3\.', re.MULTILINE)


@dataclass
class Result:
    document: str
    status: str
    seconds: float
    declared: int = 0
    emitted: int = 0
    modules: int = 0
    import_errors: int = 0
    mypy: str = "-"
    warnings: int = 0
    smoke: str = "-"


def find_documents(corpus: Path) -> list[Path]:
    """Root OpenAPI 3 documents (files that declare ``openapi: 3.x`` at the top level)."""
    found = []
    for path in sorted(corpus.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        head = path.read_bytes()[:4096]
        if _OPENAPI3.search(head):
            found.append(path)
    return found


def _declared_operations(path: Path) -> int:
    try:
        spec = load(path, Diagnostics())
    except LoadFailed:
        return 0
    paths: dict[str, Any] = spec.document.get("paths") or {}
    return sum(1 for item in paths.values() if isinstance(item, dict) for m in METHODS if m in item)


def _run(cmd: list[str], cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


_IMPORT_ALL = """
import importlib, pkgutil, sys, json
pkg = importlib.import_module(sys.argv[1])
names, failed = [pkg.__name__], []
for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    names.append(m.name)
    try:
        importlib.import_module(m.name)
    except Exception as exc:
        failed.append(f"{m.name}: {exc!r}")
print(json.dumps({"modules": len(names), "failed": failed}))
"""


def _value(t: PyType, depth: int = 0) -> Any:
    """A simple valid value for a parameter or body of type ``t``."""
    if isinstance(t, NullableType):
        return _value(t.inner, depth)
    if isinstance(t, PrimitiveType):
        return {"str": "v", "int": 1, "float": 1.5, "bool": True}.get(t.py, "v")
    if isinstance(t, FormatType):
        return {
            "_dt.datetime": "2020-01-01T00:00:00Z",
            "_dt.date": "2020-01-01",
            "_uuid.UUID": "00000000-0000-0000-0000-000000000001",
        }.get(t.py, "dg==")
    if isinstance(t, ListType):
        return [_value(t.item, depth + 1)] if depth < 4 else []
    if isinstance(t, DictType):
        return {"k": _value(t.value, depth + 1)} if depth < 4 else {}
    if isinstance(t, UnionType) and t.members:
        return _value(t.members[0], depth)
    if isinstance(t, ModelType):
        m = t.model
        if m.kind == "enum":
            return m.members[0].value if m.members else "v"
        if m.kind == "union":
            return _value(m.variants[0].type, depth) if m.variants else {}
        if depth > 4:
            return {}
        return {
            f.json_name: _value(f.type, depth + 1)
            for f in m.fields
            if f.required and not f.read_only
        }
    return "v"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}/{key} (only on one side)"
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{path}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}/{i}")
    return f"{path}: {a!r} != {b!r}"


def smoke(root: Path, package: str, view: ApiView) -> list[str]:
    """Call every operation against a MockTransport; check method, path and body encoding."""
    sys.path.insert(0, str(root))
    try:
        sdk = importlib.import_module(package)
        base = importlib.import_module(package + "._base")
    finally:
        sys.path.remove(str(root))
    problems: list[str] = []
    examples_checked: list[str] = []
    namespaces = [(ns, ns.name) for ns in view.namespaces] + (
        [(view.root, None)] if view.root else []
    )

    async def run() -> None:
        sent: list[Any] = []
        reply: list[Any] = []

        def answer(request: Any) -> Any:
            sent.append(request)
            return reply[0] if reply else sdk.HttpResponse(204)

        transport = sdk.MockTransport(answer)
        client = sdk.AsyncClient(base_url="http://smoke.test", transport=transport, max_retries=0)
        for ns, name in namespaces:
            target = getattr(client, name) if name else client
            for op in ns.operations:
                kwargs = {p.py_name: _value(p.type) for p in op.params if p.required}
                if op.body is not None and op.body.required:
                    kwargs["body"] = (
                        b"x"
                        if op.body.kind == "binary"
                        else ("v" if op.body.kind == "text" else _value(op.body.type))
                    )
                sent.clear()
                try:
                    await getattr(target, op.method_name).raw(**kwargs)
                except Exception as exc:  # every failure is reported, not raised
                    problems.append(f"{op.op.id}: {exc!r}")
                    continue
                req = sent[0]
                expected_path = op.op.path
                for p in op.params:
                    if p.location == "path":
                        spec = base.ParamSpec(
                            p.name, "path", p.style, p.explode, p.allow_reserved, p.content_type
                        )
                        expected_path = expected_path.replace(
                            "{" + p.name + "}", base.serialize_path(spec, kwargs[p.py_name])
                        )
                method = "GET" if op.op.method == "ANY" else op.op.method
                if req.method != method or req.path != expected_path:
                    problems.append(
                        f"{op.op.id}: sent {req.method} {req.path}, expected {method} {expected_path}"
                    )
                if op.body is not None and op.body.required and op.body.kind == "json":
                    json.loads(req.content)
                for response in op.success:
                    if response.kind != "json" or not response.status.isdigit():
                        continue
                    for example in response.examples:
                        reply[:] = [sdk.HttpResponse.from_json(int(response.status), example)]
                        try:
                            raw = await getattr(target, op.method_name).raw(**kwargs)
                            again = base.jsonable(raw.parse())
                        except Exception as exc:  # reported with the others
                            problems.append(f"{op.op.id} example for {response.status}: {exc!r}")
                            continue
                        finally:
                            reply.clear()
                        if json.dumps(again, sort_keys=True) != json.dumps(example, sort_keys=True):
                            where = _first_difference(example, again)
                            problems.append(
                                f"{op.op.id} example for {response.status} differs at {where}"
                            )
                        examples_checked.append(op.op.id)
        await client.close()

    asyncio.run(run())
    for model in view.models:
        if model.kind != "object":
            continue
        for example in model.examples:
            if not isinstance(example, dict):
                continue
            module = importlib.import_module(f"{package}.models.{model.module}")
            cls = getattr(module, model.name)
            try:
                again = cls.from_json(example).to_json()
            except Exception as exc:  # reported with the others
                problems.append(f"example of {model.name}: {exc!r}")
                continue
            if json.dumps(again, sort_keys=True, default=str) != json.dumps(
                example, sort_keys=True, default=str
            ):
                problems.append(f"example of {model.name} does not round-trip")
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    print(f"   round-tripped {len(examples_checked)} response examples", file=sys.stderr)
    return problems


def check(path: Path, *, format_code: bool, run_mypy: bool) -> Result:
    label = path.relative_to(CORPUS).as_posix()
    started = time.perf_counter()
    compiled = compile_to_tree(path, ["sdk"], format_code=format_code)
    seconds = time.perf_counter() - started
    warnings = sum(1 for d in compiled.diags if d.code == "GW404")
    declared = _declared_operations(path)
    if not compiled.tree:
        errors = [f"{d.code} {d.message}" for d in compiled.diags if d.severity is Severity.ERROR]
        return Result(
            label, "failed: " + "; ".join(errors[:3]), seconds, declared, warnings=warnings
        )
    emitted = sum(text.count("@_b.operation\n") for text in compiled.tree.values())
    result = Result(label, "ok", seconds, declared, emitted, warnings=warnings)
    with tempfile.TemporaryDirectory(prefix="sdk-corpus-") as tmp:
        root = Path(tmp)
        for rel, text in compiled.tree.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        package = next(p.parent.name for p in compiled.tree if p.name == "py.typed")
        assert compiled.api is not None
        problems = smoke(root, package, build_view(compiled.api))
        result.smoke = f"{result.emitted - len(problems)}/{result.emitted}"
        for line in problems[: None if VERBOSE else 5]:
            print("   smoke:", line, file=sys.stderr)
        imported = _run([sys.executable, "-c", _IMPORT_ALL, package], root)
        if imported.returncode != 0:
            result.import_errors = -1
            result.status = "import crashed: " + imported.stderr.strip().splitlines()[-1]
        else:
            report = json.loads(imported.stdout)
            result.modules = report["modules"]
            result.import_errors = len(report["failed"])
            for line in report["failed"][:5]:
                print("   import failed:", line, file=sys.stderr)
        if run_mypy:
            checked = _run(
                [
                    sys.executable,
                    "-m",
                    "mypy",
                    "--strict",
                    "--no-incremental",
                    "--config-file",
                    "/dev/null",
                    "--cache-dir",
                    str(root / ".mypy_cache"),
                    package,
                ],
                root,
            )
            last = (checked.stdout.strip().splitlines() or ["?"])[-1]
            result.mypy = "0 errors" if checked.returncode == 0 else last
            if checked.returncode != 0:
                for line in checked.stdout.splitlines()[:10]:
                    print("   mypy:", line, file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-format", action="store_true", help="skip black (much faster)")
    parser.add_argument("--no-mypy", action="store_true")
    parser.add_argument("--only", help="substring of the document path")
    parser.add_argument("-v", action="store_true", help="list every smoke-test problem")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}; nothing to check")
        return 0
    documents = [p for p in find_documents(CORPUS) if not args.only or args.only in p.as_posix()]
    results = []
    for path in documents:
        print(f"-- {path.relative_to(CORPUS)}", file=sys.stderr, flush=True)
        results.append(check(path, format_code=not args.no_format, run_mypy=not args.no_mypy))
    print(
        f"{'document':<60} {'status':<6} {'gen s':>6} {'ops':>9} {'smoke':>9} {'modules':>7} {'imp err':>7} {'GW404':>5}  mypy"
    )
    for r in results:
        ops = f"{r.emitted}/{r.declared}"
        print(
            f"{r.document[-60:]:<60} {r.status[:6]:<6} {r.seconds:6.1f} {ops:>9} {r.smoke:>9} {r.modules:>7} {r.import_errors:>7} {r.warnings:>5}  {r.mypy}"
        )
    failed = [
        r
        for r in results
        if r.status != "ok"
        or r.import_errors
        or r.mypy not in ("0 errors", "-")
        or r.emitted != r.declared
        or r.smoke != f"{r.emitted}/{r.emitted}"
    ]
    for r in failed:
        print(f"PROBLEM {r.document}: {r.status}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
