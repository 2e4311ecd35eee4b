"""Properties of the generated module itself: deterministic, black-stable, mypy --strict
clean, safe against hostile spec strings, and free of build-time imports."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler.format import format_source
from test_validation_bodies import COMPONENTS_30, SCHEMAS_30, SCHEMAS_31
from test_validation_differential import COMPONENTS, PATHS
from vsupport import Compiled, Request, compile_spec, operation, spec_with

REPO = Path(__file__).resolve().parents[2]

HOSTILE = '"""\nimport os\nos.system("echo pwned")\n"""'


def _rich_spec() -> dict[str, Any]:
    """Every construct the other tests use, in one document."""
    paths: dict[str, Any] = dict(PATHS)
    for name, schema in SCHEMAS_30.items():
        paths[f"/b/{name}"] = {"post": operation(operation_id=f"b_{name}", body=schema)}
    paths["/p/{id}"] = {
        "get": operation(
            operation_id="styles",
            parameters=[
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "style": "matrix",
                    "explode": True,
                    "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
                },
                {
                    "name": "q",
                    "in": "query",
                    "style": "pipeDelimited",
                    "explode": False,
                    "schema": {"type": "array", "items": {"type": "number"}},
                },
                {
                    "name": "o",
                    "in": "query",
                    "style": "form",
                    "explode": True,
                    "schema": {"type": "object", "properties": {"x": {"type": "boolean"}}},
                },
                {"name": HOSTILE, "in": "header", "schema": {"type": "string", "enum": [HOSTILE]}},
            ],
            x_gateway={"validation": {"unknownQuery": "reject"}},
        )
    }
    return spec_with(paths, schemas={**COMPONENTS, **COMPONENTS_30})


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return compile_spec(_rich_spec(), tmp_path_factory.mktemp("rich"))


def _mypy_path(tmp_path: Path) -> Path:
    # the editable install uses an import hook mypy cannot follow: expose the runtime directly
    root = tmp_path / "mypy-path"
    (root / "gatewright").mkdir(parents=True)
    (root / "gatewright" / "runtime").symlink_to(REPO / "runtime")
    return root


def test_generated_modules_are_clean_under_mypy_strict(rich: Compiled, tmp_path: Path) -> None:
    paths_31 = {
        f"/{name}": {"post": operation(operation_id=name, body=schema)}
        for name, schema in SCHEMAS_31.items()
    }
    modules = [
        rich.path,
        compile_spec(spec_with(paths_31, version="3.1.0"), tmp_path / "v31").path,
    ]
    flags = ["--strict", "--warn-unreachable", "--follow-imports=silent", "--no-incremental"]
    for code in ("redundant-expr", "truthy-bool", "possibly-undefined", "ignore-without-code"):
        flags += ["--enable-error-code", code]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *flags, *map(str, modules)],
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(_mypy_path(tmp_path))},
        cwd=tmp_path,  # away from the repository's own mypy configuration
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generation_is_deterministic_across_hash_seeds(tmp_path: Path) -> None:
    spec_path = tmp_path / "openapi.json"
    spec_path.write_text(json.dumps(_rich_spec()))
    program = (
        "import hashlib, sys\n"
        "from pathlib import Path\n"
        "from gatewright.compiler.pipeline import build_ir\n"
        "from gatewright.compiler.emit.validation import plan_validation\n"
        "api, _ = build_ir(Path(sys.argv[1]))\n"
        "plan = plan_validation(api)\n"
        "print(hashlib.sha256(plan.module_source.encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", program, str(spec_path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            timeout=120,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_generated_module_is_black_stable_and_only_defines_checks(rich: Compiled) -> None:
    compiled = rich
    assert format_source(compiled.source) == compiled.source
    tree = ast.parse(compiled.source)
    allowed = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.FunctionDef)
    for node in tree.body[1:]:  # after the module docstring
        assert isinstance(node, allowed), ast.dump(node)[:200]
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "system" not in calls


def test_hostile_names_round_trip_as_data(rich: Compiled) -> None:
    compiled = rich
    ok = Request(path={"id": ";a=1"}, headers={HOSTILE: HOSTILE})
    assert compiled.accepts("styles", ok)
    failure = compiled.failure("styles", Request(path={"id": ";a=1"}, headers={HOSTILE: "x"}))
    assert failure is not None and failure.pointer == f"header/{HOSTILE}"


def test_styled_parameters_in_the_rich_spec(rich: Compiled) -> None:
    compiled = rich
    base = {"id": ";a=1"}
    assert compiled.accepts("styles", Request(path=base, query=[("q", "1|2.5"), ("x", "true")]))
    assert not compiled.accepts("styles", Request(path=base, query=[("q", "1|a")]))
    assert not compiled.accepts("styles", Request(path=base, query=[("x", "1")]))
    assert not compiled.accepts("styles", Request(path={"id": ";a=z"}))
    failure = compiled.failure("styles", Request(path=base, query=[("y", "1")]))
    assert failure is not None and failure.pointer == "query/y"


def test_runtime_helpers_import_no_build_time_package() -> None:
    program = (
        "import sys\n"
        "import gatewright.runtime.validation\n"
        "banned = ('jinja2', 'prance', 'black', 'openapi_core', 'openapi_spec_validator',"
        " 'click', 'ruamel', 'yaml', 'gatewright.compiler')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned"
        " or m.startswith('gatewright.compiler')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
