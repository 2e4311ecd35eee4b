"""Whole generated packages: golden output, determinism, mypy --strict, import cost.

Regenerate the golden tree with ``GATEWRIGHT_UPDATE_GOLDEN=1 pytest tests/sdk``.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from gatewright.compiler.emit.base import FileTree

from .petstore_ir import petstore
from .sdkgen import emit_tree, write_tree

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
REPO = HERE.parent.parent
PYTHON = sys.executable


def _compile_spec(spec: Path) -> FileTree:
    pipeline = pytest.importorskip("gatewright.compiler.pipeline")
    # compile from the repository root with a relative path: the header names the
    # spec as the user did, so a clone elsewhere produces the same bytes
    repo = HERE.parents[1]
    here = os.getcwd()
    os.chdir(repo)
    try:
        target = spec.relative_to(repo) if spec.is_relative_to(repo) else spec
        result = pipeline.compile_to_tree(target, ["sdk"], compiler_version="0.0.0+test")
    finally:
        os.chdir(here)
    errors = [d for d in result.diags if d.severity.value == "error"]
    assert not errors, errors
    tree: FileTree = result.tree
    return tree


def _compare(tree: FileTree, expected_root: Path) -> None:
    if os.environ.get("GATEWRIGHT_UPDATE_GOLDEN"):
        for old in sorted(expected_root.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
        write_tree(tree, expected_root)
        return
    if not expected_root.is_dir():
        pytest.fail(f"no golden tree at {expected_root}; run with GATEWRIGHT_UPDATE_GOLDEN=1")
    on_disk = {
        PurePosixPath(p.relative_to(expected_root).as_posix())
        for p in expected_root.rglob("*")
        if p.is_file()
    }
    missing, extra = sorted(on_disk - tree.keys()), sorted(tree.keys() - on_disk)
    assert not missing and not extra, f"missing: {missing}, extra: {extra}"
    diffs: list[str] = []
    for rel in sorted(tree):
        expected = (expected_root / rel).read_text(encoding="utf-8")
        if expected != tree[rel]:
            diffs.extend(
                difflib.unified_diff(
                    expected.splitlines(),
                    tree[rel].splitlines(),
                    f"expected/{rel}",
                    f"actual/{rel}",
                    lineterm="",
                )
            )
    assert not diffs, "\n".join(diffs[:200])


def test_hostile_names_golden() -> None:
    _compare(_compile_spec(HERE / "specs" / "hostile.yaml"), GOLDEN / "hostile")


def _mypy(root: Path, package: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            PYTHON,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            os.devnull,
            package,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_generated_petstore_passes_mypy_strict(tmp_path: Path) -> None:
    write_tree(emit_tree(petstore("mypy_pets")), tmp_path)
    result = _mypy(tmp_path, "mypy_pets_client")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_hostile_golden_passes_mypy_strict_and_compileall(tmp_path: Path) -> None:
    root = GOLDEN / "hostile"
    if not root.is_dir():
        pytest.skip("golden tree not generated yet")
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    result = _mypy(tmp_path, "hostile_names_client")
    assert result.returncode == 0, result.stdout + result.stderr
    compiled = subprocess.run(
        [PYTHON, "-m", "compileall", "-q", "hostile_names_client"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stdout


_EMIT_SNIPPET = """
import hashlib, sys
sys.path.insert(0, {repo!r})
from tests.sdk.petstore_ir import petstore
from tests.sdk.sdkgen import emit_tree
tree = emit_tree(petstore(), formatted=False)
h = hashlib.sha256()
for path in sorted(tree):
    h.update(str(path).encode() + b"\\0" + tree[path].encode() + b"\\0")
print(h.hexdigest())
"""


def test_output_is_deterministic_across_hash_seeds() -> None:
    digests = set()
    for seed in ("0", "12345"):
        out = subprocess.run(
            [PYTHON, "-c", _EMIT_SNIPPET.format(repo=str(REPO))],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_import_is_lazy(tmp_path: Path) -> None:
    write_tree(emit_tree(petstore("lazy_pets")), tmp_path)
    probe = (
        "import sys, lazy_pets_client as c\n"
        "c.AsyncClient(base_url='http://x').pets\n"
        "print(sorted(m for m in sys.modules if m.startswith('lazy_pets_client.models.')))\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_package_metadata(tmp_path: Path) -> None:
    tree = emit_tree(petstore())
    pyproject = tree[PurePosixPath("pyproject.toml")]
    assert 'name = "petstore-client"' in pyproject
    assert "gatewright" not in pyproject.replace("petstore", "")
    readme = tree[PurePosixPath("README.md")]
    for call in ("client.pets.list_pets()", "client.quotes.update(quote=", "client.download(path="):
        assert call in readme
    assert PurePosixPath("petstore_client/py.typed") in tree
    for path, text in tree.items():
        if path.suffix == ".py":
            assert "gatewright" not in text, path


@pytest.mark.corpus
async def test_corpus_petstore_sdk_builds_requests(corpus_dir: Path, tmp_path: Path) -> None:
    tree = _compile_spec(corpus_dir / "swagger-petstore3" / "openapi.yaml")
    write_tree(tree, tmp_path)
    package = next(p.parent.name for p in tree if p.name == "py.typed")
    sys.path.insert(0, str(tmp_path))
    try:
        sdk = importlib.import_module(package)
    finally:
        sys.path.remove(str(tmp_path))
    pet = {"id": 10, "name": "doggie", "photoUrls": ["u"], "status": "available"}
    transport = sdk.MockTransport(lambda req: sdk.HttpResponse.from_json(200, pet))
    async with sdk.AsyncClient(base_url="http://pets.test/api/v3", transport=transport) as client:
        found = await client.pet.get_pet_by_id(pet_id=10)
        await client.pet.update_pet(body=found)
    get, put = transport.requests
    assert (get.method, get.path) == ("GET", "/api/v3/pet/10")
    assert (put.method, put.path) == ("PUT", "/api/v3/pet")
    assert json.loads(put.content) == pet
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
